"""Where each comment of an .arch source goes when the file is reprinted: before or after
which statement, element or bracket (``Notes``), found by scanning the source's brackets and
commas against the AST's spans; without the source, by line numbers only.  Also which
brackets hold a magic trailing comma.  Used by ``archlang.syntax.fmt``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

from archlang.syntax import ast
from archlang.syntax.printer import DocString, Notes


def place_comments(module: ast.Module, source: str | None, notes: Notes) -> None:
    """Fill ``notes`` with the place of every comment of ``module`` (and its magic commas)."""
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

    def __init__(self, module: ast.Module, scan: _Scan, notes: Notes) -> None:
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
    doc = [DocString(b.doc)] if b.doc is not None else []
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
    ast.Import: lambda loc, it: [], ast.Tie: lambda loc, it: [], DocString: lambda loc, it: [],
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


def _place_by_lines(module: ast.Module, notes: Notes) -> None:
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
