"""Benchmark: diagrams (the graphviz backend).  Prints a table of median wall times.

Targets (issue 5): the DOT of GPT-2 (full size, 12 layers) fully expanded in under 1 s, and
the SVG of ResNet50 at the default depth in under 5 s.  "end to end" rows time
``archlang.render`` from the spec file (load, check, elaborate, draw, and for images lay out
with Graphviz's ``dot``); "DOT only" rows time drawing an already elaborated model.  The
first run of each row is reported too (the parser tables are built by the first row); a
target must hold for both.

    .venv/bin/python benchmarks/render.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import archlang  # noqa: E402
from archlang.backends.graphviz import RenderOptions, build_diagram, find_dot  # noqa: E402

SPECS = ROOT / "specs"


def timed(fn, rounds: int) -> tuple[float, float]:
    """(first run, median of all runs) in seconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times[0], statistics.median(times)


def case_rows(rounds: int, out: Path) -> list[tuple[str, str, tuple[float, float], float | None]]:
    """(what, how, (first, median) seconds, target seconds or None)."""
    gpt2 = archlang.load(SPECS / "text" / "gpt2.arch").elaborate("GPT2")
    resnet50 = archlang.load(SPECS / "vision" / "resnet.arch").elaborate("ResNet50")
    expanded = RenderOptions(expand=True)
    rows = [
        ("GPT2, 12 layers, --expand", "DOT only", timed(lambda: build_diagram(gpt2, expanded), rounds), None),
        ("GPT2, 12 layers, --expand", "DOT end to end",
         timed(lambda: archlang.render(SPECS / "text" / "gpt2.arch", "GPT2", expand=True, path=out / "gpt2.dot"), rounds), 1.0),
        ("ResNet50, default depth", "DOT only", timed(lambda: build_diagram(resnet50), rounds), None),
    ]
    if find_dot() is None:
        print("Graphviz's `dot` is not installed: image rows skipped", file=sys.stderr)
        return rows
    images = [
        ("ResNet50, default depth", "vision/resnet.arch", "ResNet50", {}, 5.0),
        ("ResNet50, --expand", "vision/resnet.arch", "ResNet50", {"expand": True}, None),
        ("GPT2, 12 layers, --expand", "text/gpt2.arch", "GPT2", {"expand": True}, None),
        ("ViT_B_16, default depth", "vision/vit.arch", "ViT_B_16", {}, None),
        ("EfficientNetB0, default depth", "vision/efficientnet.arch", "EfficientNetB0", {}, None),
        ("NASBench201 space, default depth", "spaces/nasbench201.arch", "NASBench201", {}, None),
    ]
    for title, spec, entry, options, target in images:
        path = out / f"{entry}.svg"
        seconds = timed(lambda: archlang.render(SPECS / spec, entry, path=path, **options), rounds)
        rows.append((title, "SVG end to end", seconds, target))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = case_rows(args.rounds, Path(folder))
    print(f"\nDiagrams: first run and median of {args.rounds} runs")
    header = ("model", "output", "first", "median", "target")
    table = [header] + [(what, how, _ms(first), _ms(median), _verdict(max(first, median), target))
                        for what, how, (first, median), target in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) if j < 2 else cell.rjust(w) for j, (cell, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("─" * w for w in widths))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _verdict(seconds: float, target: float | None) -> str:
    if target is None:
        return "—"
    return f"< {target:g} s {'ok' if seconds < target else 'MISSED'}"


if __name__ == "__main__":
    main()
