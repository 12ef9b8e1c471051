"""Reading a spec: bytes on disk → the text the parser takes.  The one place that opens a
spec file (the loader for every file and import, ``archlang fmt`` and ``archlang check``).

* Only a regular file is read: a FIFO would block and a device (``/dev/zero``) never ends, so
  both are refused after opening without blocking and before reading a byte.
* At most ``LIMITS.max_file_bytes`` bytes are read; a larger file is a located LimitError.
* The bytes are UTF-8; the first byte that is not is a located error at its line and column.
* The text's lines are registered, so every later diagnostic can quote them.

Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` and nowhere else (``spec_text`` makes each a
``\\n``, as Python's text files do), so the parser and the diagnostics number lines alike.

Imports only ``archlang.errors``.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from archlang.errors import ArchImportError, LimitError, ParseError, Span
from archlang.errors.limits import LIMITS
from archlang.errors.sources import register_source, split_lines


def spec_text(text: str) -> str:
    """``text`` with universal newlines, as Python reads text files: ``\\r\\n`` and a lone
    ``\\r`` (an old Mac line end) become ``\\n``, so the grammar and the diagnostics agree on
    where each line ends.  Columns do not move."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def read_source(path: str | Path, display: str | None = None, span: Span | None = None) -> str:
    """The text of spec file ``path``, registered under ``display`` (default: ``path`` as
    given).  Errors are located at ``span`` (the import that asked for the file) or at the
    top of the file itself."""
    name = str(path) if display is None else display
    where = span or Span(name, 1, 1)
    data = _read_bytes(Path(path), name, where)
    text = decode_source(data, name)
    register_source(name, text)
    return text


def _read_bytes(path: Path, name: str, where: Span) -> bytes:
    if "\0" in str(path):
        raise ArchImportError(f"the file name {str(path)!r} contains a NUL byte", where)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _open_error(exc, name, where) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ArchImportError(f"{name} is a folder, not an .arch file", where)
        if not stat.S_ISREG(info.st_mode):
            raise ArchImportError(
                f"{name} is not a regular file ({_kind(info.st_mode)}); specs are read only from regular files", where
            )
        return _read_bounded(fd, name, where)
    finally:
        os.close(fd)


def _read_bounded(fd: int, name: str, where: Span) -> bytes:
    limit = LIMITS.max_file_bytes
    chunks, size = [], 0
    while True:
        try:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
        except OSError as exc:
            raise ArchImportError(f"cannot read {name}: {exc.strerror or exc}", where) from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise LimitError(f"{name} is larger than the limit of {limit:,} bytes for a spec file", where)


def _open_error(exc: OSError, name: str, where: Span) -> ArchImportError:
    if exc.errno == errno.ENOENT:
        return ArchImportError(f"no such file: {name}", where)
    if exc.errno == errno.EISDIR:
        return ArchImportError(f"{name} is a folder, not an .arch file", where)
    return ArchImportError(f"cannot read {name}: {exc.strerror or exc}", where)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def decode_source(data: bytes, name: str) -> str:
    """``data`` as UTF-8 text; the first bad byte is a ParseError at its line and column."""
    try:
        return spec_text(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _decode_error(data, exc, name) from None


def _decode_error(data: bytes, exc: UnicodeDecodeError, name: str) -> ParseError:
    before = data[: exc.start].decode("utf-8")  # the text up to the bad byte is valid
    lines = split_lines(spec_text(before) + "x")  # "x": the bad byte's own line always exists
    line, col = len(lines), len(lines[-1])
    register_source(name, spec_text(data.decode("utf-8", "replace")))  # the caret shows the bad byte as �
    byte = data[exc.start]
    return ParseError(
        f"the file is not valid UTF-8: byte 0x{byte:02x} {_why(exc.reason)}",
        Span(name, line, col, line, col + 1),
        notes=("archlang reads specs as UTF-8 text; re-save the file as UTF-8",),
    )


def _why(reason: str) -> str:
    return {
        "invalid start byte": "cannot begin a character",
        "invalid continuation byte": "begins a character that the bytes after it do not complete",
        "unexpected end of data": "begins a character that the file ends before completing",
    }.get(reason, f"is invalid ({reason})")
