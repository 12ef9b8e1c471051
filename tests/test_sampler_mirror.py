"""The worker's in-memory mirror of a study (archlang.nas.strategies.mirror) and the sampler
strategies that propose in it: TPE and NSGA-II propose there exactly what they would from the
storage, the mirror agrees with the storage after other workers' writes, and a proposal costs
one incremental read and one write.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import optuna
import pytest
from _search import NB201, edge_score
from optuna.trial import FrozenTrial, TrialState

from archlang.nas import strategies
from archlang.nas.engine import search
from archlang.nas.rdb import BatchedRDBStorage
from archlang.nas.strategies.distributions import params, suggest
from archlang.nas.strategies.mirror import MirrorStorage, mirror_study
from archlang.nas.study import Study, open_storage, sqlite_url


def two_scores(assignment) -> tuple[float, float]:
    return edge_score(assignment), float(sum(1 for v in assignment.values.values() if v in (2, 3)))


two_scores.takes = "assignment"
two_scores.directions = ("maximize", "minimize")


def _study(tmp_path, name: str, directions=("maximize",)) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = open_storage(sqlite_url(tmp_path / "study.db"))
    return optuna.create_study(study_name=name, storage=storage, directions=list(directions), load_if_exists=True)


def _template(trial: FrozenTrial) -> FrozenTrial:
    """What the engine creates from a proposed trial (its own attributes left out)."""
    return FrozenTrial(number=-1, state=TrialState.RUNNING, value=None, values=None,
                       datetime_start=trial.datetime_start, datetime_complete=None, params=dict(trial.params),
                       distributions=dict(trial.distributions), user_attrs={},
                       system_attrs=dict(trial.system_attrs), intermediate_values={}, trial_id=-1)


def _finish(study: optuna.Study, trial_id: int, values) -> None:
    study._storage.set_trial_state_values(trial_id, TrialState.COMPLETE, list(values))


def _score(objective, assignment) -> list[float]:
    result = objective(assignment)
    return list(result) if isinstance(result, tuple) else [result]


# ---- the same proposals -------------------------------------------------------------------


@pytest.mark.parametrize("strategy, objective, space_name", [
    ("tpe", edge_score, "nb201"), ("tpe", edge_score, "digits"), ("nsga2", two_scores, "nb201"),
])
def test_the_sampler_proposes_in_the_mirror_what_it_proposes_from_the_storage(
        tmp_path, request, strategy, objective, space_name):
    """Same sampler, same seed: asking in the storage (Optuna's ask/suggest) and asking in the
    mirror then creating the trial in one write give the same trials, params and system
    attributes, another worker's running trial (constant liar) included."""
    space = request.getfixturevalue(space_name)
    make = strategies.make(strategy, space, **({"population": 8} if strategy == "nsga2" else {}))
    direct = _study(tmp_path, "direct", objective.directions)
    direct.sampler = make.sampler(7)
    mirrored = _study(tmp_path, "mirrored", objective.directions)
    view = mirror_study(mirrored)
    view.sampler = make.sampler(7)
    running = {}
    for step in range(30):
        if step == 12:  # another worker starts a trial, and finishes it at step 20
            running = {study: _other_worker_trial(study, space, 12) for study in (direct, mirrored)}
        if step == 20:
            for study, trial_id in running.items():
                _finish(study, trial_id, [0.0] * len(objective.directions))
        trial = direct.ask()
        _finish(direct, trial._trial_id, _score(objective, suggest(trial, space)))

        view._storage.sync()
        assignment = suggest(view.ask(), space)
        proposed = view._storage.take()
        trial_id = mirrored._storage.create_new_trial(mirrored._study_id, template_trial=_template(proposed))
        _finish(mirrored, trial_id, _score(objective, assignment))
    expected = [(t.number, t.params, t.system_attrs, t.values) for t in direct.get_trials()]
    assert [(t.number, t.params, t.system_attrs, t.values) for t in mirrored.get_trials()] == expected
    assert len({str(t.params) for t in direct.get_trials()}) > 5, "the sampler proposes different trials"


def test_a_seed_gives_the_same_search_twice(nb201, tmp_path):
    for strategy in ("tpe", "nsga2"):
        runs = []
        for attempt in range(2):
            study = search(nb201, edge_score, strategy=strategy, budget=25, seed=5,
                           out_dir=tmp_path / f"{strategy}{attempt}")
            runs.append([(r.number, r.assignment(), r.state, r.values, r.skipped) for r in study.records])
        assert runs[0] == runs[1]


# ---- the mirror and the storage agree ---------------------------------------------------------


def _stored(study: optuna.Study) -> list[tuple]:
    return [(t.number, t._trial_id, t.state, t.values, t.params, t.user_attrs, t.system_attrs)
            for t in study.get_trials()]


def _mirrored(storage: MirrorStorage) -> list[tuple]:
    return [(t.number, t._trial_id, t.state, t.values, t.params, t.user_attrs, t.system_attrs)
            for t in storage.get_all_trials(storage.study_id)]


def _other_worker_trial(study: optuna.Study, space, seed: int) -> int:
    """What another worker does: a RUNNING trial with params, attributes and a liar's system attribute."""
    values, dists = params(space, space.sample(seed=seed))
    template = FrozenTrial(number=-1, state=TrialState.RUNNING, value=None, values=None,
                           datetime_start=datetime.now(), datetime_complete=None, params=values,
                           distributions=dists, user_attrs={"hash": f"h{seed}"},
                           system_attrs={"tpe:relative_params:0": "{}"}, intermediate_values={}, trial_id=-1)
    return study._storage.create_new_trial(study._study_id, template_trial=template)


def test_the_mirror_reads_other_workers_trials_running_and_finished(tmp_path, nb201):
    mine = _study(tmp_path, "s")
    other = optuna.load_study(study_name="s", storage=open_storage(sqlite_url(tmp_path / "study.db")))
    view = mirror_study(mine)
    storage = view._storage
    first = _other_worker_trial(other, nb201, 1)
    second = _other_worker_trial(other, nb201, 2)
    _finish(other, first, [1.0])
    storage.sync()
    assert _mirrored(storage) == _stored(other)
    running = storage.get_all_trials(storage.study_id, deepcopy=False, states=(TrialState.RUNNING,))
    assert [t._trial_id for t in running] == [second], "constant liar sees the other worker's running trial"
    assert running[0].params and running[0].system_attrs

    other._storage.set_trial_user_attr(second, "heartbeat", 1.5)
    _finish(other, second, [2.0])
    storage.sync()
    assert _mirrored(storage) == _stored(other)
    assert not storage.unfinished


def test_the_workers_own_trials_are_adopted_not_read_back(tmp_path, nb201, monkeypatch):
    study = _study(tmp_path, "s")
    storage = mirror_study(study)._storage
    trial_id = _other_worker_trial(study, nb201, 3)  # written by this worker
    written = study._storage.get_trial(trial_id)
    assert storage.adopt(written)
    read = []
    backend = storage.storage._backend
    original = backend._get_trials
    with monkeypatch.context() as patched:
        patched.setattr(backend, "_get_trials", lambda *args: read.extend(original(*args)) or [])
        storage.sync()
    assert read == [], "the worker's own trial was read back"
    assert _mirrored(storage) == _stored(study)


def test_a_trial_numbered_after_unseen_ones_is_not_adopted_until_a_sync(tmp_path, nb201):
    mine = _study(tmp_path, "s")
    other = optuna.load_study(study_name="s", storage=open_storage(sqlite_url(tmp_path / "study.db")))
    storage = mirror_study(mine)._storage
    _other_worker_trial(other, nb201, 4)  # the race: created between the sync and this worker's trial
    own = mine._storage.get_trial(_other_worker_trial(mine, nb201, 5))
    assert own.number == 1
    assert not storage.adopt(own)
    storage.sync()
    assert [t.number for t in storage.get_all_trials(storage.study_id)] == [0, 1]
    assert _mirrored(storage) == _stored(mine)


# ---- the engine: cost and guarantees ------------------------------------------------------------


def _count_calls(monkeypatch, cls, names) -> dict:
    """Calls of each method of ``cls`` (the heartbeat thread's writes left out)."""
    counts = dict.fromkeys(names, 0)
    for name in names:
        original = getattr(cls, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            if "heartbeat" not in args:
                counts[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, counted)
    return counts


@pytest.mark.parametrize("strategy", ["tpe", "nsga2"])
def test_a_sampler_trial_costs_one_read_and_one_write_plus_its_result(tmp_path, nb201, monkeypatch, strategy):
    counts = _count_calls(monkeypatch, BatchedRDBStorage,
                          ["_get_trials", "_create_new_trial", "set_trial_param", "set_trial_system_attr",
                           "set_trial_user_attr", "set_trial_state_values", "finish_trial"])
    study = search(nb201, edge_score, strategy=strategy, budget=40, seed=0, out_dir=tmp_path)
    trials = len(study.records)
    assert counts["_create_new_trial"] == trials
    assert counts["set_trial_param"] == counts["set_trial_system_attr"] == 0, "written with the trial"
    # one sync per proposal, plus a few per search (start, recovery, the result)
    assert counts["_get_trials"] <= trials + 6, counts
    # each evaluation: its run time, state and values in one transaction
    evaluated = len(study.evaluated())
    assert counts["finish_trial"] == evaluated
    assert counts["set_trial_user_attr"] == counts["set_trial_state_values"] == 0
    for record, trial in zip(study.records, study.study.get_trials()):
        assert trial.params == params(nb201, record.assignment())[0]


def test_failed_and_repeated_sampler_trials_are_recorded(tmp_path, nb201):
    def picky(assignment):
        if next(iter(assignment.values.values())) == 4:
            raise ValueError("no pooling first")
        return edge_score(assignment)

    picky.takes, picky.directions = "assignment", ("maximize",)
    study = search(nb201, picky, strategy="tpe", budget=40, seed=1, out_dir=tmp_path)
    assert len(study.evaluated()) == 40
    failed = study.failed()
    assert failed and all(r.reason == "ValueError: no pooling first" for r in failed)
    for repeat in study.skipped("duplicate"):
        first = study.records[repeat.attrs["duplicate_of"]]
        # a stored repeat is of the very assignment it repeats: its values were measured on it
        assert repeat.attrs["assignment"] == first.attrs["assignment"] and repeat.values == first.values
    hashes = [r.hash for r in study.evaluated()]
    assert len(set(hashes)) == len(hashes)


def test_a_sampler_search_resumes_where_it_stopped(tmp_path, nb201):
    first = search(nb201, edge_score, strategy="tpe", budget=15, seed=0, out_dir=tmp_path, study="s")
    again = search(nb201, edge_score, strategy="tpe", budget=30, seed=0, out_dir=tmp_path, study="s")
    assert [r.to_json() for r in again.records[:len(first.records)]] == [r.to_json() for r in first.records]
    assert len(again.evaluated()) == 30
    assert len({r.hash for r in again.evaluated()}) == 30


RUNNER = '''
import sys

import archlang

EDGE_SCORE = (0.0, 1.0, 2.0, 3.0, 0.5)


def slow_score(assignment):
    import time

    time.sleep(0.03)
    return sum(EDGE_SCORE[v] for v in assignment.values.values())


slow_score.takes = "assignment"
slow_score.directions = ("maximize",)

if __name__ == "__main__":
    space = archlang.space({space!r})
    study = archlang.search(space, slow_score, strategy="tpe", budget=30, seed=0, storage=sys.argv[1],
                            study="shared", workers=2)
    print("done", len(study.evaluated()))
'''


def test_two_tpe_workers_share_a_sqlite_study(tmp_path):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(space=str(NB201)))
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    db = tmp_path / "study.db"
    result = subprocess.run([sys.executable, str(script), str(db)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    study = Study.load("shared", f"sqlite:///{db}")
    evaluated = study.evaluated()
    assert len(evaluated) == 30
    assert len({r.hash for r in evaluated}) == 30, "an architecture was evaluated twice"
    assert len({r.attrs["worker"]["pid"] for r in evaluated}) == 2
    assert not [r for r in study.records if r.state == "RUNNING"]
    assert [r.number for r in study.records] == list(range(len(study.records)))
