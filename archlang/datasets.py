"""Small datasets shipped with a dependency, for the objectives, the proxies and the supernet
command's ``--data digits``: scikit-learn's 1,797 handwritten 8×8 digits (no download), a
fixed stratified train/validation split, standardised with the training statistics.

A leaf: imports torch (callers import it only when their command runs) and scikit-learn when
asked for the digits; nothing of archlang.
"""

from __future__ import annotations

import functools

import torch

CLASSES = 10
VALIDATION = 0.2  # of each class, held out
SPLIT_SEED = 0


@functools.lru_cache(maxsize=1)
def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_val, y_val): x as [N, 1, 8, 8] float32, standardised.  Raises
    ImportError without scikit-learn (each caller words it for its user)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    y = torch.tensor(data.target, dtype=torch.long)
    train, val = split(y)
    mean, std = x[train].mean(), x[train].std()
    x = (x - mean) / std
    return x[train], y[train], x[val], y[val]


def split(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A stratified split with a fixed seed: VALIDATION of every class held out."""
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    train, val = [], []
    for c in range(CLASSES):
        members = (y == c).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        cut = round(len(members) * VALIDATION)
        val.append(members[:cut]), train.append(members[cut:])
    return torch.cat(train).sort().values, torch.cat(val).sort().values
