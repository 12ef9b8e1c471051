"""Every ``arch`` example in the documentation runs.

Conventions for fenced blocks in docs/language.md (and README.md when there is one):

* ```` ```arch ```` — a complete .arch file.  It must load and check, and every model and
  space in it must elaborate.
* ```` ```arch file=NAME.arch ```` — a file other examples import.  All of a document's file
  blocks are written next to each example before it is loaded; each is also checked itself.
* ```` ```arch error ```` — an example that must fail.  Its first line is a comment
  ``# error: <text>``; loading (and elaborating) it must raise ArchError whose message
  contains <text>.

Other fences (```` ```text ````, ```` ```python ````) are not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import archlang
from archlang import ops

ROOT = Path(__file__).resolve().parents[1]
DOCS = [p for p in (ROOT / "docs" / "language.md", ROOT / "README.md") if p.exists()]
FENCE = re.compile(r"^```(\S*)[ \t]*(.*)$")


@dataclass(frozen=True)
class Example:
    doc: Path
    line: int  # of the opening fence
    info: str  # what follows ```arch
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc.name}:{self.line}"

    @property
    def file(self) -> str | None:
        match = re.fullmatch(r"file=(\S+\.arch)", self.info)
        return match.group(1) if match else None

    @property
    def is_error(self) -> bool:
        return self.info == "error"


def examples(doc: Path) -> list[Example]:
    found, lines = [], doc.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match or not match.group(1):
            i += 1
            continue
        lang, info, start = match.group(1), match.group(2).strip(), i
        i += 1
        body = []
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        assert i < len(lines), f"{doc.name}:{start + 1}: unclosed code fence"
        i += 1
        if lang == "arch":
            found.append(Example(doc, start + 1, info, "\n".join(body) + "\n"))
    return found


ALL = [e for doc in DOCS for e in examples(doc)]


def _write_files(doc: Path, folder: Path) -> None:
    for example in ALL:
        if example.doc == doc and example.file:
            (folder / example.file).write_text(example.text, encoding="utf-8")


def _load_and_elaborate(example: Example, folder: Path):
    _write_files(example.doc, folder)
    if example.file:
        program = archlang.load(folder / example.file)
    else:
        program = archlang.loads(example.text, filename=str(folder / "example.arch"))
    return program, [program.elaborate(name) for name in program.models + program.spaces]


def test_the_docs_have_examples():
    assert DOCS, "docs/language.md is missing"
    assert len(ALL) >= 40
    assert any(e.is_error for e in ALL) and any(e.file for e in ALL)
    for example in ALL:
        assert example.info in ("", "error") or example.file, f"{example.id}: unknown fence info {example.info!r}"


@pytest.mark.parametrize("example", [e for e in ALL if not e.is_error], ids=lambda e: e.id)
def test_example_loads_and_elaborates(example, tmp_path):
    program, models = _load_and_elaborate(example, tmp_path)
    assert program.models or program.spaces or program.blocks or example.file or "let " in example.text, (
        f"{example.id}: the example defines nothing"
    )
    for model in models:
        archlang.format_ir(model)  # every elaborated model also prints


@pytest.mark.parametrize("example", [e for e in ALL if e.is_error], ids=lambda e: e.id)
def test_error_example_fails_with_its_message(example, tmp_path):
    first = example.text.splitlines()[0]
    match = re.fullmatch(r"#\s*error:\s*(.+?)\s*", first)
    assert match, f"{example.id}: an error example starts with '# error: <expected message>'"
    with pytest.raises(archlang.ArchError) as caught:
        _load_and_elaborate(example, tmp_path)
    assert match.group(1) in str(caught.value)


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_the_specs_the_docs_name_exist_and_check(doc):
    named = sorted(set(re.findall(r"`(specs/[\w/]+\.arch)`", doc.read_text(encoding="utf-8"))))
    for relative in named:
        path = ROOT / relative
        assert path.exists(), f"{doc.name} names {relative}, which does not exist"
        archlang.load(path)  # loads and checks every model and space in it


def _documented_ops(doc: Path) -> set[str]:
    text = doc.read_text(encoding="utf-8")
    section = text.split("\n## Primitive ops\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    names = set()
    for row in rows:
        ops_cell = row.split("|")[2]
        names |= set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)[`(]", ops_cell))
    return names


def test_every_op_is_in_the_reference():
    documented = _documented_ops(ROOT / "docs" / "language.md")
    missing = sorted(set(ops.REGISTRY) - documented)
    unknown = sorted(documented - set(ops.REGISTRY))
    assert not missing, f"ops missing from docs/language.md § Primitive ops: {missing}"
    assert not unknown, f"docs/language.md § Primitive ops lists ops that do not exist: {unknown}"


def test_the_documented_limits_are_the_real_ones():
    from dataclasses import fields

    from archlang.errors.limits import LIMITS

    text = (ROOT / "docs" / "safety.md").read_text(encoding="utf-8")
    for field in fields(LIMITS):
        value = getattr(LIMITS, field.name)
        assert f"| `{field.name}` | {value:,} |" in text, f"limit {field.name} = {value:,} is not documented"
