"""Rendering diagnostics for people: ``file:line:col: error: message``, the source line, a caret
under the column, and notes.  Colour only when asked (the CLI asks on a TTY).

Must not import the elaborator or any backend.
"""

from __future__ import annotations

from archlang.errors import ArchError, Diagnostic
from archlang.errors.sources import source_line

_RED, _BOLD, _CYAN, _RESET = "\033[31m", "\033[1m", "\033[36m", "\033[0m"


def render_diagnostic(d: Diagnostic, color: bool = False) -> str:
    red, bold, cyan, reset = (_RED, _BOLD, _CYAN, _RESET) if color else ("", "", "", "")
    head = f"{bold}{d.span.file}:{d.span.line}:{d.span.col}:{reset} {red}{d.severity}:{reset} {d.message}"
    lines = [head]
    text = source_line(d.span.file, d.span.line)
    if text is not None:
        lines.append("  " + text.expandtabs(4))
        caret_col = len(text[: max(d.span.col - 1, 0)].expandtabs(4))
        width = _caret_width(d, text)
        lines.append("  " + " " * caret_col + f"{red}^{'~' * (width - 1)}{reset}")
    lines.extend(f"  {cyan}note:{reset} {note}" for note in d.notes)
    return "\n".join(lines)


def _caret_width(d: Diagnostic, text: str) -> int:
    if d.span.end_line != d.span.line or d.span.end_col <= d.span.col:
        return 1
    return max(1, min(d.span.end_col, len(text) + 1) - d.span.col)


def render_error(error: ArchError, color: bool = False) -> str:
    """Every diagnostic of ``error``, in source order, then a count when there are several."""
    diagnostics = sorted(error.diagnostics, key=lambda d: (d.span.file, d.span.line, d.span.col))
    text = "\n".join(render_diagnostic(d, color) for d in diagnostics)
    if len(diagnostics) > 1:
        text += f"\n{len(diagnostics)} errors"
    return text
