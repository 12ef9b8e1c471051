"""The expected cost (MACs per example) of a supernet's architecture distribution, from
archlang's analytic counts: ProxylessNAS' differentiable latency term (paper §3.3).

The space's IR is read once into a cost tree: the MACs of every op and layer (the op
registry's analytic count, at a batch of 1) as constants, tables over the searched sizes they
depend on, a mixture per layer choice (one subtree per option), and per searched-length
sequence the items in order.  ``expected(probabilities)`` then sums the tree with the options'
probabilities: E[MACs] = Σ over each choice of p(option) · E[MACs of the option], differentiable
in the architecture parameters.  ``exact(values)`` is the cost of one architecture (equal to
``archlang.summary`` of the fixed model, which the tests check).

Imports torch only for the tensors it is given.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from archlang import ops
from archlang.errors import SpaceError
from archlang.ir import Graph, Node, dims
from archlang.ir.types import TensorType
from archlang.oneshot.compile import values_of
from archlang.oneshot.elastic import labels_of


@dataclass
class _Const:
    value: float


@dataclass
class _Table:
    labels: tuple[str, ...]
    values: dict  # tuple of option indices -> MACs


@dataclass
class _Mix:
    label: str
    options: list


@dataclass
class _Sequence:
    labels: tuple[str, ...]
    length: object  # Dim
    items: list


@dataclass
class _Sum:
    parts: list


class CostModel:
    """Expected and exact MACs per example of a space's architectures."""

    def __init__(self, space, per_op=None) -> None:
        """``per_op(op, attrs, input types, output type) -> float``: a layer's cost instead of
        its MACs (a latency table); input and output types are those of the space's IR."""
        self.space = space
        self.per_op = per_op
        self.sizes = {label: values_of(d) for label, d in space.tree.by_label.items()}
        self.batch = _batch_symbol(space.model.graph)
        self.tree = self._graph(space.model.graph)

    # ---- evaluation
    def expected(self, probabilities):
        """E[MACs] under ``probabilities(label) -> weights over its options``."""
        return _expected(self.tree, probabilities, self.sizes)

    def exact(self, values: dict) -> float:
        """The MACs of the architecture ``values`` (an assignment's values)."""
        decisions = self.space.tree.by_label

        def one_hot(label: str):
            index = decisions[label].index(values[label]) if label in values else 0
            return [1.0 if i == index else 0.0 for i in range(len(self.sizes[label]))]

        return float(_expected(self.tree, one_hot, self.sizes))

    # ---- reading the IR
    def _graph(self, graph: Graph):
        types = {n.name: n.type for n in graph.nodes}
        parts = []
        for node in graph.nodes:
            if node.kind in ("input", "output"):
                continue
            inputs = [types.get(i) if i else None for i in node.inputs]
            parts.append(self._node(node, graph, inputs))
        return _Sum(parts)

    def _node(self, node: Node, graph: Graph, inputs: list):
        if node.kind == "op":
            return self._macs(node.op, node.attrs, inputs, node.type, node)
        if node.kind == "choice":
            if node.op == "choose":
                return _Const(0.0)
            member = graph.find_member(node.target)
            return self._choice(node, member, inputs)
        member = graph.find_member(node.target)
        if node.body is not None and member is not None and member.kind == "sequential":
            return self._sequence(node, member, inputs)
        return self._call(node, member, inputs)

    def _call(self, node: Node, member, inputs: list):
        if node.body is not None:
            body = self._graph(node.body)
            return _Sum([body] * node.repeat) if isinstance(node.repeat, int) else body
        if member is None or (member.kind == "layer" and member.op == "Parameter"):
            return _Const(0.0)
        return self._macs(member.op, member.attrs, inputs, node.type, node)

    def _choice(self, node: Node, member, inputs: list):
        options = []
        for (_, option), branch in zip(member.members, node.branches):
            if option.kind == "choice":
                options.append(self._choice(branch, option, inputs))
            else:
                options.append(self._call(branch, option, inputs))
        return _Mix(member.label, options)

    def _sequence(self, node: Node, member, inputs: list):
        body = node.body
        types = {n.name: n.type for n in body.nodes}
        items = []
        for item in body.nodes:
            if item.kind not in ("call", "choice"):
                continue
            item_inputs = [types.get(i) for i in item.inputs]
            run = item.repeat if isinstance(item.repeat, int) else max(
                dims.evaluate(item.repeat, env) for env in self._joint(labels_of(item.repeat, self.sizes)))
            first = int(item.target)
            for offset in range(run):
                child = body.member(str(first + offset))
                if child is None:
                    break
                if item.kind == "choice":
                    items.append(self._choice(item, child, item_inputs))
                else:
                    items.append(self._call(item, child, item_inputs))
        length = member.count if member.count is not None else len(items)
        return _Sequence(labels_of(length, self.sizes), length, items)

    def _macs(self, op: str, attrs: dict, inputs: list, output, node: Node):
        if self.per_op is not None:
            return self._per_op(op, attrs, inputs, output, node)
        spec = ops.get(op)
        if spec is None or spec.macs is None:
            return _Const(0.0)
        macs = spec.macs(attrs, inputs, output)
        labels = labels_of(macs, self.sizes)
        table = {}
        for combo, env in self._combos(labels):
            table[combo] = float(self._value(macs, env, node))
        if not labels:
            return _Const(table[()])
        return _Table(labels, table)

    def _per_op(self, op: str, attrs: dict, inputs: list, output, node: Node):
        labels = labels_of((attrs, [getattr(t, "shape", ()) for t in inputs], getattr(output, "shape", ())), self.sizes)
        table = {}
        for combo, env in self._combos(labels):
            table[combo] = float(self.per_op(op, _resolved(attrs, env), [_resolved(t, env) for t in inputs],
                                             _resolved(output, env)))
        return _Const(table[()]) if not labels else _Table(labels, table)

    def _value(self, d, env: dict, node: Node):
        if not isinstance(d, dims.Expr):
            return d
        env = dict(env)
        if self.batch is not None:
            env[self.batch] = 1
        try:
            return dims.evaluate(d, env)
        except KeyError as missing:
            raise SpaceError(f"the MACs of {node.op or node.kind} '{node.name}' depend on the input size "
                             f"{missing.args[0]}: give the space concrete input sizes (inputs=...)", node.span) from None

    def _combos(self, labels):
        ranges = [range(len(self.sizes[label])) for label in labels]
        for combo in itertools.product(*ranges):
            env = {}
            for label, index in zip(labels, combo):
                env[label], env[label + "#"] = self.sizes[label][index], index
            yield combo, env

    def _joint(self, labels):
        return [env for _, env in self._combos(labels)]


def _expected(tree, probabilities, sizes):
    if isinstance(tree, _Const):
        return tree.value
    if isinstance(tree, _Sum):
        total = 0.0
        for part in tree.parts:
            total = total + _expected(part, probabilities, sizes)
        return total
    if isinstance(tree, _Mix):
        weights = probabilities(tree.label)
        total = 0.0
        for i, option in enumerate(tree.options):
            total = total + weights[i] * _expected(option, probabilities, sizes)
        return total
    if isinstance(tree, _Table):
        weights = [probabilities(label) for label in tree.labels]
        total = 0.0
        for combo, value in tree.values.items():
            p = 1.0
            for w, index in zip(weights, combo):
                p = p * w[index]
            total = total + p * value
        return total
    assert isinstance(tree, _Sequence)
    item_costs = [_expected(item, probabilities, sizes) for item in tree.items]
    weights = [probabilities(label) for label in tree.labels]
    total = 0.0
    ranges = [range(len(sizes[label])) for label in tree.labels]
    for combo in itertools.product(*ranges):
        env, p = {}, 1.0
        for label, index, w in zip(tree.labels, combo, weights):
            env[label], env[label + "#"] = sizes[label][index], index
            p = p * w[index]
        length = dims.evaluate(tree.length, env)
        partial = 0.0
        for cost in item_costs[:length]:
            partial = partial + cost
        total = total + p * partial
    return total


def _resolved(value, env: dict):
    """``value`` with the searched sizes of ``env`` substituted (types stay types)."""
    if isinstance(value, dims.Expr):
        return dims.simplify(dims.subs(value, env))
    if isinstance(value, TensorType):
        return value.with_shape([_resolved(d, env) for d in value.shape])
    if isinstance(value, dict):
        return {k: _resolved(v, env) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(_resolved(v, env) for v in value)
    return value


def _batch_symbol(graph: Graph) -> str | None:
    """The symbol of the batch size: the first axis of the first input, when symbolic."""
    for node in graph.input_nodes:
        shape = getattr(node.type, "shape", ())
        if shape and isinstance(shape[0], dims.Expr) and len(dims.free_symbols(shape[0])) == 1:
            return next(iter(dims.free_symbols(shape[0])))
    return None
