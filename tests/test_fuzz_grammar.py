"""Fuzzing with generated specs: a grammar-aware generator of mostly-valid specs
(tests/_fuzzing.py) and random syntax trees printed by the formatter (tests/test_fmt.py).

Every generated spec goes through ``archlang check`` and, when it checks, ``summary``, ``ir``,
``render`` and, for models, ``compile`` and ``export``, in-process through the CLI.  Allowed
outcomes: success, or exit 1 with located errors only; no traceback; each command within
its CPU budget.  A few specs also run in a subprocess under ``prlimit --as=4 GiB``, so the
memory bound holds as a user's shell would enforce it.

``make test`` runs a fixed number of examples (derandomized: the same ones each run);
``make fuzz`` (ARCHLANG_FUZZ_SECONDS=N) keeps generating new ones for N seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _fuzzing import assert_allowed, assert_located, exercise, fuzz_seconds, run_cli, specs
from hypothesis import HealthCheck, given, seed, settings
from test_fmt import modules

from archlang.errors.sources import register_source
from archlang.syntax.fmt import format_module

EXAMPLES = int(os.environ.get("ARCHLANG_FUZZ_EXAMPLES", "60"))
FIXED = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
MEMORY = 4 * 2**30  # bytes of address space a subprocess may use


def _generated(text: str, folder: Path, capsys) -> None:
    path = folder / "generated.arch"
    path.write_text(text, encoding="utf-8")
    exercise(path, capsys, folder)


def _random_tree(module, folder: Path, capsys) -> None:
    path = folder / "tree.arch"
    path.write_text(format_module(module), encoding="utf-8")
    assert_allowed(run_cli(["check", str(path)], capsys), "check of a random syntax tree")


@FIXED
@given(text=specs())
def test_generated_specs(text, tmp_path, capsys):
    _generated(text, tmp_path, capsys)


@FIXED
@given(module=modules())
def test_random_syntax_trees(module, tmp_path, capsys):
    _random_tree(module, tmp_path, capsys)


@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text=specs())
@pytest.mark.skipif(shutil.which("prlimit") is None, reason="prlimit (util-linux) is not installed")
def test_generated_specs_within_memory(text, tmp_path):
    """``archlang check`` in a subprocess limited to 4 GiB of address space."""
    name = "generated.arch"
    (tmp_path / name).write_text(text, encoding="utf-8")
    register_source(name, text)  # so the located-error check can read the lines it names
    run = subprocess.run(["prlimit", f"--as={MEMORY}", sys.executable, "-m", "archlang", "check", name],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "MemoryError" not in run.stderr, run.stderr
    assert run.returncode in (0, 1), run.stderr
    if run.returncode == 1:
        assert_located(run.stderr, "check in a subprocess")


@pytest.mark.skipif(fuzz_seconds() <= 0, reason="make fuzz runs this (ARCHLANG_FUZZ_SECONDS)")
def test_fuzz_for_as_long_as_asked(tmp_path, capsys):
    """New examples, round after round with a new seed, until ARCHLANG_FUZZ_SECONDS pass."""
    stop = time.monotonic() + fuzz_seconds()
    start = int(os.environ.get("ARCHLANG_FUZZ_SEED", time.time_ns() % 2**32))
    rounds = 0
    while time.monotonic() < stop:
        each = settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        seed(start + rounds)(each(given(specs())(lambda text: _generated(text, tmp_path, capsys))))()
        seed(start + rounds)(each(given(modules())(lambda m: _random_tree(m, tmp_path, capsys))))()
        rounds += 1
    print(f"{rounds} rounds of 100 generated specs from seed {start}")
