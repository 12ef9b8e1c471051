"""DARTS and PC-DARTS: the softmax relaxation, its bilevel updates, partial channels.

DARTS (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019; code
github.com/quark0/darts, ``cnn/``): every mixed place computes the softmax-weighted sum of its
options.  One search iteration updates the architecture parameters on a validation batch —
first order: the gradient of L_val(w, α); second order (``order=2``, the paper's eq. 6–8): the
gradient of L_val(w′, α) at the virtual step w′ = w − η ∇w L_train(w, α) (with the weight
optimiser's momentum and weight decay), its Hessian-vector term by a central difference of
radius 0.01/‖∇w′ L_val‖ — then the weights on a training batch (SGD, gradient clipping 5).

PC-DARTS (Xu et al., "PC-DARTS: Partial Channel Connections for Memory-Efficient Architecture
Search", ICLR 2020; code github.com/yuhuixu1993/PC-DARTS): a mixed place whose input and output
have the same channels runs on 1/K of them (the rest bypass it, channels shuffled), and the
edges summed into one node are weighted by the softmax of a per-edge β (edge normalisation).

Imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch.func import functional_call

from archlang.oneshot.compile import Options
from archlang.oneshot.derive import derive as derive_rule
from archlang.oneshot.methods.base import LossFn, Method, Optimizers, StepResult, sgd, weight_step
from archlang.oneshot.selection import Soft

_DARTS = "DARTS cnn/train_search.py"


@dataclass
class Darts(Method):
    """DARTS: softmax relaxation, first- or second-order bilevel updates."""

    name: ClassVar[str] = "darts"
    SOURCES: ClassVar[dict[str, str]] = {
        "order": f"{_DARTS} --unrolled (default off: first order); second order is the paper's §2.3",
        "weight_lr": f"{_DARTS} --learning_rate 0.025", "weight_lr_min": f"{_DARTS} --learning_rate_min 0.001",
        "weight_momentum": f"{_DARTS} --momentum 0.9", "weight_decay": f"{_DARTS} --weight_decay 3e-4",
        "grad_clip": f"{_DARTS} --grad_clip 5",
        "arch_lr": f"{_DARTS} --arch_learning_rate 3e-4", "arch_betas": "DARTS cnn/architect.py Adam betas (0.5, 0.999)",
        "arch_weight_decay": f"{_DARTS} --arch_weight_decay 1e-3",
        "hvp_radius": "DARTS paper eq. 8 / cnn/architect.py _hessian_vector_product(r=1e-2)",
        "affine": "DARTS cnn/model_search.py: BatchNorm2d(affine=False) in every cell",
        "pool_bn": "DARTS cnn/model_search.py MixedOp: BatchNorm2d(affine=False) after pooling",
        "init_std": "DARTS cnn/model_search.py _initialize_alphas: 1e-3 * randn",
    }
    order: int = 1
    weight_lr: float = 0.025
    weight_lr_min: float = 0.001
    weight_momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float | None = 5.0
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    hvp_radius: float = 0.01
    affine: bool = False
    pool_bn: bool = True
    init_std: float = 1e-3
    epoch: int = field(default=0, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.order not in (1, 2):
            raise ValueError(f"DARTS' order is 1 (first order) or 2 (second order), not {self.order!r}")

    def compile_options(self) -> Options:
        return Options(affine=self.affine, pool_bn=self.pool_bn, none=True, soft=True)

    def selection(self, supernet, key: str):
        return Soft(torch.softmax(supernet.arch.alpha(key), dim=-1))

    def optimizers(self, supernet) -> Optimizers:
        weights = sgd(supernet, self.weight_lr, self.weight_momentum, self.weight_decay)
        arch = torch.optim.Adam(supernet.arch_parameters(), lr=self.arch_lr, betas=self.arch_betas,
                                weight_decay=self.arch_weight_decay)
        return Optimizers(weights, arch)

    def on_epoch(self, supernet, epoch: int, epochs: int) -> None:
        self.epoch = epoch

    def updates_arch(self) -> bool:
        return True

    def train_step(self, supernet, train_batch, valid_batch, optimizers: Optimizers,
                   loss_fn: LossFn = F.cross_entropy) -> StepResult:
        """DARTS' search iteration (train_search.py ``train``): an architecture step on the
        validation batch, then a weight step on the training batch."""
        supernet.train()
        with supernet.fixed(None):  # the method's own forward, even if a path was set
            arch_loss = None
            if valid_batch is not None and optimizers.arch is not None and self.updates_arch():
                arch_loss = self.arch_step(supernet, train_batch, valid_batch, optimizers, loss_fn)
            loss = weight_step(supernet, optimizers.weights, train_batch, loss_fn, self.grad_clip)
        return StepResult(loss, arch_loss)

    def arch_step(self, supernet, train_batch, valid_batch, optimizers: Optimizers, loss_fn: LossFn) -> float:
        """One Adam step on the architecture parameters; the weights and their gradients are left as they are."""
        if self.order == 2:
            eta = optimizers.weights.param_groups[0]["lr"]
            loss, grads = self.second_order_gradient(supernet, train_batch, valid_batch, loss_fn, eta,
                                                     optimizers.weights)
        else:
            loss, grads = self.first_order_gradient(supernet, valid_batch, loss_fn)
        for parameter, grad in zip(supernet.arch_parameters(), grads):
            parameter.grad = grad.detach()
        optimizers.arch.step()
        return loss

    # ---- hypergradients
    def first_order_gradient(self, supernet, valid_batch, loss_fn: LossFn):
        """L_val(w, α) and dL_val/dα."""
        x, y = valid_batch
        loss = loss_fn(supernet(x), y)
        return float(loss.detach()), _grad(loss, supernet.arch_parameters())

    def second_order_gradient(self, supernet, train_batch, valid_batch, loss_fn: LossFn, eta: float,
                              weight_optimizer=None):
        """L_val(w′, α) and its total derivative in α (DARTS eq. 7, the Hessian-vector product
        by the central difference of eq. 8)."""
        alphas = supernet.arch_parameters()
        named = supernet.named_weight_parameters()
        virtual = [w.requires_grad_() for w in self._virtual_step(supernet, named, train_batch, loss_fn, eta,
                                                                   weight_optimizer)]
        x, y = valid_batch
        buffers = {name: b.clone() for name, b in supernet.named_buffers()}  # the real running stats stay
        output = functional_call(supernet, {**{n: w for (n, _), w in zip(named, virtual)}, **buffers}, (x,))
        loss = loss_fn(output, y)
        grads = _grad(loss, alphas + virtual)
        d_alpha, d_virtual = grads[:len(alphas)], grads[len(alphas):]
        implicit = self._hessian_vector_product(supernet, [w for _, w in named], d_virtual, train_batch, loss_fn)
        return float(loss.detach()), [da - eta * ig for da, ig in zip(d_alpha, implicit)]

    def _virtual_step(self, supernet, named, train_batch, loss_fn, eta, weight_optimizer) -> list[torch.Tensor]:
        """w − η (momentum · buffer + dL_train/dw + weight_decay · w): the next SGD iterate."""
        x, y = train_batch
        weights = [w for _, w in named]
        grads = torch.autograd.grad(loss_fn(supernet(x), y), weights)
        virtual = []
        for w, g in zip(weights, grads):
            state = weight_optimizer.state.get(w, {}) if weight_optimizer is not None else {}
            buffer = state.get("momentum_buffer")
            momentum = self.weight_momentum * buffer if buffer is not None else torch.zeros_like(w)
            virtual.append((w - eta * (momentum + g + self.weight_decay * w)).detach())
        return virtual

    def _hessian_vector_product(self, supernet, weights, vector, train_batch, loss_fn) -> list[torch.Tensor]:
        alphas = supernet.arch_parameters()
        eps = self.hvp_radius / torch.cat([v.reshape(-1) for v in vector]).norm()
        saved = [w.detach().clone() for w in weights]
        x, y = train_batch

        def grad_at(sign: float):
            with torch.no_grad():
                for w, w0, v in zip(weights, saved, vector):
                    w.copy_(w0 + sign * eps * v)
            return _grad(loss_fn(supernet(x), y), alphas)

        try:
            plus, minus = grad_at(1.0), grad_at(-1.0)
        finally:
            with torch.no_grad():  # the weights back exactly (not w + ε v − 2ε v + ε v)
                for w, w0 in zip(weights, saved):
                    w.copy_(w0)
        return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def _grad(loss, tensors) -> list[torch.Tensor]:
    """d loss / d tensors, zeros for a tensor the loss does not use (an architecture entry
    whose decision only sets a size that a mixture computes at its largest)."""
    grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(tensors, grads)]


_PC = "PC-DARTS train_search.py"


@dataclass
class PCDarts(Darts):
    """PC-DARTS: DARTS on 1/K of the channels of each edge, with edge normalisation."""

    name: ClassVar[str] = "pcdarts"
    edge_normalisation: ClassVar[bool] = True
    SOURCES: ClassVar[dict[str, str]] = {
        **Darts.SOURCES,
        "k": "PC-DARTS model_search.py MixedOp self.k = 4 (CIFAR-10)",
        "weight_lr": f"{_PC} --learning_rate 0.1", "weight_lr_min": f"{_PC} --learning_rate_min 0.0",
        "arch_lr": f"{_PC} --arch_learning_rate 6e-4",
        "warmup_epochs": f"{_PC}: architecture updates from epoch 15 (`if epoch >= 15`)",
        "order": f"{_PC} --unrolled (default off: first order)",
    }
    k: int = 4
    weight_lr: float = 0.1
    weight_lr_min: float = 0.0
    arch_lr: float = 6e-4
    warmup_epochs: int = 15

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"PC-DARTS' K is a positive integer, not {self.k!r}")

    def compile_options(self) -> Options:
        return Options(affine=self.affine, pool_bn=self.pool_bn, none=True, partial=self.k, soft=True)

    def edge_weights(self, supernet, keys: tuple[str, ...]):
        if not all(supernet.arch.has_beta(key) for key in keys):
            return None
        return torch.softmax(torch.stack([supernet.arch.beta(key) for key in keys]), dim=-1)

    def updates_arch(self) -> bool:
        return self.epoch >= self.warmup_epochs

    def derive(self, supernet):
        def scale(keys):
            weights = self.edge_weights(supernet, keys)
            return None if weights is None else weights.detach()

        return derive_rule(supernet, lambda key: torch.softmax(supernet.arch.alpha(key).detach(), -1), scale)
