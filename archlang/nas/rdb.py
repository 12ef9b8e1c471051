"""An Optuna RDB storage that writes a new trial, and a trial's result, in one batch.

Optuna's ``RDBStorage`` stores a template trial's params and attributes one at a time, each
time re-reading the trial and, for each param, the study's first use of that name: about
thirty statements for one NAS-Bench-201 trial, most of the search engine's overhead per trial.
The engine creates every trial from a template, so ``BatchedRDBStorage`` writes the params,
attributes and values of a new trial together after one query for the distributions the
study already uses (Optuna's compatibility check, kept), and ``finish_trial`` sets the
result's attributes, values and state in one transaction.  The rows are the ones Optuna
writes (tests compare both paths trial by trial); everything else is Optuna's own code.

Uses Optuna's storage internals (``optuna.storages._rdb``), like the engine's mirror: the
version range is pinned in pyproject.toml.
"""

from __future__ import annotations

import json
from datetime import datetime

from optuna import distributions as od
from optuna.storages import RDBStorage
from optuna.storages._rdb import models
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.trial import FrozenTrial, TrialState


class BatchedRDBStorage(RDBStorage):
    """``RDBStorage`` with batched trial creation and ``finish_trial``."""

    def _get_prepared_new_trial(self, study_id: int, template_trial: FrozenTrial | None, session):
        if template_trial is None or template_trial.intermediate_values:
            return super()._get_prepared_new_trial(study_id, template_trial, session)
        trial = models.TrialModel(study_id=study_id, number=None, state=TrialState.RUNNING,
                                  datetime_start=template_trial.datetime_start,
                                  datetime_complete=template_trial.datetime_complete)
        session.add(trial)
        session.flush()  # the trial's id, for the rows that point at it
        _check_compatible(session, study_id, template_trial.distributions)
        session.add_all(_rows(trial.trial_id, template_trial))
        trial.state = template_trial.state
        trial.number = trial.count_past_trials(session)
        session.add(trial)
        return trial

    def finish_trial(self, trial_id: int, state: TrialState, values, user_attrs: dict) -> None:
        """Set ``user_attrs``, ``values`` and the finished ``state`` of a running trial at once
        (raises optuna.exceptions.UpdateFinishedTrialError if it is already finished)."""
        assert state.is_finished(), state
        with _create_scoped_session(self.scoped_session) as session:
            trial = models.TrialModel.find_or_raise_by_id(trial_id, session, for_update=True)
            self.check_trial_is_updatable(trial_id, trial.state)
            for key, value in user_attrs.items():
                found = models.TrialUserAttributeModel.find_by_trial_and_key(trial, key, session)
                if found is None:
                    session.add(models.TrialUserAttributeModel(trial_id=trial_id, key=key, value_json=json.dumps(value)))
                else:
                    found.value_json = json.dumps(value)
            for objective, value in enumerate(values or ()):
                self._set_trial_value_without_commit(session, trial, objective, value)
            trial.state = state
            trial.datetime_complete = datetime.now()


def _check_compatible(session, study_id: int, wanted: dict) -> None:
    """Optuna's rule: a param keeps the kind of distribution it had in the study."""
    if not wanted:
        return
    used = (session.query(models.TrialParamModel.param_name, models.TrialParamModel.distribution_json)
            .join(models.TrialModel).filter(models.TrialModel.study_id == study_id)
            .filter(models.TrialParamModel.param_name.in_(list(wanted))).distinct())
    for name, text in used:
        od.check_distribution_compatibility(od.json_to_distribution(text), wanted[name])


def _rows(trial_id: int, template: FrozenTrial) -> list:
    rows: list = []
    for name, value in template.params.items():
        distribution = template.distributions[name]
        rows.append(models.TrialParamModel(trial_id=trial_id, param_name=name,
                                           param_value=distribution.to_internal_repr(value),
                                           distribution_json=od.distribution_to_json(distribution)))
    for model, attrs in ((models.TrialUserAttributeModel, template.user_attrs),
                         (models.TrialSystemAttributeModel, template.system_attrs)):
        rows.extend(model(trial_id=trial_id, key=key, value_json=json.dumps(value)) for key, value in attrs.items())
    for objective, value in enumerate(template.values or ()):
        stored, kind = models.TrialValueModel.value_to_stored_repr(value)
        rows.append(models.TrialValueModel(trial_id=trial_id, objective=objective, value=stored, value_type=kind))
    return rows
