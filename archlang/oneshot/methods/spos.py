"""SPOS: single-path one-shot — uniform single-path training, then an evolutionary search over
the trained supernet with inherited weights and recalibrated batch norms.

Guo et al., "Single Path One-Shot Neural Architecture Search with Uniform Sampling", ECCV 2020;
code github.com/megvii-model/SinglePathOneShot (``src/Supernet/train.py``,
``src/Search/search.py``).  Each training step samples an architecture uniformly from the space
(archlang's sampler is uniform over architectures, conditional decisions included, and honours
the spec's constraints) and trains the weights on it alone.  The search (``evolve``) keeps a
population, scores each new candidate with its inherited weights after recomputing the batch
norms' statistics on training batches, and breeds the best by mutation (each decision redrawn
with probability ``mutation_prob``) and crossover.

Imports torch.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from archlang.errors import SpaceError
from archlang.nas.assignment import Assignment
from archlang.oneshot.compile import Options
from archlang.oneshot.elastic import ElasticBatchNorm
from archlang.oneshot.methods.base import LossFn, Method, Optimizers, StepResult, sgd, weight_step

_TRAIN = "SinglePathOneShot src/Supernet/train.py"
_SEARCH = "SinglePathOneShot src/Search/search.py"


@dataclass
class SPOS(Method):
    """Single-path one-shot: uniform path sampling, evolutionary search afterwards."""

    name: ClassVar[str] = "spos"
    relaxed: ClassVar[bool] = False
    SOURCES: ClassVar[dict[str, str]] = {
        "weight_lr": f"{_TRAIN} --learning-rate 0.5 (batch 1024; linear decay)",
        "weight_momentum": f"{_TRAIN} --momentum 0.9", "weight_decay": f"{_TRAIN} --weight-decay 4e-5",
        "population": f"{_SEARCH} --population-num 50", "iterations": f"{_SEARCH} --max-epochs 20",
        "parents": f"{_SEARCH} --select-num 10", "mutations": f"{_SEARCH} --mutation-num 25",
        "crossovers": f"{_SEARCH} --crossover-num 25", "mutation_prob": f"{_SEARCH} --m_prob 0.1",
        "calibration_images": "paper: batch norms recomputed on a random subset of 20,000 ImageNet training "
                              "images (capped at one pass over the training batches)",
        "calibration_batches": f"archlang: an optional cap in batches; {_SEARCH} --max-train-iters 200",
        "seed": "archlang: the sampler's seed (None: nondeterministic)",
    }
    weight_lr: float = 0.5
    weight_momentum: float = 0.9
    weight_decay: float = 4e-5
    population: int = 50
    iterations: int = 20
    parents: int = 10
    mutations: int = 25
    crossovers: int = 25
    mutation_prob: float = 0.1
    calibration_images: int = 20_000
    calibration_batches: int | None = None
    seed: int | None = None
    init_std: float = field(default=0.0, repr=False)  # no architecture parameters
    best: Assignment | None = field(default=None, repr=False)
    history: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def compile_options(self) -> Options:
        return Options()

    def sample_path(self, supernet) -> Assignment:
        return supernet.space.sample(self._rng)

    def optimizers(self, supernet) -> Optimizers:
        return Optimizers(sgd(supernet, self.weight_lr, self.weight_momentum, self.weight_decay))

    def scheduler(self, optimizers: Optimizers, epochs: int):
        """SPOS decays the learning rate linearly to 0."""
        return torch.optim.lr_scheduler.LambdaLR(optimizers.weights, lambda epoch: max(0.0, 1 - epoch / epochs))

    def train_step(self, supernet, train_batch, valid_batch, optimizers: Optimizers,
                   loss_fn: LossFn = F.cross_entropy) -> StepResult:
        """One weight step on one uniformly sampled architecture."""
        supernet.train()
        with supernet.fixed(supernet.space.sample(self._rng)):
            loss = weight_step(supernet, optimizers.weights, train_batch, loss_fn, None)
        return StepResult(loss)

    def derive(self, supernet) -> Assignment:
        if self.best is None:
            raise SpaceError("SPOS derives its architecture by an evolutionary search: run "
                             "supernet.method.evolve(supernet, score, calibration) first", supernet.space.model.graph.span)
        return self.best

    # ---- the search
    def evolve(self, supernet, score: Callable[[object], float], calibration, *, log=None) -> list:
        """SPOS' evolutionary search over the trained supernet.

        ``score(supernet)`` rates the architecture the supernet is fixed to (higher is better,
        e.g. validation accuracy; it is called in eval mode, under ``torch.inference_mode``);
        ``calibration``: training batches (inputs, or (inputs, targets) pairs) on which the batch
        norms' statistics are recomputed for every candidate (``calibration_set``: whole batches
        until ``calibration_images``, at most ``calibration_batches``).  A candidate is rated
        once.  Returns ``[(assignment, score)]`` best first; ``best`` (and ``derive``) is the first."""
        space, rng = supernet.space, self._rng
        calibration = self.calibration_set(calibration)
        norms = batch_norms(supernet)
        scores: dict[tuple, tuple[Assignment, float]] = {}
        candidates = self._random(space, rng, self.population, scores)
        saved = {name: b.detach().clone() for name, b in supernet.named_buffers()}
        try:
            for iteration in range(self.iterations):
                for candidate in candidates:
                    rating = self._rate(supernet, candidate, score, calibration, norms)
                    scores[candidate.dumps()] = (candidate, rating)
                ranked = sorted(scores.values(), key=lambda item: -item[1])
                parents = [a for a, _ in ranked[:self.parents]]
                if log is not None:
                    log(iteration, ranked[0])
                children = self._mutants(space, rng, parents, scores) + self._crossovers(space, rng, parents, scores)
                children += self._random(space, rng, self.population - len(children), scores, children)
                candidates = children
        finally:
            with torch.no_grad():
                for name, buffer in supernet.named_buffers():
                    buffer.copy_(saved[name])
        ranked = sorted(scores.values(), key=lambda item: -item[1])
        self.best = ranked[0][0]
        self.history = ranked
        return ranked

    def calibration_set(self, batches) -> list:
        """The recalibration batches: whole batches, in order, until they hold
        ``calibration_images`` images (the paper's 20,000; all of them when the training data
        has fewer), and at most ``calibration_batches`` batches when that is set."""
        limit = math.inf if self.calibration_batches is None else self.calibration_batches
        chosen, images, batches = [], 0, iter(batches)
        while images < self.calibration_images and len(chosen) < limit:
            batch = next(batches, None)
            if batch is None:
                break
            chosen.append(batch)
            images += len(batch[0] if isinstance(batch, (tuple, list)) else batch)
        return chosen

    def _rate(self, supernet, candidate: Assignment, score, calibration, norms) -> float:
        with supernet.fixed(candidate):
            recalibrate(supernet, calibration, norms)
            supernet.eval()
            with torch.inference_mode():
                value = float(score(supernet))
            supernet.train()
        return value

    def _random(self, space, rng, count: int, seen: dict, extra=()) -> list[Assignment]:
        found, keys = [], {a.dumps() for a in extra}
        for _ in range(max(count, 0) * 20):
            if len(found) >= count:
                break
            candidate = space.sample(rng)
            if candidate.dumps() not in seen and candidate.dumps() not in keys:
                found.append(candidate)
                keys.add(candidate.dumps())
        return found

    def _mutants(self, space, rng, parents, seen: dict) -> list[Assignment]:
        found, keys = [], set()
        for _ in range(self.mutations * 10):
            if len(found) >= self.mutations or not parents:
                break
            child = mutate(space, rng.choice(parents), rng, self.mutation_prob)
            if child.dumps() not in seen and child.dumps() not in keys and space.feasible(child):
                found.append(child)
                keys.add(child.dumps())
        return found

    def _crossovers(self, space, rng, parents, seen: dict) -> list[Assignment]:
        found, keys = [], set()
        for _ in range(self.crossovers * 10):
            if len(found) >= self.crossovers or len(parents) < 2:
                break
            a, b = rng.sample(parents, 2)
            child = space.crossover(a, b, rng)
            if child.dumps() not in seen and child.dumps() not in keys and space.feasible(child):
                found.append(child)
                keys.add(child.dumps())
        return found


def mutate(space, parent: Assignment, rng: random.Random, probability: float) -> Assignment:
    """Each active decision redrawn (uniformly over its options) with ``probability``; a
    decision that becomes active under a changed one is drawn uniformly too."""
    tree = space.tree
    values = dict(parent.values)
    pending = list(tree.roots)
    result: dict = {}
    while pending:
        decision = pending.pop(0)
        if decision.label not in values or rng.random() < probability:
            index = rng.randrange(decision.arity)
            if decision.label in values and decision.index(values[decision.label]) != index:
                _drop_subtree(decision, values)
            values[decision.label] = decision.value(index)
        result[decision.label] = values[decision.label]
        pending = decision.under(decision.index(values[decision.label])) + pending
    return Assignment(result, space.hash)


def _drop_subtree(decision, values: dict) -> None:
    for group in decision.children.values():
        for child in group:
            values.pop(child.label, None)
            _drop_subtree(child, values)


def batch_norms(module: nn.Module) -> list[nn.Module]:
    """The batch norms of ``module`` that keep running statistics."""
    return [m for m in module.modules()
            if isinstance(m, (nn.modules.batchnorm._BatchNorm, ElasticBatchNorm)) and _tracks(m)]


def recalibrate(module: nn.Module, batches, norms: list[nn.Module] | None = None) -> None:
    """Recompute every batch norm's running statistics as the plain average over ``batches``
    (forward passes in train mode, without autograd), as SPOS does before rating a candidate.
    ``norms``: ``batch_norms(module)``, when the caller has it already."""
    norms = batch_norms(module) if norms is None else norms
    momenta = []
    for norm in norms:
        momenta.append(_momentum(norm))
        _reset(norm)
        _set_momentum(norm, None)  # cumulative average
    module.train()
    try:
        with torch.inference_mode():
            for batch in batches:
                inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
                module(inputs)
    finally:
        for norm, momentum in zip(norms, momenta):
            _set_momentum(norm, momentum)


def _tracks(norm) -> bool:
    return getattr(norm, "running_mean", None) is not None


def _momentum(norm):
    return norm.attrs.get("momentum") if isinstance(norm, ElasticBatchNorm) else norm.momentum


def _set_momentum(norm, value) -> None:
    if isinstance(norm, ElasticBatchNorm):
        norm.attrs = {**norm.attrs, "momentum": value}
    else:
        norm.momentum = value


def _reset(norm) -> None:
    norm.running_mean.zero_()
    norm.running_var.fill_(1)
    norm.num_batches_tracked.zero_()
