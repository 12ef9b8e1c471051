"""Golden summaries: ``archlang summary`` of models whose sizes are compound expressions and
whose members are applied in loops.

A compound size is bracketed as a factor of the shape (``B×64×((H + 1)//2)``, never
``B×64×(H + 1)//2``, which reads as a product divided by 2), and a row keeps the member path
below its parent (``blocks.0`` for a member of ``blocks`` that a ``for`` loop applies).

    ARCHLANG_UPDATE_GOLDEN=1 python -m pytest tests/test_summary_golden.py

rewrites the goldens (read the diff before committing it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import archlang
from archlang.report.summary import format_summary

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden" / "summary"
UPDATE = os.environ.get("ARCHLANG_UPDATE_GOLDEN") == "1"

LOOPS = """
block Stage(d: int) {
    input x: [B, d, H, W]
    convs = Sequential([Conv2d(d, d, 3, padding=1) for i in range(2)])
    for conv in convs {
        x = relu(conv(x))
    }
    return x
}
model Loops() {
    input x: [B, 3, H, W]
    stem = Conv2d(3, 8, 7, stride=2)
    stages = Sequential(Stage(8), Stage(8))
    heads = Sequential([Linear(8, 10) for i in range(3)])
    y = stem(x)
    for stage in stages {
        y = stage(y)
    }
    v = y.mean(dim=[2, 3])
    logits = []
    for head in heads {
        logits = logits + [head(v)]
    }
    return sum(logits)
}
"""

CASES = {
    "resnet.ResNet18.depth2": (ROOT / "specs" / "vision" / "resnet.arch", "ResNet18", 2),
    "loops.Loops": (LOOPS, "Loops", None),
    # a space: a row per option of each searched layer, searched depths, smallest/largest
    "digits_cnn.DigitsCNN.depth3": (ROOT / "specs" / "spaces" / "digits_cnn.arch", "DigitsCNN", 3),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_summary_matches_golden(case):
    source, name, depth = CASES[case]
    text = format_summary(archlang.summary(source, name), depth)
    golden = GOLDEN / f"{case}.txt"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_compound_sizes_are_bracketed_and_loop_members_keep_their_path():
    text = format_summary(archlang.summary(LOOPS, "Loops"))
    assert "B×8×((H + 1)//2 - 3)×((W + 1)//2 - 3)" in text  # the issue: not B×8×(H + 1)//2 - 3×…
    assert "×(H" not in text.replace("×((H", "")
    labels = [line.split()[0] for line in text.splitlines()[3:-3]]
    assert {"stages.0", "stages.1", "heads.0", "heads.2", "stem"} <= set(labels)
