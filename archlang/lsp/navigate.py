"""Go to definition and the document's outline (its symbols).

A definition is found the way the checker resolves the name: a local of the block (its
parameter, input, assignment or loop), a definition of this file or of an imported file
(``import``, ``from … import``, ``module.Name``, the standard library), a constant, or the
file an import names.  The outline lists imports, constants and definitions, and inside a
definition its parameters, inputs and the names it assigns.

An API-layer module: must not import the protocol libraries or a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archlang import ops
from archlang.errors import Span
from archlang.lsp.analysis import Analysis
from archlang.lsp.describe import binding_detail, block_signature
from archlang.lsp.lookup import real_path, target_at
from archlang.lsp.walk import bindings, header_name_column, item_lines
from archlang.syntax import ast
from archlang.syntax.printer import format_expr


@dataclass(frozen=True)
class Location:
    file: str  # a path on disk
    span: Span


def definition(analysis: Analysis, line: int, col: int) -> Location | None:
    target = target_at(analysis, line, col)
    if target is None:
        return None
    if target.kind == "local":
        bound = target.binding
        return Location(analysis.file, Span(analysis.file, bound.line, bound.col, bound.line, bound.col + len(bound.name)))
    if target.kind == "definition":
        return _definition_location(analysis, target.definition, target.file)
    if target.kind == "let" and isinstance(target.value, ast.Let):
        let = target.value
        return Location(real_path(target.file), Span(target.file, let.span.line, let.span.col, let.span.line,
                                                      let.span.col + len(let.name)))
    if target.kind in ("file", "module") and target.file and target.file != "std":
        path = real_path(target.file)
        return Location(path, Span(path, 1, 1, 1, 1))
    return None


def _definition_location(analysis: Analysis, definition: ast.BlockDef, file: str) -> Location:
    """The name in the definition's header line (read from the file it lives in)."""
    path = real_path(file)
    line = definition.span.line
    header = _line_of(analysis, file, path, line)
    col = header_name_column(header, definition.name) if header is not None else None
    start = col or definition.span.col
    end = start + len(definition.name) if col else definition.span.col
    return Location(path, Span(path, line, start, line, end))


def _line_of(analysis: Analysis, file: str, path: str, line: int) -> str | None:
    if file == analysis.file:
        lines = analysis.lines
    else:
        lines = _source_lines(path)
    return lines[line - 1] if lines is not None and 1 <= line <= len(lines) else None


def _source_lines(path: str) -> list[str] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().splitlines()
    except OSError:
        return None


@dataclass
class Symbol:
    name: str
    kind: str  # block, model, space, let, import, param, input, member, value
    detail: str
    span: Span  # the whole item
    selection: Span  # its name
    children: list["Symbol"] = field(default_factory=list)


def symbols(analysis: Analysis) -> list[Symbol]:
    if analysis.module is None:
        return []
    out = []
    for item, first, last in item_lines(analysis.module, len(analysis.lines)):
        last = _last_nonblank(analysis.lines, first, last)
        whole = Span(analysis.file, first, 1, last, len(analysis.lines[last - 1]) + 1 if last <= len(analysis.lines) else 1)
        if isinstance(item, ast.BlockDef):
            out.append(_definition_symbol(analysis, item, whole))
        elif isinstance(item, ast.Let):
            name = Span(analysis.file, item.span.line, item.span.col, item.span.line, item.span.col + len(item.name))
            out.append(Symbol(item.name, "let", format_expr(item.value), whole, name))
        elif isinstance(item, ast.Import):
            label = f'"{item.path}"' if item.is_file else item.path
            out.append(Symbol(label, "import", ", ".join(item.names or ()) or (item.alias or ""), whole, whole))
    return out


def _last_nonblank(lines: list[str], first: int, last: int) -> int:
    while last > first and (last > len(lines) or not lines[last - 1].strip() or lines[last - 1].lstrip().startswith("#")):
        last -= 1
    return last


def _definition_symbol(analysis: Analysis, definition: ast.BlockDef, whole: Span) -> Symbol:
    header = analysis.lines[definition.span.line - 1]
    col = header_name_column(header, definition.name) or definition.span.col
    name = Span(analysis.file, definition.span.line, col, definition.span.line, col + len(definition.name))
    symbol = Symbol(definition.name, definition.kind, block_signature(definition), whole, name)
    seen: set[str] = set()
    for bound in bindings(definition, analysis.lines):
        if bound.name in seen or bound.kind == "for":
            continue
        seen.add(bound.name)
        span = Span(analysis.file, bound.line, bound.col, bound.line, bound.col + len(bound.name))
        kind = _local_kind(analysis, bound)
        symbol.children.append(Symbol(bound.name, kind, binding_detail(bound), span, span))
    return symbol


def _local_kind(analysis: Analysis, bound) -> str:
    if bound.kind in ("param", "input"):
        return bound.kind
    if analysis.shapes.members_at(bound.node.value.span):
        return "member"
    value = bound.node.value  # not elaborated: a call of a layer constructor builds a member
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        spec = ops.get(value.func.id)
        if (spec is not None and spec.kind == "layer") or value.func.id == "Sequential":
            return "member"
    return "value"
