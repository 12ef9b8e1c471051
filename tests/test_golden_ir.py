"""Golden IR: every model and space of every spec, elaborated and printed, equals its golden file.

``tests/golden/ir/<spec-stem>.<Name>.txt`` holds ``format_ir(program.elaborate(Name))`` for each
entry point (``Program.models`` + ``Program.spaces``) of each ``specs/**/*.arch``.  Specs are
discovered by glob, so a new spec only needs its goldens:

    ARCHLANG_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_ir.py

rewrites them (read the diff before committing it).  A golden file whose entry point no longer
exists fails the suite too, so renamed models do not leave stale goldens behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import archlang

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
GOLDEN = Path(__file__).resolve().parent / "golden" / "ir"
UPDATE = os.environ.get("ARCHLANG_UPDATE_GOLDEN") == "1"


def _spec_files() -> list[Path]:
    return sorted(SPECS.rglob("*.arch"))


def _golden_name(spec: Path, entry: str) -> str:
    return f"{spec.stem}.{entry}.txt"


def _entries() -> list[tuple[Path, str]]:
    """(spec, entry point) for every model and space; a spec that fails to load is one case."""
    found = []
    for spec in _spec_files():
        try:
            program = archlang.load(spec, check=False)
        except archlang.ArchError:
            found.append((spec, None))  # reported by test_golden_ir as a failure of the spec
            continue
        found.extend((spec, name) for name in program.models + program.spaces)
    return found


ENTRIES = _entries()


def test_specs_exist():
    assert _spec_files(), f"no specs under {SPECS}"
    assert ENTRIES, "the specs define no models or spaces"


def test_golden_names_are_unique():
    """Two specs with the same stem and entry name would share (and fight over) one golden."""
    names = [_golden_name(spec, entry) for spec, entry in ENTRIES if entry is not None]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"golden file names collide: {duplicates}"


@pytest.mark.parametrize(
    "spec,entry", ENTRIES,
    ids=[f"{spec.relative_to(SPECS)}::{entry}" for spec, entry in ENTRIES],
)
def test_golden_ir(spec: Path, entry: str | None):
    program = archlang.load(spec, check=False)  # an ArchError here fails with its diagnostics
    assert entry is not None, f"{spec} failed to load"
    text = archlang.format_ir(program.elaborate(entry))
    golden = GOLDEN / _golden_name(spec, entry)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        return
    assert golden.exists(), (
        f"no golden file {golden.relative_to(ROOT)}; generate it with ARCHLANG_UPDATE_GOLDEN=1 and review it"
    )
    expected = golden.read_text(encoding="utf-8")
    if text != expected:
        import difflib

        diff = "".join(difflib.unified_diff(
            expected.splitlines(True), text.splitlines(True),
            fromfile=f"golden/{golden.name}", tofile="elaborated", n=2,
        ))
        pytest.fail(f"IR of {entry} in {spec.relative_to(ROOT)} differs from its golden file:\n{diff[:20000]}")


def test_golden_ir_is_deterministic():
    """Elaborating twice (fresh loads) prints the same text: goldens cannot be flaky."""
    for spec, entry in ENTRIES[:6]:
        if entry is None:
            continue
        first = archlang.format_ir(archlang.load(spec, check=False).elaborate(entry))
        second = archlang.format_ir(archlang.load(spec, check=False).elaborate(entry))
        assert first == second, f"{spec.name}::{entry} prints differently on a second elaboration"


def test_no_stale_goldens():
    if UPDATE:
        expected = {_golden_name(spec, entry) for spec, entry in ENTRIES if entry is not None}
        for path in GOLDEN.glob("*.txt"):
            if path.name not in expected:
                path.unlink()
        return
    expected = {_golden_name(spec, entry) for spec, entry in ENTRIES if entry is not None}
    stale = sorted(p.name for p in GOLDEN.glob("*.txt") if p.name not in expected)
    assert not stale, f"golden files without an entry point (delete them or regenerate): {stale}"
