"""A fixed architecture's weights, taken out of a supernet: ``subnet_state_dict``.

The walk goes down the supernet's modules with the assignment: a mixed choice gives its chosen
candidate (under the choice's own name, so ``node3.1.a.3.op.1.weight`` becomes
``node3.a.op.1.weight``, the fixed model's key), a searched-length sequence its first items,
a weight-entangled layer the slices of its largest weights at the chosen sizes, a DARTS edge
node the chosen op of each picked edge.  Decision-free modules give their state dict as is.
Batch norms built without affine parameters for the search get weight 1 and bias 0, which is
what they computed.  The result loads with ``strict=True`` into the fixed model's module.

Imports torch; no backend of its own (the modules it reads are the supernet's).
"""

from __future__ import annotations

import torch
from torch import nn

from archlang.oneshot.elastic import Elastic
from archlang.oneshot.graph import SuperModule


class Walk:
    """One assignment's walk: ``values`` (label -> value) and ``env`` (symbol values)."""

    def __init__(self, values: dict, env: dict, decisions: dict) -> None:
        self.values = values
        self.env = env
        self.decisions = decisions

    def option(self, label: str) -> int:
        """The option index decision ``label`` takes."""
        return self.decisions[label].index(self.values[label])

    def of(self, module: nn.Module, prefix: str):
        if isinstance(module, Elastic):
            state = module.state_at(self.env)
            if getattr(module, "filled_affine", False):
                state = {**_affine_fill(module.state_at(self.env)["running_mean"]), **state}
            for name, tensor in state.items():
                yield prefix + name, tensor
        elif isinstance(module, SuperModule):
            yield from module.subnet(self, prefix)
        else:
            yield from fixed_state(module, prefix)


def fixed_state(module: nn.Module, prefix: str):
    """A decision-free module's state dict, with the affine parameters its search batch norms
    leave out (weight 1, bias 0) put back."""
    filled = {name for name, sub in module.named_modules() if getattr(sub, "filled_affine", False)}
    for name, tensor in module.state_dict(prefix=prefix, keep_vars=True).items():
        owner = name[len(prefix):].rpartition(".")[0]
        if owner in filled and name.endswith(".running_mean" if owner else "running_mean"):
            for key, value in _affine_fill(tensor).items():
                yield prefix + (owner + "." if owner else "") + key, value
        yield name, tensor


def _affine_fill(like: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"weight": torch.ones_like(like), "bias": torch.zeros_like(like)}


def state_dict(supernet_root: nn.Module, values: dict, env: dict, decisions: dict) -> dict[str, torch.Tensor]:
    """The fixed architecture's state dict: detached copies of the supernet's tensors."""
    walk = Walk(values, env, decisions)
    return {key: tensor.detach().clone() for key, tensor in walk.of(supernet_root, "")}
