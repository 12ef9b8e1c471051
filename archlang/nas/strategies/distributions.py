"""The space as Optuna distributions: one parameter per decision, named by its label, whose
value is the option index (a ``choose(k, …)`` decision: the index of the k-combination in
lexicographic order).  Only active decisions are suggested: the decision tree is walked from
its roots and a decision's children are suggested only under the option taken, so samplers see
a conditional search space exactly as the space defines it.

A decision with more than ``CATEGORICAL_LIMIT`` options (a large combination) becomes an
integer distribution over its indices instead of a categorical one.  Never imports torch.
"""

from __future__ import annotations

from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution

from archlang.nas.space import Assignment, Space
from archlang.nas.tree import Decision

CATEGORICAL_LIMIT = 10_000


def distribution(decision: Decision) -> BaseDistribution:
    if decision.arity > CATEGORICAL_LIMIT:
        return IntDistribution(0, decision.arity - 1)
    return CategoricalDistribution(tuple(range(decision.arity)))


def suggest(trial, space: Space) -> Assignment:
    """Suggest every active decision of ``space`` in ``trial``, walking the decision tree."""
    values: dict = {}
    pending = list(space.tree.roots)
    while pending:
        decision = pending.pop(0)
        index = _suggest_one(trial, decision)
        values[decision.label] = decision.value(index)
        pending = decision.under(index) + pending
    return Assignment(values, space.hash)


def _suggest_one(trial, decision: Decision) -> int:
    if decision.arity > CATEGORICAL_LIMIT:
        return trial.suggest_int(decision.label, 0, decision.arity - 1)
    return trial.suggest_categorical(decision.label, tuple(range(decision.arity)))


def params(space: Space, assignment: Assignment) -> tuple[dict, dict]:
    """The Optuna params (label -> option index) and distributions of an assignment."""
    values, dists = {}, {}
    for decision in space.tree.active(assignment.values):
        values[decision.label] = decision.index(assignment.values[decision.label])
        dists[decision.label] = distribution(decision)
    return values, dists
