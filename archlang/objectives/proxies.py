"""Training-free proxies: scores of a network at initialisation, on one real batch of
handwritten digits (``data.batch``), all maximised.  The network is built with ``seed``; the
scores use the weights of convolutions and linear layers (parameters of rank ≥ 2).

    grad_norm  Σ over weights of ‖∂L/∂w‖₂                       (Abdelfattah et al., 2021)
    snip       Σ |w ⊙ ∂L/∂w|                                   (Lee et al., 2019)
    synflow    Σ |w ⊙ ∂R/∂w| with |w|, an all-ones input, float64, R = Σ outputs, eval mode
                                                                (Tanaka et al., 2020)
    naswot     log|det K|, K[i,j] = agreements of samples i, j's binary ReLU codes over all
               ReLU-family activations (pre-activation > 0)     (Mellor et al., 2021)
    gradsign   Σ over weights |Σ over samples sign(∂Lᵢ/∂w)|, per-sample gradients in eval mode
                                                                (Zhang & Jia, 2022)

L is the cross-entropy on the batch (train mode, as at the start of training).  Torch runs on
``threads`` threads.  Needs torch.
"""

from __future__ import annotations

import math

from archlang.objectives.base import SKLEARN, TORCH, Objective, ObjectiveError


class Proxy(Objective):
    direction = "maximize"
    requires = (TORCH, SKLEARN)

    def __init__(self, batch: int = 64, seed: int = 0, threads: int | None = 1) -> None:
        self.batch, self.seed, self.threads = batch, seed, threads

    def __call__(self, model) -> float:
        import torch

        from archlang.backends.torch import build_module
        from archlang.objectives.data import batch, threads

        x, y = batch(model, self.batch, self.seed)
        module = build_module(model, seed=self.seed)
        with torch.random.fork_rng(devices=[]), threads(self.threads):
            torch.manual_seed(self.seed)
            return float(self.score(module, x, y))

    def score(self, module, x, y) -> float:
        raise NotImplementedError


def weights(module) -> list:
    return [p for p in module.parameters() if p.dim() >= 2 and p.requires_grad]


def loss_gradients(module, x, y) -> list:
    """Gradients of the cross-entropy on (x, y) for ``weights(module)`` (train mode)."""
    import torch

    module.train()
    module.zero_grad()
    torch.nn.functional.cross_entropy(module(x)[:, :10], y).backward()
    return [(p, p.grad if p.grad is not None else torch.zeros_like(p)) for p in weights(module)]


class GradNorm(Proxy):
    name = "grad_norm"

    def score(self, module, x, y) -> float:
        return sum(float(g.norm()) for _, g in loss_gradients(module, x, y))


class Snip(Proxy):
    name = "snip"

    def score(self, module, x, y) -> float:
        return sum(float((p.detach() * g).abs().sum()) for p, g in loss_gradients(module, x, y))


class SynFlow(Proxy):
    name = "synflow"

    def score(self, module, x, y) -> float:
        import torch

        module = module.double().eval()
        with torch.no_grad():
            for p in module.state_dict().values():
                if p.is_floating_point():
                    p.abs_()
        module.zero_grad()
        ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64)
        module(ones).sum().backward()
        return sum(float((p.detach() * p.grad).abs().sum()) for p in weights(module) if p.grad is not None)


class GradSign(Proxy):
    name = "gradsign"

    def __init__(self, batch: int = 32, seed: int = 0, threads: int | None = 1) -> None:
        super().__init__(batch, seed, threads)

    def score(self, module, x, y) -> float:
        import torch

        module.eval()
        params = weights(module)
        totals = [torch.zeros_like(p) for p in params]
        for i in range(len(x)):
            module.zero_grad()
            torch.nn.functional.cross_entropy(module(x[i:i + 1])[:, :10], y[i:i + 1]).backward()
            for total, p in zip(totals, params):
                if p.grad is not None:
                    total += p.grad.sign()
        return sum(float(t.abs().sum()) for t in totals)


class NASWOT(Proxy):
    name = "naswot"

    def score(self, module, x, y) -> float:
        import torch

        codes = []
        module.train()
        with torch.no_grad(), _Activations(codes):
            module(x)
        if not codes:
            raise ObjectiveError("naswot needs ReLU-family activations; the network has none")
        kernel = torch.zeros(len(x), len(x), dtype=torch.float64)
        for code in codes:
            c = code.reshape(len(x), -1).double()
            kernel += c @ c.t() + (1 - c) @ (1 - c).t()
        sign, logdet = torch.linalg.slogdet(kernel)
        return float(logdet) if float(sign) > 0 else -math.inf


def _activations():
    import torch
    import torch.nn.functional as F

    return {torch.relu, torch.relu_, F.relu, F.relu_, torch.Tensor.relu, torch.Tensor.relu_, F.gelu,
            F.silu, F.leaky_relu, F.hardswish, F.relu6, F.elu, F.mish}


def _Activations(codes: list):
    """A torch function mode recording (pre-activation > 0) of every ReLU-family call."""
    from torch.overrides import TorchFunctionMode

    watched = _activations()

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func in watched and args and hasattr(args[0], "shape"):
                codes.append((args[0] > 0).detach().clone())
            return func(*args, **(kwargs or {}))

    return Recorder()
