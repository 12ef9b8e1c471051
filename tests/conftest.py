"""Shared fixtures for the language test-suite (test_language, test_errors, test_limits, …).

``arch`` writes a spec (and any files it imports) into a fresh folder and loads it through
the public API, so imports, file names and diagnostics behave exactly as for a user's file.
"""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest
from _search import DIGITS, NB201

import archlang
from archlang.errors.limits import LIMITS

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


class ArchFiles:
    """Writes .arch sources under one temporary folder and loads them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def load(self, text: str, files: dict[str, str] | None = None, name: str = "main.arch",
             check: bool = True) -> archlang.Program:
        for extra, source in (files or {}).items():
            self.write(extra, source)
        return archlang.load(self.write(name, text), check=check)

    def elaborate(self, text: str, entry: str = "M", files: dict[str, str] | None = None, **kwargs):
        return self.load(text, files).elaborate(entry, **kwargs)


@pytest.fixture
def arch(tmp_path: Path) -> ArchFiles:
    return ArchFiles(tmp_path)


@pytest.fixture(autouse=True)
def _default_limits():
    """No test leaks a changed limit into the next one (tests may shrink LIMITS)."""
    saved = dict(vars(LIMITS))
    yield
    for key, value in saved.items():
        setattr(LIMITS, key, value)


@pytest.fixture(scope="session", autouse=True)
def _warm_parser():
    """Build the LALR tables once, so per-test timings measure archlang, not Lark's setup."""
    archlang.loads("let warm = 1\n", filename="<warm>")


# ---- search spaces the search-engine tests share (tests/_search.py) ---------------------------


@pytest.fixture(scope="module")
def nb201():
    return archlang.space(NB201)


@pytest.fixture(scope="module")
def digits():
    return archlang.space(DIGITS)


def pytest_sessionstart(session):
    """Ctrl-C as a terminal delivers it.  A shell without job control starts a background
    command (``make test &`` in a script) with SIGINT ignored, which Python and every
    ``archlang`` the tests start would inherit and keep: the Ctrl-C tests would then test
    nothing.  Python's own handler here is reset to the default in every child at exec."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
