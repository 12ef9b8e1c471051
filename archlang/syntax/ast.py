"""The abstract syntax tree of an .arch file: plain frozen dataclasses, each with a Span.

The AST is what the parser (archlang.syntax) builds and what the formatter (archlang.syntax.fmt)
prints; the elaborator (archlang.elaborate.body) turns it into the IR.  Nodes compare equal
ignoring spans (``span`` is excluded from equality) so that ``parse(fmt(src)) == parse(src)``
is a meaningful round-trip property.

Must not import the parser, the IR or any backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from archlang.errors import Span

_span = field(compare=False, repr=False)


# ---- expressions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Name:
    id: str
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Const:
    """A literal: int, float, str, bool or None."""

    value: object
    span: Span = _span


@dataclass(frozen=True, slots=True)
class EllipsisLit:
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-", "+", "not"
    operand: "Expr"
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # + - * / // % @ ** and or
    left: "Expr"
    right: "Expr"
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Compare:
    left: "Expr"
    ops: tuple[str, ...]
    rights: tuple["Expr", ...]
    span: Span = _span


@dataclass(frozen=True, slots=True)
class IfExp:
    cond: "Expr"
    then: "Expr"
    orelse: "Expr"
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Keyword:
    name: str
    value: "Expr"
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Call:
    func: "Expr"
    args: tuple["Expr", ...]
    kwargs: tuple[Keyword, ...]
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Attribute:
    value: "Expr"
    attr: str
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Slice:
    start: "Expr | None"
    stop: "Expr | None"
    step: "Expr | None"
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Subscript:
    value: "Expr"
    items: tuple["Expr", ...]
    span: Span = _span


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple["Expr", ...]
    span: Span = _span


@dataclass(frozen=True, slots=True)
class TupleExpr:
    items: tuple["Expr", ...]
    span: Span = _span


@dataclass(frozen=True, slots=True)
class ListComp:
    elt: "Expr"
    var: str
    iter: "Expr"
    cond: "Expr | None"
    span: Span = _span


Expr = Union[
    Name, Const, EllipsisLit, Unary, Binary, Compare, IfExp, Call, Attribute, Slice,
    Subscript, ListExpr, TupleExpr, ListComp,
]


# ---- statements -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeRef:
    name: str
    args: tuple["TypeRef", ...]
    span: Span = _span

    def __str__(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}[{', '.join(map(str, self.args))}]"


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: TypeRef | None
    default: Expr | None
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Input:
    """``input x: float32[B, C, H, W]`` — a declared tensor input with a symbolic shape."""

    name: str
    dtype: str | None
    dims: tuple[Expr, ...]
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Assign:
    targets: tuple[str, ...]
    value: Expr
    span: Span = _span


@dataclass(frozen=True, slots=True)
class If:
    branches: tuple[tuple[Expr, tuple["Stmt", ...]], ...]
    orelse: tuple["Stmt", ...] | None
    span: Span = _span


@dataclass(frozen=True, slots=True)
class For:
    var: str
    iter: Expr
    body: tuple["Stmt", ...]
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Return:
    values: tuple[Expr, ...]
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Assert:
    cond: Expr
    message: Expr | None
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Constrain:
    """``constrain params <= 5e6``: a condition every architecture of a space must meet."""

    cond: Expr
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Tie:
    """``tie lm_head.weight = wte.weight`` — two parameter paths become one Parameter."""

    target: tuple[str, ...]
    source: tuple[str, ...]
    span: Span = _span


Stmt = Union[Input, Assign, If, For, Return, Assert, Constrain, Tie]


# ---- top level --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Import:
    """``import "a.arch" [as n]``, ``import std.vision``, ``from "a.arch" import A, B``."""

    path: str
    is_file: bool
    alias: str | None
    names: tuple[str, ...] | None  # set for ``from ... import``
    span: Span = _span


@dataclass(frozen=True, slots=True)
class BlockDef:
    """``block|model|space Name(params) { body }`` or an alias ``model M = Block(args)``."""

    kind: str  # "block", "model" or "space"
    name: str
    params: tuple[Param, ...]
    doc: str | None
    body: tuple[Stmt, ...] | None
    alias: Expr | None
    span: Span = _span
    has_params: bool = True  # False for ``model M = ...`` written without a parameter list


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    value: Expr
    span: Span = _span


@dataclass(frozen=True, slots=True)
class Comment:
    text: str
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Module:
    items: tuple[Import | BlockDef | Let, ...]
    file: str = field(compare=False)
    comments: tuple[Comment, ...] = field(default=(), compare=False)
