"""Random search: every proposal a uniform sample of the space.  Never imports torch."""

from __future__ import annotations

from archlang.nas.strategies.base import Context, Proposal, Strategy


class RandomSearch(Strategy):
    name = "random"

    def propose(self, ctx: Context) -> Proposal:
        return Proposal(ctx.space.sample(ctx.rng))
