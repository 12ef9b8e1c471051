"""PC-DARTS: partial-channel connections and edge normalisation on top of the DARTS supernet.

Rebuilt in plain PyTorch from Xu, Xie, Zhang, Chen, Qi, Tian & Xiong, "PC-DARTS: Partial Channel
Connections for Memory-Efficient Architecture Search" (ICLR 2020) and its public code,
github.com/yuhuixu1993/PC-DARTS, file ``model_search.py`` (its ``operations.py``, ``genotypes.py``
and ``architect.py`` are identical in substance to DARTS', so they are reused from ``darts.py``).

Two changes to DARTS:

* **Partial channel connections** (``PartialChannelMixedOp``): on every edge only the first
  ``C / K`` channels go through the mixed operation; the other ``C - C/K`` bypass it unchanged
  (downsampled by a 2x2 max-pool on stride-2 edges), the two parts are concatenated and the
  channels shuffled with ``K`` groups so that a different slice is sampled by the next edge.
  Memory for the candidate ops shrinks by about ``K`` (default ``K = 4``, CIFAR-10 setting).
* **Edge normalisation** (``PCDartsNetwork``): a scalar ``beta`` per edge; each node's incoming
  edges are scaled by the softmax of their betas over that node's in-edges. The genotype ranks
  edges by softmax(alpha) x normalised beta, which stabilises the choice of edges that partial
  channel sampling makes noisy.

Search defaults from PC-DARTS ``train_search.py`` (CIFAR-10): batch 256, weight SGD lr 0.1
(cosine to 0), momentum 0.9, weight decay 3e-4; alpha/beta Adam lr 6e-4, betas (0.5, 0.999),
weight decay 1e-3; architecture updates start at epoch 15 of 50; first-order by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

from .darts import INIT_CHANNELS, LAYERS, NUM_CLASSES, PRIMITIVES, MixedOp, Network, edge_inputs

#: Channel proportion 1/K of the paper; K = 4 on CIFAR-10 (hard-coded ``self.k = 4`` in the code).
PARTIAL_CHANNELS = 4
#: PC-DARTS train_search.py defaults that differ from DARTS'.
BATCH_SIZE, WEIGHT_LR, WEIGHT_LR_MIN, ARCH_LR, ARCH_WARMUP_EPOCHS = 256, 0.1, 0.0, 6e-4, 15


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet channel shuffle: (groups, C/groups) -> (C/groups, groups) channel order."""
    batch, channels, height, width = x.shape
    x = x.view(batch, groups, channels // groups, height, width).transpose(1, 2)
    return x.reshape(batch, channels, height, width)


class PartialChannelMixedOp(nn.Module):
    """A DARTS MixedOp applied to 1/K of the channels; the rest bypass the edge."""

    def __init__(self, C: int, stride: int, k: int = PARTIAL_CHANNELS,
                 primitives: Sequence[str] = PRIMITIVES) -> None:
        super().__init__()
        self.k = k
        self.stride = stride
        self.mixed = MixedOp(C // k, stride, primitives)
        # The bypassed channels must match the sampled ones' resolution on reduction edges.
        self.bypass_pool = nn.MaxPool2d(2, 2)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        if self.k == 1:  # nothing bypasses and a 1-group shuffle is the identity: plain DARTS
            return self.mixed(x, weights)
        sampled = x.shape[1] // self.k
        processed = self.mixed(x[:, :sampled], weights)
        bypass = x[:, sampled:]
        if self.stride != 1:
            bypass = self.bypass_pool(bypass)
        return channel_shuffle(torch.cat([processed, bypass], dim=1), self.k)


def normalise_edges(betas: torch.Tensor, steps: int) -> torch.Tensor:
    """Softmax of the per-edge betas over the incoming edges of each intermediate node."""
    chunks, start = [], 0
    for node in range(steps):
        chunks.append(F.softmax(betas[start:start + node + 2], dim=-1))
        start += node + 2
    return torch.cat(chunks)


class PCDartsNetwork(Network):
    """The DARTS search network with partial-channel edges and edge normalisation.

    Adds ``betas_normal``/``betas_reduce`` of shape (14,), initialised ``1e-3 * randn`` after
    the alphas (same order as the original, so a seed gives the same initial values).
    """

    def __init__(self, C: int = INIT_CHANNELS, num_classes: int = NUM_CLASSES, layers: int = LAYERS,
                 k: int = PARTIAL_CHANNELS, steps: int = 4, multiplier: int = 4, stem_multiplier: int = 3,
                 primitives: Sequence[str] = PRIMITIVES) -> None:
        super().__init__(C, num_classes, layers, steps, multiplier, stem_multiplier, primitives,
                         edge_factory=partial(PartialChannelMixedOp, k=k, primitives=tuple(primitives)))
        self.k = k
        num_edges = len(edge_inputs(steps))
        self.betas_normal = nn.Parameter(1e-3 * torch.randn(num_edges))
        self.betas_reduce = nn.Parameter(1e-3 * torch.randn(num_edges))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas_normal, self.alphas_reduce, self.betas_normal, self.betas_reduce]

    def cell_weights(self, reduction: bool) -> tuple[torch.Tensor, torch.Tensor]:
        op_weights, _ = super().cell_weights(reduction)
        betas = self.betas_reduce if reduction else self.betas_normal
        return op_weights, normalise_edges(betas, self.steps)

    def edge_strengths(self, reduction: bool) -> torch.Tensor:
        """softmax(alpha) of each edge scaled by its normalised beta (PC-DARTS genotype rule)."""
        op_weights = super().edge_strengths(reduction)
        betas = (self.betas_reduce if reduction else self.betas_normal).detach()
        return op_weights * normalise_edges(betas, self.steps).unsqueeze(1)
