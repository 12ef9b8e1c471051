"""What the search-engine tests share: the spaces they search and a synthetic objective (the
``nb201`` and ``digits`` fixtures are in conftest.py).

The NAS-Bench-201 objective sums a score per op over the six edges (none 0, skip 1,
conv1x1 2, conv3x3 3, avgpool 0.5): its unique optimum is every edge a 3×3 convolution
(option 3), score 18.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NB201 = ROOT / "specs" / "spaces" / "nasbench201.arch"
DIGITS = ROOT / "specs" / "spaces" / "digits_cnn.arch"
EDGE_SCORE = (0.0, 1.0, 2.0, 3.0, 0.5)
OPTIMUM = 18.0


def edge_score(assignment) -> float:
    return sum(EDGE_SCORE[v] for v in assignment.values.values())


edge_score.takes = "assignment"
edge_score.directions = ("maximize",)
