"""Benchmark: search spaces (issue 6).

1. Samples per second of NAS-Bench-201 and of DARTS (C = 16, 8 cells: the search network),
   each sample drawn uniformly, checked and fixed to its concrete IR (``Space.fix_model``).
   Targets: at least 1,000/s (NAS-Bench-201) and 200/s (DARTS).
2. The full deduplication of NAS-Bench-201: 15,625 configurations hashed to 7,698 functionally distinct
   architectures (``size(unique=True)``).  Target: under 10 s.
3. ``size()`` of DARTS (1,076,746,950,455,072,400, counted over the decision tree).  Target:
   under 10 ms.
Also shown, without targets: canonical hashes per second and one ``to_arch`` of each space.
Each figure is the best of ``--rounds`` runs (the machine is shared), each run starting cold
(no fixed graphs or hashed terms kept from the run before).

    .venv/bin/python benchmarks/search_space.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archlang  # noqa: E402

NB201 = ROOT / "specs" / "spaces" / "nasbench201.arch"
DARTS = ROOT / "specs" / "spaces" / "darts.arch"


def best(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def sampling_rate(space, n: int, rounds: int) -> float:
    rng = random.Random(0)

    def run():
        space._selector = None  # cold: no architecture fixed before (the selector caches resolved graphs)
        for _ in range(n):
            assignment = space.check(space.sample(rng))
            space.fix_model(assignment)

    return n / best(run, rounds)


def hash_rate(space, n: int, rounds: int) -> float:
    rng = random.Random(1)

    def run():
        space._hasher = None  # cold: no terms remembered
        for _ in range(n):
            space.canonical_hash(space.sample(rng))

    return n / best(run, rounds)


def dedup(rounds: int) -> tuple[float, int]:
    found = []

    def run():
        space = archlang.space(NB201)  # fresh: nothing hashed before
        found.append(space.size(unique=True))

    return best(run, rounds), found[-1]


def darts_size(space, rounds: int) -> float:
    def run():
        space.tree._weights.clear()  # count from scratch
        assert space.size() == 1_076_746_950_455_072_400

    return best(run, max(rounds, 5))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    nb201, darts = archlang.space(NB201), archlang.space(DARTS)
    rows = []
    rate = sampling_rate(nb201, 2000, args.rounds)
    rows.append(("NAS-Bench-201 samples/s (sample + check + fix)", f"{rate:,.0f}", "≥ 1,000", rate >= 1000))
    rate = sampling_rate(darts, 400, args.rounds)
    rows.append(("DARTS samples/s (sample + check + fix)", f"{rate:,.0f}", "≥ 200", rate >= 200))
    seconds, unique = dedup(args.rounds)
    rows.append((f"NAS-Bench-201 dedup 15,625 → {unique:,}", f"{seconds:.2f} s", "< 10 s", seconds < 10 and unique == 7698))
    seconds = darts_size(darts, args.rounds)
    rows.append(("DARTS size()", f"{seconds * 1000:.2f} ms", "< 10 ms", seconds < 0.010))
    rows.append(("NAS-Bench-201 canonical hashes/s (sample + hash)", f"{hash_rate(nb201, 2000, args.rounds):,.0f}", "—", True))
    rows.append(("DARTS canonical hashes/s (sample + hash)", f"{hash_rate(darts, 300, args.rounds):,.0f}", "—", True))
    for name, space in (("NAS-Bench-201", nb201), ("DARTS", darts)):
        a = space.sample(seed=0)
        seconds = best(lambda: space.to_arch(a), args.rounds)
        rows.append((f"{name} to_arch (one architecture)", f"{seconds * 1000:.1f} ms", "—", True))

    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"{'measure'.ljust(widths[0])}  {'result'.rjust(widths[1])}  {'target'.ljust(widths[2])}  ok")
    for name, value, target, ok in rows:
        print(f"{name.ljust(widths[0])}  {value.rjust(widths[1])}  {target.ljust(widths[2])}  {'yes' if ok else 'NO'}")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
