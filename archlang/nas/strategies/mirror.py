"""An in-memory mirror of a study, for a worker to read from and its sampler to propose in.

Why: Optuna's RDB storage re-reads the study's new and unfinished trials at every read (and a
sampler reads at every ``suggest``), and writes every parameter and attribute in a
transaction of its own: a TPE proposal of six decisions on SQLite cost four reads of the
study's trials and ten writes.

``MirrorStorage`` holds the study's trials as ``FrozenTrial``s, with their real numbers and
ids.  ``sync`` reads from the storage only the trials created since the last sync and the
unfinished ones of other workers (so constant liar still sees them running); the trials this
worker writes itself are ``adopt``ed as written, never read back.  A sampler asks its trial in
the mirror: the trial stays in memory (``pending``) while it suggests, and ``take`` hands it to
the engine, which creates it in the storage in one write (``create_new_trial(…,
template_trial=…)``).  The sampler is the study's own and sees what the storage held at the
last sync plus its own trial: the proposals it would make from the storage itself.

Study-level reads and writes (directions, attributes; NSGA-II caches its parents in study
system attributes) go to the storage.  Never imports torch.
"""

from __future__ import annotations

import copy
from datetime import datetime

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

PENDING = -1  # the trial id of the proposal being made (storages number trials from 0)


class MirrorStorage(BaseStorage):
    """The trials of one study in memory, synced incrementally from ``storage``; the trial
    being proposed; everything about the study delegated to ``storage``."""

    def __init__(self, storage: BaseStorage, study_id: int) -> None:
        self.storage, self.study_id = storage, study_id
        self.trials: dict[int, FrozenTrial] = {}  # number -> trial
        self.numbers: dict[int, int] = {}  # trial id -> number
        self.unfinished: set[int] = set()  # ids of other workers' trials to read again
        self.last_id = -1  # every trial with a smaller or equal id has been read
        self.pending: FrozenTrial | None = None
        self._ordered: list[FrozenTrial] | None = None

    # -- keeping in sync
    def sync(self) -> list[FrozenTrial]:
        """Read the trials created since the last sync and those unfinished then; those trials."""
        changed = read_changes(self.storage, self.study_id, self.unfinished, self.last_id)
        for trial in changed:
            self._put(trial, watch=True)
            self.last_id = max(self.last_id, trial._trial_id)
        return changed

    def adopt(self, trial: FrozenTrial) -> bool:
        """Store a trial this worker has just written, as written.  False (nothing stored) for a
        new trial whose number shows that others were created before it: sync instead."""
        if trial._trial_id not in self.numbers and trial.number != len(self.trials):
            return False
        self._put(trial, watch=False)
        self.last_id = max(self.last_id, trial._trial_id)  # its number says all before it are known
        return True

    def forget(self, trial_id: int) -> None:
        """Read the trial again at the next sync (another process wrote it)."""
        self.unfinished.add(trial_id)

    def _put(self, trial: FrozenTrial, watch: bool) -> None:
        self.trials[trial.number] = trial
        self.numbers[trial._trial_id] = trial.number
        # Numbers have no gaps, so the ordered list is kept by index (rebuilt if ever they had).
        ordered, number = self._ordered, trial.number
        if ordered is not None and number < len(ordered) and ordered[number].number == number:
            ordered[number] = trial
        elif ordered is not None and number == len(ordered) and (not ordered or ordered[-1].number == number - 1):
            ordered.append(trial)
        else:
            self._ordered = None
        if watch and not trial.state.is_finished():
            self.unfinished.add(trial._trial_id)
        else:
            self.unfinished.discard(trial._trial_id)

    def ordered(self) -> list[FrozenTrial]:
        """The trials by number (the mirror's own list: not to be changed)."""
        if self._ordered is None:
            self._ordered = [self.trials[n] for n in sorted(self.trials)]
        return self._ordered

    # -- the trial being proposed
    def take(self) -> FrozenTrial:
        """The proposed trial (params, distributions, the sampler's system attributes), which
        leaves the mirror: the storage gives it its number and id."""
        trial, self.pending = self._pending(), None
        return trial

    def _pending(self) -> FrozenTrial:
        if self.pending is None:
            raise KeyError("no trial is being proposed")
        return self.pending

    # -- trials: BaseStorage
    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        if template_trial is not None:
            raise NotImplementedError("a proposal starts from an empty trial")
        self.pending = FrozenTrial(number=len(self.trials), state=TrialState.RUNNING, value=None, values=None,
                                   datetime_start=datetime.now(), datetime_complete=None, params={},
                                   distributions={}, user_attrs={}, system_attrs={}, intermediate_values={},
                                   trial_id=PENDING)
        return PENDING

    def get_all_trials(self, study_id: int, deepcopy: bool = True, states=None) -> list[FrozenTrial]:
        if states == (TrialState.WAITING,):  # ask() looks for enqueued trials: the engine enqueues none
            return []
        # A new list: the mirror's own grows at the next sync.
        trials = self.ordered() + ([self.pending] if self.pending is not None else [])
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials

    def get_trial(self, trial_id: int) -> FrozenTrial:
        if trial_id == PENDING:
            # A copy with its own dicts: optuna.Trial updates the one it caches.
            trial = copy.copy(self._pending())
            trial.params, trial.distributions = dict(trial.params), dict(trial.distributions)
            trial.user_attrs, trial.system_attrs = dict(trial.user_attrs), dict(trial.system_attrs)
            return trial
        if trial_id in self.numbers:
            return self.trials[self.numbers[trial_id]]
        return self.storage.get_trial(trial_id)

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        if self.pending is not None and trial_number == self.pending.number:
            return PENDING
        if trial_number in self.trials:
            return self.trials[trial_number]._trial_id
        return self.storage.get_trial_id_from_study_id_trial_number(study_id, trial_number)

    def get_trial_number_from_id(self, trial_id: int) -> int:
        if trial_id == PENDING:
            return self._pending().number
        return self.numbers[trial_id] if trial_id in self.numbers else self.storage.get_trial_number_from_id(trial_id)

    def set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float, distribution) -> None:
        if trial_id != PENDING:
            return self._elsewhere(trial_id, "set_trial_param", param_name, param_value_internal, distribution)
        pending = self._pending()
        pending.params[param_name] = distribution.to_external_repr(param_value_internal)
        pending.distributions[param_name] = distribution

    def set_trial_system_attr(self, trial_id: int, key: str, value) -> None:
        if trial_id != PENDING:
            return self._elsewhere(trial_id, "set_trial_system_attr", key, value)
        self._pending().system_attrs[key] = value

    def set_trial_user_attr(self, trial_id: int, key: str, value) -> None:
        if trial_id != PENDING:
            return self._elsewhere(trial_id, "set_trial_user_attr", key, value)
        self._pending().user_attrs[key] = value

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        if trial_id != PENDING:
            return self._elsewhere(trial_id, "set_trial_intermediate_value", step, intermediate_value)
        self._pending().intermediate_values[step] = intermediate_value

    def set_trial_state_values(self, trial_id: int, state: TrialState, values=None) -> bool:
        if trial_id == PENDING:
            raise RuntimeError("a proposed trial is finished in the storage, once created there")
        return self._elsewhere(trial_id, "set_trial_state_values", state, values)

    def _elsewhere(self, trial_id: int, method: str, *args):
        """A write to a stored trial goes to the storage; the mirror reads it back."""
        result = getattr(self.storage, method)(trial_id, *args)
        self.forget(trial_id)
        return result

    # -- the study: delegated
    def create_new_study(self, directions, study_name=None) -> int:
        return self.storage.create_new_study(directions, study_name)

    def delete_study(self, study_id: int) -> None:
        self.storage.delete_study(study_id)

    def set_study_user_attr(self, study_id: int, key: str, value) -> None:
        self.storage.set_study_user_attr(study_id, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value) -> None:
        self.storage.set_study_system_attr(study_id, key, value)

    def get_study_id_from_name(self, study_name: str) -> int:
        return self.storage.get_study_id_from_name(study_name)

    def get_study_name_from_id(self, study_id: int) -> str:
        return self.storage.get_study_name_from_id(study_id)

    def get_study_directions(self, study_id: int):
        return self.storage.get_study_directions(study_id)

    def get_study_user_attrs(self, study_id: int) -> dict:
        return self.storage.get_study_user_attrs(study_id)

    def get_study_system_attrs(self, study_id: int) -> dict:
        return self.storage.get_study_system_attrs(study_id)

    def get_all_studies(self):
        return self.storage.get_all_studies()


def read_changes(storage: BaseStorage, study_id: int, unfinished: set[int], last_id: int) -> list[FrozenTrial]:
    """The trials with an id above ``last_id`` or in ``unfinished``, in id order.  An RDB storage
    (behind Optuna's cache) is asked for exactly those: one query when nothing changed."""
    backend = getattr(storage, "_backend", storage)
    if isinstance(backend, optuna.storages.RDBStorage) and hasattr(backend, "_get_trials"):
        return backend._get_trials(study_id, None, set(unfinished), last_id)
    return [t for t in storage.get_all_trials(study_id, deepcopy=False)
            if t._trial_id > last_id or t._trial_id in unfinished]


def mirror_study(study: optuna.Study) -> optuna.Study:
    """A study over a ``MirrorStorage`` of ``study`` (same name, id, directions and sampler),
    synced once."""
    storage = MirrorStorage(study._storage, study._study_id)
    storage.sync()
    return optuna.Study(study.study_name, storage, sampler=study.sampler, pruner=optuna.pruners.NopPruner())
