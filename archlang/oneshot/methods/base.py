"""What every one-shot method gives a training loop, so that one generic loop trains them all.

A method is a dataclass of hyperparameters (each documented with its source in ``SOURCES``)
and these hooks:

``compile_options()``                how the space is compiled (DARTS' cells, PC-DARTS' K …);
``selection(net, key)``              the method's own forward: how key ``key`` is taken in a pass;
``sample_path(net)``                 a whole architecture per pass instead (SPOS), or None;
``edge_weights(net, keys)``          PC-DARTS' normalised edge weights, or None;
``optimizers(net)``                  the weight and architecture optimisers with the paper's settings;
``scheduler(optimizers, epochs)``    the weight learning-rate schedule;
``on_epoch(net, epoch, epochs)``     per-epoch state (GDAS' temperature, warm-up ends);
``train_step(net, train, valid, optimizers, loss_fn)``   one iteration of the search;
``derive(net)``                      the discrete architecture.

Imports torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from archlang.nas.assignment import Assignment
from archlang.oneshot.compile import Options
from archlang.oneshot.derive import derive as derive_rule

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Optimizers:
    """The weight optimiser and (relaxed methods) the architecture optimiser."""

    weights: torch.optim.Optimizer
    arch: torch.optim.Optimizer | None = None


@dataclass
class StepResult:
    """Losses of one training step (floats; None where that part did not run)."""

    loss: float
    arch_loss: float | None = None


@dataclass
class Method:
    """Base of the one-shot methods (see the module docstring for the hooks)."""

    name: ClassVar[str] = ""
    relaxed: ClassVar[bool] = True  # has architecture parameters
    edge_normalisation: ClassVar[bool] = False
    SOURCES: ClassVar[dict[str, str]] = {}
    init_std: float = 1e-3

    # ---- compilation and forward
    def compile_options(self) -> Options:
        return Options()

    def bind(self, supernet) -> None:
        """Called once the space is compiled (checks that the method applies, caches)."""

    def sample_path(self, supernet) -> Assignment | None:
        return None

    def selection(self, supernet, key: str):
        raise NotImplementedError

    def edge_weights(self, supernet, keys: tuple[str, ...]):
        return None

    # ---- training
    def optimizers(self, supernet) -> Optimizers:
        raise NotImplementedError

    def scheduler(self, optimizers: Optimizers, epochs: int):
        """The weight learning-rate schedule over ``epochs`` (stepped once per epoch)."""
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizers.weights, epochs,
                                                          eta_min=getattr(self, "weight_lr_min", 0.0))

    def on_epoch(self, supernet, epoch: int, epochs: int) -> None:
        """Called at the start of every epoch (0-based)."""

    def train_step(self, supernet, train_batch, valid_batch, optimizers: Optimizers,
                   loss_fn: LossFn = F.cross_entropy) -> StepResult:
        raise NotImplementedError

    def derive(self, supernet) -> Assignment:
        return derive_rule(supernet, lambda key: torch.softmax(supernet.arch.alpha(key).detach(), -1))

    def hyperparameters(self) -> dict:
        """The hyperparameters (the fields shown in ``repr``; run-time state is not)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}


def weight_step(supernet, optimizer: torch.optim.Optimizer, batch, loss_fn: LossFn,
                grad_clip: float | None) -> float:
    """One optimiser step on the weights only (architecture parameters get no gradient), with
    gradient-norm clipping on the weights."""
    inputs, targets = batch
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(supernet(inputs), targets)
    weights = supernet.weight_parameters()
    loss.backward(inputs=weights)
    if grad_clip is not None:
        nn.utils.clip_grad_norm_(weights, grad_clip)
    optimizer.step()
    return float(loss.detach())


def sgd(supernet, lr: float, momentum: float, weight_decay: float, nesterov: bool = False) -> torch.optim.SGD:
    return torch.optim.SGD(supernet.weight_parameters(), lr, momentum=momentum, weight_decay=weight_decay,
                           nesterov=nesterov)
