"""Benchmark: archlang's compiled DARTS / PC-DARTS supernets against the reference
implementations (benchmarks/reference/, rebuilt from the papers' public code).

At DARTS' search configuration (C=16, 8 cells, batch 32 of 3×32×32, 10 classes; 1 thread, as
benchmarks/reference/README.md explains):

1. parameter counts (weights and architecture entries) of both DARTS supernets;
2. CPU time of one training step (forward, backward, SGD step on the weights; the step
   ``measure.training_step`` times for the reference), paired and interleaved — each round
   times both, alternating which goes first — compared as the median of the per-round
   ratios.  Target: archlang ≤ 1.1× the reference;
3. peak memory of one step (resident state + the step's allocator peak, profiler trace in a
   fresh subprocess: ``measure.peak_step_memory``).  Target: ≤ 1.0×;
4. activation memory (bytes saved for backward) of archlang's PC-DARTS (K=4) relative to its
   DARTS.  Target: ≤ 0.4×.  The reference's own ratio is printed beside it.

    .venv/bin/python -m benchmarks.oneshot_reference [--repeats 7] [--no-peak]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script too (make bench)

import archlang  # noqa: E402
from archlang.oneshot import PCDarts  # noqa: E402
from benchmarks.reference import darts, measure  # noqa: E402

SPEC = Path(__file__).resolve().parent.parent / "specs" / "spaces" / "darts.arch"
TARGETS = {"time": 1.1, "peak": 1.0, "pcdarts": 0.4}


def archlang_setup(kind: str = "darts", C: int = 16, layers: int = 8, num_classes: int = 10, batch_size: int = 32,
                   image_size: int = 32, k: int = 4, seed: int = 0) -> measure.StepSetup:
    """archlang's supernet compiled from specs/spaces/darts.arch, with the same weight
    optimiser and batch as ``measure.reference_setup``."""
    method = "darts" if kind == "darts" else PCDarts(k=k)
    model = archlang.supernet(SPEC, method=method, seed=seed, C=C, layers=layers, num_classes=num_classes)
    inputs, targets = measure.cifar_batch(batch_size, image_size, num_classes, seed)
    optimizer = torch.optim.SGD(model.weight_parameters(), darts.WEIGHT_LR, momentum=darts.WEIGHT_MOMENTUM,
                                weight_decay=darts.WEIGHT_DECAY)
    return measure.StepSetup(model, nn.CrossEntropyLoss(), optimizer, inputs, targets)


def paired_times(ours: measure.StepSetup, theirs: measure.StepSetup, repeats: int) -> dict:
    """CPU seconds of a step of each, ``repeats`` interleaved rounds after one warm-up each."""
    ours.model.train(), theirs.model.train()
    ours.step(), theirs.step()
    a, b, ratios = [], [], []
    for round_ in range(repeats):
        pair = (("ours", ours), ("theirs", theirs)) if round_ % 2 == 0 else (("theirs", theirs), ("ours", ours))
        spent = {}
        for name, setup in pair:
            start = time.process_time()
            setup.step()
            spent[name] = time.process_time() - start
        a.append(spent["ours"])
        b.append(spent["theirs"])
        ratios.append(spent["ours"] / spent["theirs"])
    return {"ours": statistics.median(a), "theirs": statistics.median(b), "ratio": statistics.median(ratios),
            "ratios": ratios}


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else f"MISSED by {value / target - 1:.1%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--C", type=int, default=16)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-peak", action="store_true", help="skip the subprocess peak-memory measurement")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = dict(C=args.C, layers=args.layers, batch_size=args.batch_size)
    print(f"DARTS search network: C={args.C}, {args.layers} cells, batch {args.batch_size} of 3x32x32, "
          f"{torch.get_num_threads()} thread(s), torch {torch.__version__}")

    peaks = {}
    if not args.no_peak:  # first, while this process is small
        for name, make in (("theirs", partial(measure.reference_setup, "darts", **config)),
                           ("ours", partial(archlang_setup, "darts", **config))):
            peaks[name] = measure.peak_step_memory(make, num_threads=args.threads)

    ours, theirs = archlang_setup("darts", **config), measure.reference_setup("darts", **config)
    counts = {"ours": measure.count_parameters(ours.model), "theirs": measure.count_parameters(theirs.model)}
    print("\n| | archlang | reference | |\n|---|---|---|---|")
    print(f"| weights | {counts['ours'].weights:,} | {counts['theirs'].weights:,} | "
          f"{'equal' if counts['ours'].weights == counts['theirs'].weights else 'DIFFERENT'} |")
    print(f"| architecture entries | {counts['ours'].arch:,} | {counts['theirs'].arch:,} | "
          f"{'equal' if counts['ours'].arch == counts['theirs'].arch else 'DIFFERENT'} |")

    saved = {name: measure.saved_tensor_bytes(s.model, s.inputs, s.loss_fn, s.targets)
             for name, s in (("ours", ours), ("theirs", theirs))}
    print(f"| saved for backward | {_mib(saved['ours'].activation_bytes)} | "
          f"{_mib(saved['theirs'].activation_bytes)} | "
          f"{saved['ours'].activation_bytes / saved['theirs'].activation_bytes:.3f} |")

    times = paired_times(ours, theirs, args.repeats)
    print(f"| training step, CPU (median of {args.repeats}, interleaved) | {times['ours']:.2f} s | "
          f"{times['theirs']:.2f} s | **{times['ratio']:.3f}** ({_verdict(times['ratio'], TARGETS['time'])}; "
          f"target ≤ {TARGETS['time']}) |")
    if peaks:
        ratio = peaks["ours"].peak_bytes / peaks["theirs"].peak_bytes
        print(f"| peak memory of a step (profiler) | {_mib(peaks['ours'].peak_bytes)} | "
              f"{_mib(peaks['theirs'].peak_bytes)} | **{ratio:.3f}** ({_verdict(ratio, TARGETS['peak'])}; "
              f"target ≤ {TARGETS['peak']}) |")
    print(f"\nper-round time ratios: {', '.join(f'{r:.3f}' for r in times['ratios'])}")
    del ours, theirs

    pc = archlang_setup("pcdarts", **config)
    pc_saved = measure.saved_tensor_bytes(pc.model, pc.inputs, pc.loss_fn, pc.targets).activation_bytes
    del pc
    ref_pc = measure.reference_setup("pcdarts", **config)
    ref_pc_saved = measure.saved_tensor_bytes(ref_pc.model, ref_pc.inputs, ref_pc.loss_fn,
                                              ref_pc.targets).activation_bytes
    ratio = pc_saved / saved["ours"].activation_bytes
    print(f"\nPC-DARTS K=4 activation memory: archlang {_mib(pc_saved)} = **{ratio:.3f}** of its DARTS "
          f"({_verdict(ratio, TARGETS['pcdarts'])}; target ≤ {TARGETS['pcdarts']}); reference "
          f"{_mib(ref_pc_saved)} = {ref_pc_saved / saved['theirs'].activation_bytes:.3f} of its DARTS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
