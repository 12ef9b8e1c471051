"""Benchmark: how long the language server takes to re-check a 200-line spec after an edit.

Acceptance (issue 15): re-checking a 200-line file after an edit answers in under 100 ms.
The file is specs/vision/mobilenet.arch (204 lines, 5 models, 5 blocks).  Measured:

1. In-process CPU time (``time.process_time``) of ``Analyzer.analyze`` — parse, resolve,
   elaborate what the edit reached — after a one-line edit, paired and interleaved with the
   peer: a full check of the same text as ``archlang check`` does it (``loads`` +
   ``Program.check``).  Two kinds of edit: a statement inside a block changes (the common
   case: line numbers stay) and a line is inserted at the top (every span moves, so every
   entry point is elaborated again: the worst case).
2. End to end, as an editor sees it: ``python -m archlang lsp`` over stdio, the wall time from
   sending ``didChange`` (one line) to receiving its ``publishDiagnostics``, which includes
   the pipe and the protocol (and the server's own CPU time, from /proc, which unlike the
   wall time does not grow with the machine's load); edits are a second apart, so none waits for the debounce
   (``archlang.lsp.server.DEBOUNCE``), which only gathers bursts.

    .venv/bin/python benchmarks/lsp_latency.py [--edits 21]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import archlang
from archlang.lsp.analysis import Analyzer
from archlang.lsp.server import DEBOUNCE

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from _lsp_client import LspClient  # noqa: E402  (the tests' hand-written JSON-RPC client)

SPEC = ROOT / "specs" / "vision" / "mobilenet.arch"
TARGET_MS = 100.0
PAUSE = 1.0  # seconds between edits over stdio: a person's, not a burst


def statement_lines(lines: list[str]) -> list[int]:
    """Indexes of the assignment lines inside blocks (where one edits most)."""
    return [i for i, line in enumerate(lines) if line.startswith("    ") and " = " in line and '"""' not in line]


def edit(lines: list[str], kind: str, i: int, rows: list[int]) -> None:
    """Edit ``lines`` in place; edits accumulate, as typing does."""
    if kind == "statement":
        row = rows[(i * 7) % len(rows)]
        lines[row] = lines[row] + f"  # edit {i}"
    else:
        lines.insert(0, f"# edit {i}")


def cpu_ms(fn) -> float:
    start = time.process_time()
    fn()
    return (time.process_time() - start) * 1000


def full_check(text: str) -> None:
    program = archlang.loads(text, filename=str(SPEC), check=False)
    program.check()


def in_process(edits: int) -> dict[str, tuple[float, float]]:
    text = SPEC.read_text(encoding="utf-8")
    rows = statement_lines(text.splitlines())
    results = {}
    for kind in ("statement", "insert at top"):
        analyzer = Analyzer()
        analyzer.analyze(SPEC, text)
        lines = text.splitlines()
        ours, peer = [], []
        for i in range(edits):
            edit(lines, kind, i, rows)
            new = "\n".join(lines) + "\n"
            # interleaved, alternating which goes first; distinct texts, so each parses afresh
            if i % 2:
                peer.append(cpu_ms(lambda: full_check(new + "\n")))
                ours.append(cpu_ms(lambda: analyzer.analyze(SPEC, new)))
            else:
                ours.append(cpu_ms(lambda: analyzer.analyze(SPEC, new)))
                peer.append(cpu_ms(lambda: full_check(new + "\n")))
        results[kind] = (statistics.median(ours), statistics.median(peer))
    return results


def process_cpu_ms(pid: int) -> float:
    """CPU time a process has used so far (Linux /proc; clock ticks of 10 ms), or NaN."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def over_stdio(edits: int) -> tuple[float, float]:
    """Median wall time from didChange to its diagnostics, and the server's CPU time in it."""
    text = SPEC.read_text(encoding="utf-8")
    rows = statement_lines(text.splitlines())
    client = LspClient(cwd=ROOT)
    try:
        client.initialize(ROOT)
        client.open(SPEC, text, version=0)
        client.diagnostics(SPEC, version=0)
        times, cpus = [], []
        for i in range(1, edits + 1):
            row = rows[(i * 7) % len(rows)]
            line = text.splitlines()[row]
            change = {"range": {"start": {"line": row, "character": len(line)},
                                "end": {"line": row, "character": len(line)}}, "text": f"  # {i}"}
            text = "\n".join(text.splitlines()[:row] + [line + f"  # {i}"] + text.splitlines()[row + 1:]) + "\n"
            cpu = process_cpu_ms(client.process.pid)
            start = time.perf_counter()
            client.notify("textDocument/didChange", {"textDocument": {"uri": SPEC.as_uri(), "version": i},
                                                     "contentChanges": [change]})
            found = client.diagnostics(SPEC, version=i)
            times.append((time.perf_counter() - start) * 1000)
            cpus.append(process_cpu_ms(client.process.pid) - cpu)
            assert found == [], found
            time.sleep(PAUSE)
        return statistics.median(times), statistics.median(cpus)
    finally:
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=21)
    args = parser.parse_args()
    lines = SPEC.read_text(encoding="utf-8").count("\n")
    print(f"{SPEC.relative_to(ROOT)}: {lines} lines; median of {args.edits} one-line edits; target {TARGET_MS:.0f} ms")
    print(f"{'edit':>14} {'lsp re-check ms (CPU)':>22} {'full check ms (CPU)':>20} {'ratio':>6}")
    for kind, (ours, peer) in in_process(args.edits).items():
        print(f"{kind:>14} {ours:>22.1f} {peer:>20.1f} {ours / peer:>6.2f}")
    wall, cpu = over_stdio(args.edits)
    print(f"over stdio, didChange → publishDiagnostics (edits {PAUSE:.0f} s apart; debounce {DEBOUNCE * 1000:.0f} ms "
          f"for bursts only): {wall:.1f} ms wall, {cpu:.0f} ms of the server's CPU; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
