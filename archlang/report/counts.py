"""Analytic counts of an elaborated model from the IR and the op registry: MACs, activation
bytes, parameter and buffer elements of graphs and members, each shared graph computed once
(by identity), so in time linear in the size of the shared IR.

The summary table (``archlang.report.summary``) reads its totals and rows from here; the
checker reads ``model_macs`` for ``constraint macs …`` without importing the table's code.
"""

from __future__ import annotations

from archlang import ops
from archlang.ir import Graph, Member, Model, Node, dims
from archlang.ir.params import param_at
from archlang.ir.types import TensorType


def model_macs(model: Model):
    """The MACs of one example through ``model``, computed on the shared IR (each shared
    graph once), so in time linear in its size."""
    return Counts().graph_macs(model.graph)


def per_example_env(model: Model) -> dict:
    """The batch size (the first dimension of every input) set to 1."""
    return {name: 1 for n in model.graph.input_nodes for d in n.type.shape[:1] for name in dims.free_symbols(d)}


class Counts:
    """MACs, activations and elements of graphs and members, each computed once (by identity).

    A searched layer counts the option taken (``dims.select`` over its options), and a
    layer of a sequence whose length is searched counts only where the length reaches it:
    item ``i`` of a run of ``r`` is applied ``max(0, min(count - i, r))`` times."""

    def __init__(self) -> None:
        self.memo: dict[tuple, object] = {}

    def _cached(self, key: tuple, compute):
        found = self.memo.get(key)
        if found is None:
            self.memo[key] = found = dims.simplify(compute())
        return found

    # ---- MACs and activations: per application of a node
    def graph_macs(self, graph: Graph, count=None):
        return self._cached(("macs", id(graph), count), lambda: self._graph_sum(graph, count, self.node_macs))

    def graph_activations(self, graph: Graph, count=None):
        return self._cached(("act", id(graph), count), lambda: self._graph_sum(graph, count, self.node_activations))

    def _graph_sum(self, graph: Graph, count, per_node):
        types = {n.name: n.type for n in graph.nodes}
        return sum((per_node(node, graph, types) * applied(node, count) for node in graph.nodes), 0)

    def node_macs(self, node: Node, graph: Graph, types: dict, member: Member | None = None):
        """MACs of one application of ``node`` (a run's repeat is counted by the caller)."""
        def leaf(n: Node, attrs: dict):
            return _macs(n.op, attrs, _inputs(n, types), n.type)

        return self._per_application(node, graph, member, leaf, self.graph_macs)

    def node_activations(self, node: Node, graph: Graph, types: dict, member: Member | None = None):
        """Bytes of the outputs one application of ``node`` computes: every layer's and op's."""
        return self._per_application(node, graph, member, lambda n, attrs: _bytes(n.type), self.graph_activations)

    def _per_application(self, node: Node, graph: Graph, member: Member | None, leaf, of_graph):
        """``leaf(node, attrs)`` for an op or a layer, ``of_graph`` over a block's body, the
        option taken for a searched layer; nothing for inputs and outputs."""
        if node.kind == "op":
            return leaf(node, node.attrs)
        member = member if member is not None else graph.find_member(node.target or "")
        if node.kind == "choice":
            return self._options(node, member, lambda b, m: self._per_application(b, graph, m, leaf, of_graph))
        if node.kind != "call":
            return 0
        if node.body is not None:
            return of_graph(node.body, searched_length(member))
        return leaf(node, member.attrs)

    def _options(self, node: Node, member: Member | None, per_option):
        """A searched layer: the option its decision picks (a DAG cell's ``choose`` computes nothing)."""
        if not node.branches or member is None:
            return 0
        options = [per_option(b, member.member(b.target)) for b in node.branches]
        return dims.select(node.label + "#", options)

    # ---- elements: per member (a layer applied twice has its weights once)
    def graph_elements(self, graph: Graph, buffers: bool):
        def compute():
            total = sum((self.member_elements(m, buffers) for _, m in graph.members), 0)
            for tie in graph.ties if not buffers else ():
                spec = param_at(graph, tie.target)
                total = total - (spec.numel() if spec is not None else 0)
            return total

        return self._cached(("elements", id(graph), buffers), compute)

    def member_elements(self, member: Member | None, buffers: bool):
        """Parameters (``buffers`` False) or buffer elements of a member."""
        if member is None:
            return 0
        if member.kind == "layer":
            return dims.simplify(sum((p.numel() for p in member.params if p.buffer == buffers), 0))
        if member.kind == "block":
            return self.graph_elements(member.graph, buffers)
        if member.kind == "sequential":
            return dims.simplify(sum((self.member_elements(m, buffers) * _reached(member.count, name, 1)
                                      for name, m in member.members), 0))
        options = [self.member_elements(m, buffers) for _, m in member.members]  # a choice
        return dims.select(member.label + "#", options) if options else 0


def searched_length(member: Member | None):
    """The searched length of a sequence (None: all of it)."""
    return member.count if member is not None and member.kind == "sequential" else None


def applied(node: Node, count):
    """How often ``node`` runs: its repeat, cut where a searched sequence length ends."""
    return _reached(count, node.target or "", node.repeat)


def _reached(count, name: str, run):
    """Items ``name`` … ``name + run - 1`` of a sequence that runs ``count`` items: how many run
    (all of them when the length is not searched, or the item is not numbered)."""
    if count is None or not name.isdigit():
        return run
    index = int(name)
    if not isinstance(run, int):  # the elaborator's last run: count - index items
        return dims.dmax(0, run)
    return dims.dmax(0, dims.dmin(dims.simplify(count - index), run))




def _inputs(node: Node, types: dict) -> list:
    return [types.get(i) if i else None for i in node.inputs]


def _bytes(t):
    """Bytes of a tensor (or of each of a tuple of them)."""
    if isinstance(t, TensorType):
        n = ITEMSIZE.get(t.dtype, 4)
        for d in t.shape:
            n = n * d
        return dims.simplify(n)
    return sum((_bytes(x) for x in t or ()), 0)


ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int64": 8, "int32": 4, "bool": 1}


def _macs(op: str, attrs: dict, inputs: list, output):
    spec = ops.get(op)
    if spec is None or spec.macs is None:
        return 0
    return spec.macs(attrs, inputs, output)
