"""The text of every file archlang has read, so diagnostics can quote the offending line.

Lines end at ``\\n``, ``\\r\\n`` or ``\\r`` and nowhere else (not at a form feed or U+2028,
which ``str.splitlines`` would also split on), as the parser counts them.

Must not import anything else from archlang.
"""

from __future__ import annotations

import re

_SOURCES: dict[str, list[str]] = {}
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """``text``'s lines as the parser numbers them (a final line break opens no line)."""
    lines = LINE_BREAK.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines


def register_source(file: str, text: str) -> None:
    if text.startswith("\ufeff"):  # a byte-order mark: the parser skips it, so columns start after it
        text = text[1:]
    _SOURCES[file] = split_lines(text)


def source_line(file: str, line: int) -> str | None:
    lines = _SOURCES.get(file)
    if lines is None or not 1 <= line <= len(lines):
        return None
    return lines[line - 1]
