"""Printing an .arch AST as canonical text: literals, the bracket layout (black's rules) and
the printer, one method per node kind.  ``format_expr`` prints one expression on one line
(messages and hovers quote expressions so); ``archlang.syntax.fmt`` prints whole files with
their comments, which ``archlang.syntax.comments`` attaches to places first (``Notes``).

The canonical style itself is described in ``archlang.syntax.fmt``.  Must not import the
elaborator, the IR or any backend.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from typing import Callable, Iterator

from archlang.syntax import ast

WIDTH = 100
INDENT = "    "


# ---- literals ---------------------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(text: str, quote: str, keep_newlines: bool = False) -> str:
    out = []
    for ch in text:
        if ch == quote:
            out.append("\\" + ch)
        elif ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif not ch.isprintable():
            out.append(repr(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


def string_literal(text: str) -> str:
    """A literal the parser decodes back to ``text``: double quotes unless single save escapes."""
    quote = "'" if '"' in text and "'" not in text else '"'
    return quote + _escape(text, quote) + quote


def docstring_literal(text: str) -> str:
    if '"""' in text or text.endswith('"'):
        return string_literal(text)
    return '"""' + _escape(text, "", keep_newlines=True) + '"""'


def _const(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float_literal(value)
    if isinstance(value, str):
        return string_literal(value)
    return str(value)


def float_literal(value: float) -> str:
    """A float as people write it: ``5e6`` and ``1.5e-4`` rather than ``5000000.0`` and ``0.00015``."""
    text = repr(value)
    if value != value or value in (float("inf"), float("-inf")) or 1e-3 <= abs(value) < 1e5 or value == 0:
        return text
    mantissa, exponent = f"{value:e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    short = f"{mantissa}e{int(exponent)}"
    digits = len(mantissa.replace("-", "").replace(".", ""))
    return short if digits <= 3 and float(short) == value else text


# ---- layout: text parts and bracket groups ------------------------------------------------


@dataclass
class _Elem:
    """One element of a bracket group, with the comments printed around it when broken."""

    parts: list
    leading: list[str] = field(default_factory=list)
    trailing: list[str] = field(default_factory=list)


@dataclass
class _Group:
    """A bracketed, comma-separated list that is printed flat or one element per line."""

    open: str
    elems: list[_Elem]
    close: str
    breakable: bool = True
    single_comma: bool = False  # a one-element tuple keeps its comma when flat
    magic: bool = False  # a trailing comma in the source: one element per line (black's magic comma)
    opening: list[str] = field(default_factory=list)  # comment after the open bracket
    dangling: list[str] = field(default_factory=list)  # comments before the close bracket
    forced: bool = field(init=False)  # cannot be flat: it or something inside must break
    own_forced: bool = field(init=False)  # one element per line: comments or a magic comma here
    cache: dict[int, list[str]] = field(default_factory=dict, repr=False)  # level → broken

    def __post_init__(self) -> None:
        self.own_forced = bool(self.opening or self.dangling or self.magic) or any(
            e.leading or e.trailing for e in self.elems
        )
        self.forced = self.own_forced or any(_forced(e.parts) for e in self.elems)
        if not self.elems and not self.forced:  # `[]`, `()`: nothing to put on lines of their own
            self.breakable = False

    def flat(self) -> str:
        return self.open + self._flat_elems() + self.close

    def broken(self, level: int) -> list[str]:
        """The lines after the open bracket's, up to (without) the close bracket's: the
        elements on one line if they fit there, else the only element broken in turn, else
        one element per line (black's right-hand split, then its delimiter split)."""
        if level not in self.cache:
            inner = INDENT * (level + 1)
            if not self.forced and len(inner + self._flat_elems()) <= WIDTH:
                self.cache[level] = [inner + self._flat_elems()]
            elif not self.own_forced and len(self.elems) == 1 and not self.single_comma:
                self.cache[level] = render(self.elems[0].parts, level + 1, inner)
            else:
                lines = [inner + c for c in self.opening[1:]]
                for e in self.elems:
                    lines += _emit_elem(e, level + 1)
                self.cache[level] = lines + [inner + c for c in self.dangling]
        return self.cache[level]

    def _flat_elems(self) -> str:
        comma = "," if self.single_comma and len(self.elems) == 1 else ""
        return ", ".join(_flat(e.parts) for e in self.elems) + comma


@dataclass
class _Comp:
    """``[elt for v in it if cond]``: flat, or ``[`` / elt / ``for ...`` / ``if ...`` / ``]``."""

    clauses: list[list]  # parts of the element, of ``for v in it`` and of ``if cond``
    open: str = "["
    close: str = "]"
    breakable: bool = True
    opening: list[str] = field(default_factory=list)
    forced: bool = field(init=False)
    cache: dict[int, list[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.forced = any(_forced(c) for c in self.clauses)

    def flat(self) -> str:
        return "[" + " ".join(_flat(c) for c in self.clauses) + "]"

    def broken(self, level: int) -> list[str]:
        """The element and its clauses on one line if they fit there, else one line each."""
        if level not in self.cache:
            pad = INDENT * (level + 1)
            inner = " ".join(_flat(c) for c in self.clauses)
            if not self.forced and len(pad + inner) <= WIDTH:
                self.cache[level] = [pad + inner]
            else:
                self.cache[level] = [ln for c in self.clauses for ln in render(c, level + 1, pad)]
        return self.cache[level]


def _forced(parts: list) -> bool:
    return any(not isinstance(p, str) and p.forced for p in parts)


def _flat(parts: list) -> str:
    return "".join(p if isinstance(p, str) else p.flat() for p in parts)


def render(parts: list, level: int, head: str, tail: str = "") -> list[str]:
    """Lines for ``head + parts + tail``: flat if it fits, else with the fewest lines among the
    ways of breaking its brackets (a bracket with a magic comma or comments always breaks)."""
    if not _forced(parts):
        line = head + _flat(parts) + tail
        if len(line) <= WIDTH:
            return [line]
    groups = [p for p in parts if not isinstance(p, str) and (p.breakable or p.forced)]
    must = frozenset(id(g) for g in groups if g.forced)
    best: tuple | None = None
    for chosen in _choices(groups, must):
        lines = _emit(parts, chosen, level, head, tail)
        cost = (sum(len(line) > WIDTH for line in lines), len(lines))
        if best is None or cost < best[0]:
            best = (cost, lines)
    return best[1] if best is not None else [head + _flat(parts) + tail]


# Up to this many breakable brackets on one line every way of breaking them is tried.
_EXHAUSTIVE = 8


def _choices(groups: list, must: frozenset) -> Iterator[frozenset]:
    """Sets of brackets to break: fewer first, the rightmost first among as many (black's
    right-hand split).  The order depends only on the brackets, so that formatting the output
    again (where the brackets broken one element per line have become magic) chooses again
    what it chose: formatting is idempotent."""
    free = [id(g) for g in reversed(groups) if id(g) not in must]
    if len(free) <= _EXHAUSTIVE:
        for size in range(len(free) + 1):
            for combo in itertools.combinations(free, size):
                yield must | frozenset(combo)
        return
    for k in range(len(free) + 1):  # too many to try every set: break from the right
        yield must | frozenset(free[:k])


def _emit(parts: list, chosen: frozenset, level: int, head: str, tail: str) -> list[str]:
    lines: list[str] = []
    cur = head
    for p in parts:
        if isinstance(p, str) or id(p) not in chosen:
            cur += p if isinstance(p, str) else p.flat()
            continue
        cur += p.open
        lines.append(_commented(cur, p.opening[:1]))
        lines += p.broken(level)
        cur = INDENT * level + p.close
    lines.append(cur + tail)
    return lines


def _emit_elem(e: _Elem, level: int) -> list[str]:
    pad = INDENT * level
    lines = [pad + c for c in e.leading + e.trailing[:-1]]
    body = render(e.parts, level, pad, ",")
    body[-1] = _commented(body[-1], e.trailing[-1:])
    return lines + body


def _commented(line: str, comments: list[str]) -> str:
    return line + "  " + comments[0] if comments else line


# ---- the printer --------------------------------------------------------------------------

# Binding power used to decide parentheses (higher binds tighter).
_BINARY_PREC = {"or": 1, "and": 2, "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "@": 6,
                "**": 8}
_NOT, _COMPARE, _UNARY, _ATOM = 3, 4, 7, 9


def _prec(e: ast.Expr) -> int:
    if isinstance(e, ast.Binary):
        return _BINARY_PREC[e.op]
    if isinstance(e, ast.Unary):
        return _NOT if e.op == "not" else _UNARY
    if isinstance(e, ast.Compare):
        return _COMPARE
    if isinstance(e, ast.IfExp):
        return 0
    return _ATOM


@dataclass(frozen=True)
class DocString:
    """A block's docstring, printed like a statement (comments attach to it)."""

    text: str


class Printer:
    """AST → lines.  One method per node kind, found through the EXPR / STMT tables."""

    def __init__(self, notes: "Notes") -> None:
        self.notes = notes

    # ---- comments
    def _texts(self, kind: str, key: object) -> list[str]:
        return [c.text.rstrip() for c in self.notes.take(kind, key)]

    def _elem(self, node, parts: list) -> _Elem:
        return _Elem(parts, self._texts("leading", id(node)), self._texts("trailing", id(node)))

    def _group(self, key, open_: str, elems: list[_Elem], close: str, **kw) -> _Group:
        opening, dangling = self._texts("open", key), self._texts("dangling", key)
        magic = key in self.notes.magic and not (kw.get("single_comma") and len(elems) == 1)
        return _Group(open_, elems, close, opening=opening, dangling=dangling, magic=magic, **kw)

    # ---- expressions
    def expr(self, e: ast.Expr, min_prec: int = 0) -> list:
        parts = self.EXPR[type(e)](self, e)
        return ["(", *parts, ")"] if _prec(e) < min_prec else parts

    def _name(self, e: ast.Name) -> list:
        return [e.id]

    def _constant(self, e: ast.Const) -> list:
        return [_const(e.value)]

    def _ellipsis(self, e: ast.EllipsisLit) -> list:
        return ["..."]

    def _unary(self, e: ast.Unary) -> list:
        if e.op == "not":
            return ["not ", *self.expr(e.operand, _NOT)]
        return [e.op, *self.expr(e.operand, _UNARY)]

    def _binary(self, e: ast.Binary) -> list:
        p = _BINARY_PREC[e.op]
        left, right = (_ATOM, _UNARY) if e.op == "**" else (p, p + 1)
        return [*self.expr(e.left, left), f" {e.op} ", *self.expr(e.right, right)]

    def _compare(self, e: ast.Compare) -> list:
        parts = self.expr(e.left, _COMPARE + 1)
        for op, right in zip(e.ops, e.rights):
            parts += [f" {op} ", *self.expr(right, _COMPARE + 1)]
        return parts

    def _ifexp(self, e: ast.IfExp) -> list:
        return [*self.expr(e.then, 1), " if ", *self.expr(e.cond, 1), " else ",
                *self.expr(e.orelse)]

    def _keyword(self, k: ast.Keyword) -> _Elem:
        return self._elem(k, [f"{k.name}=", *self.expr(k.value)])

    def _call(self, e: ast.Call) -> list:
        elems = [self._elem(a, self.expr(a)) for a in e.args]
        elems += [self._keyword(k) for k in e.kwargs]
        return [*self.expr(e.func, _ATOM), self._group(("box", id(e)), "(", elems, ")")]

    def _attribute(self, e: ast.Attribute) -> list:
        value = e.value
        number = isinstance(value, ast.Const) and type(value.value) in (int, float)
        parts = ["(", *self.expr(value), ")"] if number else self.expr(value, _ATOM)
        return [*parts, f".{e.attr}"]

    def _slice(self, e: ast.Slice) -> list:
        parts = self.expr(e.start) if e.start is not None else []
        parts += [":", *(self.expr(e.stop) if e.stop is not None else [])]
        return parts + ([":", *self.expr(e.step)] if e.step is not None else [])

    def _subscript(self, e: ast.Subscript) -> list:
        elems = [self._elem(i, self.expr(i)) for i in e.items]
        group = self._group(("box", id(e)), "[", elems, "]", breakable=False)
        return [*self.expr(e.value, _ATOM), group]

    def _list(self, e: ast.ListExpr) -> list:
        elems = [self._elem(i, self.expr(i)) for i in e.items]
        return [self._group(("box", id(e)), "[", elems, "]")]

    def _tuple(self, e: ast.TupleExpr) -> list:
        elems = [self._elem(i, self.expr(i)) for i in e.items]
        return [self._group(("box", id(e)), "(", elems, ")", single_comma=True)]

    def _listcomp(self, e: ast.ListComp) -> list:
        clauses = [self.expr(e.elt), [f"for {e.var} in ", *self.expr(e.iter, 1)]]
        if e.cond is not None:
            clauses.append(["if ", *self.expr(e.cond, 1)])
        return [_Comp(clauses)]

    EXPR: dict[type, Callable] = {
        ast.Name: _name, ast.Const: _constant, ast.EllipsisLit: _ellipsis, ast.Unary: _unary,
        ast.Binary: _binary, ast.Compare: _compare, ast.IfExp: _ifexp, ast.Call: _call,
        ast.Attribute: _attribute, ast.Slice: _slice, ast.Subscript: _subscript,
        ast.ListExpr: _list, ast.TupleExpr: _tuple, ast.ListComp: _listcomp,
    }

    def _joined(self, exprs) -> list:
        parts: list = []
        for i, e in enumerate(exprs):
            parts += [", "] * bool(i) + self.expr(e)
        return parts

    # ---- statements (each returns its lines, indented to ``level``)
    def stmt(self, s, level: int) -> list[str]:
        return self.STMT[type(s)](self, s, level)

    def _input(self, s: ast.Input, level: int) -> list[str]:
        dims = self._group(("box", id(s)), "[", [self._elem(d, self.expr(d)) for d in s.dims], "]")
        return render([f"input {s.name}: {s.dtype or ''}", dims], level, INDENT * level)

    def _assign(self, s: ast.Assign, level: int) -> list[str]:
        parts = [", ".join(s.targets) + " = ", *self.expr(s.value)]
        return render(parts, level, INDENT * level)

    def _return(self, s: ast.Return, level: int) -> list[str]:
        return render(["return ", *self._joined(s.values)], level, INDENT * level)

    def _assert(self, s: ast.Assert, level: int) -> list[str]:
        parts = ["assert ", *self.expr(s.cond)]
        if s.message is not None:
            parts += [", ", *self.expr(s.message)]
        return render(parts, level, INDENT * level)

    def _constrain(self, s: ast.Constrain, level: int) -> list[str]:
        return render(["constrain ", *self.expr(s.cond)], level, INDENT * level)

    def _tie(self, s: ast.Tie, level: int) -> list[str]:
        return [f"{INDENT * level}tie {'.'.join(s.target)} = {'.'.join(s.source)}"]

    def _if(self, s: ast.If, level: int) -> list[str]:
        pad, lines = INDENT * level, []
        for i, (cond, suite) in enumerate(s.branches):
            header = render(self.expr(cond), level, pad + ("} elif " if i else "if "), " {")
            lines += self._braced(header, ("suite", id(s), i), suite, level)
        if s.orelse is not None:
            key = ("suite", id(s), len(s.branches))
            lines += self._braced([pad + "} else {"], key, s.orelse, level)
        return lines + [pad + "}"]

    def _for(self, s: ast.For, level: int) -> list[str]:
        pad = INDENT * level
        header = render([f"for {s.var} in ", *self.expr(s.iter)], level, pad, " {")
        return self._braced(header, ("suite", id(s), 0), s.body, level) + [pad + "}"]

    def _docstring(self, d: DocString, level: int) -> list[str]:
        return [INDENT * level + docstring_literal(d.text)]

    # ---- top level
    def _import(self, i: ast.Import, level: int) -> list[str]:
        path = string_literal(i.path) if i.is_file else i.path
        if i.names is not None:
            return [f"from {path} import {', '.join(i.names)}"]
        return [f"import {path}" + (f" as {i.alias}" if i.alias else "")]

    def _let(self, s: ast.Let, level: int) -> list[str]:
        return render([f"let {s.name} = ", *self.expr(s.value)], level, INDENT * level)

    def _param(self, p: ast.Param) -> _Elem:
        parts: list = [p.name + (f": {p.type}" if p.type is not None else "")]
        if p.default is not None:
            parts += [" = " if p.type is not None else "=", *self.expr(p.default)]
        return self._elem(p, parts)

    def _blockdef(self, b: ast.BlockDef, level: int) -> list[str]:
        head: list = [f"{b.kind} {b.name}"]
        if b.body is not None or b.has_params or b.params:
            params = [self._param(p) for p in b.params]
            head.append(self._group(("params", id(b)), "(", params, ")"))
        if b.body is None:
            return render([*head, " = ", *self.expr(b.alias)], level, INDENT * level)
        body = ([DocString(b.doc)] if b.doc is not None else []) + list(b.body)
        keys = [("doc", id(b))] * (b.doc is not None) + [id(s) for s in b.body]
        header = render(head, level, INDENT * level, " {")
        lines = self._braced(header, ("body", id(b)), body, level, keys)
        return lines + [INDENT * level + "}"]

    STMT: dict[type, Callable] = {
        ast.Input: _input, ast.Assign: _assign, ast.If: _if, ast.For: _for,
        ast.Return: _return, ast.Assert: _assert, ast.Constrain: _constrain, ast.Tie: _tie, DocString: _docstring,
        ast.Import: _import, ast.Let: _let, ast.BlockDef: _blockdef,
    }

    # ---- sequences of statements with their comments and blank lines
    def module(self, m: ast.Module) -> list[str]:
        lines = self._sequence("module", list(m.items), [id(i) for i in m.items], 0, _top_blank)
        rest = [c.text.rstrip() for c in self.notes.leftovers()]  # never happens; never drop
        return lines + [""] * bool(lines and rest) + rest

    def _braced(self, header, key, stmts, level, keys=None) -> list[str]:
        """``header`` (ending in ``{``) and the body's lines; the closing ``}`` is the caller's."""
        opening = self._texts("open", key)
        header[-1] = _commented(header[-1], opening[:1])
        inner = INDENT * (level + 1)
        keys = keys if keys is not None else [id(s) for s in stmts]
        body = self._sequence(key, list(stmts), keys, level + 1)
        return header + [inner + c for c in opening[1:]] + body

    def _sequence(self, key, nodes, keys, level, forced_blank=None) -> list[str]:
        out: list[str] = []
        last_line = None
        for i, (node, k) in enumerate(zip(nodes, keys)):
            force = bool(forced_blank and i and forced_blank(nodes[i - 1], node))
            for first, last, lines in self._entries(k, node, level):
                if out and (force or self.notes.blank_between(last_line, first)):
                    out.append("")
                force, last_line = False, last
                out += lines
        for c in self.notes.take("dangling", key):
            if out and self.notes.blank_between(last_line, c.line):
                out.append("")
            out.append(INDENT * level + c.text.rstrip())
            last_line = c.line
        return out

    def _entries(self, key, node, level) -> Iterator[tuple[int | None, int | None, list[str]]]:
        """A statement's own-line comments, then the statement (with its end-of-line comment)."""
        trailing = self.notes.take("trailing", key)
        for c in self.notes.take("leading", key) + trailing[:-1]:
            yield c.line, c.line, [INDENT * level + c.text.rstrip()]
        lines = self.stmt(node, level)
        lines[-1] = _commented(lines[-1], [c.text.rstrip() for c in trailing[-1:]])
        first, last = self.notes.lines.get(key, (None, None))
        yield first, last, lines


def _top_kind(item) -> str:
    if isinstance(item, ast.BlockDef):
        return "alias" if item.body is None else "block"
    return "import" if isinstance(item, ast.Import) else "let"


def _top_blank(prev, item) -> bool:
    kinds = (_top_kind(prev), _top_kind(item))
    return "block" in kinds or kinds[0] != kinds[1]


def format_expr(expr: ast.Expr) -> str:
    """One expression on one line, canonically (used in messages, e.g. declared shapes)."""
    return _flat(Printer(Notes()).expr(expr))


# ---- where comments go ---------------------------------------------------------------------


class Notes:
    """Comments attached to places: (kind, key) → comments, kind in leading / trailing
    (statement or bracket element, keyed by id(node)), open / dangling (body or bracket)."""

    def __init__(self) -> None:
        self.by: dict[tuple[str, object], list[ast.Comment]] = {}
        self.lines: dict[object, tuple[int, int]] = {}  # statement key → first, last line
        self.blank_lines: list[int] = []
        self.magic: set[object] = set()  # keys of brackets with a trailing comma in the source

    def add(self, kind: str, key: object, comment: ast.Comment) -> None:
        self.by.setdefault((kind, key), []).append(comment)

    def take(self, kind: str, key: object) -> list[ast.Comment]:
        return self.by.pop((kind, key), [])

    def leftovers(self) -> list[ast.Comment]:
        rest = sorted((c for cs in self.by.values() for c in cs), key=lambda c: (c.line, c.col))
        self.by.clear()
        return rest

    def blank_between(self, a: int | None, b: int | None) -> bool:
        """Is there a blank source line strictly between lines ``a`` and ``b``?"""
        if a is None or b is None or b - a < 2:
            return False
        i = bisect.bisect_right(self.blank_lines, a)
        return i < len(self.blank_lines) and self.blank_lines[i] < b
