"""What every strategy shares: the ``Context`` it proposes from and the ``Proposal`` it returns.

A strategy proposes an architecture; the engine checks it against what is already evaluated
(by canonical hash), creates the trial, evaluates and stores it.  Strategies that work through
an Optuna sampler also return the trial the sampler proposed (``Proposal.trial``), for the
engine to create in the storage.  Never imports torch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from archlang.nas.space import Assignment, Space
from archlang.nas.study import History


@dataclass
class Context:
    """What a strategy may look at: the space, the synced history and the worker's generator."""

    space: Space
    history: History
    rng: random.Random
    hash_of: object  # Assignment -> what names its architecture under the study's dedup policy
    study: object = None  # the worker's optuna.Study over its mirror (with this strategy's sampler)


@dataclass
class Proposal:
    assignment: Assignment
    trial: object = None  # sampler strategies: the proposed FrozenTrial (params …), not yet stored


class Strategy:
    """Base class: ``propose`` the next architecture (None: nothing left to propose)."""

    name = ""

    def __init__(self, space: Space, **options) -> None:
        if options:
            raise ValueError(f"strategy '{self.name}' takes no option {', '.join(sorted(options))}")
        self.space = space

    def sampler(self, seed: int | None):
        """The Optuna sampler the study is loaded with (None: the engine stores trials itself)."""
        return None

    def propose(self, ctx: Context) -> Proposal | None:
        raise NotImplementedError
