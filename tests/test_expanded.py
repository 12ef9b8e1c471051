"""``archlang.ir.expanded``: the size of a model written out, counted on the shared IR.

Differential: on every model of the zoo, the memoised count equals a naive walk that writes
every shared graph out (feasible there: the zoo expands to thousands of nodes), for each
option (repeats, depth, modules).  The summary has one row per counted call or op at most,
and the diagram one node per counted node at most.  On a block that doubles per level the
count is exact (a closed form) and takes time linear in the levels, not in 2^levels.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _timing import cpu_budget

import archlang
from archlang.errors import LimitError
from archlang.errors.limits import LIMITS
from archlang.ir import dims
from archlang.ir.expanded import check_expanded, expanded_size
from archlang.report.summary import summarize

ROOT = Path(__file__).resolve().parent.parent
ZOO = [("vision/resnet.arch", "ResNet18"), ("vision/mobilenet.arch", "MobileNetV2"), ("text/gpt2.arch", "GPT2"),
       ("vision/convnext.arch", "ConvNeXtTiny"), ("vision/unet.arch", "UNet_Original"),
       ("spaces/nasbench201.arch", "NASBench201"), ("spaces/darts.arch", "DARTS"), ("text/moe.arch", "MoE_GPT_8x")]


def _naive_nodes(graph, depth, repeats):
    total = 0
    for node in graph.nodes:
        total += _naive_node(node, depth, repeats)
    return total


def _naive_node(node, depth, repeats):
    total = 1
    if node.body is not None and depth != 0:
        times = 1
        if repeats:
            times = node.repeat if isinstance(node.repeat, int) else dims.bounds(node.repeat)[1]
        for _ in range(max(times, 1)):  # written out: one copy per repetition
            total += _naive_nodes(node.body, None if depth is None else depth - 1, repeats)
    return total + sum(_naive_node(b, depth, repeats) for b in node.branches)


def _naive_modules(graph):
    return sum(_naive_member(m) for _, m in graph.members)


def _naive_member(member):
    inner = _naive_modules(member.graph) if member.graph is not None else 0
    return 1 + inner + sum(_naive_member(child) for _, child in member.members)


@pytest.fixture(scope="module", params=ZOO, ids=[name for _, name in ZOO])
def zoo_model(request):
    path, name = request.param
    return archlang.load(ROOT / "specs" / path).elaborate(name)


@pytest.mark.parametrize("repeats", [True, False])
@pytest.mark.parametrize("depth", [None, 0, 1, 2])
def test_the_memoised_count_is_the_written_out_count(zoo_model, repeats, depth):
    nodes = _naive_nodes(zoo_model.graph, depth, repeats)
    assert expanded_size(zoo_model, repeats=repeats, depth=depth, modules=False) == nodes
    assert expanded_size(zoo_model, repeats=repeats, depth=depth) == nodes + _naive_modules(zoo_model.graph)


def test_the_summary_writes_out_no_more_than_counted(zoo_model):
    rows = len(summarize(zoo_model).rows)
    assert rows <= expanded_size(zoo_model, repeats=False, modules=False)


DOUBLING = """block R(n: int) {
    input x: [B, 4]
    if n == 0 {
        return relu(x)
    }
    a = R(n - 1)
    b = R(n - 1)
    return b(a(x))
}
model M = R(%d)
"""


@pytest.mark.parametrize("levels", [1, 2, 5, 10])
def test_a_doubling_block_counts_exactly(levels):
    """R(n) has 4 nodes (input, two calls, output) plus two copies of R(n-1); R(0) has 3:
    nodes(n) = 4 + 2 nodes(n-1), so nodes(n) = 7 * 2^n - 4."""
    model = archlang.loads(DOUBLING % levels).elaborate("M")
    assert expanded_size(model, modules=False) == 7 * 2**levels - 4 == _naive_nodes(model.graph, None, True)


def test_a_deep_doubling_block_is_counted_in_linear_time():
    model = archlang.loads(DOUBLING % 45).elaborate("M")
    with cpu_budget(1.0, "counting 2^45 layers on 45 shared graphs"):
        assert expanded_size(model, modules=False) == 7 * 2**45 - 4
    with pytest.raises(LimitError) as info:
        check_expanded(model, "summarize")
    assert "model M is too large to summarize" in info.value.message and info.value.span.line == 10


def test_the_limit_is_configurable(monkeypatch):
    model = archlang.loads(DOUBLING % 3).elaborate("M")
    size = expanded_size(model)
    monkeypatch.setattr(LIMITS, "max_expanded", size)
    check_expanded(model, "summarize")  # at the limit: fine
    monkeypatch.setattr(LIMITS, "max_expanded", size - 1)
    with pytest.raises(LimitError, match=f"it has {size:,} nodes and modules; the limit is {size - 1:,}"):
        check_expanded(model, "summarize")
