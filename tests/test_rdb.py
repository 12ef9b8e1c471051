"""BatchedRDBStorage writes exactly the trials Optuna's RDBStorage writes, in fewer statements."""

from __future__ import annotations

from datetime import datetime

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from archlang.nas.engine import finish
from archlang.nas.rdb import BatchedRDBStorage

DISTRIBUTIONS = {"op": CategoricalDistribution([0, 1, 2]), "width": IntDistribution(8, 64, step=8),
                 "lr": FloatDistribution(1e-4, 1e-1, log=True)}


def template(params: dict, state=TrialState.RUNNING, values=None, **attrs) -> FrozenTrial:
    return FrozenTrial(number=-1, state=state, value=None, values=values,
                       datetime_start=datetime(2026, 1, 2, 3, 4, 5), datetime_complete=None, params=params,
                       distributions={k: DISTRIBUTIONS[k] for k in params},
                       user_attrs=attrs.get("user", {}), system_attrs=attrs.get("system", {}),
                       intermediate_values=attrs.get("steps", {}), trial_id=-1)


TEMPLATES = [
    template({"op": 2, "width": 24}, user={"assignment": {"a": 1}, "hash": "abc"}, system={"constant_liar": True}),
    template({}),
    template({"op": 0, "lr": 0.01}, state=TrialState.COMPLETE, values=[0.5]),
    template({"width": 64}, state=TrialState.COMPLETE, values=[1.0, -2.5, float("inf")]),
    template({"op": 1}, state=TrialState.FAIL, user={"skipped": "duplicate"}),
    template({"op": 1}, steps={0: 0.25, 3: 0.5}),  # intermediate values: Optuna's own path
]


def stored(storage_class, tmp_path, name: str, templates) -> list[FrozenTrial]:
    storage = storage_class(f"sqlite:///{tmp_path / name}")
    study = optuna.create_study(storage=storage, directions=["maximize"])
    for t in templates:
        storage.create_new_trial(study._study_id, template_trial=t)
    return storage.get_all_trials(study._study_id)


def comparable(trial: FrozenTrial) -> tuple:
    return (trial.number, trial.state, trial.values, trial.datetime_start, trial.params, trial.distributions,
            trial.user_attrs, trial.system_attrs, trial.intermediate_values)


def test_batched_trials_equal_optunas_trial_by_trial(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ours = stored(BatchedRDBStorage, tmp_path, "ours.db", TEMPLATES)
    theirs = stored(optuna.storages.RDBStorage, tmp_path, "theirs.db", TEMPLATES)
    assert [comparable(t) for t in ours] == [comparable(t) for t in theirs]
    assert len(ours) == len(TEMPLATES) and ours[0].params == {"op": 2, "width": 24}


def test_a_param_keeps_its_kind_of_distribution(tmp_path):
    storage = BatchedRDBStorage(f"sqlite:///{tmp_path / 's.db'}")
    study = optuna.create_study(storage=storage)
    storage.create_new_trial(study._study_id, template_trial=template({"width": 16}))
    clash = template({"width": 16})
    clash.distributions = {"width": FloatDistribution(0, 100)}
    with pytest.raises(ValueError, match="Cannot set different distribution kind"):
        storage.create_new_trial(study._study_id, template_trial=clash)
    assert len(storage.get_all_trials(study._study_id)) == 1  # the failed creation left nothing


def test_finish_sets_attributes_values_and_state_once(tmp_path):
    storage = BatchedRDBStorage(f"sqlite:///{tmp_path / 's.db'}")
    study = optuna.create_study(storage=storage, directions=["minimize", "maximize"])
    trial_id = study._storage.create_new_trial(study._study_id, template_trial=template({"op": 1}))
    assert finish(study, trial_id, TrialState.COMPLETE, (1.5, 2.0), {"seconds": 0.25, "reason": None})
    trial = storage.get_trial(trial_id)
    assert (trial.state, trial.values, trial.user_attrs) == (TrialState.COMPLETE, [1.5, 2.0], {"seconds": 0.25, "reason": None})
    assert trial.datetime_complete is not None
    assert not finish(study, trial_id, TrialState.FAIL, None, {"reason": "late"})  # already finished
    assert storage.get_trial(trial_id).state == TrialState.COMPLETE
