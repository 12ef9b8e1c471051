"""The space as Optuna distributions: one parameter per decision, named by its label, whose
value is the option's name (``NorConv3x3``, ``SepConv(kernel_size=5)``, ``64``; a
``choose(k, …)`` decision: its candidates joined by ``+``), so a study reads in
optuna-dashboard and in Optuna's own plots.  Studies made before names were stored
(no ``options`` study attribute) keep option indices, so they can still be resumed.  Only active decisions are suggested: the decision tree is walked from
its roots and a decision's children are suggested only under the option taken, so samplers see
a conditional search space exactly as the space defines it.

A decision with more than ``CATEGORICAL_LIMIT`` options (a large combination) becomes an
integer distribution over its indices instead of a categorical one.  Never imports torch.
"""

from __future__ import annotations

from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution

from archlang.nas.describe import option_names
from archlang.nas.space import Assignment, Space
from archlang.nas.tree import Decision

CATEGORICAL_LIMIT = 10_000
NAMES = "names"  # the study attribute ``options`` of studies whose params are option names


def distribution(decision: Decision, names: bool = True) -> BaseDistribution:
    if decision.arity > CATEGORICAL_LIMIT:
        return IntDistribution(0, decision.arity - 1)
    return CategoricalDistribution(option_names(decision) if names else tuple(range(decision.arity)))


def suggest(trial, space: Space, names: bool = True) -> Assignment:
    """Suggest every active decision of ``space`` in ``trial``, walking the decision tree
    (``names``: the params are option names; False: indices, as studies made before)."""
    values: dict = {}
    pending = list(space.tree.roots)
    while pending:
        decision = pending.pop(0)
        index = _suggest_one(trial, decision, names)
        values[decision.label] = decision.value(index)
        pending = decision.under(index) + pending
    return Assignment(values, space.hash)


def _suggest_one(trial, decision: Decision, names: bool) -> int:
    if decision.arity > CATEGORICAL_LIMIT:
        return trial.suggest_int(decision.label, 0, decision.arity - 1)
    if not names:
        return trial.suggest_categorical(decision.label, tuple(range(decision.arity)))
    options = option_names(decision)
    return options.index(trial.suggest_categorical(decision.label, options))


def params(space: Space, assignment: Assignment, names: bool = True) -> tuple[dict, dict]:
    """The Optuna params (label -> option name, or index) and distributions of an assignment."""
    values, dists = {}, {}
    for decision in space.tree.active(assignment.values):
        index = decision.index(assignment.values[decision.label])
        named = names and decision.arity <= CATEGORICAL_LIMIT
        values[decision.label] = option_names(decision)[index] if named else index
        dists[decision.label] = distribution(decision, names)
    return values, dists


def uses_names(study) -> bool:
    """Whether ``study`` (an optuna.Study) stores option names (every study made since)."""
    return study.user_attrs.get("options") == NAMES
