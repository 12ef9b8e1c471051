"""The IR: what every backend reads.  Frozen, slotted dataclasses with a closed set of node kinds.

A ``Graph`` is the elaborated body of one block instance: the ``Member``s it owns (its
module tree: the names become parameter names) and the dataflow ``Node``s that use them.
A node that calls a block keeps that block's own Graph as its ``body``, so the hierarchy
survives to every backend.  Identical block instances (same block, arguments and input
types) share one Graph object, and a run of identical layers inside a sequence is stored
once with a count (``Node.repeat``): repetition stays rolled.

Node kinds (``Node.kind``):

``input``   a declared input of the graph.  ``target`` is the input's name.
``op``      a functional primitive (``relu``, ``cat``, ``matmul`` …): ``op`` names it in the op
            registry, ``attrs`` holds its attributes, ``inputs`` the values it reads.
``call``    applies the member ``target`` (a layer, a block or a sequence).  ``op`` is the
            layer op, the block name or ``Sequential``; ``body`` is the callee's Graph for blocks
            and sequences; ``repeat`` > 1 applies members ``target``, ``target+1`` … in turn
            (a rolled run inside a sequence).
``choice``  a free search decision among layers (``branches``: one ``call`` node per
            alternative, all on the same inputs) or, with ``op == "choose"``, a choice of
            ``attrs["k"]`` of the ``inputs`` (a DAG cell's edges).
``output``  one returned value: ``inputs[0]``.

Names: ``Node.name`` is unique within its graph; ``Member`` names and ``Node.target`` are
relative to the graph that owns them.  The full path of anything is the join of the
``target``s along the call chain (``layer2.0.conv1``).  Choice labels are absolute: the
member path where the decision is made (``cells.3.edge_1_0``) or the label the author gave.

The classes are plain dataclasses so that elaborating a spec never imports pydantic nor
validates each node it makes: the elaborator builds them with the declared types (tuples, not
lists); ``archlang.ir.schema`` validates a whole model against these declarations, and a test
runs it over every spec of the repository.

Must not import the parser, the elaborator or any backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from archlang.errors import SpaceError, Span
from archlang.ir import display, schema
from archlang.ir.types import ParamSpec, TensorType

NodeKind = Literal["input", "op", "call", "choice", "output"]
MemberKind = Literal["layer", "block", "sequential", "choice"]


class BlockName(str):
    """A block passed as an argument (``block=Bottleneck``), kept by name in the IR."""


# keyword-only like the pydantic models they replace (and so a field without a default may
# follow one with); repr=False keeps the one-line repr below instead of a field dump
ir_class = dataclass(frozen=True, slots=True, kw_only=True, repr=False)


class IRModel:
    """The base of every IR class (each an ``ir_class``: frozen, compared and hashed field by field)."""

    __slots__ = ()  # no fields of its own: a plain class, so the subclasses stay fully slotted

    def __repr__(self) -> str:
        # one line: a field dump of a whole graph runs to megabytes in a notebook
        return f"<{type(self).__name__}>"

    def __str__(self) -> str:
        return repr(self)

    @classmethod
    def __get_pydantic_core_schema__(cls, source, handler):
        # read by pydantic only, in archlang.ir.schema: identical block instances share one
        # Graph, so a model is a DAG whose tree can be thousands of times larger (DARTS)
        return schema.once(handler(source))


@ir_class
class Member(IRModel):
    """A named module owned by a block.

    ``layer``: a primitive (``op``, bound ``attrs``, ``params``).  ``block``: an instance of a
    block (``op`` = block name, ``attrs`` = its arguments, ``graph`` = its body).
    ``sequential``: numbered children (``members``).  ``choice``: alternatives ``members``
    named ``"0"``, ``"1"`` …, decided by ``label``.
    """

    kind: MemberKind
    op: str
    attrs: dict[str, Any] = field(default_factory=dict)
    params: tuple[ParamSpec, ...] = ()
    members: tuple[tuple[str, "Member"], ...] = ()
    graph: "Graph | None" = None
    label: str | None = None
    count: Any = None  # sequential with a searched length: a Dim over the choice ``label``
    span: Span

    def member(self, name: str) -> "Member | None":
        for key, value in self.own_members():
            if key == name:
                return value
        return None

    def own_members(self) -> tuple[tuple[str, "Member"], ...]:
        if self.kind == "block" and self.graph is not None:
            return self.graph.members
        return self.members

    def __repr__(self) -> str:
        return f"<Member {self.kind} {self.op}" + (f" ({len(self.members)} members)" if self.members else "") + ">"


@ir_class
class Tie(IRModel):
    """Parameter ``target`` is the very same Parameter as ``source`` (dotted paths)."""

    target: str
    source: str
    span: Span

    def __repr__(self) -> str:
        return f"<Tie {self.target} = {self.source}>"


@ir_class
class ChoiceRef(IRModel):
    """In a constraint's environment: the value that decision ``label`` picks among ``options``."""

    label: str
    options: tuple[Any, ...]


@ir_class
class Constraint(IRModel):
    """``constrain cond``: every architecture of the space must satisfy ``cond``.

    ``cond`` is the condition's expression (an archlang.syntax.ast node) and ``text`` its source;
    ``env`` holds the values of the names it reads where the statement stands: constants,
    sizes over integer choices (``dims`` expressions) and ``ChoiceRef``s, so it can be
    evaluated for any assignment without elaborating again.  ``metrics`` are the names it
    reads that mean the whole architecture: ``params`` (parameter count), ``macs``
    (multiply-accumulates per example).
    """

    text: str
    cond: Any
    env: dict[str, Any] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()
    span: Span


@ir_class
class Guard(IRModel):
    """``assert left op right`` over sizes that elaboration leaves symbolic (``T <= 1024``,
    ``H % 32 == 0``): it holds for some sizes only, so it is checked where they are known
    (``archlang.ir.guards``; the torch backend checks once per new input shape).

    ``left`` and ``right`` are Dims over the entry point's size symbols; ``text`` is the
    condition as written, ``message`` the assert's message (None without one).
    """

    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: Any
    right: Any
    text: str
    message: str | None = None
    span: Span


@ir_class
class Node(IRModel):
    """One node of a graph: an input, an op, a call of a member, a searched layer (``choice``) or an output."""

    kind: NodeKind
    name: str
    op: str = ""
    target: str | None = None
    inputs: tuple[str, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)
    type: Any  # TensorType, or a tuple of them for multi-output ops
    body: "Graph | None" = None
    branches: tuple["Node", ...] = ()
    repeat: Any = 1  # int, or a Dim when the run length is searched
    label: str | None = None
    span: Span

    def __repr__(self) -> str:
        what = self.op or self.target or ""
        return f"<Node {self.kind} {self.name}{': ' + what if what and what != self.name else ''} -> {_type_text(self.type)}>"


@ir_class
class Graph(IRModel):
    """The elaborated body of one block instance."""

    name: str  # block name, or "Sequential"
    args: dict[str, Any] = field(default_factory=dict)
    doc: str | None = None
    members: tuple[tuple[str, Member], ...] = ()
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]
    ties: tuple[Tie, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    guards: tuple[Guard, ...] = ()  # asserts on symbolic sizes, in statement order
    span: Span

    def __repr__(self) -> str:
        return f"<Graph {self.name}: {len(self.nodes)} nodes, {len(self.members)} members>"

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def input_nodes(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind == "input")

    @property
    def output_types(self) -> tuple[TensorType, ...]:
        types = {n.name: n.type for n in self.nodes}
        return tuple(types[o] for o in self.outputs)

    def member(self, name: str) -> Member | None:
        for key, value in self.members:
            if key == name:
                return value
        return None

    def find_member(self, path: str) -> Member | None:
        """The member at a dotted path relative to this graph (``downsample.0``)."""
        first, *rest = path.split(".")
        found = self.member(first)
        for part in rest:
            found = found.member(part) if found is not None else None
        return found


Condition = tuple[str, tuple[int, ...]]  # (label, option indices): that choice took one of them


@ir_class
class ChoiceDecl(IRModel):
    """One free decision of a search space, with its absolute label.

    ``when`` says when the decision matters: it is active if any of its conjunctions of
    conditions holds (``((),)``: always).  A choice made inside option 1 of choice ``op`` has
    ``(("op", (1,)),)``; one inside the 4th layer of a sequence whose length is choice ``d``
    with options (2, 3, 4) has ``(("d", (1, 2)),)``.
    """

    label: str
    kind: Literal["value", "layer", "repeat", "subset"]
    options: tuple[Any, ...]  # values; layer descriptions; counts; or candidate names (subset)
    k: int | None = None  # subset size for kind == "subset"
    when: tuple[tuple[Condition, ...], ...] = ((),)
    # how each layer option reads in tables (``SepConv(kernel_size=5)``): the name and the
    # arguments that tell same-named options apart; not part of the space's identity
    display: tuple[str, ...] = ()
    span: Span

    @property
    def unconditional(self) -> bool:
        return () in self.when

    def __repr__(self) -> str:
        return f"<ChoiceDecl {self.label}: {self.kind}, {len(self.options)} options>"


@ir_class
class Model(IRModel):
    """An elaborated entry point (a ``model`` or ``space``): its graph and free choices."""

    name: str
    kind: Literal["block", "model", "space"]
    params: dict[str, Any] = field(default_factory=dict)
    graph: Graph
    choices: tuple[ChoiceDecl, ...] = ()
    span: Span | None = None  # the entry point's definition (``model ResNet18 = ResNet(...)``)

    @property
    def is_concrete(self) -> bool:
        return not self.choices

    def signature(self) -> str:
        """``3×224×224 → 1000``: the input and output shapes, in the compact diagram form."""
        inputs = ", ".join(_type_text(n.type) for n in self.graph.input_nodes)
        return f"{inputs} → {', '.join(_type_text(t) for t in self.graph.output_types)}"

    def __repr__(self) -> str:
        choices = f", {len(self.choices)} free choices" if self.choices else ""
        return f"<Model {self.name} ({self.kind}): {self.signature()}, {len(self.graph.nodes)} nodes{choices}>"

    def _repr_html_(self) -> str | None:
        """Jupyter shows a model as a header (shapes, parameters, MACs) over its diagram; the
        renderer is registered by ``archlang.api`` (None — the text repr — without one)."""
        return display.show("model.html", self)

    def require_concrete(self) -> None:
        """Raise a located SpaceError naming the free choices, if there are any."""
        if not self.choices:
            return
        labels = ", ".join(c.label for c in self.choices[:8]) + (" …" if len(self.choices) > 8 else "")
        plural = "s" if len(self.choices) != 1 else ""
        raise SpaceError(
            f"{self.kind} {self.name} has {len(self.choices)} free choice{plural} ({labels}); fix them "
            "first (archlang sample, or an assignment)", self.choices[0].span,
        )


def _type_text(t) -> str:
    if isinstance(t, TensorType):
        return t.short()
    if isinstance(t, tuple):
        return "(" + ", ".join(_type_text(x) for x in t) + ")"
    return str(t)

