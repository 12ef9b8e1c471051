"""Benchmark: archlang's ONNX export (emitted from the IR) against ``torch.onnx.export(...,
dynamo=True)`` on the equivalent module (the torch backend's ResNet50, same weights).

1. Export time, medians over several rounds, in memory (``archlang.to_onnx`` from the spec
   file with a state dict → ModelProto; torch.onnx → ONNXProgram) and to a file (each
   written to disk by the tool itself: ours atomically and fsynced, torch.onnx's
   ``ONNXProgram.save``).  Target: archlang >= 20× faster.  Each timed call starts after a
   garbage collection, and every file write is followed by an (untimed) ``os.sync()``, so no
   call pays for the previous one's garbage or pending disk writes; the order of the two
   tools alternates between rounds.
2. onnxruntime (CPU) latency of the two graphs at batch 1 and 8, with the same
   SessionOptions (``--threads`` intra-op threads, no spin-waiting, so one session's idle
   threads do not steal another's cores), interleaved rounds in rotating order: medians,
   the median of the per-round ratios and the best run of each.  A third session, of
   torch.onnx's graph again, is timed the same way: its ratio to the first ("A/A") is what
   the measurement cannot resolve.  Both graphs have the same dynamic dims: the batch only
   (ours is exported with ``inputs={"x": (B, 3, 224, 224)}``).  Target: ours / theirs <= 1.0.

``--random-bn`` gives the BatchNorms non-trivial statistics (as trained weights have); by
default they are the initial ones (mean 0, var 1), for which torch.onnx's optimiser drops
the all-zero folded Conv biases.

    .venv/bin/python benchmarks/onnx_export.py [--rounds 7] [--latency-rounds 30] [--threads 2] [--random-bn]
"""

from __future__ import annotations

import argparse
import gc
import os
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
from archlang.ir import dims  # noqa: E402

RESNET = str(ROOT / "specs" / "vision" / "resnet.arch")
STATIC_IMAGE = {"x": (dims.sym("B"), 3, 224, 224)}  # what torch.onnx exports: a dynamic batch only


def timed(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_write(fn) -> float:
    """``timed``, then the written data flushed to disk outside the timing (see the docstring)."""
    seconds = timed(fn)
    os.sync()
    return seconds


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
    # warm-up of both tools, files included: imports, grammar tables, caches
    archlang.to_onnx(RESNET, "ResNet50", weights=state, path=folder / "ours.onnx")
    torch_export(module, x, folder / "theirs.onnx")

    def ours() -> None:
        ours_mem.append(timed(lambda: archlang.to_onnx(RESNET, "ResNet50", weights=state, inputs=STATIC_IMAGE)))
        ours_file.append(timed_write(lambda: archlang.to_onnx(RESNET, "ResNet50", weights=state,
                                                              inputs=STATIC_IMAGE, path=folder / "ours.onnx")))

    def theirs() -> None:
        theirs_mem.append(timed(lambda: torch_export(module, x)))
        theirs_file.append(timed_write(lambda: torch_export(module, x, folder / "theirs.onnx")))

    for i in range(rounds):
        for run in (ours, theirs) if i % 2 == 0 else (theirs, ours):
            run()
        print(f"  round {i + 1}/{rounds}: ours {ours_mem[-1]:.3f}s / {ours_file[-1]:.3f}s, "
              f"torch.onnx {theirs_mem[-1]:.2f}s / {theirs_file[-1]:.2f}s", flush=True)
    return {
        "in memory": (ours_mem, theirs_mem),
        "to file": (ours_file, theirs_file),
    }


def latencies(folder: Path, rounds: int, threads: int) -> list:
    """(batch, ours, theirs, control) run times; the control is a second session of
    torch.onnx's graph, whose ratio to the first shows the resolution of the measurement."""
    options = ort.SessionOptions()  # the same for all
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    files = ("ours.onnx", "theirs.onnx", "theirs.onnx")
    sessions = [ort.InferenceSession(str(folder / f), options, providers=["CPUExecutionProvider"]) for f in files]
    rows = []
    for batch in (1, 8):
        x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32)
        a, b = run_once(sessions[0], x), run_once(sessions[1], x)
        assert np.abs(a - b).max() <= 1e-4 * max(1.0, float(np.abs(b).max())), "the two graphs disagree"
        inner = 3 if batch == 1 else 1
        times = [[], [], []]
        for r in range(rounds):
            order = [(k + r) % 3 for k in range(3)]  # each session first, second and third in turn
            for k in order if (r // 3) % 2 == 0 else order[::-1]:
                times[k].append(timed(lambda s=sessions[k]: [run_once(s, x) for _ in range(inner)]) / inner)  # noqa: B023
        rows.append((batch, *times))
    return rows


def run_once(session, x: np.ndarray) -> np.ndarray:
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def randomise_batchnorm(module) -> None:
    """Trained-like BatchNorm statistics (the initial ones fold to all-zero Conv biases)."""
    gen = torch.Generator().manual_seed(1)
    for key, value in module.state_dict().items():
        if key.endswith("running_mean"):
            value.copy_(torch.randn(value.shape, generator=gen) * 0.1)
        elif key.endswith("running_var"):
            value.copy_(torch.rand(value.shape, generator=gen) + 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="export rounds per tool")
    parser.add_argument("--latency-rounds", type=int, default=30,
                        help="interleaved inference rounds (a multiple of 6 balances the order)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (both sessions)")
    parser.add_argument("--random-bn", action="store_true", help="non-trivial BatchNorm statistics")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    module = archlang.to_torch(RESNET, "ResNet50", seed=0).eval()
    if args.random_bn:
        randomise_batchnorm(module)
    state = module.state_dict()
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}; ResNet50 "
          f"({sum(p.numel() for p in module.parameters()):,} parameters), {args.rounds} export rounds; "
          f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        times = export_times(module, state, args.rounds, folder)
        rows = latencies(folder, args.latency_rounds, args.threads)
    print(f"\n{'ResNet50 export (median)':<28} {'archlang s':>11} {'torch.onnx s':>13} {'speed-up':>9} {'best':>13}")
    for label, (ours, theirs) in times.items():
        median_ours, median_theirs = statistics.median(ours), statistics.median(theirs)
        print(f"{label:<28} {median_ours:>11.3f} {median_theirs:>13.2f} {median_theirs / median_ours:>8.1f}× "
              f"{min(ours):>6.3f}/{min(theirs):.2f}")
    print(f"\n{'onnxruntime CPU, ' + str(args.threads) + ' threads':<28} {'archlang ms':>11} {'torch.onnx ms':>13} "
          f"{'ratio':>9} {'paired ratio':>13} {'best-run ratio':>15} {'A/A ratio':>10}")
    for batch, ours, theirs, control in rows:
        paired = statistics.median(a / b for a, b in zip(ours, theirs))
        median_ours, median_theirs = statistics.median(ours), statistics.median(theirs)
        print(f"{'ResNet50 batch ' + str(batch):<28} {median_ours * 1e3:>11.1f} {median_theirs * 1e3:>13.1f} "
              f"{median_ours / median_theirs:>9.3f} {paired:>13.3f} {min(ours) / min(theirs):>15.3f} "
              f"{statistics.median(control) / median_theirs:>10.3f}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
