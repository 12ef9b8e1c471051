"""Golden diagrams: the DOT text of a few zoo models and a search space equals its golden file.

``tests/golden/dot/<spec-stem>.<Name>[.<options>].dot`` holds ``archlang.render(...)`` for each
case below, compared exactly (the DOT text is deterministic: no ids from memory addresses,
no set iteration).  After an intended change to the diagrams,

    ARCHLANG_UPDATE_GOLDEN=1 python -m pytest tests/test_render_golden.py

rewrites them; render the changed ones (``dot -Tpng``) and look at them before committing.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

import archlang

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
GOLDEN = Path(__file__).resolve().parent / "golden" / "dot"
UPDATE = os.environ.get("ARCHLANG_UPDATE_GOLDEN") == "1"

# (spec, entry point, render options): default depth unless given
CASES = [
    ("vision/resnet.arch", "ResNet18", {}),
    ("vision/vit.arch", "ViT_Tiny", {}),
    ("text/gpt2.arch", "GPT2_Tiny", {}),
    ("vision/mobilenet.arch", "MobileNetV2", {"depth": 1}),
    ("spaces/tiny_cnn.arch", "TinyCNN", {}),
    ("vision/resnet.arch", "ResNet18", {"depth": 2, "expand": True, "direction": "LR"}),
]


def golden_name(spec: str, entry: str, options: dict) -> str:
    suffix = "".join(f".{k}{'' if v is True else v}" for k, v in sorted(options.items()))
    return f"{Path(spec).stem}.{entry}{suffix}.dot"


def render(spec: str, entry: str, options: dict) -> str:
    return archlang.render(SPECS / spec, entry, **options)


@pytest.mark.parametrize("spec,entry,options", CASES, ids=[golden_name(*case) for case in CASES])
def test_golden_dot(spec: str, entry: str, options: dict):
    text = render(spec, entry, options)
    golden = GOLDEN / golden_name(spec, entry, options)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        return
    assert golden.exists(), f"no golden file {golden.relative_to(ROOT)}; generate it with ARCHLANG_UPDATE_GOLDEN=1"
    expected = golden.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            fromfile=f"golden/dot/{golden.name}", tofile="rendered", n=1))
        pytest.fail(f"the diagram of {entry} differs from its golden file:\n{diff[:20000]}")


def test_rendering_is_deterministic():
    """Fresh loads and elaborations give byte-identical DOT: goldens cannot be flaky."""
    for spec, entry, options in CASES[:3] + CASES[4:5]:
        first = render(spec, entry, options)
        second = archlang.render(archlang.load(SPECS / spec, check=False), entry, **options)
        assert first == second, f"{entry} renders differently the second time"


def test_no_stale_goldens():
    expected = {golden_name(*case) for case in CASES}
    if UPDATE:
        for path in GOLDEN.glob("*.dot"):
            if path.name not in expected:
                path.unlink()
        return
    stale = sorted(p.name for p in GOLDEN.glob("*.dot") if p.name not in expected)
    assert not stale, f"golden diagrams without a case (delete them or regenerate): {stale}"
