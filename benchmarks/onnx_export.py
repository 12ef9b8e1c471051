"""Benchmark: archlang's ONNX export (emitted from the IR) against ``torch.onnx.export(...,
dynamo=True)`` on the equivalent module (the torch backend's ResNet50, same weights).

1. Export time, medians over several runs, in memory (``archlang.to_onnx`` from the spec
   file with a state dict → ModelProto; torch.onnx → ONNXProgram) and to a file (each
   written to disk).  Target: archlang >= 20× faster.
2. onnxruntime (CPU) latency of the two graphs at batch 1 and 8, interleaved runs (ours,
   theirs, then theirs, ours …), medians (and the best run of each, which load on a shared
   machine disturbs least).  Both graphs have the same dynamic dims: the batch only (ours
   is exported with ``inputs={"x": (B, 3, 224, 224)}``).  Target: ours / theirs <= 1.0.

    .venv/bin/python benchmarks/onnx_export.py [--rounds 5] [--latency-rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archlang  # noqa: E402
from archlang import dims  # noqa: E402

RESNET = str(ROOT / "specs" / "vision" / "resnet.arch")
STATIC_IMAGE = {"x": (dims.sym("B"), 3, 224, 224)}  # what torch.onnx exports: a dynamic batch only


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def torch_export(module, x, path: Path | None = None):
    import logging

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module, (x,), dynamo=True, verbose=False,
                                    dynamic_shapes={"x": {0: torch.export.Dim("B")}})
    if path is not None:
        program.save(str(path))
    return program


def export_times(module, state: dict, rounds: int, folder: Path) -> dict:
    x = torch.randn(1, 3, 224, 224)
    ours_mem, ours_file, theirs_mem, theirs_file = [], [], [], []
    archlang.to_onnx(RESNET, "ResNet50", weights=state)  # warm-up: imports, grammar tables
    torch_export(module, x)
    for i in range(rounds):
        ours_mem.append(timed(lambda: archlang.to_onnx(RESNET, "ResNet50", weights=state, inputs=STATIC_IMAGE)))
        ours_file.append(timed(lambda: archlang.to_onnx(RESNET, "ResNet50", weights=state, inputs=STATIC_IMAGE,
                                                        path=folder / "ours.onnx")))
        theirs_mem.append(timed(lambda: torch_export(module, x)))
        theirs_file.append(timed(lambda: torch_export(module, x, folder / "theirs.onnx")))
        print(f"  round {i + 1}/{rounds}: ours {ours_mem[-1]:.3f}s / {ours_file[-1]:.3f}s, "
              f"torch.onnx {theirs_mem[-1]:.2f}s / {theirs_file[-1]:.2f}s", flush=True)
    return {
        "in memory": (statistics.median(ours_mem), statistics.median(theirs_mem)),
        "to file": (statistics.median(ours_file), statistics.median(theirs_file)),
    }


def latencies(folder: Path, rounds: int) -> list:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    ours = ort.InferenceSession(str(folder / "ours.onnx"), options, providers=["CPUExecutionProvider"])
    theirs = ort.InferenceSession(str(folder / "theirs.onnx"), options, providers=["CPUExecutionProvider"])
    in_ours, in_theirs = ours.get_inputs()[0].name, theirs.get_inputs()[0].name
    rows = []
    for batch in (1, 8):
        x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32)
        a, b = ours.run(None, {in_ours: x})[0], theirs.run(None, {in_theirs: x})[0]
        assert np.abs(a - b).max() <= 1e-4 * max(1.0, float(np.abs(b).max())), "the two graphs disagree"
        inner = 3 if batch == 1 else 1
        t_ours, t_theirs = [], []
        run_ours = lambda: t_ours.append(timed(lambda: [ours.run(None, {in_ours: x}) for _ in range(inner)]) / inner)  # noqa: E731
        run_theirs = lambda: t_theirs.append(timed(lambda: [theirs.run(None, {in_theirs: x}) for _ in range(inner)]) / inner)  # noqa: E731
        for r in range(rounds):
            for run in (run_ours, run_theirs) if r % 2 == 0 else (run_theirs, run_ours):
                run()
        rows.append((batch, statistics.median(t_ours), statistics.median(t_theirs), min(t_ours) / min(t_theirs)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="export runs per tool")
    parser.add_argument("--latency-rounds", type=int, default=15, help="interleaved inference rounds")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    module = archlang.to_torch(RESNET, "ResNet50", seed=0).eval()
    state = module.state_dict()
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}; ResNet50 "
          f"({sum(p.numel() for p in module.parameters()):,} parameters), {args.rounds} export rounds")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        times = export_times(module, state, args.rounds, folder)
        rows = latencies(folder, args.latency_rounds)
    print(f"\n{'ResNet50 export (median)':<28} {'archlang s':>11} {'torch.onnx s':>13} {'speed-up':>9}")
    for label, (ours, theirs) in times.items():
        print(f"{label:<28} {ours:>11.3f} {theirs:>13.2f} {theirs / ours:>8.1f}×")
    print(f"\n{'onnxruntime CPU (median)':<28} {'archlang ms':>11} {'torch.onnx ms':>13} {'ratio':>9} {'best-run ratio':>15}")
    for batch, ours, theirs, best in rows:
        print(f"{'ResNet50 batch ' + str(batch):<28} {ours * 1e3:>11.1f} {theirs * 1e3:>13.1f} {ours / theirs:>9.3f} {best:>15.3f}")


if __name__ == "__main__":
    main()
