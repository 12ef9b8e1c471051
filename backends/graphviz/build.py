"""IR → a Graphviz ``Digraph``: blocks as nested clusters, layers and ops as nodes, values as
edges labelled with their symbolic shapes.

The walk is an interpreter over the IR whose values are *ports* (the DOT node that produces
a value): a graph's input nodes are bound to the caller's ports, so a cluster has no input
or output nodes of its own and edges run straight from producer to consumer.  A call is a
cluster (its body, nested), one collapsed node (below ``depth``), or a layer node; a rolled
run (``repeat`` > 1) is drawn once with ``×N`` unless ``expand``.  Edges are declared at the
top level after every node, in walk order, so the DOT text is deterministic.

Imports only archlang.ir/types/dims/summarize, this backend's modules and ``graphviz``;
never another backend.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import graphviz

from archlang.ir import Graph, Member, Model, Node
from archlang.ir.expanded import check_expanded
from archlang.ir.params import count_params, member_params
from archlang.ir.types import TensorType

from . import choices, labels, skips, style
from .labels import esc

DIRECTIONS = ("TB", "LR", "BT", "RL")


@dataclass(frozen=True)
class RenderOptions:
    """``depth``: levels of blocks drawn open (None: all; 0: only the top-level graph, every
    call collapsed).  ``expand``: draw each repetition of a rolled run.  ``direction``: the
    rank direction (TB top to bottom, LR left to right)."""

    depth: int | None = None
    expand: bool = False
    direction: str = "TB"

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {self.direction!r}")
        if self.depth is not None and (not isinstance(self.depth, int) or self.depth < 0):
            raise ValueError(f"depth must be a non-negative integer or None, not {self.depth!r}")


@dataclass(frozen=True)
class Diagram:
    """The DOT source and what it contains (for messages and tests)."""

    source: str
    nodes: int
    clusters: int
    edges: int
    skips: int


def to_dot(model: Model, options: RenderOptions | None = None) -> str:
    """The DOT source of ``model``'s diagram (no Graphviz binary needed)."""
    return build_diagram(model, options).source


def build_diagram(model: Model, options: RenderOptions | None = None) -> Diagram:
    """The diagram: refused (LimitError) when it would have too many nodes, counting what
    it draws (repetitions only with ``expand``, blocks down to ``depth``)."""
    options = options or RenderOptions()
    check_expanded(model, "draw", repeats=options.expand, depth=options.depth, modules=False)
    return _Drawing(model, options).draw()


# ---- values and scopes -------------------------------------------------------------------


@dataclass(frozen=True)
class Port:
    """A value on the diagram: the DOT node producing it, its type, and which element of a
    multi-output node it is."""

    node: str
    type: Any
    index: int | None = None
    skip: bool = False  # bound into a cluster through a skip edge: its edges inside are skips

    def label(self) -> str:
        text = labels.shape(self.type)
        return text if self.index is None else f"[{self.index}] {text}"

    @property
    def scalar(self) -> bool:
        return isinstance(self.type, TensorType) and self.type.rank == 0


@dataclass
class _Scope:
    """One graph being drawn: where its nodes go and what its names are bound to."""

    graph: Graph
    canvas: graphviz.Digraph
    path: str  # member path of the graph's owner ('' at the top)
    level: int  # call depth, for --depth (a merged wrapper counts as its levels)
    nest: int = 0  # clusters drawn around this graph, for the fill colour
    env: dict = field(default_factory=dict)

    def member(self, target: str | None) -> Member | None:
        return self.graph.find_member(target) if target else None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _run(graph: Graph, target: str, count: int) -> list[str]:
    """The members a rolled run applies in turn: ``count`` consecutive members of the
    sequence from ``target`` on (``0``, ``1`` …; ``encoder_layer_0``, ``encoder_layer_1`` …)."""
    names = [name for name, _ in graph.members]
    if target in names:
        start = names.index(target)
        found = names[start:start + count]
        if len(found) == count:
            return found
    head, digits = _split_number(target)
    return [f"{head}{int(digits) + i}" if digits else target for i in range(count)]


def _split_number(name: str) -> tuple[str, str]:
    """``layer1.12`` → (``layer1.``, ``12``); no trailing number → (name, '')."""
    stem = name.rstrip("0123456789")
    return stem, name[len(stem):]


def _run_name(graph: Graph, target: str, repeat) -> str:
    """``1..3`` / ``encoder_layer_0..11`` for a rolled run; else the target."""
    if not isinstance(repeat, int) or repeat <= 1:
        return target
    last = _run(graph, target, repeat)[-1]
    head, digits = _split_number(last)
    return f"{target}..{digits}" if digits and target.startswith(head) else f"{target}..{last}"


def _wrapped_call(graph: Graph) -> Node | None:
    """The one call ``graph`` consists of, when it only forwards its inputs to a block and
    returns that block's result; else None."""
    work = [n for n in graph.nodes if n.kind not in ("input", "output")]
    if len(work) != 1 or graph.ties:
        return None
    call = work[0]
    if call.kind != "call" or call.body is None or call.repeat != 1:
        return None
    if list(call.inputs) != [n.name for n in graph.input_nodes]:
        return None
    if [graph.node(o).inputs[0] for o in graph.outputs] != [call.name]:
        return None
    return call


def _as_skip(port):
    return replace(port, skip=True) if isinstance(port, Port) else port


def _plain(port):
    """A cluster's output is never a skip, even when the cluster passes an input through."""
    return replace(port, skip=False) if isinstance(port, Port) and port.skip else port


def _ports(value) -> tuple:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


# ---- the walk ----------------------------------------------------------------------------


class _Drawing:
    def __init__(self, model: Model, options: RenderOptions) -> None:
        self.model = model
        self.options = options
        self.dot = graphviz.Digraph(
            name=model.name, graph_attr=style.graph_attrs(options.direction),
            node_attr=style.node_defaults(), edge_attr=style.edge_defaults(),
        )
        self.places = choices.places(model)
        self.skip_sets: dict[int, frozenset] = {}
        self.edges: list[tuple[str, str, dict]] = []
        self.edge_keys: set = set()
        self.used: set[str] = set()
        self.layer_ids: dict[str, str] = {}  # member path -> DOT node (for tied weights)
        self.counts: Counter = Counter()
        self.param_counts: dict[int, Any] = {}  # id(member) -> its parameter count
        self.graph_params: dict = {}  # shared graphs' counts, so each is counted once

    def draw(self) -> Diagram:
        self.dot.attr(label=self.title())
        self.body(_Scope(self.model.graph, self.dot, "", 0), None)
        for tail, head, attrs in self.edges:
            self.dot.edge(tail, head, **attrs)
        c = self.counts
        return Diagram(self.dot.source, c["nodes"], c["clusters"], len(self.edges), c["skip"])

    def title(self) -> str:
        m = self.model
        args = ", ".join(f"{k}={labels.value(v)}" for k, v in m.params.items())
        head = f"<b>{esc(m.name)}</b>"
        if m.graph.name != m.name or args:
            head += " · " + esc(labels.clip(f"{m.graph.name}({args})", 90))
        detail = [m.kind, labels.params_text(count_params(m.graph, self.graph_params))]
        text = labels.html_label(head, labels.dot_points(*detail), align="left")
        if not m.choices:
            return text
        legend = choices.legend_rows(m.choices, self.places)
        return (f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="2">'
                f'<tr><td align="left" colspan="5">{text[1:-1]}</td></tr>{legend}</table>>')

    # -- graphs
    def body(self, scope: _Scope, inputs: list | None) -> list:
        """Draw a graph's nodes; returns the ports of its outputs."""
        if inputs is not None:
            for node, port in zip(scope.graph.input_nodes, inputs):
                scope.env[node.name] = port
        for node in scope.graph.nodes:
            result = _HANDLERS[node.kind](self, node, scope, inputs is None)
            if result is not None:
                scope.env[node.name] = result
        self.ties(scope)
        return [scope.env.get(scope.graph.node(o).inputs[0]) for o in scope.graph.outputs]

    def input(self, node: Node, scope: _Scope, top: bool):
        if not top:
            return None  # bound to the caller's port
        ident = self.new_node(scope.canvas, scope.path, node.name,
                              labels.html_label(f"<b>{esc(node.target or node.name)}</b>", "input", color=style.IO_MUTED),
                              style.io_node())
        return Port(ident, node.type)

    def output(self, node: Node, scope: _Scope, top: bool):
        if not top:
            return None
        outputs = scope.graph.outputs
        name = "output" if len(outputs) == 1 else f"output {outputs.index(node.name)}"
        ident = self.new_node(scope.canvas, scope.path, node.name, labels.html_label(f"<b>{esc(name)}</b>"),
                              style.io_node())
        self.connect(scope, node, ident)
        return None

    # -- ops
    def op(self, node: Node, scope: _Scope, top: bool):
        if node.op == "item":
            return self.item(node, scope)
        sources = [i for i in node.inputs if i]
        symbol = style.MERGE_SYMBOLS.get(node.op)
        if symbol and len(sources) == 2 and node.attrs.get("alpha", 1) == 1 and not node.attrs.get("rounding_mode"):
            label, attrs = symbol, style.merge_node()
        elif node.op == "const":
            label, attrs = esc(labels.key_attrs(node.op, node.attrs)), style.source_node()
        else:
            label = labels.html_label(labels.title(node.op, labels.key_attrs(node.op, node.attrs)))
            attrs = style.op_node(node.op)
        attrs = dict(attrs, tooltip=labels.tooltip(_join(scope.path, node.name), node.op, node.attrs, node.type))
        ident = self.new_node(scope.canvas, scope.path, node.name, label, attrs, separator="/")
        self.connect(scope, node, ident)
        return Port(ident, node.type)

    def item(self, node: Node, scope: _Scope):
        """``item`` is never drawn: it picks one element of a multi-output node or cluster."""
        source = scope.env.get(node.inputs[0])
        index = node.attrs.get("index", 0)
        if isinstance(source, tuple):
            return source[index]
        return Port(source.node, node.type, index) if source is not None else None

    # -- calls
    def call(self, node: Node, scope: _Scope, top: bool):
        sources = [(i, scope.env.get(i)) if i else (None, None) for i in node.inputs]
        count = node.repeat
        if self.options.expand and isinstance(count, int) and count > 1:
            runs = [(target, 1) for target in _run(scope.graph, node.target, count)]
        else:
            runs = [(node.target, count)]
        result = None
        for target, repeat in runs:
            result = self.apply(node, scope, target, repeat, sources)
            sources = [(None, result)]
        return result

    def apply(self, node: Node, scope: _Scope, target: str, repeat, sources: list):
        member = scope.member(target)
        if node.body is None:
            return self.layer(node, scope, target, repeat, member, sources)
        if not self.is_open(scope.level) or self.opaque(node.body, scope.level + 1):
            return self.collapsed(node, scope, target, repeat, member, sources)
        return self.cluster(node, scope, target, repeat, member, sources)

    def layer(self, node: Node, scope: _Scope, target: str, repeat, member: Member | None, sources: list):
        op = member.op if member is not None else node.op
        attrs = member.attrs if member is not None else {}
        suffix = labels.repeat_text(repeat) if repeat != 1 else ""
        params = self.params(member, repeat)
        label = labels.html_label(labels.title(op, labels.key_attrs(op, attrs), suffix),
                                  labels.dot_points(target, labels.params_text(params)))
        hover = labels.tooltip(_join(scope.path, target), op, attrs, node.type)
        ident = self.new_node(scope.canvas, scope.path, target, label, dict(style.op_node(op), tooltip=hover))
        self.layer_ids.setdefault(_join(scope.path, target), ident)
        self.connect_sources(scope, node, ident, sources)
        return Port(ident, node.type)

    def collapsed(self, node: Node, scope: _Scope, target: str, repeat, member: Member | None, sources: list):
        ops = [member.op if member is not None else node.op]
        body = node.body
        while (inner := _wrapped_call(body)) is not None:  # name what a wrapper wraps too
            inner_member = body.find_member(inner.target)
            ops.append(inner_member.op if inner_member is not None else inner.op)
            body = inner.body
        ops = [op for op in ops if op != "Sequential"] or ops[:1]  # the blocks, not their containers
        suffix = labels.repeat_text(repeat) if repeat != 1 else ""
        params = self.params(member, repeat)
        label = labels.html_label(labels.title(" › ".join(ops), "", suffix),
                                  labels.dot_points(_join(scope.path, _run_name(scope.graph, target, repeat)),
                                                    labels.params_text(params)),
                                  esc("→ " + labels.shape(node.type)))
        ident = self.new_node(scope.canvas, scope.path, target, label, style.collapsed_block())
        self.connect_sources(scope, node, ident, sources)
        return Port(ident, node.type)

    def cluster(self, node: Node, scope: _Scope, target: str, repeat, member: Member | None, sources: list):
        """A block drawn open.  A block whose body is nothing but one call of another block
        (``DoubleConv`` wrapping a ``Sequential``) shares its cluster with the callee, so
        wrappers do not add empty frames: the label names both (``DoubleConv › Sequential``)."""
        ops = [member.op if member is not None else node.op]
        params = self.params(member, repeat)
        display = _join(scope.path, _run_name(scope.graph, target, repeat))
        path, body, level = _join(scope.path, target), node.body, scope.level + 1
        while (inner := _wrapped_call(body)) is not None and self.is_open(level):
            inner_member = body.find_member(inner.target)
            ops.append(inner_member.op if inner_member is not None else inner.op)
            display, path = _join(display, inner.target), _join(path, inner.target)
            body, level = inner.body, level + 1
        head = f"<b>{esc(display)}</b> · " + " › ".join(esc(op) for op in ops)
        if repeat != 1:
            head += f' <b><font color="{style.REPEAT_COLOR}">{esc(labels.repeat_text(repeat))}</font></b>'
        label = labels.html_label(head, esc(labels.params_text(params)), align="left")
        self.counts["clusters"] += 1
        path = self.unique(path)
        with scope.canvas.subgraph(name=f"cluster_{path}") as sub:
            sub.attr(label=label, **style.cluster(scope.nest + 1, ops[-1] == "Sequential"))
            inner_scope = _Scope(body, sub, path, level, nest=scope.nest + 1)
            skip_set = self.skip_set(scope.graph)
            bound = [_as_skip(port) if name and (name, node.name) in skip_set else port for name, port in sources]
            drawn = self.counts["nodes"]
            outputs = [_plain(port) for port in self.body(inner_scope, bound)]
            if self.counts["nodes"] == drawn:  # a pass-through block: keep it visible
                outputs = [self.passthrough(node, inner_scope, scope, sources)]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def passthrough(self, node: Node, inner: _Scope, outer: _Scope, sources: list) -> Port:
        label = labels.html_label("<i>pass-through</i>")
        ident = self.new_node(inner.canvas, inner.path, "passthrough", label, style.op_node("Identity"), separator="/")
        self.connect_sources(outer, node, ident, sources)
        return Port(ident, node.type)

    def opaque(self, body: Graph, level: int) -> bool:
        """Whether ``body`` only wraps (through any number of wrappers) a call that is drawn
        collapsed: the block is then drawn collapsed itself, not as a frame around one node."""
        while (inner := _wrapped_call(body)) is not None:
            if not self.is_open(level):
                return True
            body, level = inner.body, level + 1
        return False

    def is_open(self, level: int) -> bool:
        """Whether calls in a graph at ``level`` are drawn open (as clusters)."""
        return self.options.depth is None or level < self.options.depth

    # -- choices
    def choice(self, node: Node, scope: _Scope, top: bool):
        shared = self.places.get(node.label, 0)
        if node.op == "choose":
            ident = self.new_node(scope.canvas, scope.path, node.name, choices.choose_label(node, shared),
                                  style.choice_node(), separator="/")
            self.connect(scope, node, ident, kind="candidate")
            return Port(ident, node.type)
        member = scope.member(node.target)
        repeat = labels.repeat_text(node.repeat) if node.repeat != 1 else ""
        ident = self.new_node(scope.canvas, scope.path, node.target or node.name,
                              choices.choice_label(node, member, shared, repeat, self.params), style.choice_node())
        several = len(set(i for i in node.inputs if i)) > 1  # the decision picks among its inputs
        self.connect(scope, node, ident, kind="candidate" if several else None)
        return Port(ident, node.type)

    def params(self, member: Member | None, repeat=1):
        """``summarize.member_params``, once per member (identical instances share members)."""
        if member is None:
            return 0
        if id(member) not in self.param_counts:
            self.param_counts[id(member)] = member_params(member, self.graph_params)
        return self.param_counts[id(member)] * repeat

    # -- nodes and edges
    def unique(self, ident: str) -> str:
        candidate, n = ident, 1
        while candidate in self.used:
            n += 1
            candidate = f"{ident}#{n}"
        self.used.add(candidate)
        return candidate

    def new_node(self, canvas: graphviz.Digraph, path: str, name: str, label: str, attrs: dict,
                 separator: str = ".") -> str:
        ident = self.unique(f"{path}{separator}{name}" if path else name)
        canvas.node(ident, label, **attrs)
        self.counts["nodes"] += 1
        return ident

    def connect(self, scope: _Scope, node: Node, head: str, kind: str | None = None) -> None:
        sources = [(i, scope.env.get(i)) for i in node.inputs if i]
        self.connect_sources(scope, node, head, sources, kind)

    def connect_sources(self, scope: _Scope, node: Node, head: str, sources: list, kind: str | None = None) -> None:
        skip_set = self.skip_set(scope.graph)
        for name, value in sources:
            for port in _ports(value):
                is_skip = port.skip or (name and (name, node.name) in skip_set)
                edge_kind = kind or ("skip" if is_skip else "main")
                self.edge(port, head, edge_kind)

    def edge(self, port: Port, head: str, kind: str) -> None:
        key = (port.node, head, port.index)
        if key in self.edge_keys:
            return
        self.edge_keys.add(key)
        attrs = style.edge("side" if port.scalar and kind == "main" else kind)
        if not port.scalar:
            attrs["label"] = " " + port.label() + " "
        if kind == "skip":
            self.counts["skip"] += 1
        self.edges.append((port.node, head, attrs))

    def skip_set(self, graph: Graph) -> frozenset:
        found = self.skip_sets.get(id(graph))
        if found is None:
            found = self.skip_sets[id(graph)] = skips.skip_edges(graph)
        return found

    def ties(self, scope: _Scope) -> None:
        """Tied weights (``tie lm_head.weight = wte.weight``): a dotted line between the layers."""
        for tie in scope.graph.ties:
            a = self.layer_ids.get(_join(scope.path, tie.target.rpartition(".")[0]))
            b = self.layer_ids.get(_join(scope.path, tie.source.rpartition(".")[0]))
            if a and b and (a, b, "tie") not in self.edge_keys:
                self.edge_keys.add((a, b, "tie"))
                self.edges.append((b, a, style.edge("tie")))


_HANDLERS: dict[str, Callable] = {
    "input": _Drawing.input, "output": _Drawing.output, "op": _Drawing.op,
    "call": _Drawing.call, "choice": _Drawing.choice,
}
