"""Data-parallel training of a supernet under ``torchrun``: every rank holds the whole
supernet, takes its share of each epoch's batches, and the gradients are averaged across
ranks before every optimiser step — what ``DistributedDataParallel`` does, done at the
optimiser rather than in the module's backward pass.

Why not the ``DistributedDataParallel`` wrapper itself: the methods call the supernet's own
API (``fixed`` paths, ``weight_parameters``, ``functional_call`` for DARTS' second order) and
compute the architecture gradients with ``torch.autograd.grad``, which DDP's reducer never
sees.  A hook on each optimiser's step (``register_step_pre_hook``) averages whatever
gradients the method left, weights and architecture alike, with one ``all_reduce`` per step.
A parameter no rank used keeps no gradient, so every rank takes the same step; all ranks
draw the same paths (same seeds), so their supernets stay identical.  Batch-norm statistics
are made rank 0's at every epoch end (DDP broadcasts them at every forward).

``Distributed.from_env()`` joins the process group torchrun describes (gloo on CPU, NCCL on
CUDA); without torchrun it is a single process.  Imports torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Distributed:
    """This process's place among the ranks (``world == 1``: a single process)."""

    rank: int = 0
    world: int = 1

    @classmethod
    def from_env(cls) -> "Distributed":
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return cls(dist.get_rank(), dist.get_world_size())

    @property
    def main(self) -> bool:
        """Whether this process writes the files (rank 0)."""
        return self.rank == 0

    def share(self, index: int) -> bool:
        """Whether batch ``index`` of a step sequence is this rank's."""
        return index % self.world == self.rank

    def setup(self, net: torch.nn.Module, optimizers) -> None:
        """Start every rank from rank 0's state; average gradients before each step."""
        if self.world == 1:
            return
        self.broadcast(net)
        for optimizer in (optimizers.weights, optimizers.arch):
            if optimizer is not None:
                optimizer.register_step_pre_hook(lambda opt, args, kwargs: self.average_gradients(opt))

    def broadcast(self, net: torch.nn.Module) -> None:
        """Every parameter and buffer of ``net`` as rank 0 has it."""
        if self.world == 1:
            return
        with torch.no_grad():
            for tensor in list(net.parameters()) + list(net.buffers()):
                dist.broadcast(tensor.data, src=0)

    def broadcast_buffers(self, net: torch.nn.Module) -> None:
        """Batch-norm statistics (every buffer) as rank 0 has them."""
        if self.world == 1:
            return
        with torch.no_grad():
            for buffer in net.buffers():
                dist.broadcast(buffer.data, src=0)

    def average_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if not params:
            return
        used = torch.tensor([float(p.grad is not None) for p in params])
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
        dist.all_reduce(used)
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for p, count in zip(params, used.tolist()):
            n = p.numel()
            p.grad = flat[offset:offset + n].view_as(p).clone() if count > 0 else None
            offset += n

    def same_everywhere(self, net: torch.nn.Module) -> bool:
        """Whether every rank holds exactly rank 0's parameters (a checksum comparison)."""
        if self.world == 1:
            return True
        with torch.no_grad():
            total = torch.stack([p.double().sum() for p in net.parameters()]).sum().reshape(1)
            gathered = [torch.zeros_like(total) for _ in range(self.world)]
            dist.all_gather(gathered, total)
        return all(torch.equal(g, gathered[0]) for g in gathered)

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()
