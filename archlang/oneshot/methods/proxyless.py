"""ProxylessNAS: binary gates, two-path sampling, and a MACs term in the architecture loss.

Cai, Zhu & Han, "ProxylessNAS: Direct Neural Architecture Search on Target Task and
Hardware", ICLR 2019; code github.com/mit-han-lab/proxylessnas (``search/modules/mix_op.py``,
``search/nas_manager.py``, ``search/imagenet_arch_search.py``).

Weight steps train one path drawn from the architecture distribution (each decision's option
drawn with probability softmax(α)).  Every ``arch_every`` steps after ``warmup_epochs`` an
architecture step draws, per decision, two options from softmax(α) and one of them by the
softmax of their two α (the paper's two-path sampling, §3.2.1): the active one is computed with
gradients, the other only for its gate's gradient, and the gates' gradients reach α through
the two-option softmax (mix_op.py's ``set_arch_param_grad``).  The loss adds the expected MACs
of the distribution (archlang's analytic counts, ``oneshot.cost``): ``mul#log``
α_r · CE · (log E[MACs] / log target)^β, or ``add#linear`` CE + λ (E[MACs] − target) / target
(nas_manager.py ``add_regularization_loss``).  A searched size (an entangled layer) has no
second output of its shape to gate: it follows the active option, its gate's gradient
coming from that option alone.

Imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F

from archlang.oneshot.compile import Options
from archlang.oneshot.cost import CostModel
from archlang.oneshot.methods.base import LossFn, Method, Optimizers, StepResult, sgd, weight_step
from archlang.oneshot.selection import Gated, Path

_SEARCH = "proxylessnas search/imagenet_arch_search.py"


@dataclass
class Proxyless(Method):
    """ProxylessNAS: sampled single paths for the weights, two-path binary gates and a MACs
    term for the architecture."""

    name: ClassVar[str] = "proxyless"
    SOURCES: ClassVar[dict[str, str]] = {
        "cost": "ProxylessNAS §3.3: E[latency] = Σ p · F(op) with a per-op model F; archlang: the op's analytic "
                "MACs, or a callable F(op, attrs, input types, output type)",
        "loss_type": f"{_SEARCH} --grad_reg_loss_type mul#log",
        "reg_alpha": f"{_SEARCH} --grad_reg_loss_alpha 0.2", "reg_beta": f"{_SEARCH} --grad_reg_loss_beta 0.3",
        "reg_lambda": f"{_SEARCH} --grad_reg_loss_lambda 0.1 (add#linear)",
        "target": f"{_SEARCH} ref_values (flops 300e6 at width 1.0); archlang: E[MACs] at uniform α if None",
        "arch_lr": f"{_SEARCH} --arch_lr 1e-3", "arch_betas": f"{_SEARCH} --arch_adam_beta1 0, --arch_adam_beta2 0.999",
        "arch_eps": f"{_SEARCH} --arch_adam_eps 1e-8", "arch_weight_decay": f"{_SEARCH} --arch_weight_decay 0",
        "arch_every": f"{_SEARCH} --grad_update_arch_param_every 5",
        "warmup_epochs": f"{_SEARCH} --warmup_epochs 40",
        "weight_lr": f"{_SEARCH} --init_lr 0.025 (cosine)", "weight_momentum": f"{_SEARCH} --momentum 0.9 (nesterov)",
        "weight_decay": f"{_SEARCH} --weight_decay 4e-5",
        "init_std": f"{_SEARCH} --arch_init_type normal --arch_init_ratio 1e-3",
    }
    cost: object = "macs"
    loss_type: str = "mul#log"
    reg_alpha: float = 0.2
    reg_beta: float = 0.3
    reg_lambda: float = 0.1
    target: float | None = None
    arch_lr: float = 1e-3
    arch_betas: tuple[float, float] = (0.0, 0.999)
    arch_eps: float = 1e-8
    arch_weight_decay: float = 0.0
    arch_every: int = 5
    warmup_epochs: int = 40
    weight_lr: float = 0.025
    weight_momentum: float = 0.9
    weight_decay: float = 4e-5
    init_std: float = 1e-3
    epoch: int = field(default=0, repr=False)
    steps: int = field(default=0, repr=False)
    mode: str = field(default="weights", repr=False)

    def __post_init__(self) -> None:
        if self.loss_type not in ("mul#log", "add#linear"):
            raise ValueError(f"loss_type is 'mul#log' or 'add#linear', not {self.loss_type!r}")
        if self.cost != "macs" and not callable(self.cost):
            raise ValueError(f"cost is 'macs' or a callable (op, attrs, inputs, output) -> float, not {self.cost!r}")

    def compile_options(self) -> Options:
        return Options(edges=False)

    def bind(self, supernet) -> None:
        self.cost_model = CostModel(supernet.space, None if self.cost == "macs" else self.cost)
        if self.target is None:
            uniform = {label: [1.0 / len(options)] * len(options) for label, options in self.cost_model.sizes.items()}
            self.target = float(self.cost_model.expected(lambda label: uniform[label]))

    # ---- the forward
    def selection(self, supernet, key: str):
        alpha = supernet.arch.alpha(key)
        probs = torch.softmax(alpha.detach(), dim=-1)
        if self.mode != "arch" or len(probs) < 2:
            return Path(int(torch.multinomial(probs, 1)))
        pair = torch.multinomial(probs, 2, replacement=False)
        two = torch.softmax(alpha[pair], dim=-1)
        pick = int(torch.multinomial(two.detach(), 1))
        active, inactive = int(pair[pick]), int(pair[1 - pick])
        binary = torch.zeros(2, dtype=two.dtype, device=two.device)
        binary[pick] = 1.0
        gates2 = binary - two.detach() + two  # 1 at the active option; gradients through the two-option softmax
        gates = torch.zeros_like(alpha).index_put((pair,), gates2)
        return Gated(active, inactive, gates)

    def expected_cost(self, supernet):
        """E[cost per example] (MACs by default) under softmax(α), differentiable in α."""
        return self.cost_model.expected(lambda label: torch.softmax(supernet.arch.alpha(label), dim=-1)
                                   if supernet.arch.has(label) else _one(self.cost_model.sizes[label]))

    def regularised(self, loss, cost):
        if self.loss_type == "mul#log":
            return self.reg_alpha * loss * (torch.log(cost) / torch.log(torch.tensor(self.target))) ** self.reg_beta
        return loss + self.reg_lambda * (cost - self.target) / self.target

    # ---- training
    def optimizers(self, supernet) -> Optimizers:
        weights = sgd(supernet, self.weight_lr, self.weight_momentum, self.weight_decay, nesterov=True)
        arch = torch.optim.Adam(supernet.arch_parameters(), lr=self.arch_lr, betas=self.arch_betas, eps=self.arch_eps,
                                weight_decay=self.arch_weight_decay)
        return Optimizers(weights, arch)

    def on_epoch(self, supernet, epoch: int, epochs: int) -> None:
        self.epoch = epoch

    def train_step(self, supernet, train_batch, valid_batch, optimizers: Optimizers,
                   loss_fn: LossFn = F.cross_entropy) -> StepResult:
        """A weight step on a sampled path; every ``arch_every`` steps after the warm-up, an
        architecture step with two-path binary gates and the MACs term."""
        supernet.train()
        self.mode = "weights"
        with supernet.fixed(None):  # the method's own forward, even if a path was set
            loss = weight_step(supernet, optimizers.weights, train_batch, loss_fn, None)
            self.steps += 1
            arch_loss = None
            if valid_batch is not None and self.epoch >= self.warmup_epochs and self.steps % self.arch_every == 0:
                arch_loss = self.arch_step(supernet, valid_batch, optimizers, loss_fn)
        return StepResult(loss, arch_loss)

    def arch_step(self, supernet, valid_batch, optimizers: Optimizers, loss_fn: LossFn = F.cross_entropy) -> float:
        x, y = valid_batch
        self.mode = "arch"
        try:
            optimizers.arch.zero_grad(set_to_none=True)
            loss = self.regularised(loss_fn(supernet(x), y), self.expected_cost(supernet))
            loss.backward(inputs=supernet.arch_parameters())
            optimizers.arch.step()
        finally:
            self.mode = "weights"
        return float(loss.detach())


def _one(options) -> list[float]:
    return [1.0] + [0.0] * (len(options) - 1)
