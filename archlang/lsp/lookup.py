"""What the name under the cursor means: a local of the block around it (parameter, input,
assignment, loop variable), a top-level definition of this file or of an imported one, a
constant, an imported module, an op, a builtin, or the keyword argument of a call.

Names are resolved as the checker resolves them (a block's own names first, then the file's
top-level names and imports, then the language's builtins), from the AST and the loaded
units.  An API-layer module: must not import the protocol libraries or a backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from archlang import ops
from archlang.errors import Span
from archlang.lsp.analysis import Analysis
from archlang.lsp.walk import (
    Binding,
    binding_before,
    bindings,
    definition_at,
    descendants,
    expression_at,
    header_name_column,
    word_at,
)
from archlang.resolve.units import BlockRef, ImportedModule
from archlang.syntax import ast


@dataclass(frozen=True)
class Target:
    """The meaning of a word of the document."""

    kind: str  # definition, let, module, op, builtin, local, keyword, file
    name: str
    span: Span  # the word itself
    owner: ast.BlockDef | None = None  # the definition the cursor is in
    definition: ast.BlockDef | None = None  # kind "definition": the one named
    file: str | None = None  # where `definition`, the let or the module lives
    binding: Binding | None = None  # kind "local"
    value: Any = None  # OpSpec, builtin, ImportedModule or ast.Let
    callee: Any = None  # kind "keyword": what the call calls (OpSpec or Target of a definition)


def real_path(file: str) -> str:
    """The file on disk behind a loaded unit's name (the standard library's are ``std/x.arch``)."""
    if file.startswith("std/"):
        return str(resources.files("archlang.std") / file[len("std/"):])
    return str(Path(file).resolve())


def target_at(analysis: Analysis, line: int, col: int) -> Target | None:
    if analysis.module is None or not 1 <= line <= len(analysis.lines):
        return None
    text = analysis.lines[line - 1]
    found = word_at(text, col)
    if found is None:
        return _file_target(analysis, line, col)
    name, start = found
    span = Span(analysis.file, line, start, line, start + len(name))
    owner = definition_at(analysis.module, line, len(analysis.lines))
    if owner is not None and header_name_column(text, owner.name) == start and line == owner.span.line:
        return Target("definition", name, span, owner, owner, analysis.file)
    item_import = _import_on(analysis, line)
    if item_import is not None:
        return _import_target(analysis, item_import, name, span) or _file_target(analysis, line, col)
    if owner is not None:
        bound = _binding_at(analysis, owner, line, start)
        if bound is not None:
            return Target("local", name, span, owner, binding=bound)
    scope = owner if owner is not None else _let_at(analysis, line)
    node = expression_at(scope, line, col) if scope is not None else None
    if isinstance(node, ast.Keyword) and col <= node.span.col + len(node.name):
        return _keyword_target(analysis, scope, node, span, owner)
    if isinstance(node, ast.Attribute) and start > node.value.span.end_col:
        return _attribute_target(analysis, node, span, owner)
    return resolve_name(analysis, name, span, owner, line, start)


def resolve_name(analysis: Analysis, name: str, span: Span, owner, line: int, col: int) -> Target | None:
    """``name`` used at (line, col) inside ``owner`` (None at the top level)."""
    if owner is not None:
        bound = binding_before(owner, analysis.lines, name, line, col)
        if bound is not None:
            return Target("local", name, span, owner, binding=bound)
    unit = analysis.unit
    if unit is not None:
        if name in unit.lets:
            return Target("let", name, span, owner, file=unit.file, value=unit.lets[name])
        value = unit.scope.get(name)
        if isinstance(value, BlockRef):
            return Target("definition", name, span, owner, value.definition, value.unit.file)
        if isinstance(value, ImportedModule):
            return Target("module", name, span, owner, file=value.name, value=value)
        if value is not None:  # an imported constant
            return Target("let", name, span, owner, value=value)
    spec = ops.get(name)
    if spec is not None:
        return Target("op", name, span, owner, value=spec)
    if unit is not None and name in unit.builtins:
        return Target("builtin", name, span, owner, value=unit.builtins[name])
    return None


def _binding_at(analysis: Analysis, owner: ast.BlockDef, line: int, col: int) -> Binding | None:
    for bound in bindings(owner, analysis.lines):
        if bound.line == line and bound.col == col:
            return bound
    return None


def _let_at(analysis: Analysis, line: int) -> ast.Let | None:
    for item in analysis.module.items:
        if isinstance(item, ast.Let) and item.span.line <= line <= (item.span.end_line or item.span.line):
            return item
    return None


def _import_on(analysis: Analysis, line: int) -> ast.Import | None:
    for item in analysis.module.items:
        if isinstance(item, ast.Import) and item.span.line == line:
            return item
    return None


def _import_target(analysis: Analysis, imp: ast.Import, name: str, span: Span) -> Target | None:
    unit = analysis.unit
    if imp.names is not None and name in imp.names and unit is not None:
        return resolve_name(analysis, name, span, None, span.line, span.col)
    if unit is not None and (name == imp.alias or (not imp.is_file and imp.alias is None and name == imp.path.split(".")[-1])):
        return resolve_name(analysis, name, span, None, span.line, span.col)
    return None


def _file_target(analysis: Analysis, line: int, col: int) -> Target | None:
    """The quoted path of ``import "x.arch"`` under the cursor: the file itself."""
    imp = _import_on(analysis, line)
    if imp is None or not imp.is_file:
        return None
    text = analysis.lines[line - 1]
    for match in re.finditer(r"(['\"])(.*?)\1", text):
        if match.start() < col <= match.end() + 1 and match.group(2) == imp.path:
            path = (Path(analysis.file).parent / imp.path).resolve()
            span = Span(analysis.file, line, match.start() + 1, line, match.end() + 1)
            return Target("file", imp.path, span, file=str(path))
    return None


def _keyword_target(analysis: Analysis, scope, keyword: ast.Keyword, span: Span, owner) -> Target | None:
    call = next((n for n in descendants(scope) if isinstance(n, ast.Call) and any(k is keyword for k in n.kwargs)), None)
    callee = callee_of(analysis, call, owner) if call is not None else None
    return Target("keyword", keyword.name, span, owner, callee=callee)


def callee_of(analysis: Analysis, call: ast.Call, owner) -> Any:
    """What ``call`` calls, when the editor can tell: an OpSpec or a definition's Target."""
    func = call.func
    if isinstance(func, ast.Name):
        target = resolve_name(analysis, func.id, func.span, owner, func.span.line, func.span.col)
    elif isinstance(func, ast.Attribute):
        target = _attribute_target(analysis, func, func.span, owner)
    else:
        return None
    if target is None:
        return None
    if target.kind == "op":
        return target.value
    if target.kind == "definition":
        return target
    return None


def _attribute_target(analysis: Analysis, node: ast.Attribute, span: Span, owner) -> Target | None:
    """``std.MLP`` or ``blocks.Stem``: a definition of an imported module."""
    base = node.value
    if not isinstance(base, ast.Name):
        return None
    outer = resolve_name(analysis, base.id, base.span, owner, base.span.line, base.span.col)
    if outer is None or outer.kind != "module":
        return None
    value = outer.value.scope.get(node.attr)
    if isinstance(value, BlockRef):
        return Target("definition", node.attr, span, owner, value.definition, value.unit.file)
    return None
