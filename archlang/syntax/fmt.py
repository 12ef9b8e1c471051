"""The canonical formatter behind ``archlang fmt``: an .arch AST and comments → canonical text.

``format_source(text)`` parses and reprints; ``format_module(module, source=text)`` reprints an
AST.  Only the AST and the comments decide the output (never the author's layout, except for
the blank lines below), so formatting is idempotent and ``parse(format_source(s)) == parse(s)``.

Canonical style
---------------
* 4-space indentation, one statement per line, ``} elif cond {`` / ``} else {`` on the line of
  the closing brace, ``}`` alone on its line.
* Top level: imports stay first as written (order kept); exactly one blank line around every
  block with a body and between groups of different kinds (imports, lets, aliases); between
  two imports, two lets or two aliases the author's choice (none or one) is kept.  Inside
  bodies a single blank line the author left between statements/comments is kept; never more
  than one blank line, never one right after ``{`` or before ``}``.
* Operators: one space around every binary operator (``**`` included) and comparison, none
  after unary ``-``/``+``, ``not x``.  Parentheses are minimal but keep the AST exactly:
  ``or`` < ``and`` < ``not`` < comparisons (chained) < ``+ -`` < ``* / // % @`` < unary
  ``+ -`` < ``**`` (right-associative) < postfix; the right operand of a left-associative
  operator of equal precedence is parenthesised; ``a if c else b`` is parenthesised as an
  operand.
* ``f(a, k=v)``; ``[a, b]``; ``(a,)`` / ``(a, b)``; ``x[:, 1:3:2, ...]``; params
  ``name: type = default`` or ``name=default``; ``true``/``false``/``none``; ints plain,
  floats by ``repr`` (``1e-05`` stays exact); strings in double quotes (single quotes when
  the text holds ``"`` and no ``'``) with Python escapes; docstrings ``\"\"\"...\"\"\"`` (kept
  verbatim, newlines included) unless that cannot spell them.
* Lines are at most 100 columns where brackets allow, as black breaks them: a call, list,
  tuple, tensor shape or parameter list that does not fit is broken after its opening
  bracket, its elements on one line indented one level if they fit there (no trailing
  comma), else its only element broken in turn, else one element per line with a trailing
  comma; the closing bracket on its own line.  Brackets are broken from the right until the
  remaining lines fit, recursively inside the elements.  Subscripts only break to hold
  comments.
* The magic trailing comma, as in black: a bracket whose last element is followed by a comma
  in the source (``[a, b,]``) stays one element per line even where it would fit, so tables
  stay tables.  (The comma of a one-element tuple ``(a,)`` is syntax, not magic.)
* Comments are never dropped (their trailing whitespace is).  An own-line comment is printed
  before the statement, argument or element that follows it (at its indentation), or at the
  end of its body / bracket / the file when nothing follows there.  An end-of-line comment
  stays at the end of the line of what it follows: a statement's last line, ``{`` of a body,
  ``(`` / an element of a bracket (which is then broken so each element has its own line).
  A comment inside an expression where no line break is possible moves before its
  statement or element.  Exact placement needs the source text (``format_source`` passes
  it); without it comments are placed by line number only.

Must not import the elaborator, the IR or any backend.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

from archlang.errors.sources import register_source
from archlang.syntax import ast, parse
from archlang.syntax.source import spec_text

WIDTH = 100
INDENT = "    "


def format_source(text: str, file: str = "<string>") -> str:
    """Parse ``text`` and print it canonically.  Raises the parser's ArchError on bad input,
    located in ``file`` (whose lines are registered, so the error quotes them)."""
    text = spec_text(text)
    register_source(file, text)
    return format_module(parse(text, file), source=text)


def format_expr(expr: ast.Expr) -> str:
    """One expression on one line, canonically (used in messages, e.g. declared shapes)."""
    return _flat(_Printer(_Notes()).expr(expr))


def format_module(module: ast.Module, source: str | None = None) -> str:
    """Print ``module`` canonically; ``source`` (its text) lets comments keep their places."""
    notes = _Notes()
    if source is not None or module.comments:  # the source also tells where blank lines are
        _place_comments(module, source, notes)
    lines = _Printer(notes).module(module)
    return "\n".join(lines) + "\n" if lines else ""


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
class _DocString:
    """A block's docstring, printed like a statement (comments attach to it)."""

    text: str


class _Printer:
    """AST → lines.  One method per node kind, found through the EXPR / STMT tables."""

    def __init__(self, notes: "_Notes") -> None:
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

    def _docstring(self, d: _DocString, level: int) -> list[str]:
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
        body = ([_DocString(b.doc)] if b.doc is not None else []) + list(b.body)
        keys = [("doc", id(b))] * (b.doc is not None) + [id(s) for s in b.body]
        header = render(head, level, INDENT * level, " {")
        lines = self._braced(header, ("body", id(b)), body, level, keys)
        return lines + [INDENT * level + "}"]

    STMT: dict[type, Callable] = {
        ast.Input: _input, ast.Assign: _assign, ast.If: _if, ast.For: _for,
        ast.Return: _return, ast.Assert: _assert, ast.Constrain: _constrain, ast.Tie: _tie, _DocString: _docstring,
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


# ---- comment placement --------------------------------------------------------------------


class _Notes:
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


def _place_comments(module: ast.Module, source: str | None, notes: _Notes) -> None:
    if source is not None:
        try:
            locator = _Locator(module, _Scan(source), notes)
            locator.place_all(module.comments)
            locator.find_magic_commas()
            return
        except _Mismatch:
            notes.__init__()
    _place_by_lines(module, notes)


class _Mismatch(Exception):
    """The source text does not line up with the AST (not the text it was parsed from)."""


_OPENERS, _CLOSERS = frozenset("([{"), frozenset(")]}")
# One lexeme of a source: newlines and spaces, comments, strings (as the grammar's STRING),
# brackets and commas, and any other run of code.  Every character belongs to one.
_LEXEME = re.compile(
    r"""(?P<space>[ \t\f\r]+|\\\r?\n|\n)
    |(?P<comment>\#[^\n]*)
    |(?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*+(?:\"\"\"|$)
        |"(?:[^"\\\n]|\\.)*+"?|'(?:[^'\\\n]|\\.)*+'?)
    |(?P<punct>[()\[\]{},])
    |(?P<code>[^ \t\f\r\n\#"'()\[\]{},\\]+|\\)""",
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class _Tok:
    """A bracket, comma or run of code of the source, with its start and end."""

    text: str  # the bracket or comma; "" for any other code (a word, operator or string)
    line: int
    col: int
    end_line: int
    end_col: int  # exclusive


class _Scan:
    """The code tokens of a source, coarse but exact on brackets, commas and strings.

    Also records, per ``{`` (key -1 for the file), the tokens that start its statements, and
    per comment the tokens around it and whether it stands on its own line.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[_Tok] = []
        self.match: dict[int, int] = {}  # bracket index ↔ matching bracket index
        self.commas: set[int] = set()  # openers holding a comma directly
        self.starts: dict[int, list[int]] = {-1: []}
        self.comments: dict[tuple[int, int], list] = {}  # (line, col) → [prev, next, own line]
        self._stack: list[int] = []
        self._braces = [-1]
        self._pending: list[list] = []
        self._run()

    def _run(self) -> None:
        line, line_start, at_start = 1, 0, True
        for m in _LEXEME.finditer(self.text):
            kind, chunk = m.lastgroup, m.group()
            col = m.start() - line_start + 1
            if kind == "comment":
                self._comment(line, col)
            elif kind != "space":
                tok = self._token(chunk, line, col)
                self._push(tok, at_start)
                at_start = tok.text == "{"
            if "\n" in chunk:  # a newline, a line continuation or a multi-line string
                line += chunk.count("\n")
                line_start = m.start() + chunk.rfind("\n") + 1
                at_start = at_start or chunk == "\n" and self._newline_ends_statement()

    def _newline_ends_statement(self) -> bool:
        return not self._stack or self.toks[self._stack[-1]].text == "{"

    @staticmethod
    def _token(chunk: str, line: int, col: int) -> _Tok:
        newlines = chunk.count("\n")
        end_col = len(chunk) - chunk.rfind("\n") if newlines else col + len(chunk)
        text = chunk if chunk in _OPENERS or chunk in _CLOSERS or chunk == "," else ""
        return _Tok(text, line, col, line + newlines, end_col)

    def _comment(self, line: int, col: int) -> None:
        prev = len(self.toks) - 1
        own = prev < 0 or self.toks[prev].end_line < line
        note = [prev, None, own]
        self.comments[(line, col)] = note
        self._pending.append(note)

    def _push(self, tok: _Tok, at_start: bool) -> None:
        idx = len(self.toks)
        self.toks.append(tok)
        for note in self._pending:
            note[1] = idx
        self._pending.clear()
        if at_start and tok.text != "}":
            self.starts[self._braces[-1]].append(idx)
        if tok.text in _OPENERS:
            self._open(idx, tok.text)
        elif tok.text in _CLOSERS and self._stack:
            self._close(idx)
        elif tok.text == "," and self._stack:
            self.commas.add(self._stack[-1])

    def _open(self, idx: int, text: str) -> None:
        self._stack.append(idx)
        if text == "{":
            self._braces.append(idx)
            self.starts[idx] = []

    def _close(self, idx: int) -> None:
        opener = self._stack.pop()
        self.match[opener], self.match[idx] = idx, opener
        if self.toks[opener].text == "{" and len(self._braces) > 1:
            self._braces.pop()

    def blank_lines(self) -> list[int]:
        inside = {n for t in self.toks for n in range(t.line + 1, t.end_line + 1)}
        lines = enumerate(self.text.split("\n"), 1)
        return [n for n, s in lines if not s.strip() and n not in inside]


@dataclass
class _Item:
    """A statement or bracket element, as a range of token indices."""

    key: object
    node: object
    first: int
    last: int


@dataclass
class _Box:
    """A body or bracket: its open / close token indices and its items in source order."""

    key: object
    open: int
    close: int
    items: list[_Item]
    firsts: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.firsts = [it.first for it in self.items]


class _Locator:
    """Maps the AST onto the scanned tokens and finds each comment's place."""

    def __init__(self, module: ast.Module, scan: _Scan, notes: _Notes) -> None:
        self.module, self.scan, self.toks, self.notes = module, scan, scan.toks, notes
        self.positions = [(t.line, t.col) for t in self.toks]
        self.memo: dict[tuple[str, int], object] = {}

    def place_all(self, comments) -> None:
        root = self._statements("module", -1, len(self.toks), -1, list(self.module.items))
        self._walk(root)
        self.notes.blank_lines = self.scan.blank_lines()
        for c in comments:
            note = self.scan.comments.get((c.line, c.col))
            if note is None:
                raise _Mismatch(c)
            prev, nxt, own = note
            kind, key = self.locate(root, nxt if own else prev, trail=not own)
            self.notes.add(kind, key, c)

    def find_magic_commas(self) -> None:
        """Note every bracket whose last element is followed by a comma in the source."""
        root = self._statements("module", -1, len(self.toks), -1, list(self.module.items))
        pending = [root]
        while pending:
            box = pending.pop()
            if box.items and box.close > 0 and self.toks[box.close - 1].text == ",":
                self.notes.magic.add(box.key)
            for item in box.items:
                pending.extend(self.boxes(item))

    def _walk(self, box: _Box) -> None:
        """Map every body now, so that each statement's lines are known for blank lines."""
        for item in box.items:
            for sub in self.bodies(item):
                self._walk(sub)

    # ---- finding a comment's place
    def locate(self, box: _Box, idx: int | None, trail: bool) -> tuple[str, object]:
        """``idx``: for an end-of-line comment the token before it, else the token after it."""
        if trail and idx == box.open:
            return "open", box.key
        if not trail and (idx is None or idx == box.close):
            return "dangling", box.key
        items = box.items
        i = bisect.bisect_right(box.firsts, idx) - 1
        if i < 0:
            if trail or not items:
                return ("open" if trail else "dangling"), box.key
            return "leading", items[0].key
        item = items[i]
        if idx > item.last:
            if trail:
                return "trailing", item.key
            return ("leading", items[i + 1].key) if i + 1 < len(items) else ("dangling", box.key)
        if not trail and idx == item.first:
            return "leading", item.key
        return self._locate_in(item, idx, trail)

    def _locate_in(self, item: _Item, idx: int, trail: bool) -> tuple[str, object]:
        for box in self.boxes(item):
            if box.open < idx < box.close:
                return self.locate(box, idx, trail)
            if trail and idx == box.open:
                return "open", box.key
            if not trail and idx == box.close:
                return "dangling", box.key
        return ("trailing" if trail and idx == item.last else "leading"), item.key

    # ---- token positions
    def _at(self, line: int, col: int) -> int:
        return max(0, bisect.bisect_right(self.positions, (line, col)) - 1)

    def _next(self, after: int, text: str) -> int:
        for j in range(after + 1, len(self.toks)):
            if self.toks[j].text == text:
                return j
        raise _Mismatch(text)

    def _opener_after(self, after: int, char: str) -> int | None:
        """The bracket right after token ``after`` and the brackets that close there."""
        j = after + 1
        while j < len(self.toks) and self.toks[j].text in _CLOSERS:
            j += 1
        return j if j < len(self.toks) and self.toks[j].text == char else None

    def _enclosing(self, a: int, b: int, char: str, comma: bool) -> int | None:
        """The innermost ``char`` bracket around tokens a..b (holding a comma if asked)."""
        j = a - 1
        while j >= 0:
            text = self.toks[j].text
            if text in _CLOSERS:
                j = self.scan.match.get(j, j) - 1
                continue
            if text == "{":
                return None
            if text == char and self.scan.match.get(j, -1) > b and (
                not comma or j in self.scan.commas
            ):
                return j
            j -= 1
        return None

    # ---- extents of expressions (token indices of their first and last tokens)
    def first(self, e) -> int:
        box = self._own_box(e)
        if box is not None and isinstance(e, (ast.ListExpr, ast.TupleExpr, ast.ListComp)):
            return box.open
        child = _FIRST_CHILD.get(type(e))
        if child is not None:
            return self.first(child(e))
        return self._at(e.span.line, e.span.col)

    def last(self, e) -> int:
        box = self._own_box(e)
        if box is not None:
            return box.close
        child = _LAST_CHILD.get(type(e))
        end = self._at(e.span.end_line, e.span.end_col - 1)
        node = child(e) if child is not None else None
        return max(end, self.last(node)) if node is not None else end

    # ---- boxes
    def _own_box(self, e) -> _Box | None:
        """The bracket of a call, subscript, list, tuple or comprehension (memoised)."""
        key = ("own", id(e))
        if key not in self.memo:
            make = _OWN_BOX.get(type(e))
            self.memo[key] = make(self, e) if make is not None else None
        return self.memo[key]

    def _bracket(self, key, opener: int | None, nodes) -> _Box | None:
        if opener is None or opener not in self.scan.match:
            return None
        items = [_Item(id(n), n, self.first(n), self.last(n)) for n in nodes]
        items.sort(key=lambda it: it.first)
        return _Box(key, opener, self.scan.match[opener], items)

    def _call_box(self, e: ast.Call):
        opener = self._opener_after(self.last(e.func), "(")
        return self._bracket(("box", id(e)), opener, [*e.args, *e.kwargs])

    def _subscript_box(self, e: ast.Subscript):
        opener = self._opener_after(self.last(e.value), "[")
        return self._bracket(("box", id(e)), opener, e.items)

    def _items_box(self, e, char: str, comma: bool):
        if not e.items:
            return self._empty_box(e, char)
        opener = self._enclosing(self.first(e.items[0]), self.last(e.items[-1]), char, comma)
        return self._bracket(("box", id(e)), opener, e.items)

    def _empty_box(self, e, char: str) -> _Box | None:
        """``[]`` / ``()``: the parser's span for them points at (or just after) the closer."""
        close = self._at(e.span.line, e.span.col)
        opener = self.scan.match.get(close, -1)
        if self.toks[close].text in _CLOSERS and opener == close - 1 and (
            self.toks[opener].text == char
        ):
            return _Box(("box", id(e)), opener, close, [])
        return None

    def _listcomp_box(self, e: ast.ListComp):
        end = e.cond if e.cond is not None else e.iter
        opener = self._enclosing(self.first(e.elt), self.last(end), "[", False)
        return self._bracket(("listcomp", id(e)), opener, [])

    def _statements(self, key, opener: int, close: int, brace: int, nodes, keys=None) -> _Box:
        starts = self.scan.starts.get(brace, [])
        if len(starts) != len(nodes):
            raise _Mismatch(key)
        keys = keys or [id(n) for n in nodes]
        bounds = starts[1:] + [close]
        items = [_Item(k, n, s, b - 1) for k, n, s, b in zip(keys, nodes, starts, bounds)]
        for it in items:
            first, last = self.toks[it.first], self.toks[max(it.first, it.last)]
            self.notes.lines[it.key] = (first.line, last.end_line)
        return _Box(key, opener, close, items)

    def _suite(self, key, after: int, nodes, keys=None) -> _Box:
        opener = self._next(after, "{")
        close = self.scan.match.get(opener)
        if close is None:
            raise _Mismatch(key)
        return self._statements(key, opener, close, opener, list(nodes), keys)

    def bodies(self, item: _Item) -> list[_Box]:
        """The ``{ }`` bodies directly inside a statement (memoised)."""
        key = ("bodies", id(item.node))
        if key not in self.memo:
            make = _BODIES.get(type(item.node))
            self.memo[key] = make(self, item) if make is not None else []
        return self.memo[key]

    def boxes(self, item: _Item) -> list[_Box]:
        """The bodies and brackets directly inside a statement or element (memoised)."""
        key = ("in", id(item.node))
        if key not in self.memo:
            brackets = _BRACKETS.get(type(item.node), _expr_boxes)(self, item)
            self.memo[key] = self.bodies(item) + [b for b in brackets if b is not None]
        return self.memo[key]

    def exprs(self, *nodes) -> list[_Box]:
        """The brackets directly inside expressions (not inside their brackets' elements)."""
        out: list = []
        for e in nodes:
            if e is None:
                continue
            own = self._own_box(e)
            if isinstance(e, ast.ListComp):
                out += self.exprs(e.elt, e.iter, e.cond)
            elif own is not None:
                out += self.exprs(*_PREFIX_CHILDREN.get(type(e), lambda _: ())(e)) + [own]
            else:
                out += self.exprs(*_children(e))
        return out


def _expr_boxes(loc: _Locator, item: _Item) -> list:
    node = item.node
    if isinstance(node, ast.Keyword):
        return loc.exprs(node.value)
    if isinstance(node, ast.Param):
        return loc.exprs(node.default)
    return loc.exprs(node)


def _blockdef_body(loc: _Locator, item: _Item) -> list:
    b = item.node
    if b.body is None:
        return []
    doc = [_DocString(b.doc)] if b.doc is not None else []
    keys = [("doc", id(b))] * len(doc) + [id(s) for s in b.body]
    return [loc._suite(("body", id(b)), item.first, doc + list(b.body), keys)]


def _if_suites(loc: _Locator, item: _Item) -> list:
    s, out, after = item.node, [], item.first
    suites = [suite for _, suite in s.branches] + ([s.orelse] if s.orelse is not None else [])
    for i, suite in enumerate(suites):
        out.append(loc._suite(("suite", id(s), i), after, suite))
        after = out[-1].close
    return out


def _for_suite(loc: _Locator, item: _Item) -> list:
    return [loc._suite(("suite", id(item.node), 0), item.first, item.node.body)]


def _blockdef_brackets(loc: _Locator, item: _Item) -> list:
    b = item.node
    out = []
    if b.body is not None or b.has_params:
        out.append(loc._bracket(("params", id(b)), loc._next(item.first, "("), b.params))
    return out + (loc.exprs(b.alias) if b.body is None else [])


def _input_brackets(loc: _Locator, item: _Item) -> list:
    s = item.node
    return [loc._bracket(("box", id(s)), loc._next(item.first, "["), s.dims)]


# Statement bodies (found through the braces) and brackets directly inside each statement.
_BODIES: dict[type, Callable] = {
    ast.BlockDef: _blockdef_body, ast.If: _if_suites, ast.For: _for_suite,
}

_BRACKETS: dict[type, Callable] = {
    ast.BlockDef: _blockdef_brackets, ast.Input: _input_brackets,
    ast.If: lambda loc, it: loc.exprs(*(cond for cond, _ in it.node.branches)),
    ast.For: lambda loc, it: loc.exprs(it.node.iter),
    ast.Let: lambda loc, it: loc.exprs(it.node.value),
    ast.Assign: lambda loc, it: loc.exprs(it.node.value),
    ast.Return: lambda loc, it: loc.exprs(*it.node.values),
    ast.Assert: lambda loc, it: loc.exprs(it.node.cond, it.node.message),
    ast.Constrain: lambda loc, it: loc.exprs(it.node.cond),
    ast.Import: lambda loc, it: [], ast.Tie: lambda loc, it: [], _DocString: lambda loc, it: [],
}

_OWN_BOX: dict[type, Callable] = {
    ast.Call: _Locator._call_box,
    ast.Subscript: _Locator._subscript_box,
    ast.ListExpr: lambda loc, e: loc._items_box(e, "[", False),
    ast.TupleExpr: lambda loc, e: loc._items_box(e, "(", True),
    ast.ListComp: _Locator._listcomp_box,
}

# What precedes an expression's own bracket (func of a call, value of a subscript).
_PREFIX_CHILDREN: dict[type, Callable] = {
    ast.Call: lambda e: (e.func,), ast.Subscript: lambda e: (e.value,),
}

_FIRST_CHILD: dict[type, Callable] = {
    ast.Call: lambda e: e.func, ast.Subscript: lambda e: e.value,
    ast.Attribute: lambda e: e.value, ast.Binary: lambda e: e.left,
    ast.Compare: lambda e: e.left, ast.IfExp: lambda e: e.then,
}

_LAST_CHILD: dict[type, Callable] = {
    ast.Binary: lambda e: e.right, ast.Unary: lambda e: e.operand,
    ast.Compare: lambda e: e.rights[-1], ast.IfExp: lambda e: e.orelse,
    ast.Keyword: lambda e: e.value, ast.Param: lambda e: e.default,
    ast.Slice: lambda e: e.step or e.stop or e.start,
}


def _children(e) -> tuple:
    """Sub-expressions of an expression without a bracket of its own."""
    if isinstance(e, ast.Attribute):
        return (e.value,)
    if isinstance(e, ast.Unary):
        return (e.operand,)
    if isinstance(e, ast.Binary):
        return (e.left, e.right)
    if isinstance(e, ast.Compare):
        return (e.left, *e.rights)
    if isinstance(e, ast.IfExp):
        return (e.then, e.cond, e.orelse)
    if isinstance(e, ast.Slice):
        return (e.start, e.stop, e.step)
    return ()


# ---- placement without the source: by line numbers only ---------------------------------


def _place_by_lines(module: ast.Module, notes: _Notes) -> None:
    entries = list(_statement_entries(module.items))
    for c in module.comments:
        notes.add(*_place_by_line(entries, c), c)


def _statement_entries(nodes) -> Iterator[tuple[object, object]]:
    for node in nodes:
        yield id(node), node
        for sub in _bodies(node):
            yield from _statement_entries(sub)


def _bodies(node) -> list:
    if isinstance(node, ast.BlockDef):
        return [node.body] if node.body is not None else []
    if isinstance(node, ast.If):
        return [s for _, s in node.branches] + ([node.orelse] if node.orelse is not None else [])
    return [node.body] if isinstance(node, ast.For) else []


def _opening_key(node) -> object | None:
    if isinstance(node, ast.BlockDef):
        return ("body", id(node)) if node.body is not None else None
    return ("suite", id(node), 0) if isinstance(node, (ast.If, ast.For)) else None


def _place_by_line(entries, c: ast.Comment) -> tuple[str, object]:
    for key, node in entries:
        span = getattr(node, "span", None)
        line, col = (span.line, span.col) if span is not None else (0, 0)
        if line == c.line and col < c.col:
            opening = _opening_key(node)
            return ("open", opening) if opening is not None else ("trailing", key)
        if line > c.line:
            return "leading", key
    return "dangling", "module"
