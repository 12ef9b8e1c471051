"""Regularized (aging) evolution (Real et al., 2019).

The population is the P most recent complete evaluations of the study (so it survives a
restart and is shared by all workers); until there are P, proposals are random.  Each cycle
samples S members, takes the best (several objectives: a random non-dominated one) and
mutates it (``space.mutate``: one active decision changed).  A new child enters the
population by being evaluated; the oldest leaves by no longer being among the P most recent.
Failed children never enter.  Never imports torch.
"""

from __future__ import annotations

from archlang.nas.strategies.base import Context, Proposal, Strategy
from archlang.nas.study import best_of


class Evolution(Strategy):
    name = "evolution"

    def __init__(self, space, population: int = 50, tournament: int = 10) -> None:
        super().__init__(space)
        if not 1 <= tournament <= population:
            raise ValueError("evolution needs 1 <= tournament <= population")
        self.population = population
        self.tournament = tournament

    def propose(self, ctx: Context) -> Proposal:
        complete = ctx.history.complete()
        if len(complete) < self.population:
            return Proposal(ctx.space.sample(ctx.rng))
        population = complete[-self.population:]
        contenders = ctx.rng.sample(population, self.tournament)
        parent = best_of(contenders, ctx.history.sign, ctx.rng)
        return Proposal(ctx.space.mutate(parent.assignment(), ctx.rng))
