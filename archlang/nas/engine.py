"""The search engine: ``search(space, objective, …) -> Study``, on Optuna's ask/tell and storages.

**Objective.**  ``objective`` is a callable returning one number or a tuple (one per direction).
By default it is called with the fixed architecture as a checked ``archlang.Program``
(``space.fix(a)``: the .arch text that the search writes out, so what is scored is what is
saved); ``archlang.to_torch(program)`` compiles it.  An objective may declare what it takes
with an attribute ``takes``: ``"model"`` (the fixed ``ir.Model`` from ``space.fix_model(a)``,
what the built-in objectives take: no .arch round trip) or ``"assignment"`` (the ``Assignment``
itself, for synthetic objectives that are a pure function of the decisions).  Its
``directions`` attribute (or ``direction``) gives the default directions; otherwise every
value is minimised.  With ``workers > 1`` it must be picklable (a module-level function or a
built-in objective).

**Storage.**  Every trial lives in the storage: its assignment (JSON) and canonical hash as
user attributes, its values, state and timing as Optuna's columns (see ``study``).  ``storage``
is a URL (``sqlite:///…``, ``postgresql+psycopg://…``), a path to a SQLite file, or None:
``OUT_DIR/study.db`` when ``out_dir`` is given, else in memory (no resume, one worker).  A
worker reads the study from an in-memory mirror synced with one incremental read
(``strategies.mirror``) and writes each new trial in one transaction.

**Duplicates.**  ``dedup`` chooses when two proposals are one architecture (a documented
policy, recorded in the study and on every trial; docs/safety.md):

    functional  (default) their functional hashes are equal (``Space.canonical_hash``): outputs
                provably identical for all weights.  A cost objective (``cost = True`` on the
                objective: params, macs, latency) can differ between such architectures (dead
                layers have parameters), so a search scoring one deduplicates by ``exact``.
    exact       their fixed models are identical (``hashing.exact_hash``).
    off         never: every proposal is evaluated.

A value is stored only for the architecture it was measured on.  Random, evolution and
local search check every proposal against the evaluated (and running) architectures before a
trial exists: a repeat is not evaluated, spends no budget, and is counted in the study
attribute ``avoided:<worker>``.  TPE and NSGA-II propose inside an Optuna trial: a proposal
of the very assignment of a completed trial is recorded with that trial's values
(``skipped="duplicate"``, ``duplicate_of=N``: measured on the same architecture, as Optuna's
FAQ suggests, so the sampler learns it has been there); a proposal of an equivalent but
different assignment is dropped and counted as avoided, since its value was never measured.
A trial created by a race with another worker for the same architecture is stored as a FAIL
trial without values.  After 20 repeats in a row the engine
proposes a random unseen architecture instead.  A space whose every architecture is evaluated ends the search early.

**Budget.**  ``budget`` is the number of evaluations in the study: COMPLETE and FAIL trials
that are not ``skipped``, plus trials running now (so K workers never overshoot; a trial
created past the budget by a race is marked ``skipped="over budget"``).

**Resume.**  Rerunning the same search continues the study.  RUNNING trials whose worker is
dead (same host: its process is gone; another host: no heartbeat for ``grace`` seconds) are
marked FAIL with ``skipped="stale"``; they do not count, and their architectures are
evaluated again first, so a kill loses and duplicates nothing.

**Failures.**  An objective that raises, calls ``sys.exit``, returns NaN/inf or the wrong
number of values, runs out of memory or exceeds ``timeout`` seconds (SIGALRM in the main
thread) is recorded as FAIL with its ``reason``; the search goes on.  Before the first trial
the objective's ``check()`` (if it has one) says whether it can run at all (a missing
package); when the first ``fail_fast`` evaluations of a run all fail with one reason, the
search stops (``Study.stopped`` says why) instead of spending the budget on it.

**Workers.**  ``workers=K`` runs K processes (multiprocessing, spawn) on the shared storage.

Never imports torch or a backend.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import optuna
from optuna.trial import FrozenTrial, TrialState

from archlang.nas import strategies
from archlang.nas.hashing import exact_hash
from archlang.nas.rdb import BatchedRDBStorage
from archlang.nas.space import Assignment, Space
from archlang.nas.strategies.distributions import NAMES, params, uses_names
from archlang.nas.study import (
    History,
    Record,
    SearchError,
    Study,
    finite,
    is_race,
    is_shared,
    open_storage,
    record_of,
    storage_url,
    worker_alive,
    worker_identity,
)

DEDUP = ("functional", "exact", "off")
FAIL_FAST = 5  # a run stops when its first evaluations, this many, all fail with one reason
MAX_TRIES = 200  # duplicate proposals in a row before falling back to random ones
SAMPLER_REPEATS = 20  # duplicate sampler proposals in a row before one random proposal
HEARTBEAT = 10.0  # seconds between heartbeats of a running trial (shared storages)
GRACE = 120.0  # a running trial of another host without a heartbeat for this long is stale


def search(space: Space, objective, *, strategy: str = "evolution", budget: int = 100, seed: int = 0,
           storage=None, study: str | None = None, workers: int = 1, timeout: float | None = None,
           directions=None, out_dir=None, progress=None, strategy_options: dict | None = None,
           grace: float = GRACE, dedup: str = "functional", fail_fast: int = FAIL_FAST) -> Study:
    """Search ``space`` for architectures that optimise ``objective``; see the module docstring.

    ``progress``: None, or an object with ``update(history)`` (``archlang.nas.progress``)."""
    check_arguments(space, objective, strategy=strategy, budget=budget, seed=seed, storage=storage, study=study,
                    workers=workers, timeout=timeout, out_dir=out_dir, strategy_options=strategy_options,
                    grace=grace, dedup=dedup, fail_fast=fail_fast)
    dirs = resolve_directions(objective, directions)
    policy = dedup_policy(dedup, objective)
    ready = getattr(objective, "check", None)
    if callable(ready):
        ready()  # a missing package fails here, before any trial
    url = storage_url(storage, out_dir)
    if workers > 1 and not is_shared(url):
        raise SearchError("several workers share a study through a storage: give storage= or out_dir=")
    strategies.make(strategy, space, **(strategy_options or {}))  # fail early on a bad name/option
    store = open_storage(url)
    name = study or default_study_name(space, strategy)
    ostudy = open_study(store, name, dirs, space, objective_names(objective, len(dirs)), policy)
    recover(ostudy, grace)
    config = WorkerConfig(space, objective, strategy, dict(strategy_options or {}), url, name, budget, seed,
                          timeout, grace, policy, fail_fast)
    if workers <= 1:
        Worker(config, 0, store, progress).run()
    else:
        run_workers(config, workers, store, progress)
    recover(ostudy, grace)
    return Study(ostudy, url).refresh()


def check_arguments(space, objective, **given) -> None:
    """TypeError/ValueError naming the argument, for what ``search`` cannot use."""
    if not isinstance(space, Space):
        raise TypeError(f"space must be an archlang.nas.Space, not {type(space).__name__}")
    if not callable(objective):
        raise TypeError(f"objective must be a callable or the name of a built-in objective, not "
                        f"{type(objective).__name__}")
    for key in ("budget", "workers", "seed", "fail_fast"):
        value = given[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{key} must be an int, not {type(value).__name__}")
    for key, least in (("budget", 1), ("workers", 1), ("fail_fast", 0)):
        if given[key] < least:
            raise ValueError(f"{key} must be {least} or more, not {given[key]}")
    if given["workers"] > 256:
        raise ValueError(f"workers must be at most 256, not {given['workers']}")
    for key in ("timeout", "grace"):
        value = given[key]
        if value is None and key == "timeout":
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"{key} must be a number of seconds, not {type(value).__name__}")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{key} must be a positive number of seconds, not {value}")
    if not isinstance(given["strategy"], str):
        raise TypeError(f"strategy must be a str, not {type(given['strategy']).__name__}")
    if given["dedup"] not in DEDUP:
        raise ValueError(f"dedup must be one of {', '.join(DEDUP)}, not {given['dedup']!r}")
    for key in ("storage", "out_dir"):
        value = given[key]
        if value is not None and (isinstance(value, bytes) or not isinstance(value, (str, os.PathLike))):
            raise TypeError(f"{key} must be a path or URL (str or pathlib.Path), not {type(value).__name__}")
        if isinstance(value, str) and not value.strip():
            raise ValueError(f"{key} must not be empty")
    name = given["study"]
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise TypeError(f"study must be a non-empty str, not {name!r}")
    options = given["strategy_options"]
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"strategy_options must be a dict, not {type(options).__name__}")


def dedup_policy(dedup: str, objective) -> str:
    """The policy in effect: ``functional`` becomes ``exact`` for an objective that measures a
    cost (two functionally identical architectures can differ in parameters, MACs, latency)."""
    if dedup == "functional" and getattr(objective, "cost", False):
        return "exact"
    return dedup


# ---- the study -------------------------------------------------------------------------------


def resolve_directions(objective, directions) -> tuple[str, ...]:
    given = directions or getattr(objective, "directions", None) or getattr(objective, "direction", None) \
        or ("minimize",)
    if isinstance(given, str):
        given = (given,)
    out = []
    for d in given:
        word = str(d).lower()
        if word in ("min", "minimize", "minimise"):
            out.append("minimize")
        elif word in ("max", "maximize", "maximise"):
            out.append("maximize")
        else:
            raise SearchError(f"a direction is 'minimize' or 'maximize', not '{d}'")
    return tuple(out)


def objective_names(objective, count: int) -> list[str]:
    names = getattr(objective, "names", None)
    if names and len(names) == count:
        return list(names)
    name = getattr(objective, "name", None) or getattr(objective, "__name__", "objective")
    return [name] if count == 1 else [f"{name}[{i}]" for i in range(count)]


def default_study_name(space: Space, strategy: str) -> str:
    return f"{space.name}-{strategy}"


def open_study(store, name: str, dirs, space: Space, names: list[str], dedup: str = "functional") -> optuna.Study:
    """Create the study, or load it and check it was made for this space, these directions
    and this deduplication policy."""
    quiet_optuna()
    ostudy = create_study(store, name, dirs)
    stored = tuple(d.name.lower() for d in ostudy.directions)
    if stored != tuple(dirs):
        raise SearchError(f"study '{name}' optimises {', '.join(stored)}, not {', '.join(dirs)}; "
                          "choose another --study name")
    info = ostudy.user_attrs
    if "space" not in info:
        ostudy.set_user_attr("space", {"name": space.name, "file": str(space.program.file), "hash": space.hash})
        ostudy.set_user_attr("objectives", names)
        ostudy.set_user_attr("dedup", dedup)
        ostudy.set_user_attr("options", NAMES)
        with warnings.catch_warnings():  # experimental in Optuna 4-5; the dashboard and its plots read it
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            ostudy.set_metric_names(list(names))
    elif info["space"].get("hash") != space.hash:
        raise SearchError(f"study '{name}' was made for another version of space {info['space'].get('name')} "
                          f"(space hash {info['space'].get('hash', '')[:12]}…, now {space.hash[:12]}…)")
    elif info.get("dedup", "functional") != dedup:
        raise SearchError(f"study '{name}' deduplicates by '{info.get('dedup', 'functional')}', not '{dedup}'; "
                          "choose another --study name (or the same --dedup)")
    return ostudy


def create_study(store, name: str, dirs) -> optuna.Study:
    """Create or load the study; two processes creating it at once both get it."""
    for attempt in range(20):
        try:
            return optuna.create_study(study_name=name, storage=store, directions=list(dirs), load_if_exists=True)
        except optuna.exceptions.DuplicatedStudyError:  # created by another process meanwhile: load it
            pass
        except Exception as error:  # noqa: BLE001 — a storage race (SQLAlchemy's errors) is retried
            if attempt == 19 or not is_race(error):
                raise
        time.sleep(0.05 * (attempt + 1))
    return optuna.load_study(study_name=name, storage=store)


def quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def recover(ostudy: optuna.Study, grace: float = GRACE) -> list[int]:
    """Mark RUNNING trials of dead workers FAIL, ``skipped="stale"``; their numbers."""
    marked = []
    now = time.time()
    for record in History(ostudy).sync().running():
        alive = worker_alive(record.attrs.get("worker"))
        beat = record.attrs.get("heartbeat") or (record.attrs.get("worker") or {}).get("since") or now
        if alive is False or (alive is None and now - beat > grace):
            who = record.attrs.get("worker", {})
            reason = f"stale: worker {who.get('host')}:{who.get('pid')} died during the trial"
            if finish(ostudy, record.trial_id, TrialState.FAIL, None, {"skipped": "stale", "reason": reason}):
                marked.append(record.number)
    return marked


def finish(ostudy: optuna.Study, trial_id: int, state: TrialState, values, attrs: dict) -> bool:
    """Set ``attrs`` then finish the trial (in one transaction on an RDB storage); False if
    another process finished it first."""
    storage = ostudy._storage
    backend = getattr(storage, "_backend", storage)  # Optuna wraps RDB storages in a cache
    try:
        if isinstance(backend, BatchedRDBStorage):
            backend.finish_trial(trial_id, state, values, attrs)
            return True
        for key, value in attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
        storage.set_trial_state_values(trial_id, state, list(values) if values is not None else None)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    return True


# ---- evaluating one architecture -----------------------------------------------------------


class TrialTimeout(BaseException):
    """Raised in the objective when its time is up (a BaseException: ``except Exception`` in an
    objective does not swallow it)."""


@dataclass
class Outcome:
    values: tuple | None
    reason: str | None
    seconds: float


def evaluate(space: Space, objective, assignment: Assignment, count: int, timeout: float | None) -> Outcome:
    """Run the objective on the architecture; a failure becomes a reason, never an exception."""
    start = time.perf_counter()
    try:
        with time_limit(timeout):
            result = objective(objective_input(space, objective, assignment))
        values = as_values(result, count)
    except TrialTimeout:
        values, reason = None, f"timeout: the objective ran longer than {timeout:g} s"
    except MemoryError:
        values, reason = None, "out of memory (MemoryError)"
    except SystemExit as exit_:  # sys.exit() in an objective ends its trial, not the search
        values, reason = None, f"the objective called sys.exit({exit_.code!r})"
    except Exception as error:  # noqa: BLE001 — any failure of the objective is the trial's
        values, reason = None, failure_reason(error)
    else:
        reason = None
    seconds = time.perf_counter() - start
    if values is not None and timeout and seconds > timeout:
        values, reason = None, f"timeout: the objective ran {seconds:.1f} s, longer than {timeout:g} s"
    return Outcome(values, reason, seconds)


def objective_input(space: Space, objective, assignment: Assignment):
    takes = getattr(objective, "takes", "program")
    if takes == "assignment":
        return assignment
    if takes == "model":
        return space.fix_model(assignment)
    if takes == "program":
        return space.fix(assignment)
    raise SearchError(f"an objective takes 'program', 'model' or 'assignment', not '{takes}'")


def as_values(result, count: int) -> tuple:
    items = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(items) != count:
        raise ValueError(f"the objective returned {len(items)} value(s); the study has {count} direction(s)")
    values = tuple(float(v) for v in items)
    if not finite(values):
        bad = "NaN" if any(math.isnan(v) for v in values) else "an infinite value"
        raise ValueError(f"the objective returned {bad}: {values}")
    return values


def failure_reason(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    if "out of memory" in text.lower() or "can't allocate memory" in text.lower():
        return f"out of memory: {text}"
    return text if len(text) < 2000 else text[:2000] + " …"


@contextmanager
def time_limit(seconds: float | None):
    """Raise TrialTimeout in the block after ``seconds`` (main thread only; elsewhere the time is
    checked afterwards)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TrialTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Heartbeat:
    """One thread per worker: writes ``heartbeat`` = time.time() on the trial being evaluated
    every ``interval`` seconds (shared storages only)."""

    def __init__(self, storage, interval: float) -> None:
        self.storage, self.interval = storage, interval
        self.trial_id: int | None = None
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    @contextmanager
    def beating(self, trial_id: int):
        if self.thread is None:
            self.thread = threading.Thread(target=self._beat, daemon=True, name="archlang-heartbeat")
            self.thread.start()
        with self.lock:
            self.trial_id = trial_id
        try:
            yield
        finally:
            with self.lock:
                self.trial_id = None

    def _beat(self) -> None:
        while True:
            time.sleep(self.interval)
            with self.lock:
                trial_id = self.trial_id
                if trial_id is None:
                    continue
                try:
                    self.storage.set_trial_user_attr(trial_id, "heartbeat", time.time())
                except Exception:  # noqa: BLE001 — finished meanwhile, or a lost connection
                    pass


# ---- a worker --------------------------------------------------------------------------------


@dataclass
class WorkerConfig:
    """Everything a worker process needs (picklable for spawn)."""

    space: Space
    objective: object
    strategy: str
    strategy_options: dict
    url: str | None
    study: str
    budget: int
    seed: int
    timeout: float | None
    grace: float = GRACE
    dedup: str = "functional"  # the policy in effect (``dedup_policy``)
    fail_fast: int = FAIL_FAST


@dataclass
class Worker:
    """One process's loop: propose, skip repeats, create the trial, evaluate, store.

    The worker reads the study from its in-memory mirror (``strategies.mirror``), which a sync
    brings up to date with one incremental read of the storage.  It syncs before each sampler
    proposal, and after creating a trial whose number shows that other trials were created
    since the last sync (that sync both detects a race with another worker and feeds the
    strategy); the worker's own trials and results go into the mirror and the history as they
    are stored, never read back."""

    config: WorkerConfig
    index: int
    store: object
    progress: object = None
    avoided: int = 0
    flushed: int = 0
    repeats: int = 0
    identity: dict = field(default_factory=worker_identity)
    stopped: str | None = None  # why this worker stopped early (its first evaluations all failed)
    reasons: list = field(default_factory=list)  # failure reasons of this run while nothing completed
    unfinished: int | None = None  # the id of this worker's RUNNING trial, from creation to result

    def __post_init__(self) -> None:
        quiet_optuna()
        c = self.config
        self.space = c.space
        self.strategy = strategies.make(c.strategy, c.space, **c.strategy_options)
        # Trials are written to self.study and read from self.view, where the sampler proposes.
        self.study = optuna.load_study(study_name=c.study, storage=self.store,
                                       sampler=optuna.samplers.RandomSampler())
        self.view = strategies.mirror.mirror_study(self.study)
        self.names = uses_names(self.study)  # studies made before option names keep indices
        self.mirror = self.view._storage
        self.history = History(self.view).sync()
        token = f"{c.seed}:{self.index}:{len(self.history.records)}"
        self.rng = random.Random(token)
        sampler = self.strategy.sampler(random.Random(token).randrange(2**31))
        if sampler is not None:
            self.view.sampler = sampler
        self.count = len(self.study.directions)
        self.beats = Heartbeat(self.study._storage, HEARTBEAT) if is_shared(c.url) else None
        self.parent = os.getppid()

    def hash_of(self, assignment: Assignment) -> str:
        """The functional hash (every trial records it)."""
        return cached_hash(self.space, assignment)

    def key_of(self, assignment: Assignment) -> str:
        """What names the architecture under the study's policy: the functional or the exact
        hash, or (``off``) the assignment itself, for strategies that look results up."""
        policy = self.config.dedup
        if policy == "off":
            return "assignment:" + hashlib.sha256(assignment.dumps().encode()).hexdigest()
        return cached_hash(self.space, assignment, exact=policy == "exact")

    def sync(self) -> None:
        """Bring the mirror, then the history, up to date with the storage (the history only
        where the mirror changed: it holds this worker's own writes already)."""
        changed = self.mirror.sync()
        for trial in changed:
            self.history.records[trial.number] = record_of(trial)
        if changed:
            self.history.touch()

    def run(self) -> None:
        if self.progress is not None:
            self.progress.update(self.history)
        try:
            while self.step():
                pass
        except BaseException as error:  # e.g. Ctrl-C between creating a trial and evaluating it
            self.interrupt_unfinished(error)
            raise
        finally:
            self.flush_avoided(force=True)

    def interrupt_unfinished(self, error: BaseException) -> None:
        """Mark this worker's RUNNING trial interrupted (the next run evaluates it again), so
        none is left RUNNING whenever the interruption comes."""
        if self.unfinished is not None:
            reason = "Ctrl-C" if isinstance(error, KeyboardInterrupt) else type(error).__name__
            finish(self.study, self.unfinished, TrialState.FAIL, None,
                   {"skipped": "interrupted", "reason": f"interrupted ({reason})"})
            self.unfinished = None

    def step(self) -> bool:
        """One trial; False when the budget is spent or nothing new is left."""
        if self.history.claimed() >= self.config.budget or os.getppid() != self.parent:
            return False
        created = self.next_trial()
        if created is None:
            return False
        if created is REPEAT:
            return True
        return self.run_trial(created)

    # -- proposing
    def context(self) -> strategies.Context:
        return strategies.Context(self.space, self.history, self.rng, self.key_of, self.view)

    def seen(self, assignment: Assignment) -> Record | None:
        """The first evaluated or running trial of the same architecture, if the policy skips
        repeats (``off`` never does)."""
        if self.config.dedup == "off":
            return None
        return self.history.known().get(self.key_of(assignment))

    def next_trial(self):
        """The Record of a new RUNNING trial; REPEAT after a recorded repeat; None when the
        space has nothing new."""
        requeued = self.history.requeued()
        if requeued:
            return self.create(requeued[0].assignment())
        if isinstance(self.strategy, strategies.samplers._SamplerStrategy) and self.repeats < SAMPLER_REPEATS:
            return self.sampler_trial()
        self.repeats = 0
        assignment = self.fresh(lambda: self.strategy.propose(self.context()).assignment) \
            or self.fresh(lambda: self.space.sample(self.rng))
        return self.create(assignment) if assignment is not None else None

    def fresh(self, propose) -> Assignment | None:
        """A proposal not evaluated yet that meets the spec's constraints (None after MAX_TRIES)."""
        for _ in range(MAX_TRIES):
            assignment = propose()
            if self.seen(assignment) is not None:
                self.avoided += 1
            elif self.space.feasible(assignment):
                return assignment
        return None

    def sampler_trial(self):
        """The sampler's proposal as a RUNNING trial.  A repeat spends no budget.  When the
        sampler proposes the very assignment of a completed trial, the repeat is stored with
        that trial's values (``skipped="duplicate"``), measured on this same architecture, so
        the sampler learns it has been there; a repeat of an equivalent but different
        assignment is dropped (counted as avoided): its value was never measured."""
        self.sync()  # one read: the duplicate check and the sampler see the same trials
        proposal = self.strategy.propose(self.context())
        broken = self.space.violations(proposal.assignment)
        if broken:  # the sampler does not know the spec's constraints: record why, spend no budget
            self.repeats += 1
            attrs = {**self.attrs(proposal.assignment), "skipped": "infeasible",
                     "reason": "breaks " + "; ".join(broken)}
            if self.insert(proposal.trial, attrs, TrialState.FAIL, None)[1] is None:
                self.sync()
            return REPEAT
        first = self.seen(proposal.assignment)
        if first is None:
            created = self.create(proposal.assignment, proposal.trial)
            self.repeats = self.repeats + 1 if created is REPEAT else 0
            return created
        self.repeats += 1
        same = self.history.measured().get(proposal.assignment.dumps())
        if same is None or not same.ok:  # an equivalent architecture, not this one: nothing to tell
            self.avoided += 1
            return REPEAT
        attrs = {**self.attrs(proposal.assignment), "skipped": "duplicate", "duplicate_of": same.number}
        _, record = self.insert(proposal.trial, attrs, TrialState.COMPLETE, same.values)
        if record is None:  # other trials were created meanwhile: read them (and this one)
            self.sync()
        return REPEAT

    def attrs(self, assignment: Assignment) -> dict:
        attrs = {"assignment": assignment.to_json(), "hash": self.hash_of(assignment), "dedup": self.config.dedup,
                 "worker": {**self.identity, "since": time.time()}}
        if self.names:  # the options by name (a sampler's trials also have them as Optuna params)
            attrs["options"] = params(self.space, assignment)[0]
        key = self.key_of(assignment)
        if key != attrs["hash"]:
            attrs["key"] = key
        return attrs

    def create(self, assignment: Assignment, proposed: FrozenTrial | None = None):
        """A RUNNING trial for ``assignment`` (with the sampler's ``proposed`` trial, if any);
        REPEAT if another worker took the same architecture a moment earlier."""
        trial_id, record = self.insert(proposed, self.attrs(assignment), TrialState.RUNNING, None)
        if record is not None:
            return record
        record, first = self.check_created(trial_id)
        if first is None:
            return record
        if proposed is None:
            self.avoided += 1
        self.save(record, TrialState.FAIL, None, {"skipped": "duplicate", "duplicate_of": first.number})
        return REPEAT

    def insert(self, proposed: FrozenTrial | None, attrs: dict, state: TrialState, values):
        """Create a trial in one write: the ``proposed`` one (params, distributions, the sampler's
        system attributes) or an empty one, with ``attrs``, ``state`` and ``values``.  Its id,
        and its Record when no other trial was created since the last sync (else None: the
        caller syncs)."""
        now = datetime.now()
        template = FrozenTrial(number=-1, state=state, value=None, values=list(values) if values else None,
                               datetime_start=proposed.datetime_start if proposed else now,
                               datetime_complete=now if state.is_finished() else None,
                               params=dict(proposed.params) if proposed else {},
                               distributions=dict(proposed.distributions) if proposed else {},
                               user_attrs=attrs, system_attrs=dict(proposed.system_attrs) if proposed else {},
                               intermediate_values={}, trial_id=-1)
        storage = self.study._storage
        trial_id = storage.create_new_trial(self.study._study_id, template_trial=template)
        if state == TrialState.RUNNING:
            self.unfinished = trial_id
        stored = copy.copy(template)
        stored.number, stored._trial_id = trial_number(storage, trial_id), trial_id
        if not self.mirror.adopt(stored):  # another worker created trials meanwhile
            return trial_id, None
        record = record_of(stored)
        self.history.records[record.number] = record
        self.history.touch()
        return trial_id, record

    def check_created(self, trial_id: int):
        """Sync; the new trial's record and the earlier trial of the same architecture, if any."""
        self.sync()
        self.wait_for_hashes(trial_id)
        mine = next(r for r in reversed(self.history.ordered()) if r.trial_id == trial_id)
        if self.config.dedup == "off":
            return mine, None
        for record in self.history.ordered():
            if record.number >= mine.number:
                break
            if record.key == mine.key and not record.skipped and (record.evaluated or record.state == "RUNNING"):
                return mine, record
        return mine, None

    def wait_for_hashes(self, trial_id: int, limit: float = 5.0) -> None:
        """Trials are created with their hash, but a study written by an older engine may have
        trials that get it just after creation: wait for earlier ones to have it."""
        deadline = time.time() + limit
        while time.time() < deadline:
            mine = next(r.number for r in self.history.records.values() if r.trial_id == trial_id)
            if not any(r.state == "RUNNING" and r.number < mine and not r.hash for r in self.history.records.values()):
                return
            time.sleep(0.01)
            self.sync()

    # -- evaluating and storing
    def run_trial(self, record: Record) -> bool:
        if self.history.claimed(below=record.number) >= self.config.budget:
            self.save(record, TrialState.FAIL, None, {"skipped": "over budget"})
            return False
        try:
            with self.heartbeat(record.trial_id):
                outcome = evaluate(self.space, self.config.objective, record.assignment(), self.count,
                                   self.config.timeout)
        except KeyboardInterrupt:
            self.save(record, TrialState.FAIL, None, {"skipped": "interrupted", "reason": "interrupted (Ctrl-C)"})
            raise
        except BaseException as error:  # whatever ends the process, no trial is left RUNNING
            self.save(record, TrialState.FAIL, None, {"skipped": "interrupted",
                                                      "reason": f"interrupted ({type(error).__name__})"})
            raise
        attrs = {"seconds": round(outcome.seconds, 6)}
        if outcome.values is None:
            self.save(record, TrialState.FAIL, None, {**attrs, "reason": outcome.reason})
        else:
            self.save(record, TrialState.COMPLETE, outcome.values, attrs)
        self.flush_avoided()
        if self.progress is not None:
            self.progress.update(self.history)
        return not self.failing_fast(outcome)

    def failing_fast(self, outcome: Outcome) -> bool:
        """Whether this run's first evaluations, ``fail_fast`` of them, all failed with one
        reason: then the worker stops, and says why (``stopped``, a study attribute)."""
        limit = self.config.fail_fast
        if not limit or self.reasons is None:
            return False
        if outcome.values is not None or (self.reasons and outcome.reason != self.reasons[0]):
            self.reasons = None  # a success, or another failure: the objective can run
            return False
        self.reasons.append(outcome.reason)
        if len(self.reasons) < limit:
            return False
        self.stopped = f"the first {limit} evaluations all failed with the same error: {outcome.reason}"
        self.study.set_user_attr(f"stopped:{self.identity['host']}:{self.identity['pid']}", self.stopped)
        return True

    def save(self, record: Record, state: TrialState, values, attrs: dict) -> None:
        """Finish the trial in the storage, the mirror and the history."""
        done = finish(self.study, record.trial_id, state, values, attrs)
        if record.trial_id == self.unfinished:
            self.unfinished = None
        record.state, record.values, record.finished = state.name, values, datetime.now()
        record.attrs.update(attrs)
        self.history.touch()
        if done:
            self.mirror.adopt(as_finished(self.mirror.get_trial(record.trial_id), state, values, attrs,
                                          record.finished))
        else:  # another process finished it first: the next sync reads how
            self.mirror.forget(record.trial_id)

    def heartbeat(self, trial_id: int):
        return self.beats.beating(trial_id) if self.beats is not None else _nothing()

    def flush_avoided(self, force: bool = False) -> None:
        """Publish the count of avoided repeats (every 25 more, and at the end)."""
        if self.avoided != self.flushed and (force or self.avoided - self.flushed >= 25):
            key = f"avoided:{self.identity['host']}:{self.identity['pid']}:{self.identity['start']}"
            self.study.set_user_attr(key, self.avoided)
            self.flushed = self.avoided


def as_finished(trial: FrozenTrial, state: TrialState, values, attrs: dict, when: datetime) -> FrozenTrial:
    """``trial`` as ``finish`` leaves it in the storage."""
    done = copy.copy(trial)
    done.state, done.values, done.datetime_complete = state, list(values) if values is not None else None, when
    done.user_attrs = {**trial.user_attrs, **attrs}
    return done


def trial_number(storage, trial_id: int) -> int:
    """A new trial's number: from Optuna's storage cache when it has it, else asked."""
    cached = getattr(storage, "_trial_id_to_study_id_and_number", {}).get(trial_id)
    return cached[1] if cached else storage.get_trial_number_from_id(trial_id)


REPEAT = object()  # a proposal that was recorded as a repeat, not evaluated


@contextmanager
def _nothing():
    yield


_HASHES: dict = {}  # (space hash, assignment key) -> canonical hash: a pure function, kept per process
_HASHES_LIMIT = 200_000


def cached_hash(space: Space, assignment: Assignment, exact: bool = False) -> str:
    """The functional hash of the architecture (``exact``: the exact hash), remembered."""
    key = (space.hash, assignment.key(), exact)
    found = _HASHES.get(key)
    if found is None:
        if len(_HASHES) >= _HASHES_LIMIT:
            _HASHES.clear()
        found = _HASHES[key] = canonical_hash(space, assignment, exact)
    return found


def canonical_hash(space: Space, assignment: Assignment, exact: bool = False) -> str:
    """The space's functional hash of the architecture (isomorphic ones agree), or its exact
    hash.  When hashing fails on this assignment (the trial will then fail and say why), a
    hash of the assignment itself."""
    try:
        return exact_hash(space, assignment) if exact else space.canonical_hash(assignment)
    except Exception:  # noqa: BLE001 — the evaluation reports the error
        pass

    return "assignment:" + hashlib.sha256(assignment.dumps().encode()).hexdigest()


# ---- several worker processes --------------------------------------------------------------


def run_workers(config: WorkerConfig, workers: int, store, progress) -> None:
    """K spawned processes on the shared storage; this process shows the progress."""
    context = multiprocessing.get_context("spawn")
    threads = os.environ.get("OMP_NUM_THREADS")
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
    # The workers start with Ctrl-C ignored (an ignored signal stays ignored across exec, and
    # Python keeps it so) and take it back once they can handle it (``worker_main``): a Ctrl-C
    # while one is still importing archlang prints no traceback.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        processes = [context.Process(target=worker_main, args=(config, i), daemon=True) for i in range(workers)]
        for process in processes:
            process.start()
    finally:
        signal.signal(signal.SIGINT, previous)
        if threads is None:
            os.environ.pop("OMP_NUM_THREADS", None)
    watch(processes, store, config.study, progress)
    failed = [p.exitcode for p in processes if p.exitcode]
    if failed and all(code == 130 for code in failed):
        raise KeyboardInterrupt
    if failed:
        raise SearchError(f"{len(failed)} worker process(es) failed (exit codes {failed}); rerun to resume")


def watch(processes, store, name: str, progress) -> None:
    history = History(optuna.load_study(study_name=name, storage=store))
    try:
        while any(p.is_alive() for p in processes):
            if progress is not None:
                progress.update(history.sync())
            for p in processes:
                p.join(timeout=0.5 / len(processes))
    except KeyboardInterrupt:  # the workers mark their running trials interrupted, then stop
        for p in processes:
            if p.pid is not None and p.is_alive():
                os.kill(p.pid, signal.SIGINT)
        deadline = time.monotonic() + 10  # a worker still starting ignores Ctrl-C: it is ended
        for p in processes:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join()
        raise
    if progress is not None:
        progress.update(history.sync())


def worker_main(config: WorkerConfig, index: int) -> None:
    """Entry point of a spawned worker (started with Ctrl-C ignored: see ``run_workers``)."""
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        logging.getLogger("optuna").setLevel(logging.ERROR)
        Worker(config, index, open_storage(config.url)).run()
    except KeyboardInterrupt:  # its running trial is marked interrupted; the parent reports
        sys.exit(130)
