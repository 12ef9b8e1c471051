"""The search engine's own cost and its scaling with workers.

1. Overhead per trial: everything the engine does except the objective (propose, dedup by
   canonical hash, create the trial, store the result, sync), for each strategy, on
   NAS-Bench-201 with a free objective (a pure function of the assignment), on the default
   SQLite storage and in memory.  Also what ``space.fix_model`` adds for objectives that take
   the fixed model (all the built-ins).  TPE and NSGA-II include their Optuna sampler's own
   work (in the worker's in-memory mirror of the study, synced with one read per proposal).
   Each figure is the median of ``--repeat`` runs (timings are noisy on a shared machine; the
   load average is printed with them).
2. Throughput: an evaluation-bound run (each evaluation waits DELAY seconds) with 1 and 2
   worker processes on one SQLite study: evaluations per second from the first trial's start
   to the last one's end (and wall clock, process start-up included).

    python benchmarks/search_engine.py [--trials 200] [--repeat 3] [--delay 0.25] [--budget 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import archlang  # noqa: E402
from archlang.nas import engine  # noqa: E402
from archlang.nas.engine import search  # noqa: E402

SPACE = ROOT / "specs/spaces/nasbench201.arch"
EDGE_SCORE = (0.0, 1.0, 2.0, 3.0, 0.5)


def free(assignment) -> float:
    """A synthetic objective that costs nothing: NAS-Bench-201 edge scores summed."""
    return sum(EDGE_SCORE[v] for v in assignment.values.values())


free.takes = "assignment"
free.directions = ("maximize",)


class Waiting:
    """An evaluation-bound objective: waits ``delay`` seconds (picklable for workers)."""

    takes = "assignment"
    directions = ("maximize",)

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def __call__(self, assignment) -> float:
        time.sleep(self.delay)
        return free(assignment)


def overhead(space, strategy: str, trials: int, storage: str | None) -> float:
    """Milliseconds per trial spent outside the objective (its own time is ~0), canonical
    hashing included (its per-process cache emptied first)."""
    engine._HASHES.clear()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        study = search(space, free, strategy=strategy, budget=trials, seed=0,
                       out_dir=folder if storage == "sqlite" else None)
        seconds = time.perf_counter() - start
    objective = sum(r.attrs.get("seconds", 0) for r in study.evaluated())
    return (seconds - objective) / trials * 1000


def fix_cost(space, count: int = 100) -> float:
    samples = [space.sample(seed=i) for i in range(count)]
    start = time.perf_counter()
    for a in samples:
        space.fix_model(a)
    return (time.perf_counter() - start) / count * 1000


def throughput(space, workers: int, budget: int, delay: float) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        study = search(space, Waiting(delay), strategy="random", budget=budget, seed=0, out_dir=folder,
                       workers=workers)
        wall = time.perf_counter() - start
        records = study.evaluated()
        first = min(r.started for r in records)
        last = max(r.finished for r in records)
        return len(records) / (last - first).total_seconds(), len(records) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="runs per overhead figure (the median is shown)")
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--budget", type=int, default=40)
    args = parser.parse_args()
    space = archlang.space(SPACE)
    print(f"search overhead per trial (ms), NAS-Bench-201, {args.trials} trials, free objective, "
          f"median of {args.repeat} (load average {os.getloadavg()[0]:.2f})")
    print(f"{'strategy':<10} {'SQLite':>8} {'memory':>8}")
    for strategy in ("random", "evolution", "local", "tpe", "nsga2"):
        sqlite = statistics.median(overhead(space, strategy, args.trials, "sqlite") for _ in range(args.repeat))
        memory = statistics.median(overhead(space, strategy, args.trials, None) for _ in range(args.repeat))
        print(f"{strategy:<10} {sqlite:>8.1f} {memory:>8.1f}")
    print(f"(load average after: {os.getloadavg()[0]:.2f})")
    print(f"space.fix_model (objectives that take the model): {fix_cost(space):.2f} ms per trial")
    print(f"\nthroughput, {args.budget} evaluations of {args.delay} s each, one SQLite study")
    print(f"{'workers':<8} {'eval/s (trials)':>16} {'eval/s (wall)':>14}")
    rates = {}
    for workers in (1, 2):
        rates[workers] = throughput(space, workers, args.budget, args.delay)
        print(f"{workers:<8} {rates[workers][0]:>16.2f} {rates[workers][1]:>14.2f}")
    print(f"speed-up with 2 workers: {rates[2][0] / rates[1][0]:.2f}× (trials), "
          f"{rates[2][1] / rates[1][1]:.2f}× (wall clock)")


if __name__ == "__main__":
    main()
