"""Compiling a space's IR into the modules of a weight-sharing supernet.

The space's IR already holds every alternative (``archlang.nas.fixing``); the compiler walks
it once and gives each part the module it needs:

* a part that depends on no decision: the torch backend's module (``build_member``), with
  DARTS' search batch norms or PC-DARTS' channel-sliceable layers substituted when asked;
* a layer whose attributes hold searched sizes: a weight-entangled layer (``elastic``);
* a block body or sequence that holds decisions: a ``SuperGraph`` / ``SuperSequence``;
* a layer choice: a ``MixedChoice`` whose candidates keep their own weights; a pooling
  candidate gets DARTS' search-only batch norm (``pool_bn``), a choice summed with others into
  one node gets a ``none`` candidate (``none``) unless it has a ``Zero`` option already;
* a DARTS cell node, ``choose(k, …)`` over blocks that each sum one searched op per picked
  input: an ``EdgeNode`` with one mixed edge per candidate input (``edges``).

Every mixed place has an architecture *key*: the label of its decision (so a decision shared
by several places, as NAS-Bench-201's edges in every cell, shares one parameter), or
``label[j]`` for edge j of a DARTS node.  ``Compiler.keys`` describes them for the
architecture parameters and ``derive``.

Imports torch and the torch backend; no other backend.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from torch import nn

from archlang import ops
from archlang.backends.torch.build import build_member
from archlang.backends.torch.layers import make_buffer, make_parameter
from archlang.errors import SpaceError
from archlang.ir import Graph, Member, Node, dims
from archlang.ir.params import member_entries
from archlang.oneshot.choice import EdgeNode, MixedChoice, NoneOp, PoolThenNorm
from archlang.oneshot.elastic import labels_of, make_elastic, resolve
from archlang.oneshot.graph import SuperContainer, SuperGraph, SuperSequence
from archlang.oneshot.layers import PARTIAL_LAYERS, SEARCH_NORMS, layer_factory

_POOLS = ("MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d")
_MAX_JOINT = 4096  # joint size options checked for a layer


@dataclass(frozen=True)
class Options:
    """How a method wants the space compiled.

    ``affine``: batch norms in cells keep their affine parameters (DARTS turns them off);
    ``pool_bn``: a search-only ``BatchNorm(affine=False)`` after pooling candidates (DARTS);
    ``none``: a ``none`` candidate on choices summed into one node (DARTS);
    ``partial``: PC-DARTS' K (1: off); ``edges``: DARTS cell nodes compiled per edge;
    ``soft``: the method mixes options (checks that searched sizes are largest at their largest
    options, where the mixture is computed)."""

    affine: bool = True
    pool_bn: bool = False
    none: bool = False
    partial: int = 1
    edges: bool = True
    soft: bool = False


@dataclass(frozen=True)
class Key:
    """An architecture key: the decision it relaxes and what its options stand for.

    ``options[i]``: the decision's option index that option i of the key is (None: the added
    ``none``); ``edge``: for an edge of a DARTS node, the candidate input it reads."""

    name: str
    label: str
    options: tuple
    edge: object = None


@dataclass
class EdgeSpec:
    """A DARTS node compiled edge by edge: ``edges`` maps a candidate input to the key of its edge."""

    label: str
    k: int
    options: tuple
    positions: tuple[tuple[str, str], ...]
    edges: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Scope:
    cell: bool = False      # inside a block that makes a layer choice, or a candidate
    partial: bool = False   # inside a PC-DARTS partial-channel candidate


class Compiler:
    """Compiles one space's IR with a method's ``Options``."""

    def __init__(self, space, options: Options) -> None:
        self.space = space
        self.selector = space.selector
        self.decisions = space.tree.by_label
        self.options = options
        self.sizes = {label: values_of(d) for label, d in self.decisions.items()}
        self.keys: dict[str, Key] = {}
        self.edge_nodes: dict[str, EdgeSpec] = {}
        self.groups: set[tuple[str, ...]] = set()

    def compile(self) -> SuperGraph:
        root = self.graph(self.space.model.graph, _Scope())
        assert isinstance(root, SuperGraph)
        return root

    # ---- graphs and members
    def graph(self, graph: Graph, scope: _Scope) -> SuperGraph:
        scope = _Scope(cell=scope.cell or _makes_choices(graph), partial=scope.partial)
        if self.options.soft:
            self._check_largest(graph)
        for node in graph.nodes:
            self._size_keys(labels_of((node.attrs, node.type, node.repeat), self.sizes), node.span)
            if node.kind == "choice" and node.op == "choose":
                decision = self.decisions[node.label]
                self._key(Key(node.label, node.label, tuple(range(decision.arity))), node.span)
        groups = self._groups(graph)
        summed = {n.target for n in graph.nodes if n.name in groups}
        types = {n.name: n.type for n in graph.nodes}
        calls = _calls(graph)
        members, bare, buffers = {}, {}, {}
        for name, member in graph.members:
            if member.kind == "layer" and member.op == "Parameter":
                bare[name] = self.parameter(member)
            elif member.kind == "layer" and member.op == "Buffer":  # constants: no decision reaches them
                buffers[name] = (make_buffer(member.attrs), member.attrs["persistent"])
            else:
                members[name] = self.member(member, calls.get(name, {}), scope, summed=name in summed, types=types)
        module = SuperGraph(graph, members, bare, groups, buffers)
        if graph.ties:
            raise SpaceError("a supernet cannot tie parameters inside a part of the space that holds decisions",
                             graph.ties[0].span)
        return module

    def member(self, member: Member, calls: dict, scope: _Scope, summed: bool = False,
               types: dict | None = None) -> nn.Module:
        if not self.selector.deps(member):
            return build_member(member, layer_factory(affine=self.options.affine or not scope.cell,
                                                      partial=scope.partial))
        if member.kind == "layer":
            return self.elastic(member, scope)
        if member.kind == "block":
            return self.graph(member.graph, scope)
        if member.kind == "choice":
            node = calls.get("")
            if node is None:
                raise SpaceError("a supernet needs every layer choice to be applied", member.span)
            return self.choice(member, node, scope, summed, (types or {}).get(node.inputs[0]) if node.inputs else None)
        node = calls.get("")
        if node is not None and node.body is not None:
            return self.sequence(member, node, scope)
        children = {name: self.member(child, _below(calls, name), scope) for name, child in member.members}
        return SuperContainer(children)

    def sequence(self, member: Member, node: Node, scope: _Scope) -> SuperSequence:
        body = node.body
        scope = _Scope(cell=scope.cell or _makes_choices(body), partial=scope.partial)
        if self.options.soft:
            self._check_largest(body)
        calls = _calls(body)
        children = {name: self.member(child, calls.get(name, {}), scope) for name, child in body.members}
        length = member.count
        if length is None:
            length = sum((n.repeat for n in body.nodes if n.kind in ("call", "choice")), 0)
        labels = labels_of(length, self.sizes)
        self._size_keys(labels, member.span)
        return SuperSequence(body, children, length, labels, self._largest(labels))

    def parameter(self, member: Member):
        if not self.selector.deps(member):
            return make_parameter(member.attrs), None
        labels = labels_of((member.attrs, member.params[0].shape), self.sizes)
        self._size_keys(labels, member.span)
        largest = self._largest(labels)
        return make_parameter(resolve(member.attrs, largest)), member.params[0].shape

    def elastic(self, member: Member, scope: _Scope):
        labels = labels_of((member.attrs, [p.shape for p in member.params]), self.sizes)
        if scope.partial:
            raise SpaceError(f"PC-DARTS cannot run {member.op}, whose size is searched, on part of its channels",
                             member.span)
        self._size_keys(labels, member.span)
        largest = self._largest(labels)
        self._check_parameters(member, labels, largest)
        overrides = None
        if member.op in SEARCH_NORMS and scope.cell and not self.options.affine and member.attrs.get("affine"):
            overrides = {"affine": False}
        return make_elastic(member, labels, largest, overrides)

    # ---- choices
    def choice(self, member: Member, node: Node, scope: _Scope, summed: bool, in_type) -> nn.Module:
        if self.options.edges:
            spec = self._edge_form(node)
            if spec is not None:
                return self.edge_node(spec, node)
        return self.mixed(member, node, member.label, scope, summed, in_type)

    def mixed(self, member: Member, node: Node, key: str, scope: _Scope, summed: bool, in_type,
              edge=None) -> MixedChoice:
        partial = self._partial(member, node, in_type)
        inner = _Scope(cell=True, partial=partial > 1)
        candidates = [self.candidate(child, branch, inner)
                      for (_, child), branch in zip(member.members, node.branches)]
        zeros = {i for i, (_, child) in enumerate(member.members) if child.kind == "layer" and child.op == "Zero"}
        none = None
        if self.options.none and summed and not zeros:
            none = NoneOp(_stride(node, in_type))
        options = tuple(range(len(candidates))) + ((None,) if none is not None else ())
        self._key(Key(key, member.label, options, edge), member.span)
        return MixedChoice(key, candidates, zeros, none, partial)

    def candidate(self, member: Member, branch: Node, scope: _Scope) -> nn.Module:
        module = self.member(member, {"": branch}, scope)
        if self.options.pool_bn and member.kind == "layer" and member.op in _POOLS:
            module = PoolThenNorm(module, self._search_norm("BatchNorm" + member.op[-2:], branch.type.shape[1],
                                                            scope, member.span))
        return module

    def _search_norm(self, op: str, channels, scope: _Scope, span) -> nn.Module:
        """DARTS' ``BatchNorm(C, affine=False)`` after a pooling candidate (weight-entangled
        when the channel count is searched)."""
        spec = ops.get(op)
        attrs = spec.bind([channels], {"affine": False})
        if isinstance(channels, int):
            return layer_factory(partial=scope.partial)(op, attrs)
        labels = labels_of(channels, self.sizes)
        self._size_keys(labels, span)
        norm = Member(kind="layer", op=op, attrs=attrs, params=tuple(spec.params(attrs)), span=span)
        return make_elastic(norm, labels, self._largest(labels))

    def edge_node(self, spec: EdgeSpec, node: Node) -> EdgeNode:
        edges = {}
        types = {n.name: n.type for branch in node.branches for n in branch.body.nodes}
        for j, (choice_member, choice_node) in sorted(spec.edges.items()):
            key = f"{spec.label}[{j}]"
            edges[j] = self.mixed(choice_member, choice_node, key, _Scope(cell=True), True,
                                  types[choice_node.inputs[0]], edge=j)
            spec.edges[j] = key
        self.edge_nodes[spec.label] = spec
        self.groups.add(tuple(spec.edges[j] for j in sorted(spec.edges)))
        return EdgeNode(spec.label, spec.options, spec.positions, edges)

    def _size_keys(self, labels: tuple[str, ...], span) -> None:
        for label in labels:
            self._key(Key(label, label, tuple(range(len(self.sizes[label])))), span)

    def _key(self, key: Key, span) -> None:
        known = self.keys.get(key.name)
        if known is None:
            self.keys[key.name] = key
        elif known.options != key.options:
            raise SpaceError(f"decision '{key.label}' is shared by places with different options", span)

    def _edge_form(self, node: Node) -> EdgeSpec | None:
        """The node as DARTS compiles it, if it is a ``choose`` over blocks that each apply one
        searched op to each picked input and sum them; None otherwise."""
        decision = self.decisions.get(node.label)
        if decision is None or decision.decl.kind != "subset":
            return None
        decl = decision.decl
        spec = EdgeSpec(node.label, decl.k, decl.options, ())
        for index, branch in enumerate(node.branches):
            pattern = _summed_choices(branch.body) if branch.body is not None else None
            if pattern is None or len(pattern) != decl.k:
                return None
            positions = tuple((choice.target, choice.label) for choice, _ in pattern)
            if spec.positions and positions != spec.positions:
                return None
            spec.positions = positions
            for place, (choice, read) in enumerate(pattern):
                j = decl.options[decision.value(index)[place]]
                choice_member = branch.body.member(choice.target)
                if read != j or self.selector.deps(choice_member) != (choice.label,):
                    return None
                known = spec.edges.get(j)
                if known is None:
                    spec.edges[j] = (choice_member, choice)
                elif not _same_candidates(known[0], choice_member) or known[1].type != choice.type:
                    return None
        return spec

    # ---- PC-DARTS
    def _partial(self, member: Member, node: Node, in_type) -> int:
        """K where the choice keeps its channel count (C divisible by K) and every candidate
        can run on part of the channels; 1 elsewhere (those choices see every channel)."""
        k = self.options.partial
        if k <= 1 or len(node.inputs) != 1 or len(getattr(in_type, "shape", ())) != 4:
            return 1
        shapes = [getattr(b.type, "shape", ()) for b in node.branches]
        first = shapes[0] if shapes else ()
        if len(first) != 4 or not all(len(s) == 4 for s in shapes):
            return 1
        channels = first[1]
        if (not isinstance(channels, int) or channels % k or in_type.shape[1] != channels
                or any(s[1] != channels for s in shapes)):
            return 1
        if not all(_sliceable(child) and not self.selector.deps(child) for _, child in member.members):
            return 1
        return k

    # ---- sizes
    def _largest(self, labels: tuple[str, ...]) -> dict:
        env = {}
        for label in labels:
            options = self.sizes[label]
            index = max(range(len(options)), key=lambda i: options[i])
            env[label], env[label + "#"] = options[index], index
        return env

    def _joint(self, labels: tuple[str, ...]):
        combos = itertools.product(*(range(len(self.sizes[label])) for label in labels))
        for combo in itertools.islice(combos, _MAX_JOINT):
            env = {}
            for label, index in zip(labels, combo):
                env[label], env[label + "#"] = self.sizes[label][index], index
            yield env

    def _check_parameters(self, member: Member, labels, largest: dict) -> None:
        for spec in member.params:
            top = [dims.evaluate(d, largest) for d in spec.shape]
            for env in self._joint(labels):
                if any(dims.evaluate(d, env) > t for d, t in zip(spec.shape, top)):
                    raise SpaceError(
                        f"{member.op}.{spec.name} is not largest at the largest options of "
                        f"{', '.join(labels)}, so it cannot hold every option's weights", member.span)

    def _check_largest(self, graph: Graph) -> None:
        """Under a mixture every tensor has its size at the largest options: check that no
        option makes a node's output larger."""
        for node in graph.nodes:
            shape = getattr(node.type, "shape", None)
            if shape is None:
                continue
            labels = labels_of(shape, self.sizes)
            if not labels:
                continue
            largest = self._largest(labels)
            top = [_value(d, largest) for d in shape]
            for env in self._joint(labels):
                if any(t is not None and (v := _value(d, env)) is not None and v > t
                       for d, t in zip(shape, top)):
                    raise SpaceError(
                        f"{node.op or node.kind} '{node.name}' is larger at other options of {', '.join(labels)} "
                        "than at their largest ones, so a mixture of them cannot be computed at the largest size",
                        node.span)

    # ---- PC-DARTS edge normalisation groups
    def _groups(self, graph: Graph) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Choice nodes summed with other choices into one node: node -> (its key, the group's keys)."""
        found = {}
        for group in _add_groups(graph):
            keys = tuple(n.label for n in group)
            self.groups.add(keys)
            for n in group:
                found[n.target] = (n.label, keys)
        return {n.name: found[n.target] for n in graph.nodes if n.kind == "choice" and n.target in found}


def values_of(decision) -> tuple:
    """A decision's options as size values: the integers of an integer choice, else indices."""
    options = decision.decl.options
    if decision.decl.kind == "value" and all(isinstance(o, int) and not isinstance(o, bool) for o in options):
        return tuple(options)
    return tuple(range(decision.arity))


def _value(d, env):
    try:
        return dims.evaluate(d, env) if isinstance(d, dims.Expr) else d
    except KeyError:  # a size of the input (B, T): not searched
        return None


def _makes_choices(graph: Graph) -> bool:
    return any(n.kind == "choice" and n.op != "choose" for n in graph.nodes)


def _calls(graph: Graph) -> dict[str, dict[str, Node]]:
    """Member name -> {path below it ('' for the member itself): the node that applies it}."""
    calls: dict[str, dict[str, Node]] = {}
    for node in graph.nodes:
        if node.kind in ("call", "choice") and node.target:
            top, _, rest = node.target.partition(".")
            calls.setdefault(top, {}).setdefault(rest, node)
    return calls


def _below(calls: dict[str, Node], name: str) -> dict[str, Node]:
    found = {}
    for path, node in calls.items():
        top, _, rest = path.partition(".")
        if top == name:
            found[rest] = node
    return found


def _summed_choices(body: Graph):
    """``[(choice node, index of the input it reads)]`` if the body is inputs, layer choices
    each reading one input, a tree of additions of exactly them, and its output."""
    inputs = [n.name for n in body.input_nodes]
    choices, adds = [], {}
    for node in body.nodes:
        if node.kind == "input":
            continue
        if node.kind == "choice" and node.op != "choose" and len(node.inputs) == 1 and node.inputs[0] in inputs:
            choices.append((node, inputs.index(node.inputs[0])))
        elif node.kind == "op" and node.op == "add" and node.attrs.get("alpha", 1) == 1:
            adds[node.name] = node.inputs
        elif node.kind != "output":
            return None
    outputs = [n for n in body.nodes if n.kind == "output"]
    if len(outputs) != 1 or len(choices) < 2:
        return None
    leaves = _leaves(outputs[0].inputs[0], adds)
    names = [c.name for c, _ in choices]
    if leaves is None or sorted(leaves) != sorted(names) or len(adds) != len(choices) - 1:
        return None
    return choices


def _leaves(name: str, adds: dict) -> list | None:
    if name not in adds:
        return [name]
    found = []
    for part in adds[name]:
        below = _leaves(part, adds)
        if below is None:
            return None
        found += below
    return found


def _add_groups(graph: Graph) -> list[list[Node]]:
    """Sets of layer choices whose outputs only meet in a tree of additions (a cell node)."""
    uses: dict[str, int] = {}
    for node in graph.nodes:
        for name in node.inputs:
            uses[name] = uses.get(name, 0) + 1
    by_name = {n.name: n for n in graph.nodes}
    adds = {n.name: n.inputs for n in graph.nodes
            if n.kind == "op" and n.op == "add" and n.attrs.get("alpha", 1) == 1}
    inner = {part for parts in adds.values() for part in parts if part in adds and uses.get(part) == 1}
    groups = []
    for root in adds:
        if root in inner:
            continue
        leaves = _tree(root, adds, uses)
        nodes = [by_name.get(leaf) for leaf in leaves]
        if len(nodes) >= 2 and all(n is not None and n.kind == "choice" and n.op != "choose" and uses.get(n.name) == 1
                                   for n in nodes):
            groups.append(nodes)
    return groups


def _tree(name: str, adds: dict, uses: dict) -> list[str]:
    if name in adds:
        found = []
        for part in adds[name]:
            if part in adds and uses.get(part) == 1:
                found += _tree(part, adds, uses)
            else:
                found.append(part)
        return found
    return [name]


def _same_candidates(a: Member, b: Member) -> bool:
    """Whether two choices have options with the same ops and state-dict entries (shapes)."""
    if len(a.members) != len(b.members):
        return False
    for (_, x), (_, y) in zip(a.members, b.members):
        if x.op != y.op:
            return False
        ex = [(k, tuple(p.shape)) for k, p in member_entries(x)]
        ey = [(k, tuple(p.shape)) for k, p in member_entries(y)]
        if ex != ey:
            return False
    return True


def _sliceable(member: Member) -> bool:
    """Whether every layer of a candidate can run on part of its channels (PC-DARTS)."""
    if member.kind == "layer":
        return member.op in PARTIAL_LAYERS
    children = member.own_members()
    return all(_sliceable(child) for _, child in children)


def _stride(node: Node, in_type) -> int:
    """The stride of a choice's outputs relative to its input (for DARTS' ``none``)."""
    out = getattr(node.type, "shape", ())
    inputs = getattr(in_type, "shape", ())
    if len(out) < 3 or len(inputs) != len(out):
        return 1
    if inputs[2] == out[2]:
        return 1
    if isinstance(inputs[2], int) and isinstance(out[2], int) and out[2] and -(-inputs[2] // out[2]) >= 1:
        stride = -(-inputs[2] // out[2])
        if -(-inputs[2] // stride) == out[2]:
            return stride
    raise SpaceError("DARTS' none candidate needs the edge's stride: give the space concrete image sizes", node.span)
