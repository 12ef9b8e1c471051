"""Mixed operations: a layer choice, and a DARTS cell node compiled edge by edge.

``MixedChoice`` holds every candidate of a layer choice with its own weights (submodules
``0``, ``1`` … as in the space) and computes, per the selection of its key:

* ``Path(i)``: candidate i alone (exactly the fixed architecture);
* ``Soft(w)``: Σ w_i · candidate_i(x) (DARTS).  Candidates that are ``Zero`` (and the added
  ``none``) contribute nothing and are not computed: their weight still enters the softmax,
  so values and gradients are those of DARTS' ``w · x.mul(0)``;
* ``Hard(i, w)``: w_i · candidate_i(x) + Σ_{j≠i} w_j, GDAS' forward (AutoDL-Projects,
  ``search_cells.py``, ``forward_gdas``): one candidate computed, every weight in the graph;
* ``Gated(a, b, g)``: candidate a with gradients, candidate b without, each through its gate
  (ProxylessNAS' two-path binary gates, ``modules/mix_op.py``).

With PC-DARTS' ``partial = K`` a mixture runs on the first C/K channels only; the rest bypass
it (max-pooled 2×2 where the edge halves the resolution) and the channels are shuffled in K
groups.  A path always runs on every channel: it is the fixed architecture.

``EdgeNode`` is a DARTS cell node ``choose(k, inputs)`` whose options are block instances
applying one searched op to each picked input and summing them.  DARTS relaxes it as the sum
of one mixed edge per candidate input, each with a ``none`` candidate; the node's ``choose``
decision is recovered from the edges by DARTS' rule (``derive``).  Under a path it runs the
picked inputs' edges with the chosen ops, which is the fixed architecture's node.

Imports torch (and the torch backend through the modules it holds); no other backend.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archlang.oneshot.graph import SuperModule, run_module
from archlang.oneshot.selection import Gated, Hard, Path, Soft


class MixedChoice(SuperModule):
    """A layer choice: candidates ``0`` … ``n-1`` (and an added ``none``), decided by ``key``.

    ``zeros``: indices of candidates that compute zeros (a ``Zero`` option, or the added none);
    ``partial``: PC-DARTS' K (1: every channel); ``shuffle``: whether partial outputs are
    channel-shuffled (they are in PC-DARTS)."""

    def __init__(self, key: str, candidates: list[nn.Module], zeros: set[int], none: nn.Module | None = None,
                 partial: int = 1) -> None:
        super().__init__()
        for i, candidate in enumerate(candidates):
            self.add_module(str(i), candidate)
        self._count = len(candidates)
        if none is not None:
            self.add_module("none", none)
            zeros = zeros | {len(candidates)}
        self._key = key
        self._zeros = frozenset(zeros)
        self._partial = partial

    @property
    def key(self) -> str:
        return self._key

    def candidate(self, index: int) -> nn.Module:
        return self._modules[str(index)] if index < self._count else self._modules["none"]

    def run_option(self, index: int, inputs, ctx):
        return run_module(self.candidate(index), inputs, ctx)

    def forward(self, *inputs, ctx):
        selection = ctx.select(self._key)
        if isinstance(selection, Path):
            return self.run_option(selection.index, inputs, ctx)
        if self._partial > 1:
            return self._partial_channels(inputs, selection, ctx)
        return self.mix(inputs, selection, ctx)

    def mix(self, inputs, selection, ctx):
        if isinstance(selection, Soft):
            total = None
            for i in range(len(selection.weights)):
                if i in self._zeros:
                    continue
                term = selection.weights[i] * self.run_option(i, inputs, ctx)
                total = term if total is None else total + term
            if total is None:  # every candidate is zero
                return self.run_option(0, inputs, ctx) * selection.weights[0]
            return total
        if isinstance(selection, Hard):
            weights = selection.weights
            out = weights[selection.index] * self.run_option(selection.index, inputs, ctx)
            others = [weights[j] for j in range(len(weights)) if j != selection.index]
            return out + sum(others) if others else out
        assert isinstance(selection, Gated)
        out = self.run_option(selection.active, inputs, ctx)
        with torch.no_grad():
            other = self.run_option(selection.inactive, inputs, ctx)
        gates = selection.gates
        return (out + (gates[selection.active] - gates[selection.active].detach()) * out.detach()
                + (gates[selection.inactive] - gates[selection.inactive].detach()) * other)

    def _partial_channels(self, inputs, selection, ctx):
        x = inputs[0]
        k = self._partial
        sampled = x.shape[1] // k
        processed = self.mix((x[:, :sampled], *inputs[1:]), selection, ctx)
        bypass = x[:, sampled:]
        if processed.shape[2:] != bypass.shape[2:]:
            bypass = F.max_pool2d(bypass, 2, 2)
        return channel_shuffle(torch.cat([processed, bypass], dim=1), k)

    def subnet(self, walk, prefix: str):
        index = walk.option(self._key)
        yield from walk.of(self.candidate(index), prefix)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle, as PC-DARTS applies it after a partial edge."""
    batch, channels = x.shape[:2]
    rest = x.shape[2:]
    x = x.view(batch, groups, channels // groups, *rest).transpose(1, 2)
    return x.reshape(batch, channels, *rest)


class PoolThenNorm(SuperModule):
    """A pooling candidate followed by a search-only ``BatchNorm(affine=False)`` (DARTS'
    ``MixedOp``: pooling has no norm of its own, the conv candidates do).  A path skips the
    norm: the fixed architecture has none."""

    def __init__(self, pool: nn.Module, norm: nn.Module) -> None:
        super().__init__()
        self.pool = pool
        self.norm = norm

    def forward(self, x, ctx):
        y = self.pool(x)
        return y if ctx.values is not None else run_module(self.norm, [y], ctx)

    def subnet(self, walk, prefix: str):
        yield from walk.of(self.pool, prefix)


class NoneOp(SuperModule):
    """DARTS' ``none``: zeros shaped like the edge's output (strided like the edge)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x, ctx):
        if self.stride == 1:
            return x.mul(0.0)
        return x[..., ::self.stride, ::self.stride].mul(0.0)

    def subnet(self, walk, prefix: str):
        return iter(())


class EdgeNode(SuperModule):
    """A DARTS cell node: one mixed edge per candidate input (``edges.<j>``).

    ``label``: the node's ``choose`` decision; ``options``: its candidates (input indices);
    ``positions``: for each picked place p, the member name and the op decision of the block
    that applies the op there (``("a", "normal.3.op0")``)."""

    def __init__(self, label: str, options: tuple, positions: tuple[tuple[str, str], ...],
                 edges: dict[int, MixedChoice]) -> None:
        super().__init__()
        self._label = label
        self._options = options
        self._positions = positions
        self.edges = nn.ModuleDict({str(j): edge for j, edge in edges.items()})
        self._keys = tuple(edge.key for edge in self.edges.values())

    def forward(self, *inputs, ctx):
        if ctx.values is not None:
            total = None
            for place, candidate in enumerate(ctx.values[self._label]):
                member, op = self._positions[place]
                j = self._options[candidate]
                y = self.edges[str(j)].run_option(ctx.values[op], (inputs[j],), ctx)
                total = y if total is None else total + y
            return total
        weights = ctx.edge_weights(self._keys)
        total = None
        for position, (j, edge) in enumerate(self.edges.items()):
            y = edge(inputs[int(j)], ctx=ctx)
            if weights is not None:
                y = y * weights[position]
            total = y if total is None else total + y
        return total

    def subnet(self, walk, prefix: str):
        for place, candidate in enumerate(walk.values[self._label]):
            member, op = self._positions[place]
            edge = self.edges[str(self._options[candidate])]
            yield from walk.of(edge.candidate(walk.values[op]), prefix + member + ".")

    @property
    def label(self) -> str:
        return self._label

    @property
    def positions(self) -> tuple[tuple[str, str], ...]:
        return self._positions

    @property
    def options(self) -> tuple:
        return self._options
