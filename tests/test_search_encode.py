"""Feature encodings of architectures: fixed lengths, and the known NAS-Bench-201 / DARTS cells."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import archlang
from archlang.nas import formats
from archlang.nas.encode import adjacency

SPACES = Path(__file__).resolve().parent.parent / "specs" / "spaces"
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


@lru_cache(maxsize=None)
def space(file: str, **params):
    return archlang.space(SPACES / f"{file}.arch", **params)


@pytest.mark.parametrize("file, params", [("nasbench201", {}), ("darts", {"C": 8, "layers": 5}),
                                          ("proxylessnas", {}), ("flexibert", {}), ("tiny_cnn", {})])
def test_every_encoding_has_one_length_per_space(file, params):
    s = space(file, **params)
    for kind in ("onehot", "adjacency", "path"):
        lengths = {s.encode(s.sample(seed=seed), kind).shape for seed in range(6)}
        assert len(lengths) == 1 and len(next(iter(lengths))) == 1, (kind, lengths)


def test_onehot_marks_the_options_and_the_active_decisions():
    s = space("proxylessnas")
    a = s.sample(seed=2)
    vector = s.encode(a, "onehot")
    n = len(s.decisions)
    mask = vector[-n:]
    assert list(mask) == [1.0 if d.label in a.values else 0.0 for d in s.decisions]
    assert vector[:-n].sum() == len(a.values)
    darts = space("darts", C=8, layers=5)
    assert darts.encode(darts.sample(seed=0), "onehot")[:-len(darts.decisions)].sum() == 8 * 2 + 16  # subsets: 2 ones


def test_adjacency_of_a_nas_bench_201_cell():
    s = space("nasbench201")
    matrix, ops, names = adjacency(s, formats.nb201_to_assignment(s, EXAMPLE))
    assert names == ["input0", "e1_0", "e2_0", "e2_1", "e3_0", "e3_1", "e3_2", "output"]
    edges = {(names[i], names[j]) for i, j in zip(*np.nonzero(matrix))}
    assert edges == {("input0", "e1_0"), ("input0", "e2_0"), ("input0", "e3_0"), ("e1_0", "e2_1"),
                     ("e1_0", "e3_1"), ("e2_0", "e3_2"), ("e2_1", "e3_2"), ("e3_0", "output"),
                     ("e3_1", "output"), ("e3_2", "output")}
    vocabulary = ["Zero", "Identity", "NorConv1x1", "NorConv3x3", "AvgPool2d"]
    chosen = [vocabulary[int(np.argmax(row[:5]))] for row in ops[1:-1]]
    assert chosen == ["NorConv3x3", "NorConv3x3", "AvgPool2d", "Identity", "NorConv3x3", "Identity"]


def test_zero_edges_have_no_edges_in_the_adjacency():
    s = space("nasbench201")
    text = "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"
    matrix, _, names = adjacency(s, formats.nb201_to_assignment(s, text))
    edges = {(names[i], names[j]) for i, j in zip(*np.nonzero(matrix))}
    assert edges == {("input0", "e2_0"), ("e2_0", "e3_2"), ("e3_2", "output")}


def test_adjacency_of_darts_v2_follows_the_genotype():
    s = space("darts", C=8, layers=5)
    matrix, _, names = adjacency(s, formats.genotype_to_assignment(s, formats.DARTS_V2))
    edges = {(names[i], names[j]) for i, j in zip(*np.nonzero(matrix))}
    # normal cell: node 5 is skip(input0) + dil_conv(node 2); every node feeds the concatenation
    assert ("input0", "node5.a") in edges and ("node2.a", "node5.b") in edges and ("node2.b", "node5.b") in edges
    assert {(n, "output") for n in names[2:-1]} <= edges


def test_path_encoding_counts_input_to_output_paths():
    s = space("nasbench201")
    a = formats.nb201_to_assignment(s, "|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")
    vector = s.encode(a, "path")
    # two paths: input → skip → output, input → conv3x3 → conv1x1 → output
    assert vector.sum() == 2


def test_unknown_encoding_is_an_error():
    s = space("nasbench201")
    with pytest.raises(archlang.ArchError, match="unknown encoding"):
        s.encode(s.sample(seed=0), "graph")
