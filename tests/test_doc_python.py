"""Every ```python example in README.md and docs/*.md runs, from the repository root."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


# Pages written as one notebook session: each block goes on from the ones above it, so the
# page's blocks run as one script (in order) instead of each on its own.
SESSIONS = {"notebooks.md"}


def _examples():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        blocks = [(text[: m.start()].count("\n") + 1, m.group(1)) for m in BLOCK.finditer(text)]
        if doc.name in SESSIONS and blocks:
            yield pytest.param("".join(code for _, code in blocks), id=f"{doc.name}:{blocks[0][0]}-session")
            continue
        for line, code in blocks:
            yield pytest.param(code, id=f"{doc.name}:{line}")


@pytest.mark.parametrize("code", list(_examples()))
def test_python_example_runs(code, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
