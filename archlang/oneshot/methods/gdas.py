"""GDAS: one sampled path per forward through the Gumbel-softmax, with straight-through gradients.

Dong & Yang, "Searching for A Robust Neural Architecture in Four GPU Hours", CVPR 2019; code
github.com/D-X-Y/AutoDL-Projects (``models/cell_searchs/search_model_gdas.py``,
``search_cells.py`` ``forward_gdas``, ``exps/NAS-Bench-201-algos/GDAS.py``).  Every key draws
h = one_hot(argmax((log_softmax(α) + g) / τ)) with Gumbel noise g, and the forward uses
``h - p.detach() + p`` (p the Gumbel-softmax at temperature τ): the value is one-hot, only the
drawn candidate is computed, and the gradient reaches α through p.  τ decreases linearly from
10 to 0.1 over the search.  One iteration updates the weights on a training batch, then α on
a validation batch (first order).

Imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F

from archlang.oneshot.compile import Options
from archlang.oneshot.methods.base import LossFn, Method, Optimizers, StepResult, sgd, weight_step
from archlang.oneshot.selection import Hard

_GDAS = "AutoDL-Projects exps/NAS-Bench-201-algos/GDAS.py"


@dataclass
class GDAS(Method):
    """GDAS: hard Gumbel-softmax samples with straight-through gradients."""

    name: ClassVar[str] = "gdas"
    SOURCES: ClassVar[dict[str, str]] = {
        "tau_max": "GDAS paper (τ decays linearly from 10 to 0.1); AutoDL-Projects GDAS scripts --tau_max 10",
        "tau_min": "GDAS paper (τ decays linearly from 10 to 0.1); AutoDL-Projects GDAS scripts --tau_min 0.1",
        "weight_lr": "AutoDL-Projects configs/nas-benchmark/algos/GDAS.config LR 0.025",
        "weight_lr_min": "AutoDL-Projects GDAS.config eta_min 0.001",
        "weight_momentum": "AutoDL-Projects GDAS.config momentum 0.9",
        "weight_decay": "AutoDL-Projects GDAS.config decay 5e-4 (nesterov 1)",
        "grad_clip": f"{_GDAS}: clip_grad_norm_(..., 5)",
        "arch_lr": f"{_GDAS} --arch_learning_rate 3e-4", "arch_betas": f"{_GDAS}: Adam betas (0.5, 0.999)",
        "arch_weight_decay": f"{_GDAS} --arch_weight_decay 1e-3",
        "affine": f"{_GDAS}: model_config affine False",
        "pool_bn": "DARTS' cell conventions (cnn/model_search.py MixedOp)",
        "init_std": "AutoDL-Projects search_model_gdas.py: 1e-3 * randn",
    }
    tau_max: float = 10.0
    tau_min: float = 0.1
    weight_lr: float = 0.025
    weight_lr_min: float = 0.001
    weight_momentum: float = 0.9
    weight_decay: float = 5e-4
    grad_clip: float | None = 5.0
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    affine: bool = False
    pool_bn: bool = True
    init_std: float = 1e-3
    tau: float = field(default=10.0, repr=False)

    def compile_options(self) -> Options:
        return Options(affine=self.affine, pool_bn=self.pool_bn, none=True)

    def bind(self, supernet) -> None:
        self.tau = self.tau_max

    def selection(self, supernet, key: str):
        alpha = supernet.arch.alpha(key)
        while True:  # redraw on the rare inf/nan, as GDAS does
            gumbels = -torch.empty_like(alpha).exponential_().log()
            probs = torch.softmax((alpha.log_softmax(dim=-1) + gumbels) / self.tau, dim=-1)
            index = int(probs.detach().argmax())
            one_hot = torch.zeros_like(probs)
            one_hot[index] = 1.0
            weights = one_hot - probs.detach() + probs
            if torch.isfinite(weights).all() and torch.isfinite(probs).all():
                return Hard(index, weights)

    def on_epoch(self, supernet, epoch: int, epochs: int) -> None:
        """τ from ``tau_max`` at the first epoch down to ``tau_min`` at the last, linearly."""
        span = max(epochs - 1, 1)
        self.tau = self.tau_max - (self.tau_max - self.tau_min) * min(epoch, span) / span

    def optimizers(self, supernet) -> Optimizers:
        weights = sgd(supernet, self.weight_lr, self.weight_momentum, self.weight_decay, nesterov=True)
        arch = torch.optim.Adam(supernet.arch_parameters(), lr=self.arch_lr, betas=self.arch_betas,
                                weight_decay=self.arch_weight_decay)
        return Optimizers(weights, arch)

    def train_step(self, supernet, train_batch, valid_batch, optimizers: Optimizers,
                   loss_fn: LossFn = F.cross_entropy) -> StepResult:
        """GDAS' search iteration: the weights on the training batch, then α on the validation batch."""
        supernet.train()
        with supernet.fixed(None):  # the method's own forward, even if a path was set
            loss = weight_step(supernet, optimizers.weights, train_batch, loss_fn, self.grad_clip)
            arch_loss = None
            if valid_batch is not None:
                x, y = valid_batch
                optimizers.arch.zero_grad(set_to_none=True)
                arch = loss_fn(supernet(x), y)
                arch.backward(inputs=supernet.arch_parameters())
                optimizers.arch.step()
                arch_loss = float(arch.detach())
        return StepResult(loss, arch_loss)
