"""What the IR says about a place in the source: the inferred types of the values a statement
makes, the members a layer statement builds, and the block instances of a definition.

The IR keeps a span on every node, member and graph; ``ShapeIndex`` files them by span, once
per distinct instance (a block used with other arguments or input shapes is another
instance, and may give other shapes).  Nothing here infers a shape: a place the checker did
not elaborate has no entry, and then the editor shows nothing.

An API-layer module: imports the IR and the AST, never the elaborator's internals, the
protocol libraries or a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from archlang.errors import Span
from archlang.ir import Graph, Member, Model, Node
from archlang.ir.types import TensorType
from archlang.syntax import ast


def span_key(span: Span) -> tuple:
    return (span.file, span.line, span.col, span.end_line, span.end_col)


def start_key(span: Span) -> tuple:
    return (span.file, span.line, span.col)


@dataclass(frozen=True)
class Seen:
    """A thing of the IR met at a place, and the chain of calls that reached it."""

    item: Any  # a Node, Member or Graph
    path: str  # "ResNet18 › layer1 › 0"


@dataclass
class ShapeIndex:
    nodes: dict[tuple, list[Seen]] = field(default_factory=dict)  # span → value nodes
    members: dict[tuple, list[Seen]] = field(default_factory=dict)  # span → members
    graphs: dict[tuple, list[Seen]] = field(default_factory=dict)  # definition start → instances

    moved: Callable[[Span], Span] | None = None  # where the spans of the model being filed are now

    @classmethod
    def of(cls, models: dict[str, Model], moves: dict[str, Callable[[Span], Span]] | None = None) -> "ShapeIndex":
        """Files every model's IR; ``moves`` maps a span of a model reused from an earlier
        version of the text to where it stands now."""
        index = cls()
        seen: set[int] = set()
        for name, model in models.items():
            index.moved = (moves or {}).get(name)
            index._graph(model.graph, name, seen)
        index.moved = None
        return index

    def _key(self, span: Span) -> tuple:
        return span_key(self.moved(span) if self.moved is not None else span)

    def _graph(self, graph: Graph, path: str, seen: set[int]) -> None:
        if id(graph) in seen:  # identical instances share one Graph: index it once
            return
        seen.add(id(graph))
        self.graphs.setdefault(self._key(graph.span)[:3], []).append(Seen(graph, path))
        for name, member in graph.members:
            self._member(member, f"{path} › {name}", seen)
        for node in graph.nodes:
            self._node(node, path, seen)

    def _node(self, node: Node, path: str, seen: set[int]) -> None:
        if node.kind in ("input", "op", "call", "choice"):
            self.nodes.setdefault(self._key(node.span), []).append(Seen(node, path))
        inner = f"{path} › {node.target}" if node.target else path
        if node.body is not None:
            self._graph(node.body, inner, seen)
        for branch in node.branches:
            self._node(branch, path, seen)

    def _member(self, member: Member, path: str, seen: set[int]) -> None:
        self.members.setdefault(self._key(member.span), []).append(Seen(member, path))
        if member.graph is not None:
            self._graph(member.graph, path, seen)
        for name, child in member.members:
            self._member(child, f"{path} › {name}", seen)

    # ---- queries
    def types_at(self, span: Span) -> list[tuple[Any, str]]:
        """The distinct types of the value made by the expression at ``span``, each with the
        first instance that gives it."""
        return _distinct((seen.item.type, seen.path) for seen in self.nodes.get(span_key(span), ()))

    def members_at(self, span: Span) -> list[Seen]:
        return self.members.get(span_key(span), [])

    def instances(self, definition: ast.BlockDef) -> list[Seen]:
        return self.graphs.get(start_key(definition.span), [])

    def calls(self, definition: ast.BlockDef, member: str) -> list[tuple[Any, str]]:
        """The distinct output types of applying ``member`` in the instances of ``definition``."""
        return _distinct((node.type, seen.path) for seen in self.instances(definition)
                         for node in seen.item.nodes if node.kind == "call" and node.target == member)


def _distinct(pairs) -> list[tuple[Any, str]]:
    found: dict[str, tuple[Any, str]] = {}
    for type_, path in pairs:
        found.setdefault(type_text(type_), (type_, path))
    return list(found.values())


def type_text(type_) -> str:
    """``float32[B, 64, H, W]`` (a tuple of them for several outputs)."""
    if isinstance(type_, tuple):
        return "(" + ", ".join(type_text(t) for t in type_) + ")"
    return str(type_)


def short_text(type_) -> str:
    """``B×64×H×W``, the compact form of diagrams; dtype shown when it is not float32."""
    if isinstance(type_, tuple):
        return "(" + ", ".join(short_text(t) for t in type_) + ")"
    if isinstance(type_, TensorType):
        return type_.short() if type_.dtype == "float32" else f"{type_.dtype}[{type_.short()}]"
    return str(type_)


def statement_types(index: ShapeIndex, stmt) -> list[tuple[Any, str]]:
    """The types an ``input`` or an assignment statement gives its name(s), per instance."""
    if isinstance(stmt, ast.Input):
        return index.types_at(stmt.span)
    if isinstance(stmt, ast.Assign):
        return index.types_at(stmt.value.span)
    return []
