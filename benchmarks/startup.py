"""Benchmark: whole-process start-up of ``import archlang``, ``archlang --version`` and
``archlang check specs/vision/resnet.arch`` (issue 15, item 4), against a baseline checkout.

Targets: ``import archlang`` ≤ 60 ms, ``archlang check specs/vision/resnet.arch`` ≤ 150 ms.

Each command runs in a fresh process, as a user runs it: the interpreter, the imports, the
parser (its tables are generated Python, ``archlang/syntax/_tables.py``) and the command
itself are all counted.  Both
trees run with this interpreter and its installed packages, the tree first on ``PYTHONPATH``,
so the only difference is archlang's own source.  Byte code is written on a warm-up run
first (as ``pip install`` does), whatever ``PYTHONDONTWRITEBYTECODE`` says.  Rounds are
interleaved and paired (each round runs every command in both trees, alternating which tree
goes first); the figures are medians.  Two clocks: wall time, and the CPU time of the child
process (user + system, from ``getrusage``), which other processes on a busy machine do not
inflate the way they inflate wall time.

    git worktree add /tmp/startup-main main          # the baseline checkout (once)
    .venv/bin/python benchmarks/startup.py --baseline /tmp/startup-main [--rounds 21]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
LAUNCHER = "import sys; from archlang_launcher import main; sys.exit(main())"  # the console script
COMMANDS = {
    "python -c pass": ["-c", "pass"],  # the floor: the interpreter and site-packages, nothing of ours
    "import archlang": ["-c", "import archlang"],
    "archlang --version": ["-c", LAUNCHER, "--version"],
    "archlang check specs/vision/resnet.arch": ["-c", LAUNCHER, "check", "specs/vision/resnet.arch"],
}
TARGETS = {"import archlang": 0.060, "archlang check specs/vision/resnet.arch": 0.150}


def environment(tree: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)
    return env


def run_once(tree: Path, args: list[str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one fresh process running ``args`` in ``tree``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=tree, env=environment(tree), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(trees: dict[str, Path], rounds: int) -> dict[tuple[str, str], list[tuple[float, float]]]:
    for tree in trees.values():  # byte code
        for args in COMMANDS.values():
            run_once(tree, args), run_once(tree, args)
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    order = list(trees)
    for index in range(rounds):
        for command, args in COMMANDS.items():
            for name in order if index % 2 == 0 else order[::-1]:
                samples.setdefault((name, command), []).append(run_once(trees[name], args))
    return samples


def report(samples, trees: dict[str, Path]) -> None:
    names = list(trees)
    header = " | ".join(f"{name} wall | {name} CPU" for name in names)
    ratio = " | ratio (CPU)" if len(names) == 2 else ""
    print(f"| command | {header}{ratio} | target |")
    print("|---" * (2 + 2 * len(names) + (1 if ratio else 0)) + "|")
    for command in COMMANDS:
        cells, cpus = [], []
        for name in names:
            walls, cpu = zip(*samples[(name, command)])
            cpus.append(cpu)
            cells.append(f"{statistics.median(walls) * 1000:.0f} ms | {statistics.median(cpu) * 1000:.0f} ms")
        ratio_cell = ""
        if len(names) == 2:  # paired: the median of the per-round ratios
            ratio_cell = f" | {statistics.median(a / b for a, b in zip(cpus[0], cpus[1])):.2f}×"
        target = f"≤ {TARGETS[command] * 1000:.0f} ms" if command in TARGETS else ""
        print(f"| `{command}` | {' | '.join(cells)}{ratio_cell} | {target} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="a checkout to compare with (e.g. of main)")
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    trees = {"this tree": HERE}
    if args.baseline:
        trees["baseline"] = args.baseline.resolve()
    print(f"{args.rounds} rounds; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    report(measure(trees, args.rounds), trees)


if __name__ == "__main__":
    main()
