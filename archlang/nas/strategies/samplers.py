"""Strategies that are Optuna samplers: TPE and NSGA-II over the space's decision tree.

The sampler proposes inside a trial (``ask``); ``distributions.suggest`` walks the decision
tree so only active decisions are suggested.  The trial is asked in the worker's in-memory
mirror of the study (``mirror``), and the proposal carries it for the engine to create in the
storage in one write.  Never imports torch.
"""

from __future__ import annotations

import warnings

import optuna

from archlang.nas.strategies.base import Context, Proposal, Strategy
from archlang.nas.strategies.distributions import suggest, uses_names


class _SamplerStrategy(Strategy):
    names: bool | None = None  # whether the study stores option names (read once)

    def propose(self, ctx: Context) -> Proposal:
        """The sampler's next architecture; ``Proposal.trial``: its trial, not yet stored.
        ``ctx.study`` is a study over a ``mirror.MirrorStorage``."""
        if self.names is None:
            self.names = uses_names(ctx.history.study)
        trial = ctx.study.ask()
        assignment = suggest(trial, ctx.space, self.names)
        return Proposal(assignment, ctx.study._storage.take())


class TPE(_SamplerStrategy):
    """Optuna's TPE, multivariate with groups (for the conditional space), constant liar
    (for workers sharing a study)."""

    name = "tpe"

    def __init__(self, space, startup: int = 10) -> None:
        super().__init__(space)
        self.startup = startup

    def sampler(self, seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.startup, multivariate=True,
                                              group=True, constant_liar=True)


class NSGA2(_SamplerStrategy):
    """Optuna's NSGA-II (population ``population``); decisions outside the population's common
    search space are drawn at random by Optuna."""

    name = "nsga2"

    def __init__(self, space, population: int = 50) -> None:
        super().__init__(space)
        self.population = population

    def sampler(self, seed):
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=self.population)
