"""Search strategies by name: how the next architecture to evaluate is proposed.

    random      uniform samples of the space
    evolution   regularized (aging) evolution: population P, tournament S, oldest removed
    local       hill climbing over one-decision neighbours, random restarts at local optima
    tpe         Optuna's TPE sampler over the space's decision tree
    nsga2       Optuna's NSGA-II sampler (several objectives)

``mirror``: the in-memory copy of a study that a worker reads and samplers propose in.
Never imports torch or a backend.
"""

from __future__ import annotations

from archlang.nas.strategies import mirror
from archlang.nas.strategies.base import Context, Proposal, Strategy
from archlang.nas.strategies.evolution import Evolution
from archlang.nas.strategies.local import LocalSearch
from archlang.nas.strategies.random import RandomSearch
from archlang.nas.strategies.samplers import NSGA2, TPE

STRATEGIES: dict[str, type[Strategy]] = {
    "random": RandomSearch, "evolution": Evolution, "local": LocalSearch, "tpe": TPE, "nsga2": NSGA2,
}


def make(name: str, space, **options) -> Strategy:
    """The strategy ``name`` for ``space`` (options: e.g. population=, tournament= for evolution)."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy '{name}' (one of: {', '.join(STRATEGIES)})") from None
    return cls(space, **options)


__all__ = ["Context", "Proposal", "Strategy", "STRATEGIES", "make", "mirror"]
