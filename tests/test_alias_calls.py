"""Calling a model alias (``model A = X(…)``; ``A()``), in its own file or through an import,
is the call it names; a self-calling alias is a located error, never a traceback."""

from __future__ import annotations

import pytest

import archlang
from archlang.errors import ArchError

BLOCK = """
block X(width: int = 2) {
    input x: [B, 4]
    return Linear(4, width)(x)
}
model A = X(width=3)
"""


def test_an_alias_called_in_its_own_file_is_the_call_it_names():
    program = archlang.loads(BLOCK + "model R = A()\n")
    assert archlang.summary(program, "R").params == archlang.summary(program, "A").params == 15


def test_an_imported_alias_can_be_called(tmp_path):
    (tmp_path / "a.arch").write_text(BLOCK)
    (tmp_path / "b.arch").write_text('import "a.arch" as a\nmodel R = a.A()\n')
    program = archlang.load(tmp_path / "b.arch")
    assert program.elaborate("R").signature() == "B×4 → B×3"


def test_an_alias_calling_itself_is_a_located_error():
    with pytest.raises(ArchError) as caught:
        archlang.loads(BLOCK + "model L = L()\n", "loop.arch")
    assert "loop.arch:7:" in str(caught.value)
