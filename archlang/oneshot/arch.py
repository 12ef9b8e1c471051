"""Architecture parameters: one logit vector per key, and PC-DARTS' edge weights.

Keys come from the compiler (``compile.Key``): a decision's label, shared by every place that
decision governs (NAS-Bench-201's six edges in all fifteen cells: six vectors), or
``label[j]`` for edge j of a DARTS cell node.  ``alpha(key)`` is the vector (as many entries as
the key has options, DARTS' ``none`` included); ``beta(key)`` a scalar per edge for PC-DARTS'
edge normalisation.  Both are initialised ``std · N(0, 1)`` (DARTS: 1e-3 · randn) after every
weight of the supernet, so a seed gives the same weights with or without them.

Imports torch only.
"""

from __future__ import annotations

import torch
from torch import nn


class ArchParameters(nn.Module):
    """The architecture parameters of a supernet, by key."""

    def __init__(self, arities: dict[str, int], beta_keys: tuple[str, ...] = (), std: float = 1e-3) -> None:
        super().__init__()
        self.keys = tuple(arities)
        self.beta_keys = tuple(beta_keys)
        self.alphas = nn.ParameterList([nn.Parameter(std * torch.randn(n)) for n in arities.values()])
        self.betas = nn.ParameterList([nn.Parameter(std * torch.randn(())) for _ in self.beta_keys])
        self._alpha = {key: i for i, key in enumerate(self.keys)}
        self._beta = {key: i for i, key in enumerate(self.beta_keys)}

    def alpha(self, key: str) -> nn.Parameter:
        return self.alphas[self._alpha[key]]

    def has(self, key: str) -> bool:
        return key in self._alpha

    def beta(self, key: str) -> nn.Parameter:
        return self.betas[self._beta[key]]

    def has_beta(self, key: str) -> bool:
        return key in self._beta

    def extra_repr(self) -> str:
        return f"{len(self.keys)} keys, {len(self.beta_keys)} edge weights"
