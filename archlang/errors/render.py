"""Rendering diagnostics for people: ``file:line:col: error: message``, the source line, a caret
under the column, and notes.  Colour only when asked (the CLI asks on a TTY).

Everything printed that a spec can control (its file name, its lines, messages quoting its
strings) goes through ``printable``: control characters are shown escaped (``\\x1b``), so a
spec cannot retitle or recolour the terminal, and a very long line is shown as a window
around the caret.

Must not import the elaborator or any backend.
"""

from __future__ import annotations

import re

from archlang.errors import ArchError, Diagnostic
from archlang.errors.sources import source_line

_RED, _BOLD, _CYAN, _RESET = "\033[31m", "\033[1m", "\033[36m", "\033[0m"

# C0 and C1 controls but tab and newline, line and paragraph separators, bidirectional
# overrides and isolates (which reorder what the terminal shows)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_WIDTH = 160  # a source line longer than this is shown as a window around the caret
_BEFORE = 60  # columns kept before the caret in that window


def printable(text: str) -> str:
    """``text`` with every control character escaped as Python writes it (``\\x1b``, ``\\u202e``)."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def render_diagnostic(d: Diagnostic, color: bool = False) -> str:
    red, bold, cyan, reset = (_RED, _BOLD, _CYAN, _RESET) if color else ("", "", "", "")
    where = f"{printable(d.span.file)}:{d.span.line}:{d.span.col}:"
    lines = [f"{bold}{where}{reset} {red}{d.severity}:{reset} {printable(d.message)}"]
    text = source_line(d.span.file, d.span.line)
    if text is not None:
        shown, caret_col, width = _excerpt(text, d)
        lines.append("  " + shown)
        lines.append("  " + " " * caret_col + f"{red}^{'~' * (width - 1)}{reset}")
    lines.extend(f"  {cyan}note:{reset} {printable(note)}" for note in d.notes)
    return "\n".join(lines)


def _excerpt(text: str, d: Diagnostic) -> tuple[str, int, int]:
    """The source line as shown (escaped, tabs expanded, a window around the caret when it
    is long), the caret's column in it and the caret's width."""
    start = min(max(d.span.col - 1, 0), len(text))
    end = min(start + _caret_width(d, text), len(text))
    first = 0 if len(text) <= _WIDTH else max(0, min(start - _BEFORE, len(text) - _WIDTH))
    last = first + _WIDTH
    shown, columns = _display(text[first:last])
    lead = "…" if first > 0 else ""
    tail = "…" if last < len(text) else ""
    caret = columns[start - first]
    width = max(1, columns[min(end, last) - first] - caret)
    return lead + shown + tail, caret + len(lead), width


def _display(text: str) -> tuple[str, list[int]]:
    """``text`` as shown (controls escaped, tabs to the next multiple of 4) and the column at
    which each of its characters, and its end, is shown."""
    out, columns, at = [], [], 0
    for ch in text:
        columns.append(at)
        if ch == "\t":
            piece = " " * (4 - at % 4)
        else:
            piece = printable(ch) if _CONTROL.match(ch) else ch
        out.append(piece)
        at += len(piece)
    columns.append(at)
    return "".join(out), columns


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
