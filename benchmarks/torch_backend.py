"""Benchmark: the PyTorch backend against hand-written PyTorch (benchmarks/handwritten.py).

1. Eager forward latency of the compiled ResNet50 and GPT-2 small vs the hand-written
   modules with the same weights, CPU, batch 1 and 8, runs interleaved (ours, theirs, ours …)
   so drift hits both; the median of each is compared.  Target: within 3%.
2. ``archlang.to_torch`` of ResNet50 from the spec file (parse, check, elaborate, build,
   initialise) vs constructing the hand-written module.  Target: at most 1.2×.

    .venv/bin/python benchmarks/torch_backend.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from handwritten import GPT, resnet50  # noqa: E402

import archlang  # noqa: E402

RESNET = str(ROOT / "specs" / "vision" / "resnet.arch")
GPT2 = str(ROOT / "specs" / "text" / "gpt2.arch")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(ours, theirs, rounds: int, inner: int) -> tuple[float, float]:
    a, b = [], []
    for _ in range(rounds):
        a.append(timed(lambda: [ours() for _ in range(inner)]) / inner)
        b.append(timed(lambda: [theirs() for _ in range(inner)]) / inner)
    return statistics.median(a), statistics.median(b)


def latency(rounds: int) -> None:
    torch.set_grad_enabled(False)
    cases = []
    ours = archlang.to_torch(RESNET, "ResNet50", seed=0).eval()
    theirs = resnet50().eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    for batch in (1, 8):
        cases.append((f"ResNet50 batch {batch}", ours, theirs, torch.randn(batch, 3, 224, 224), 3 if batch == 1 else 1))
    ours_gpt = archlang.to_torch(GPT2, "GPT2", seed=0).eval()
    theirs_gpt = GPT().eval()
    theirs_gpt.load_state_dict(ours_gpt.state_dict(), strict=True)
    for batch in (1, 8):
        ids = torch.randint(0, 50257, (batch, 128))
        cases.append((f"GPT2 batch {batch} × 128 tokens", ours_gpt, theirs_gpt, ids, 3 if batch == 1 else 1))
    print(f"{'model':<30} {'archlang ms':>12} {'hand-written ms':>16} {'ratio':>7}")
    for name, a, b, x, inner in cases:
        assert torch.allclose(a(x), b(x), atol=1e-4)
        for _ in range(2):  # warm-up
            a(x), b(x)
        t_a, t_b = interleaved(lambda: a(x), lambda: b(x), rounds, inner)
        print(f"{name:<30} {t_a * 1e3:>12.2f} {t_b * 1e3:>16.2f} {t_a / t_b:>7.3f}")


def construction(rounds: int) -> None:
    archlang.to_torch(RESNET, "ResNet50")  # warm imports and the grammar
    resnet50()
    t_a, t_b = interleaved(lambda: archlang.to_torch(RESNET, "ResNet50"), resnet50, rounds, 1)
    print(f"\n{'ResNet50 construction':<30} {'load+to_torch ms':>16} {'nn.Module() ms':>15} {'ratio':>7}")
    print(f"{'  repeated (warm caches)':<30} {t_a * 1e3:>16.1f} {t_b * 1e3:>15.1f} {t_a / t_b:>7.3f}")


COLD = """
import sys, time
sys.path.insert(0, {bench!r})
import archlang, torch
from handwritten import resnet50
start = time.perf_counter()
{call}
print(time.perf_counter() - start)
"""


def cold(rounds: int) -> None:
    """The first construction in a fresh process: no parse or code cache to reuse yet."""
    import subprocess

    calls = {"archlang": f"archlang.to_torch({RESNET!r}, 'ResNet50')", "hand": "resnet50()"}
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            code = COLD.format(bench=str(ROOT / "benchmarks"), call=call)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            times[name].append(float(out.stdout))
    a, b = statistics.median(times["archlang"]), statistics.median(times["hand"])
    print(f"{'  first call in a process':<30} {a * 1e3:>16.1f} {b * 1e3:>15.1f} {a / b:>7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    latency(args.rounds)
    construction(args.rounds)
    cold(max(3, args.rounds // 3))


if __name__ == "__main__":
    main()
