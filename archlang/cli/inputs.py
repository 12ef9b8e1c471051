"""The spec files a command line names: ``-`` is stdin, a folder stands for its ``.arch`` files.

Every command that takes files goes through here: ``expand`` for the commands that take
several (``check``, ``fmt``), ``one_file`` for those about one model (``ir``, ``compile`` …:
a folder is searched for the file that defines ``-m``), ``load`` and ``read_text`` to read
one of them, stdin included.  A folder is walked without following links to folders and
without entering hidden ones (``.git``, ``.venv``), in sorted order.
Imports only ``archlang`` core modules.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import archlang
from archlang.errors import LimitError, Span
from archlang.errors.limits import LIMITS
from archlang.syntax.source import decode_source, read_source

STDIN = "-"
STDIN_NAME = "<stdin>"


class InputError(Exception):
    """Files named on the command line that cannot be used (a usage error, exit 2)."""


def expand(paths: list[str]) -> list[str]:
    """``paths`` with each folder replaced by the .arch files under it."""
    expanded: list[str] = []
    for path in paths:
        if path != STDIN and os.path.isdir(path):
            found = arch_files(Path(path))
            if not found:
                raise InputError(f"{path} holds no .arch file")
            expanded.extend(str(p) for p in found)
        else:
            expanded.append(path)
    if expanded.count(STDIN) > 1:
        raise InputError("stdin (-) can be read only once")
    return expanded


def arch_files(folder: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(folder):  # os.walk never follows a link to a folder
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / n for n in names if n.endswith(".arch"))
    return sorted(found)  # by path components: a/y.arch, a/z.arch, b.arch


def one_file(path: str, model: str | None) -> str:
    """The file of a command about one MODEL: ``path`` itself, or the one .arch file under the
    folder ``path`` that defines MODEL."""
    if path == STDIN or not os.path.isdir(path):
        return path
    files = arch_files(Path(path))
    defining = [p for p in files if model and _defines(p, model)] if len(files) > 1 else files
    if len(defining) == 1:
        return str(defining[0])
    if not defining:
        raise InputError(f"no .arch file under {path} defines '{model}'" if files else f"{path} holds no .arch file")
    raise InputError(f"'{model}' is defined in several files under {path}: "
                     + ", ".join(str(p) for p in defining[:5]) + "; name one")


def _defines(path: Path, name: str) -> bool:
    pattern = re.compile(rf"^\s*(model|space|block)\s+{re.escape(name)}\b", re.MULTILINE)
    try:
        return bool(pattern.search(read_source(path)))
    except archlang.ArchError:
        return False  # checked when the file is loaded, if it is the one


def read_text(path: str) -> str:
    """The text of spec ``path`` (stdin for ``-``), registered for diagnostics."""
    return read_stdin() if path == STDIN else read_source(path)


def load(path: str, *, check: bool = True):
    """The Program of ``path``; from stdin its imports resolve in the current folder."""
    if path == STDIN:
        return archlang.loads(read_stdin(), STDIN_NAME, check=check)
    return archlang.load(path, check=check)


def read_stdin() -> str:
    limit = LIMITS.max_file_bytes
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise LimitError(f"stdin holds more than the limit of {limit:,} bytes for a spec", Span(STDIN_NAME, 1, 1))
    return decode_source(data, STDIN_NAME)


def display(path: str) -> str:
    return STDIN_NAME if path == STDIN else path
