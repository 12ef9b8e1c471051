"""Measured latency: the median wall time of a forward pass (eval mode, no gradients, batch
``batch``, ``threads`` torch threads: 1 by default, None for torch's setting) over ``runs``
runs after ``warmup``, in milliseconds; minimised.  Needs torch; the input must have concrete
sizes apart from the batch.
"""

from __future__ import annotations

import statistics
import time

from archlang.objectives.base import TORCH, Objective, ObjectiveError


class Latency(Objective):
    name = "latency"
    direction = "minimize"
    cost = True
    requires = (TORCH,)

    def __init__(self, batch: int = 1, runs: int = 20, warmup: int = 3, seed: int = 0, threads: int | None = 1) -> None:
        self.batch, self.runs, self.warmup, self.seed, self.threads = batch, runs, warmup, seed, threads

    def __call__(self, model) -> float:
        import torch

        from archlang.backends.torch import build_module
        from archlang.objectives.data import threads

        module = build_module(model, seed=self.seed).eval()
        x = torch.randn(*self.shape(model), generator=torch.Generator().manual_seed(self.seed))
        with threads(self.threads):
            with torch.inference_mode():
                for _ in range(self.warmup):
                    module(x)
                times = []
                for _ in range(self.runs):
                    start = time.perf_counter()
                    module(x)
                    times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000.0

    def shape(self, model) -> tuple[int, ...]:
        from archlang.objectives.data import input_shape

        shape = input_shape(model)
        rest = shape[1:]
        if not all(isinstance(d, int) for d in rest):
            raise ObjectiveError(f"{model.name}'s input {shape} has symbolic sizes; give it a concrete shape (--input)")
        return (self.batch, *rest)
