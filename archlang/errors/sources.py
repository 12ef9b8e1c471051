"""The text of every file archlang has read, so diagnostics can quote the offending line.

Must not import anything else from archlang.
"""

from __future__ import annotations

_SOURCES: dict[str, list[str]] = {}


def register_source(file: str, text: str) -> None:
    _SOURCES[file] = text.splitlines()


def source_line(file: str, line: int) -> str | None:
    lines = _SOURCES.get(file)
    if lines is None or not 1 <= line <= len(lines):
        return None
    return lines[line - 1]
