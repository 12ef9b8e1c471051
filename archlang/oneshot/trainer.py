"""One training loop for every one-shot method: epochs over the method's hooks, a checkpoint
per epoch, resumption, data parallelism, and the derived architecture at the end.

    result = train(net, train_loader, valid_loader, Run(epochs=50, seed=0, out=Path("out"), config=…))
    result.assignment, result.history

An epoch: ``method.on_epoch``, then ``method.train_step`` on each training batch with a
validation batch (the relaxed methods' architecture step; the validation loader is cycled),
the weight schedule's step, the loss and accuracy of the method's forward on the validation
batches, and the architecture weights (softmax of each vector).  After every epoch
``DIR/checkpoint.pt`` holds all of the run's state (``checkpoint``); a run started again with
the same command continues after the last complete epoch and, on CPU, ends bit for bit where
an uninterrupted run ends.  SPOS then searches its trained supernet by evolution
(``SPOS.evolve``), candidates rated by validation accuracy after batch-norm recalibration
on training batches.  Under ``torchrun`` each rank takes every ``world``-th batch and the
gradients are averaged (``distributed``); rank 0 writes.  Imports torch.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from archlang import files
from archlang.nas.assignment import Assignment
from archlang.oneshot import checkpoint
from archlang.oneshot.distributed import Distributed


@dataclass(frozen=True)
class Run:
    """How to train: ``epochs``, the ``seed`` the run started from, the output folder ``out``
    (the checkpoint lives there), ``config`` (what a resumed run must match) and at most
    ``limit_batches`` training (and validation) batches per epoch."""

    epochs: int
    seed: int
    out: Path
    config: dict = field(default_factory=dict)
    limit_batches: int | None = None


@dataclass
class Result:
    """The derived architecture, the per-epoch history, SPOS' ranked candidates
    (``[(assignment, score)]``, best first; empty for the relaxed methods), the epochs that
    were already done when this process started, and whether all ranks ended identical."""

    assignment: Assignment | None
    history: list[dict]
    evolution: list = field(default_factory=list)
    resumed_from: int = 0
    in_sync: bool = True


class Progress:
    """What the loop reports; this one reports nothing (the CLI draws a bar or prints lines)."""

    def begin(self, epochs: int, steps: int | None, done: int) -> None: ...
    def step(self, epoch: int, step: int, loss: float) -> None: ...
    def end_epoch(self, record: dict) -> None: ...
    def note(self, text: str) -> None: ...


def train(net, train_loader, valid_loader, run: Run, *, progress: Progress | None = None,
          distributed: Distributed | None = None) -> Result:
    """Train ``net`` (a ``Supernet``) for ``run.epochs``, resuming from ``run.out``'s checkpoint."""
    return Trainer(net, train_loader, valid_loader, run, progress or Progress(), distributed or Distributed()).fit()


class Trainer:
    def __init__(self, net, train_loader, valid_loader, run: Run, progress: Progress, distributed: Distributed):
        self.net, self.run, self.progress, self.dist = net, run, progress, distributed
        self.train_loader, self.valid_loader = train_loader, valid_loader
        self.optimizers = net.method.optimizers(net)
        self.scheduler = net.method.scheduler(self.optimizers, run.epochs)
        self.history: list[dict] = []
        self.dist.setup(net, self.optimizers)

    @property
    def path(self) -> Path:
        return self.run.out / checkpoint.NAME

    def fit(self) -> Result:
        if self.dist.main:
            files.make_folder(self.run.out)
        self.dist.barrier()
        done = self.resume()
        self.progress.begin(self.run.epochs, self.steps(), done)
        for epoch in range(done, self.run.epochs):
            self.history.append(self.epoch(epoch))
            self.save(epoch + 1)
            self.progress.end_epoch(self.history[-1])
        in_sync = self.dist.same_everywhere(self.net)
        evolution = self.evolve() if not self.net.method.relaxed and self.dist.main else []
        assignment = self.net.derive() if self.dist.main else None
        self.dist.barrier()
        return Result(assignment, self.history, evolution, done, in_sync)

    # ---- checkpoints
    def resume(self) -> int:
        """Load the last complete epoch's state, if a checkpoint is there; the epochs done."""
        state = checkpoint.load(self.path, self.run.config)
        if state is None:
            return 0
        self.net.load_state_dict(state["supernet"])
        self.optimizers.weights.load_state_dict(state["optimizers"]["weights"])
        if self.optimizers.arch is not None:
            self.optimizers.arch.load_state_dict(state["optimizers"]["arch"])
        self.scheduler.load_state_dict(state["scheduler"])
        checkpoint.set_method_state(self.net.method, state["method"])
        checkpoint.set_rng_state(state["rng"], (self.train_loader, self.valid_loader))
        self.history = list(state["history"])
        self.progress.note(f"resumed from {self.path} after epoch {state['epoch']} of {self.run.epochs}")
        return state["epoch"]

    def save(self, epochs_done: int) -> None:
        if self.dist.main:
            checkpoint.save(self.path, {
                "config": self.run.config, "epoch": epochs_done, "supernet": self.net.state_dict(),
                "optimizers": {"weights": self.optimizers.weights.state_dict(),
                               "arch": self.optimizers.arch.state_dict() if self.optimizers.arch else None},
                "scheduler": self.scheduler.state_dict(), "method": checkpoint.method_state(self.net.method),
                "rng": checkpoint.rng_state((self.train_loader, self.valid_loader)), "history": self.history,
            })
        self.dist.barrier()

    # ---- one epoch
    def epoch(self, epoch: int) -> dict:
        net, method = self.net, self.net.method
        started = time.perf_counter()
        method.on_epoch(net, epoch, self.run.epochs)
        lr = self.optimizers.weights.param_groups[0]["lr"]
        losses, arch_losses = [], []
        for step, (train_batch, valid_batch) in enumerate(self.batches()):
            result = method.train_step(net, train_batch, valid_batch, self.optimizers)
            losses.append(result.loss)
            if result.arch_loss is not None:
                arch_losses.append(result.arch_loss)
            self.progress.step(epoch, step, result.loss)
        self.scheduler.step()
        self.dist.broadcast_buffers(net)
        valid_loss, valid_accuracy = self.validate()
        return {"epoch": epoch + 1, "lr": lr, "steps": len(losses), "train_loss": _mean(losses),
                "arch_loss": _mean(arch_losses), "valid_loss": valid_loss, "valid_accuracy": valid_accuracy,
                "arch_weights": self.arch_weights(), "seconds": round(time.perf_counter() - started, 3)}

    def batches(self):
        """This rank's (training batch, validation batch) pairs of one epoch: of every
        ``world`` consecutive batches, the rank's own; no validation batch for SPOS."""
        valid = _cycle(self.valid_loader) if self.net.method.relaxed else itertools.repeat(None)
        pairs = zip(self._limited(self.train_loader), valid)
        while True:
            group = list(itertools.islice(pairs, self.dist.world))
            if len(group) < self.dist.world:
                return
            yield group[self.dist.rank]

    def steps(self) -> int | None:
        """Steps per epoch, when the training loader knows its length."""
        try:
            total = len(self.train_loader)
        except TypeError:
            return None if self.run.limit_batches is None else self.run.limit_batches // self.dist.world
        if self.run.limit_batches is not None:
            total = min(total, self.run.limit_batches)
        return total // self.dist.world

    def _limited(self, loader):
        return itertools.islice(loader, self.run.limit_batches)

    @torch.no_grad()
    def validate(self) -> tuple[float | None, float | None]:
        """Loss and accuracy of the method's forward (eval mode) on the validation batches."""
        self.net.eval()
        loss, correct, count = 0.0, 0, 0
        try:
            for inputs, targets in self._limited(self.valid_loader):
                logits = self.net(inputs)
                loss += float(F.cross_entropy(logits, targets, reduction="sum"))
                correct += int((logits.argmax(-1) == targets).sum())
                count += len(targets)
        finally:
            self.net.train()
        return (loss / count, correct / count) if count else (None, None)

    def arch_weights(self) -> dict[str, list[float]]:
        """Each architecture vector's softmax, by key (empty for SPOS)."""
        if not self.net.method.relaxed:
            return {}
        return {key: torch.softmax(self.net.arch.alpha(key).detach(), -1).tolist() for key in self.net.arch.keys
                if self.net.arch.has(key)}

    # ---- SPOS
    def evolve(self) -> list:
        """SPOS' evolutionary search: candidates rated by validation accuracy (in eval mode,
        batch norms recalibrated on training batches first)."""
        method = self.net.method
        valid = score_chunks(list(self._limited(self.valid_loader)))
        calibration = method.calibration_set(batch[0] for batch in self.train_loader)
        self.progress.note(_search_budget(method, calibration, valid))

        def accuracy(supernet) -> float:
            correct = sum(int((supernet(x).argmax(-1) == y).sum()) for x, y in valid)
            return correct / max(1, sum(len(y) for _, y in valid))

        def log(iteration: int, best) -> None:
            self.progress.note(f"evolution {iteration + 1}/{method.iterations}: best accuracy {best[1]:.4f}")

        return method.evolve(self.net, accuracy, calibration, log=log)


SCORE_CHUNK = 1024  # images per forward when rating a candidate: few calls, bounded memory


def score_chunks(batches: list) -> list:
    """The validation batches regrouped into few large ``(inputs, targets)`` tensors of at
    most ``SCORE_CHUNK`` images (a batch larger than that stays whole), in order.  In eval mode
    every image's logits do not depend on its batch, so the accuracy is the batches'; the
    search rates each candidate with a handful of forward calls instead of one per batch."""
    chunks, group = [], []
    for inputs, targets in batches:
        if group and (sum(len(y) for _, y in group) + len(targets) > SCORE_CHUNK
                      or inputs.shape[1:] != group[0][0].shape[1:]):
            chunks.append(_concatenated(group))
            group = []
        group.append((inputs, targets))
    if group:
        chunks.append(_concatenated(group))
    return chunks


def _concatenated(group: list) -> tuple:
    if len(group) == 1:
        return group[0]
    return torch.cat([x for x, _ in group]), torch.cat([y for _, y in group])


def _search_budget(method, calibration: list, valid: list) -> str:
    """What the search will cost, said before it starts (the CLI shows it)."""
    images = sum(len(x) for x in calibration)
    rated = sum(len(y) for _, y in valid)
    return (f"evolution: population {method.population}, {method.iterations} iterations "
            f"(at most {method.population * method.iterations:,} candidates); each recalibrated on "
            f"{images:,} training images ({len(calibration)} batches) and rated on {rated:,} validation images")


def _cycle(loader):
    """The loader's batches, started again whenever they run out."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            return


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None
