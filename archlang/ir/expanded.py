"""The expanded size of a model: how many dataflow nodes and modules its IR has once every
shared graph is written out where it is used and every rolled run is unrolled.

The IR shares identical block instances (one ``Graph`` object for every call) and keeps a
run of identical layers once with a count, so a block that calls itself twice per level for
40 levels elaborates to 40 graphs but expands to 2^40 layers.  Consumers that write each use
out (a summary row per layer, a diagram node per layer, a module per layer, an ONNX node per
layer) ask ``check_expanded`` first and refuse with a located LimitError that names the size;
it counts on the shared IR, memoised per graph and member, in time linear in the IR's size.

Must not import the parser, the elaborator or any backend.
"""

from __future__ import annotations

from archlang.errors import LimitError
from archlang.errors.limits import LIMITS
from archlang.ir import dims
from archlang.ir.graph import Graph, Member, Model, Node


def expanded_size(model: Model, *, repeats: bool = True, depth: int | None = None, modules: bool = True) -> int:
    """Nodes (and, with ``modules``, modules) of ``model`` written out.  ``repeats=False``
    counts a rolled run once (as a diagram draws it); ``depth`` stops at that many levels of
    block calls (a diagram collapses the calls below it into one node each)."""
    counter = _Counter(repeats)
    size = counter.nodes(model.graph, depth)
    return size + counter.modules_of_graph(model.graph) if modules else size


def check_expanded(model: Model, what: str, *, repeats: bool = True, depth: int | None = None,
                   modules: bool = True) -> None:
    """A LimitError at the model's definition when ``what`` (e.g. "draw it") would write out
    more than ``LIMITS.max_expanded`` nodes (and modules)."""
    size = expanded_size(model, repeats=repeats, depth=depth, modules=modules)
    if size > LIMITS.max_expanded:
        things = "nodes and modules" if modules else "nodes"
        raise LimitError(
            f"{model.kind} {model.name} is too large to {what}: with every shared block written out it has "
            f"{_count(size)} {things}; the limit is {LIMITS.max_expanded:,}",
            model.span or model.graph.span,
            notes=("`archlang check` and `archlang ir` work on the shared graph and are not limited by this",),
        )


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"about 10^{len(str(n)) - 1}"


class _Counter:
    def __init__(self, repeats: bool) -> None:
        self.repeats = repeats
        self.graph_nodes: dict[tuple[int, int | None], int] = {}
        self.graph_modules: dict[int, int] = {}
        self.member_modules: dict[int, int] = {}

    # ---- the dataflow: nodes, and the bodies they call
    def nodes(self, graph: Graph, depth: int | None) -> int:
        key = (id(graph), depth)
        found = self.graph_nodes.get(key)
        if found is None:
            found = self.graph_nodes[key] = sum(self._node(node, depth) for node in graph.nodes)
        return found

    def _node(self, node: Node, depth: int | None) -> int:
        total = 1
        if node.body is not None and depth != 0:
            inner = None if depth is None else depth - 1
            total += self._times(node.repeat) * self.nodes(node.body, inner)
        return total + sum(self._node(branch, depth) for branch in node.branches)

    def _times(self, repeat) -> int:
        if not self.repeats:
            return 1
        if isinstance(repeat, int):
            return max(repeat, 1)
        high = dims.bounds(repeat)[1]  # a searched run length: its longest option
        return int(high) if isinstance(high, int) else 1

    # ---- the module tree: members, and the graphs of block members
    def modules_of_graph(self, graph: Graph) -> int:
        found = self.graph_modules.get(id(graph))
        if found is None:
            found = self.graph_modules[id(graph)] = sum(self._member(m) for _, m in graph.members)
        return found

    def _member(self, member: Member) -> int:
        found = self.member_modules.get(id(member))
        if found is None:
            inner = self.modules_of_graph(member.graph) if member.graph is not None else 0
            found = 1 + inner + sum(self._member(child) for _, child in member.members)
            self.member_modules[id(member)] = found
        return found
