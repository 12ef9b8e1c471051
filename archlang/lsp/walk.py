"""Finding things in a parsed file: its items' line ranges, the definition around a line, the
names each item uses, the statements of a body, and what lies under the cursor.

Positions here are the checker's: 1-based lines and columns counted in characters.  Pure
functions over the AST (``archlang.syntax.ast``) and the document's text; must not import
the elaborator's internals, the protocol libraries or a backend.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Iterator

from archlang.errors import Span
from archlang.syntax import ast

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER = re.compile(r"\b(block|model|space)\s+([A-Za-z_][A-Za-z0-9_]*)")


_FIELDS: dict[type, tuple[str, ...]] = {}


def children(node) -> Iterator:
    """The AST nodes directly inside ``node`` (expressions, statements, parameters …)."""
    names = _FIELDS.get(type(node))
    if names is None:  # dataclasses.fields is slow; a file has thousands of nodes
        names = _FIELDS[type(node)] = tuple(f.name for f in dataclasses.fields(node) if f.name != "span")
    for name in names:
        yield from _nodes_in(getattr(node, name))


def _nodes_in(value) -> Iterator:
    if isinstance(value, tuple):
        for item in value:
            yield from _nodes_in(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, Span):
        yield value


def descendants(node) -> Iterator:
    """``node`` and every AST node under it, parents first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


def used_names(node) -> set[str]:
    """Every name ``node`` reads (``Name`` ids, and the base of ``a.b`` chains)."""
    return {n.id for n in descendants(node) if isinstance(n, ast.Name)}


def item_lines(module: ast.Module, line_count: int) -> list[tuple[object, int, int]]:
    """``(item, first line, last line)`` for each top-level item: an item runs until the next
    one starts, so the comments and closing brace after it are its own."""
    items = sorted(module.items, key=lambda item: item.span.line)
    starts = [item.span.line for item in items]  # an import's span is its names' line: imports fit on one
    ends = [start - 1 for start in starts[1:]] + [max(line_count, starts[-1] if starts else 0)]
    return list(zip(items, starts, ends))


def definition_at(module: ast.Module, line: int, line_count: int) -> ast.BlockDef | None:
    """The block, model or space whose text contains ``line``, if any."""
    for item, first, last in item_lines(module, line_count):
        if first <= line <= last and isinstance(item, ast.BlockDef):
            return item
    return None


def statements(body) -> Iterator:
    """Every statement of a body, nested ones (``if``, ``for``) included, in source order."""
    for stmt in body or ():
        yield stmt
        if isinstance(stmt, ast.If):
            for _, branch in stmt.branches:
                yield from statements(branch)
            yield from statements(stmt.orelse)
        elif isinstance(stmt, ast.For):
            yield from statements(stmt.body)


def contains(span: Span, line: int, col: int) -> bool:
    """Whether (line, col) lies in ``span`` (its end column included: the cursor may stand
    just after a name)."""
    end_line = span.end_line or span.line
    if not span.line <= line <= end_line:
        return False
    if line == span.line and col < span.col:
        return False
    return not (line == end_line and span.end_col and col > span.end_col)


def word_at(text_line: str, col: int) -> tuple[str, int] | None:
    """The identifier at 1-based column ``col`` of a line (or just before it) and its column."""
    for match in _IDENT.finditer(text_line):
        if match.start() + 1 <= col <= match.end() + 1:
            return match.group(), match.start() + 1
    return None


def header_name_column(text_line: str, name: str) -> int | None:
    """The column of ``name`` in a definition's header line (``block Name(…``)."""
    for match in _HEADER.finditer(text_line):
        if match.group(2) == name:
            return match.start(2) + 1
    return None


def target_columns(text_line: str, start_col: int, targets: tuple[str, ...]) -> list[int]:
    """Columns of an assignment's targets, read off its line from the statement's start."""
    columns, position = [], start_col - 1
    for target in targets:
        found = re.compile(rf"\b{re.escape(target)}\b").search(text_line, position)
        if found is None:
            break
        columns.append(found.start() + 1)
        position = found.end()
    return columns


@dataclass(frozen=True)
class Binding:
    """Where a name of a block body is bound: a parameter, an input, an assignment or a loop."""

    name: str
    kind: str  # "param", "input", "assign", "for"
    line: int
    col: int
    node: object  # the ast.Param, ast.Input, ast.Assign or ast.For


def bindings(definition: ast.BlockDef, lines: list[str]) -> list[Binding]:
    """Every name a definition binds, in source order."""
    found = [Binding(p.name, "param", p.span.line, p.span.col, p) for p in definition.params]
    for stmt in statements(definition.body):
        if isinstance(stmt, ast.Input):
            found.append(Binding(stmt.name, "input", stmt.span.line, stmt.span.col, stmt))
        elif isinstance(stmt, ast.Assign):
            text = lines[stmt.span.line - 1] if stmt.span.line <= len(lines) else ""
            for target, col in zip(stmt.targets, target_columns(text, stmt.span.col, stmt.targets)):
                found.append(Binding(target, "assign", stmt.span.line, col, stmt))
        elif isinstance(stmt, ast.For):
            text = lines[stmt.span.line - 1] if stmt.span.line <= len(lines) else ""
            cols = target_columns(text, stmt.span.col, (stmt.var,))
            found.append(Binding(stmt.var, "for", stmt.span.line, cols[0] if cols else stmt.span.col, stmt))
    return found


def binding_before(definition: ast.BlockDef, lines: list[str], name: str, line: int, col: int) -> Binding | None:
    """The binding of ``name`` that a use at (line, col) reads: the last one before it (or
    the first one, for a name used before its assignment, as members may be)."""
    candidates = [b for b in bindings(definition, lines) if b.name == name]
    earlier = [b for b in candidates if _visible_from(b) <= (line, col)]
    if earlier:
        return earlier[-1]
    return candidates[0] if candidates else None


def _visible_from(bound: Binding) -> tuple[int, int]:
    """Where a binding starts to count: after its whole statement for an assignment (in
    ``x = f(x)`` the ``x`` read is the earlier one), at once for the others."""
    if bound.kind == "assign":
        span = bound.node.span
        return (span.end_line or span.line, span.end_col or span.col)
    return (bound.line, bound.col)


def expression_at(definition, line: int, col: int):
    """The innermost expression node of ``definition`` under (line, col), if any."""
    best = None
    for node in descendants(definition):
        span = getattr(node, "span", None)
        if isinstance(node, (ast.Name, ast.Attribute, ast.Keyword, ast.Call)) and span and contains(span, line, col):
            if best is None or _narrower(span, best.span):
                best = node
    return best


def _narrower(a: Span, b: Span) -> bool:
    return (a.line, a.col) >= (b.line, b.col) and ((a.end_line, a.end_col) <= (b.end_line, b.end_col))
