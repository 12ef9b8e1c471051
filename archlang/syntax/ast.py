"""The abstract syntax tree of an .arch file: plain frozen dataclasses, each with a Span.

The AST is what the parser (archlang.syntax) builds and what the formatter (archlang.syntax.fmt)
prints; the elaborator (archlang.elaborate.body) turns it into the IR.  Nodes compare equal
ignoring spans (``span`` is excluded from equality) so that ``parse(fmt(src)) == parse(src)``
is a meaningful round-trip property.

Must not import the parser, the IR or any backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Union

from archlang.errors import Span

_span = field(compare=False, repr=False)


class _Node:
    """What every node shares, written once here rather than generated per class: ``dataclass``
    compiles each method it makes (~0.08 ms each), and at every start-up the AST's classes were
    the largest part of the imports.  So the repr (without the span), equality and hashing
    (over the fields that compare: never the span) are these; ``_node`` makes only
    ``__init__`` and the frozen ``__setattr__``/``__delattr__``.  (For the same reason every
    node class has a docstring: without one, ``dataclass`` makes one from
    ``inspect.signature``, 0.2 ms a class.)"""

    __slots__ = ()

    def __repr__(self) -> str:
        shown = (f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"{type(self).__name__}({', '.join(shown)})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def _compared(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self) if f.compare)


_node = dataclass(frozen=True, slots=True, repr=False, eq=False)


# ---- expressions ------------------------------------------------------------------------


@_node
class Name(_Node):
    """A name: ``x``, ``Conv2d``, ``std``."""

    id: str
    span: Span = _span


@_node
class Const(_Node):
    """A literal: int, float, str, bool or None."""

    value: object
    span: Span = _span


@_node
class EllipsisLit(_Node):
    """``...``: the rest of the dimensions, in a shape or a subscript."""

    span: Span = _span


@_node
class Unary(_Node):
    """``-x``, ``+x``, ``not x``."""

    op: str  # "-", "+", "not"
    operand: "Expr"
    span: Span = _span


@_node
class Binary(_Node):
    """``a + b`` and every other binary operator, ``and`` and ``or`` included."""

    op: str  # + - * / // % @ ** and or
    left: "Expr"
    right: "Expr"
    span: Span = _span


@_node
class Compare(_Node):
    """A chain of comparisons, ``a < b <= c``: one left operand, then an operator per right one."""

    left: "Expr"
    ops: tuple[str, ...]
    rights: tuple["Expr", ...]
    span: Span = _span


@_node
class IfExp(_Node):
    """``a if cond else b``."""

    cond: "Expr"
    then: "Expr"
    orelse: "Expr"
    span: Span = _span


@_node
class Keyword(_Node):
    """``name=value`` in a call."""

    name: str
    value: "Expr"
    span: Span = _span


@_node
class Call(_Node):
    """``f(a, b, k=v)``: a block, op or builtin applied to arguments."""

    func: "Expr"
    args: tuple["Expr", ...]
    kwargs: tuple[Keyword, ...]
    span: Span = _span


@_node
class Attribute(_Node):
    """``value.attr``: a member of a block instance, a module or a record."""

    value: "Expr"
    attr: str
    span: Span = _span


@_node
class Slice(_Node):
    """``start:stop:step`` inside a subscript, each part optional."""

    start: "Expr | None"
    stop: "Expr | None"
    step: "Expr | None"
    span: Span = _span


@_node
class Subscript(_Node):
    """``value[i, j]``: indexing a list, a shape or a tensor."""

    value: "Expr"
    items: tuple["Expr", ...]
    span: Span = _span


@_node
class ListExpr(_Node):
    """``[a, b, c]``."""

    items: tuple["Expr", ...]
    span: Span = _span


@_node
class TupleExpr(_Node):
    """``(a, b)``."""

    items: tuple["Expr", ...]
    span: Span = _span


@_node
class ListComp(_Node):
    """``[elt for var in iter if cond]``."""

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


@_node
class TypeRef(_Node):
    """A type annotation: ``int``, ``list[int]``, ``Tensor``."""

    name: str
    args: tuple["TypeRef", ...]
    span: Span = _span

    def __str__(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}[{', '.join(map(str, self.args))}]"


@_node
class Param(_Node):
    """``name: type = default`` in a block's parameter list."""

    name: str
    type: TypeRef | None
    default: Expr | None
    span: Span = _span


@_node
class Input(_Node):
    """``input x: float32[B, C, H, W]`` — a declared tensor input with a symbolic shape."""

    name: str
    dtype: str | None
    dims: tuple[Expr, ...]
    span: Span = _span


@_node
class Assign(_Node):
    """``a = value`` or ``a, b = value``."""

    targets: tuple[str, ...]
    value: Expr
    span: Span = _span


@_node
class If(_Node):
    """``if c { … } elif d { … } else { … }``: each branch a condition and its statements."""

    branches: tuple[tuple[Expr, tuple["Stmt", ...]], ...]
    orelse: tuple["Stmt", ...] | None
    span: Span = _span


@_node
class For(_Node):
    """``for var in iter { … }``."""

    var: str
    iter: Expr
    body: tuple["Stmt", ...]
    span: Span = _span


@_node
class Return(_Node):
    """``return a, b``."""

    values: tuple[Expr, ...]
    span: Span = _span


@_node
class Assert(_Node):
    """``assert cond, message``: checked while elaborating."""

    cond: Expr
    message: Expr | None
    span: Span = _span


@_node
class Constrain(_Node):
    """``constrain params <= 5e6``: a condition every architecture of a space must meet."""

    cond: Expr
    span: Span = _span


@_node
class Tie(_Node):
    """``tie lm_head.weight = wte.weight`` — two parameter paths become one Parameter."""

    target: tuple[str, ...]
    source: tuple[str, ...]
    span: Span = _span


Stmt = Union[Input, Assign, If, For, Return, Assert, Constrain, Tie]


# ---- top level --------------------------------------------------------------------------


@_node
class Import(_Node):
    """``import "a.arch" [as n]``, ``import std.vision``, ``from "a.arch" import A, B``."""

    path: str
    is_file: bool
    alias: str | None
    names: tuple[str, ...] | None  # set for ``from ... import``
    span: Span = _span


@_node
class BlockDef(_Node):
    """``block|model|space Name(params) { body }`` or an alias ``model M = Block(args)``."""

    kind: str  # "block", "model" or "space"
    name: str
    params: tuple[Param, ...]
    doc: str | None
    body: tuple[Stmt, ...] | None
    alias: Expr | None
    span: Span = _span
    has_params: bool = True  # False for ``model M = ...`` written without a parameter list


@_node
class Let(_Node):
    """``let NAME = value`` at the top level of a file."""

    name: str
    value: Expr
    span: Span = _span


@_node
class Comment(_Node):
    """``# text`` at a line and column; kept by the formatter, ignored by everything else."""

    text: str
    line: int
    col: int


@_node
class Module(_Node):
    """A parsed file: its items in order, its name and its comments."""

    items: tuple[Import | BlockDef | Let, ...]
    file: str = field(compare=False)
    comments: tuple[Comment, ...] = field(default=(), compare=False)
