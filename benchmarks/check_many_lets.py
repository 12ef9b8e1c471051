"""Benchmark: a file of many `let` constants (issue 12: 40,000 lets, 0.7 MB, took 56-81 s).

Each `let aI = aI-1 + 1` reads the one before it.  For 5,000 … 40,000 lets, in one process and
interleaved (each round measures every size once, in turn), the CPU time of each stage:
parsing (the peer: linear by construction), name resolution (`resolve_units`) and evaluating
every constant (`Program.check`).  Reported: medians, resolution and evaluation as ratios of
parsing, and how each stage grows from 10,000 to 40,000 lets (4.0 is linear).  Then
`archlang check` on the 40,000-let file in a fresh process, as a user runs it.

Target: name resolution near-linear (its growth from 10k to 40k lets under 5×), and the
whole check of 40,000 lets in a few seconds.

    .venv/bin/python benchmarks/check_many_lets.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import archlang
from archlang.resolve.names import resolve_units
from archlang.syntax import parse

SIZES = (5_000, 10_000, 20_000, 40_000)


def generate(count: int) -> str:
    return "let a0 = 1\n" + "".join(f"let a{i} = a{i - 1} + 1\n" for i in range(1, count))


def stages(text: str, name: str) -> dict[str, float]:
    """CPU seconds of parsing, resolving and evaluating ``text`` (a fresh name: no parse cache)."""
    times = {}
    start = time.process_time()
    parse(text, name)
    times["parse"] = time.process_time() - start
    program = archlang.loads(text, filename=name, check=False)  # parsed again: cached by (name, text)
    start = time.process_time()
    resolve_units(list(program.loader.units.values()))
    times["resolve"] = time.process_time() - start
    start = time.process_time()
    program.check()
    times["evaluate"] = time.process_time() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    texts = {n: generate(n) for n in SIZES}
    samples: dict[int, list[dict[str, float]]] = {n: [] for n in SIZES}
    for r in range(args.rounds):
        for n in SIZES:
            samples[n].append(stages(texts[n], f"<lets {n} round {r}>"))
    median = {n: {k: statistics.median(s[k] for s in samples[n]) for k in ("parse", "resolve", "evaluate")} for n in SIZES}
    print(f"{'lets':>7} {'MB':>5} {'parse s':>8} {'resolve s':>10} {'evaluate s':>11} {'resolve/parse':>14} {'evaluate/parse':>15}")
    for n in SIZES:
        m = median[n]
        print(f"{n:>7,} {len(texts[n]) / 1e6:>5.2f} {m['parse']:>8.3f} {m['resolve']:>10.3f} {m['evaluate']:>11.3f} "
              f"{m['resolve'] / m['parse']:>14.3f} {m['evaluate'] / m['parse']:>15.3f}")
    growth = {k: median[40_000][k] / median[10_000][k] for k in ("parse", "resolve", "evaluate")}
    print("growth 10k → 40k lets: " + ", ".join(f"{k} {v:.2f}×" for k, v in growth.items()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lets.arch"
        path.write_text(texts[40_000])
        walls = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "archlang", "check", "-q", str(path)], check=True)
            walls.append(time.perf_counter() - start)
        print(f"archlang check, 40,000 lets, fresh process: median {statistics.median(walls):.2f} s wall "
              f"(fastest {min(walls):.2f} s)")


if __name__ == "__main__":
    main()
