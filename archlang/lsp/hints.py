"""Inlay hints: the inferred shape after each assignment's name (``y = conv(x)`` shows
``y: B×64×H/2×W/2``), read off the IR.

A block used with several argument or input shapes gives a statement several shapes: the
hint shows the first instance's and how many others differ (the tooltip lists them).  A
statement the checker did not elaborate (an untaken branch, a block nothing uses and that
cannot be elaborated on its own) gets no hint.

An API-layer module: must not import the protocol libraries or a backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from archlang.lsp.analysis import Analysis
from archlang.lsp.shapes import short_text, statement_types, type_text
from archlang.lsp.walk import statements, target_columns
from archlang.syntax import ast

MAX_TOOLTIP = 8


@dataclass(frozen=True)
class InlayHint:
    line: int  # where the hint stands: just after the last target's name
    col: int
    label: str
    tooltip: str


def inlay_hints(analysis: Analysis, first_line: int = 1, last_line: int | None = None) -> list[InlayHint]:
    if analysis.module is None:
        return []
    last_line = last_line or len(analysis.lines)
    hints = []
    for item in analysis.module.items:
        if not isinstance(item, ast.BlockDef) or item.body is None:
            continue
        for stmt in statements(item.body):
            if isinstance(stmt, ast.Assign) and first_line <= stmt.span.line <= last_line:
                hint = _hint(analysis, stmt)
                if hint is not None:
                    hints.append(hint)
    return hints


def _hint(analysis: Analysis, stmt: ast.Assign) -> InlayHint | None:
    types = statement_types(analysis.shapes, stmt)
    if not types:
        return None
    text = analysis.lines[stmt.span.line - 1]
    columns = target_columns(text, stmt.span.col, stmt.targets)
    if len(columns) != len(stmt.targets):
        return None
    first, _ = types[0]
    label = ": " + short_text(first) + (f" (+{len(types) - 1})" if len(types) > 1 else "")
    tooltip = "\n".join(f"{type_text(t)} — in {path}" for t, path in types[:MAX_TOOLTIP])
    if len(types) > MAX_TOOLTIP:
        tooltip += f"\n… and {len(types) - MAX_TOOLTIP} more"
    return InlayHint(stmt.span.line, columns[-1] + len(stmt.targets[-1]), label, tooltip)
