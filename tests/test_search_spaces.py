"""The famous search spaces in specs/spaces/: exact sizes, and every sampled architecture
checks, compiles (torch, meta device) and keeps its canonical hash through .arch text."""

from __future__ import annotations

import math
import random
from functools import lru_cache
from pathlib import Path

import pytest
from _timing import cpu_budget
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archlang
from archlang.nas import Assignment
from archlang.nas.hashing import model_hash
from archlang.report.summary import summarize

SPACES = Path(__file__).resolve().parent.parent / "specs" / "spaces"

# Small settings of each space (the architecture is the same, only narrower or shorter).
CASES = {
    "nasbench201": ("NASBench201", {}),
    "darts": ("DARTS", {"C": 8, "layers": 5}),
    "nasbench101": ("NASBench101", {"C": 8, "cells": 1}),
    "proxylessnas": ("ProxylessNAS", {"image_size": 64, "num_classes": 10}),
    "flexibert": ("FlexiBERT", {"vocab_size": 100}),
    "hybrid_space": ("HybridNet", {"image_size": 32, "num_classes": 10}),
    "tiny_cnn": ("TinyCNN", {}),
}


@lru_cache(maxsize=None)
def space(file: str, **params):
    name, defaults = CASES[file]
    return archlang.space(SPACES / f"{file}.arch", name, **{**defaults, **params})


def param_shapes(model) -> dict:
    """Parameter path -> shape, from the IR's members (what a state dict would hold)."""
    out: dict = {}

    def walk(member, path):
        for p in member.params:
            out[f"{path}.{p.name}" if p.name else path] = tuple(p.shape)
        for name, child in member.own_members():
            walk(child, f"{path}.{name}")

    for name, member in model.graph.members:
        walk(member, name)
    return out


# ---- exact sizes -----------------------------------------------------------------------------


def test_nasbench201_has_5_to_the_6_cells_shared_by_all_15_cells():
    s = space("nasbench201")
    assert s.size() == 5 ** 6 == 15_625
    assert [d.label for d in s.decisions] == ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]


def test_darts_counts_per_cell_and_for_the_pair():
    s = space("darts")
    per_cell = 1 * 3 * 6 * 10 * 7 ** 8
    assert per_cell == 1_037_664_180
    assert s.size() == per_cell ** 2 == 1_076_746_950_455_072_400
    assert sum(d.label.startswith("normal.") for d in s.decisions) == 12


def test_proxylessnas_size_is_the_closed_form_of_its_conditional_depths():
    # A stage of d layers: a first layer (6 MBConvs) and d - 1 optional ones (6 MBConvs or
    # Identity), d ∈ {2, 3, 4}; five such stages and one single searched layer.
    stage = sum(6 * 7 ** (d - 1) for d in (2, 3, 4))
    assert space("proxylessnas").size() == stage ** 5 * 6 == 471_815_257_283_665_344
    # A flat product of every decision (as if all layers of every stage always existed, and
    # the depth were one more independent factor) overcounts each stage 3·6·7³/2,394 ≈ 2.6×,
    # the whole space ≈ 114×.
    flat = (3 * 6 * 7 ** 3) ** 5 * 6
    assert flat // space("proxylessnas").size() == 114


def test_nasbench101_flexibert_and_hybrid_sizes():
    assert space("nasbench101").size() == math.prod(2 ** v - 1 for v in range(1, 7)) * 3 ** 5 == 149_492_385
    per_layer = 2 * (2 + 1 + 2) * (2 + 2 ** 2 + 2 ** 3)  # width × mixer (+ its inner choice) × FF stack
    assert space("flexibert").size() == per_layer ** 4
    assert space("hybrid_space").size() == (2 ** 2 + 2 ** 2) ** 4 == 4096


def test_darts_size_takes_under_10_ms():
    s = space("darts")
    s.tree._weights.clear()
    with cpu_budget(5 * 0.010, "DARTS size()"):  # target 10 ms (benchmarks/search_space.py)
        s.size()


# ---- every sample: checks, compiles, round-trips ---------------------------------------------


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 32 - 1))
@pytest.mark.parametrize("file", sorted(CASES))
def test_samples_check_compile_and_round_trip_through_arch_text(file, seed):
    torch = pytest.importorskip("torch")
    s = space(file)
    a = s.check(s.sample(seed=seed))
    program = s.fix(a)
    with torch.device("meta"):
        module = archlang.to_torch(program, s.name)
    fixed = s.fix_model(a)
    assert set(module.state_dict()) == set(param_shapes(fixed)) | _buffers(module)
    assert model_hash(program.elaborate(s.name)) == s.canonical_hash(a)


def _buffers(module) -> set:
    return {name for name, _ in module.named_buffers()}


@pytest.mark.parametrize("file", sorted(CASES))
def test_fixing_by_selection_is_elaboration_with_the_assignment(file):
    s = space(file)
    rng = random.Random(7)
    for _ in range(5):
        a = s.sample(rng)
        selected, elaborated = s.fix_model(a), s.fix_model(a, elaborate=True)
        assert not selected.choices and not elaborated.choices
        assert param_shapes(selected) == param_shapes(elaborated)
        assert model_hash(selected) == model_hash(elaborated) == s.canonical_hash(a)
        assert summarize(selected).macs == summarize(elaborated).macs


def test_same_seed_same_sample_and_assignments_survive_json():
    s = space("darts")
    assert s.sample(seed=3) == s.sample(seed=3)
    assert s.sample(seed=3).values != s.sample(seed=4).values
    a = s.sample(seed=5)
    assert Assignment.from_json(a.to_json()).values == a.values


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1))
@pytest.mark.parametrize("file", ["proxylessnas", "hybrid_space", "flexibert"])
def test_mutate_changes_one_active_decision_and_resamples_only_beneath_it(file, seed):
    s = space(file)
    rng = random.Random(seed)
    a = s.sample(rng)
    b = s.check(s.mutate(a, rng))
    changed = {k for k in a.values.keys() & b.values.keys() if a.values[k] != b.values[k]}
    appeared, vanished = b.values.keys() - a.values.keys(), a.values.keys() - b.values.keys()
    roots = [k for k in changed if not _is_under(s, k, changed | appeared | vanished)]
    assert len(roots) == 1, (changed, appeared, vanished)
    moved = s.tree.by_label[roots[0]]
    beneath = _subtree(moved)
    assert (changed - {roots[0]}) | appeared | vanished <= beneath


def _subtree(decision) -> set:
    out = set()
    for children in decision.children.values():
        for child in children:
            out |= {child.label} | _subtree(child)
    return out


def _is_under(s, label: str, others: set) -> bool:
    return any(label in _subtree(s.tree.by_label[o]) for o in others if o != label)


# ---- distinct architectures ---------------------------------------------------------------------


def test_nasbench201_has_7698_functionally_distinct_architectures():
    """6,466 under the benchmark's own convention, which merges cells the functional hash
    cannot prove identical (test_search_formats.py)."""
    assert space("nasbench201").size(unique=True) == 7698


def test_hybrid_space_architectures_are_all_distinct():
    assert space("hybrid_space").size(unique=True) == 4096


def test_unique_size_of_a_huge_space_is_refused_clearly():
    with pytest.raises(archlang.ArchError, match="tractable"):
        space("darts").size(unique=True)
