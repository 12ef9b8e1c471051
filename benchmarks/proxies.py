"""Training-free proxies against trained accuracy on handwritten digits.

For N distinct NAS-Bench-201 architectures (specs/spaces/nasbench201.arch with small
channels: C=4, one cell per stage; digits upsampled to its 3×32×32 input), score every proxy
of archlang.objectives at initialisation and the short-training accuracy, then print the
Spearman rank correlation of each proxy with accuracy and the time each took.

    python benchmarks/proxies.py [--archs 50] [--epochs 4] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archlang  # noqa: E402
from archlang import objectives  # noqa: E402
from archlang.nas.engine import canonical_hash  # noqa: E402


def distinct_architectures(space, count: int, seed: int) -> list:
    rng, seen, found = random.Random(seed), set(), []
    while len(found) < count:
        assignment = space.sample(rng)
        digest = canonical_hash(space, assignment)
        if digest not in seen:
            seen.add(digest)
            found.append(assignment)
    return found


def spearman(xs, ys) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(xs, ys).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    space = archlang.space(ROOT / "specs/spaces/nasbench201.arch", C=4, N=1)
    archs = distinct_architectures(space, args.archs, args.seed)
    accuracy = objectives.get("accuracy", epochs=args.epochs, seed=args.seed)
    proxies = {name: objectives.get(name, seed=args.seed) for name in objectives.PROXIES}
    scores = {name: [] for name in ("accuracy", *proxies)}
    seconds = {name: 0.0 for name in scores}
    for i, assignment in enumerate(archs, start=1):
        model = space.fix_model(assignment)
        for name, objective in (("accuracy", accuracy), *proxies.items()):
            start = time.perf_counter()
            scores[name].append(objective(model))
            seconds[name] += time.perf_counter() - start
        print(f"\r{i}/{len(archs)} architectures", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    print(f"NAS-Bench-201 (C=4, N=1) on digits, {len(archs)} distinct architectures, accuracy after "
          f"{args.epochs} epochs: median {statistics.median(scores['accuracy']):.3f}, "
          f"range {min(scores['accuracy']):.3f}–{max(scores['accuracy']):.3f}")
    print(f"{'proxy':<10} {'Spearman ρ vs accuracy':>22} {'ms per architecture':>20}")
    for name in proxies:
        rho = spearman(scores[name], scores["accuracy"])
        print(f"{name:<10} {rho:>22.3f} {seconds[name] / len(archs) * 1000:>20.1f}")
    print(f"{'accuracy':<10} {'(reference)':>22} {seconds['accuracy'] / len(archs) * 1000:>20.1f}")


if __name__ == "__main__":
    main()
