"""Fixing a space's IR to one architecture by selection, without elaborating again.

Elaborating a space builds every alternative once: a layer choice keeps one branch per option,
a ``choose`` keeps all its candidates, a searched-length sequence keeps its longest run, and a
searched size stays a symbol.  An assignment then fixes the space by *picking*: the chosen
branch of each choice (member and node), the chosen candidates of each ``choose``, the chosen
length of each sequence, and the chosen sizes substituted into shapes, attributes and
parameters.  The result is the IR that elaborating the space with the assignment gives (which
identical layers are stored rolled may differ); ``Space.fix_model`` uses it because it costs a
walk over the parts of the IR that depend on a decision, not a run of the interpreter.

Graphs that depend on no decision are shared with the space's IR, and a resolved graph is
reused for every assignment that agrees on the decisions it depends on.
Must not import a backend.
"""

from __future__ import annotations

from dataclasses import replace

from archlang.ir import Graph, Member, Model, Node, dims
from archlang.ir.types import ParamSpec, TensorType


class Selector:
    """Fixes one space's IR (``model``, with its decisions) by assignments."""

    def __init__(self, model: Model, tree, cache_limit: int = 20_000) -> None:
        self.model = model
        self.tree = tree
        self.decisions = tree.by_label
        self._deps: dict[int, tuple[str, ...]] = {}  # id(graph or member) -> decision labels it depends on
        self._keep: list = []  # keeps the objects whose id() is a key alive
        self._cache: dict = {}
        self.cache_limit = cache_limit

    def fix(self, values: dict) -> Model:
        """The concrete model of an (already checked) assignment ``values``."""
        run = _Run(self, values)
        return replace(self.model, graph=run.graph(self.model.graph), choices=())

    # ---- which decisions a part of the IR depends on
    def deps(self, obj) -> tuple[str, ...]:
        """Labels of the decisions a graph, member or node depends on (anywhere inside it)."""
        key = id(obj)
        found = self._deps.get(key)
        if found is None:
            labels: set[str] = set()
            if isinstance(obj, Graph):
                self._graph_deps(obj, labels)
            elif isinstance(obj, Node):
                self._node_deps(obj, labels)
            else:
                self._member_deps(obj, labels)
            found = self._deps[key] = tuple(sorted(labels))
            self._keep.append(obj)
        return found

    def sizes(self, node: Node) -> bool:
        """Whether the node's own type, attributes or repeat count hold a searched size."""
        key = ("sizes", id(node))
        found = self._deps.get(key)
        if found is None:
            labels: set[str] = set()
            self._value_deps((node.type, node.attrs, node.repeat), labels)
            found = self._deps[key] = bool(labels)
        return found

    def _graph_deps(self, graph: Graph, labels: set) -> None:
        self._value_deps(graph.args, labels)
        for _, member in graph.members:
            labels.update(self.deps(member))
        for node in graph.nodes:
            labels.update(self.deps(node))

    def _node_deps(self, node: Node, labels: set) -> None:
        if node.label is not None and node.kind == "choice":
            labels.add(node.label)
        self._value_deps((node.type, node.attrs, node.repeat), labels)
        if node.body is not None:
            labels.update(self.deps(node.body))
        for branch in node.branches:
            labels.update(self.deps(branch))

    def _member_deps(self, member: Member, labels: set) -> None:
        if member.kind == "choice" and member.label is not None:
            labels.add(member.label)
        self._value_deps((member.attrs, member.count, [p.shape for p in member.params]), labels)
        if member.graph is not None:
            labels.update(self.deps(member.graph))
        for _, child in member.members:
            labels.update(self.deps(child))

    def _value_deps(self, value, labels: set) -> None:
        for d in _dims_in(value):
            for name in dims.free_symbols(d):
                label = self._label_of_symbol(name)
                if label is not None:
                    labels.add(label)

    def _label_of_symbol(self, name: str) -> str | None:
        if name in self.decisions:
            return name
        if name.endswith("#") and name[:-1] in self.decisions:
            return name[:-1]
        return None

    # ---- cached resolutions
    def cached(self, obj, values: dict, compute):
        labels = self.deps(obj)
        if not labels:
            return obj
        get = values.get
        key = (id(obj), *[get(label) for label in labels])
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= self.cache_limit:
                self._cache.clear()
            found = self._cache[key] = compute()
        return found


class _Run:
    """One fixing: the assignment, the size environment, and the IR walk."""

    def __init__(self, selector: Selector, values: dict) -> None:
        self.s = selector
        self.values = values
        self.env = environment(selector.decisions, values)
        self.current: Graph | None = None  # the graph being fixed

    def index(self, label: str) -> int:
        return self.s.decisions[label].index(self.values[label])

    # ---- graphs
    def graph(self, graph: Graph, length: int | None = None) -> Graph:
        return self.s.cached(graph, self.values, lambda: self._graph(graph, length))

    def _graph(self, graph: Graph, length: int | None) -> Graph:
        """``length``: in the body of a searched-length sequence, how many items it has."""
        outer, self.current = self.current, graph
        try:
            return self._graph_body(graph, length)
        finally:
            self.current = outer

    def _graph_body(self, graph: Graph, length: int | None) -> Graph:
        rename: dict[str, str] = {}
        picked: dict[str, list[str]] = {}  # a `choose` node -> its chosen candidates, in order
        nodes: list[Node] = []
        position = 0  # in a sequence's body: the index of the next item
        for node in graph.nodes:
            inputs = tuple(rename.get(i, i) for i in node.inputs) if rename else node.inputs
            if node.kind == "choice" and node.op == "choose":
                picked[node.name] = [inputs[i] for i in sorted(self.values[node.label])]
                continue
            if node.kind == "op" and node.op == "item" and node.inputs[0] in picked:
                rename[node.name] = picked[node.inputs[0]][node.attrs["index"]]
                continue
            repeat = None
            if length is not None and node.kind in ("call", "choice"):
                full = node.repeat if isinstance(node.repeat, int) else dims.evaluate(node.repeat, self.env)
                repeat = max(0, min(position + full, length) - position)
                position += max(full, 0)
            fixed = self.node(node, inputs, repeat)
            if fixed is None:  # a run of a searched-length sequence that is not there
                rename[node.name] = inputs[0]
                continue
            nodes.append(fixed)
        members = graph.members if length is None else graph.members[:length]
        members = tuple((name, self.member(m)) for name, m in members)
        return replace(graph, nodes=tuple(nodes), members=members, args=self.value(graph.args))

    def node(self, node: Node, inputs: tuple, repeat: int | None = None) -> Node | None:
        """The node fixed (its chosen branch, sizes, body); ``repeat``: its run length if known."""
        if repeat is None and inputs == node.inputs and not self.s.deps(node):
            return node
        update: dict = {}
        if repeat is None:
            repeat = node.repeat if isinstance(node.repeat, int) else dims.evaluate(node.repeat, self.env)
        if repeat <= 0:
            return None
        if repeat != node.repeat:
            update["repeat"] = repeat
        if inputs != node.inputs:
            update["inputs"] = inputs
        if node.kind == "choice":
            update.update(name=node.name, target=node.target, span=node.span, inputs=inputs, repeat=repeat)
            while node.kind == "choice":  # a layer choice, possibly of choices: its chosen branch
                node = node.branches[self.index(node.label)]
        if self.s.sizes(node):
            update.update(type=self.type(node.type), attrs=self.value(node.attrs))
        if node.body is not None:
            body = self.graph(node.body, self.length(update.get("target", node.target)))
            if body is not node.body:
                update["body"] = body
        return replace(node, **update) if update else node

    def length(self, target: str | None) -> int | None:
        """The chosen length of the searched-length sequence ``target`` of the graph being fixed."""
        if not target or self.current is None:
            return None
        return sequence_length(find_member(self.current, target, self.index), self.env)

    # ---- members
    def member(self, member: Member) -> Member:
        return self.s.cached(member, self.values, lambda: self._member(member))

    def _member(self, member: Member) -> Member:
        if member.kind == "choice":
            return self.member(member.members[self.index(member.label)][1])
        update: dict = {"attrs": self.value(member.attrs)}
        if member.params:
            update["params"] = tuple(self.param(p) for p in member.params)
        if member.graph is not None:
            update["graph"] = self.graph(member.graph)
        if member.kind == "sequential":
            children = member.members
            if member.count is not None:
                children = children[:dims.evaluate(member.count, self.env)]
                update["count"] = None
            update["members"] = tuple((name, self.member(m)) for name, m in children)
        return replace(member, **update)

    def param(self, spec: ParamSpec) -> ParamSpec:
        shape = self.value(spec.shape)
        return spec if shape == spec.shape else replace(spec, shape=shape)

    # ---- values
    def type(self, t):
        if isinstance(t, tuple):
            return tuple(self.type(x) for x in t)
        if isinstance(t, TensorType) and any(not isinstance(d, int) for d in t.shape):
            shape = tuple(self.value(d) for d in t.shape)
            return t if shape == t.shape else TensorType(dtype=t.dtype, shape=shape)
        return t

    def value(self, value):
        if isinstance(value, dims.Expr):
            return dims.simplify(dims.subs(value, self.env))
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
            return type(value)(self.value(v) for v in value)
        return value


def find_member(graph: Graph, path: str, index) -> Member | None:
    """The member at a dotted ``path`` of ``graph``, through the option ``index(label)`` of
    every choice on the way."""
    found = None
    for i, part in enumerate(path.split(".")):
        found = graph.member(part) if i == 0 else found.member(part)
        while found is not None and found.kind == "choice":
            found = found.members[index(found.label)][1]
        if found is None:
            return None
    return found


def sequence_length(member, env: dict) -> int | None:
    """The chosen length of a searched-length sequence member (None for other members)."""
    if member is None or member.kind != "sequential" or member.count is None:
        return None
    return dims.evaluate(member.count, env)


def environment(decisions: dict, values: dict) -> dict:
    """Symbol values: ``label`` -> the chosen size (integer decisions), ``label#`` -> the option index."""
    env = {}
    for label, value in values.items():
        decision = decisions.get(label)
        if decision is None:
            continue
        index = decision.index(value)
        env[label + "#"] = index
        if decision.decl.kind == "value":
            option = decision.decl.options[index]
            if isinstance(option, int) and not isinstance(option, bool):
                env[label] = option
    return env


def _dims_in(value):
    if isinstance(value, dims.Expr):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _dims_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _dims_in(v)
    elif isinstance(value, TensorType):
        yield from _dims_in(value.shape)
