"""Benchmark: the cost of input guards in compiled modules (issue 14, item 7).

A module built by ``archlang.to_torch`` starts its forward with ``check_inputs``: the
inputs' shapes against the last shapes that passed, and the spec's checks only for new ones.
This measures ResNet50 (batch 1, 3×224×224) and GPT-2 small (batch 1 × 128 tokens, whose
spec asserts ``T <= block_size``) with the check and without it: the same IR built with the
check left out of the generated forward, running the same submodules.  Eager CPU inference timed
in CPU seconds of the process, paired and interleaved rounds (each round times both,
alternating which goes first); the ratio is the median of the per-round ratios.  Also timed: one ``check_inputs`` call on a shape seen
before, alone (the whole cost a forward pays after the first call).

    .venv/bin/python benchmarks/guards.py [--rounds 15] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

import archlang
from archlang.backends.torch import build as torch_build
from archlang.backends.torch.guards import GUARD, check_inputs

ROOT = Path(__file__).resolve().parent.parent
CASES = [  # (label, spec, model, input, forwards per timing)
    ("ResNet50, batch 1", ROOT / "specs/vision/resnet.arch", "ResNet50", lambda: torch.randn(1, 3, 224, 224), 3),
    ("GPT-2 small, batch 1 × 128 tokens", ROOT / "specs/text/gpt2.arch", "GPT2",
     lambda: torch.randint(0, 50257, (1, 128)), 2),
]


def unguarded(model, guarded: torch.nn.Module) -> torch.nn.Module:
    """The same model with the check left out of its generated forward, running the very same
    submodules and weights (not copies: where tensors sit in memory is then no difference)."""
    module = torch_build._Builder().graph_module(model.graph, model.name + "Unguarded", top=True, guarded=False)
    module._modules, module._parameters, module._buffers = guarded._modules, guarded._parameters, guarded._buffers
    return module


def timed(fn, inner: int) -> float:
    """CPU seconds of the process (all of torch's threads) per call: on a shared machine,
    time spent waiting for a core is not the model's."""
    start = time.process_time()
    for _ in range(inner):
        fn()
    return (time.process_time() - start) / inner


def paired(a, b, rounds: int, inner: int) -> tuple[float, float, list[float]]:
    """Medians of a and b, and the per-round ratios a/b (order alternates)."""
    times_a, times_b, ratios = [], [], []
    for i in range(rounds):
        if i % 2:
            tb, ta = timed(b, inner), timed(a, inner)
        else:
            ta, tb = timed(a, inner), timed(b, inner)
        times_a.append(ta), times_b.append(tb), ratios.append(ta / tb)
    return statistics.median(times_a), statistics.median(times_b), sorted(ratios)


def check_cost(module: torch.nn.Module, x: torch.Tensor, calls: int = 100_000) -> float:
    guard = getattr(module, GUARD)
    check_inputs(guard, x)
    start = time.perf_counter()
    for _ in range(calls):
        check_inputs(guard, x)
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: no thread pool spinning on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} paired rounds")
    print(f"{'model (CPU time)':<36} {'guarded ms':>11} {'unguarded ms':>13} {'ratio':>7} {'ratios from … to':>17} {'check µs':>9}")
    for label, spec, name, make_input, inner in CASES:
        model = archlang.load(str(spec)).elaborate(name)
        guarded = archlang.to_torch(str(spec), name, seed=0).eval()
        plain = unguarded(model, guarded).eval()
        assert "check_inputs(" in guarded.code and "check_inputs(" not in plain.code
        x = make_input()
        assert torch.equal(guarded(x), plain(x))
        t_guarded, t_plain, ratios = paired(lambda: guarded(x), lambda: plain(x), args.rounds, inner)
        spread = f"{ratios[0]:.3f} … {ratios[-1]:.3f}"
        print(f"{label:<36} {t_guarded * 1e3:>11.2f} {t_plain * 1e3:>13.2f} {statistics.median(ratios):>7.3f} "
              f"{spread:>17} {check_cost(guarded, x) * 1e6:>9.2f}")


if __name__ == "__main__":
    main()
