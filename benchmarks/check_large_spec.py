"""Benchmark: `archlang check` on generated specs of 1,250 … 10,000 layers.

Acceptance (issue 2): the 10,000-layer spec checks in under 2 s on the CI machine and memory
grows linearly with spec size.  Two ways of writing the layers are measured: one line per
layer, and a member declaration plus a call per layer (twice the lines).  Each size is checked in a fresh subprocess (so grammar loading
and imports are counted, as a user running the CLI sees them) several times; the median wall
time and the peak RSS are reported.

    .venv/bin/python benchmarks/check_large_spec.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (1250, 2500, 5000, 10000)

PROBE = """
import resource, sys, time
t = time.perf_counter()
from archlang.cli import main
code = main(["check", "-q", sys.argv[1]])
elapsed = time.perf_counter() - t
print(code, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def generate(layers: int, style: str = "declared") -> str:
    """A deep MLP written out layer by layer.

    ``declared``: one member declaration and one call per layer (2 lines a layer);
    ``inline``: one line a layer, ``x = Linear(64, 64)(x)`` (a member named after x each time).
    """
    lines = ["model Deep() {", "    input x: [B, 64]"]
    if style == "inline":
        lines += [f"    x{i + 1} = Linear(64, 64)(x{i})" if i else "    x1 = Linear(64, 64)(x)" for i in range(layers)]
        lines += [f"    return x{layers}", "}", ""]
        return "\n".join(lines)
    for i in range(layers):
        lines.append(f"    fc{i} = Linear(64, 64)")
    for i in range(layers):
        lines.append(f"    x = fc{i}(x)")
    lines += ["    return x", "}", ""]
    return "\n".join(lines)


def measure(path: Path, runs: int) -> tuple[float, float, int]:
    times, rss = [], []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        code, _inner, maxrss = out.stdout.split()
        assert code == "0", out.stderr
        times.append(wall)
        rss.append(int(maxrss))
    return statistics.median(times), min(times), statistics.median(rss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'style':>9} {'layers':>7} {'lines':>7} {'median s':>9} {'min s':>7} {'peak RSS MiB':>13}")
        for style in ("inline", "declared"):
            for layers in SIZES:
                path = Path(tmp) / f"deep{layers}-{style}.arch"
                text = generate(layers, style)
                path.write_text(text)
                median, fastest, rss_kib = measure(path, args.runs)
                lines = text.count("\n")
                print(f"{style:>9} {layers:>7} {lines:>7} {median:>9.2f} {fastest:>7.2f} {rss_kib / 1024:>13.1f}")


if __name__ == "__main__":
    main()
