"""Static constraints: parameters and MACs per architecture; constrained sampling stays uniform
over the feasible architectures."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

import archlang
from archlang.nas.constraints import Constraint, metrics, parse_constraint

SPACES = Path(__file__).resolve().parent.parent / "specs" / "spaces"

SMALL = """
space S() {
    input x: [B, 8]
    a = Linear(8, choice(8, 16, 32, label="w"))
    act = choice(ReLU(), GELU(), Identity(), label="act")
    return act(a(x))
}
"""


def small():
    return archlang.space(archlang.loads(SMALL), "S")


def test_metrics_are_the_summary_of_the_fixed_model():
    s = small()
    for a in s.enumerate():
        width = [8, 16, 32][a.values["w"]]
        assert metrics(s, a) == {"params": 8 * width + width, "macs": 8 * width}


def test_sampling_with_constraints_is_uniform_over_the_feasible_architectures():
    s = small()
    feasible = {a.key() for a in s.enumerate(constraints="params <= 200")}
    assert len(feasible) == 6  # w ∈ {8, 16} × 3 activations
    counts = collections.Counter(s.sample(seed=seed, constraints=[Constraint("params", "<=", 200)]).key()
                                 for seed in range(1200))
    assert set(counts) == feasible
    assert max(counts.values()) < 1.4 * min(counts.values())


def test_constraints_from_text_and_from_bounds():
    assert parse_constraint("macs <= 3e8") == Constraint("macs", "<=", 3e8)
    s = small()
    assert len(list(s.enumerate(constraints={"max_params": 200, "min_params": 100}))) == 3
    with pytest.raises(archlang.ArchError, match="cannot read"):
        parse_constraint("params is small")
    with pytest.raises(archlang.ArchError, match="bounds one of"):
        Constraint("latency", "<=", 1.0)


def test_an_infeasible_constraint_is_reported():
    with pytest.raises(archlang.ArchError, match="no architecture of S satisfying params <= 1"):
        small().sample(seed=0, constraints="params <= 1", max_tries=50)


def test_nas_bench_201_parameters_stay_in_the_benchmarks_range():
    s = archlang.space(SPACES / "nasbench201.arch")
    a = s.sample(seed=0, constraints="params <= 500000")
    assert metrics(s, a)["params"] <= 500_000
    values = [metrics(s, s.sample(seed=seed))["params"] for seed in range(20)]
    assert 70_000 <= min(values) and max(values) <= 1_600_000  # NAS-Bench-201's 0.07–1.5 M (10 classes)


def test_macs_need_concrete_sizes_beyond_the_batch():
    s = archlang.space(SPACES / "flexibert.arch", vocab_size=100)
    with pytest.raises(archlang.ArchError, match="depend on the size T"):
        metrics(s, s.sample(seed=0))
    s = archlang.space(SPACES / "flexibert.arch", vocab_size=100, inputs={"ids": [1, 16]})
    assert metrics(s, s.sample(seed=0))["macs"] > 0
