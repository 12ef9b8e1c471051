"""A search's record in an Optuna storage: opening a storage, reading trials back as
``Record``s, the ``History`` a worker keeps in sync with the storage, Pareto dominance, and
``Study``, what ``archlang.search`` returns.

Every trial stores its assignment (JSON) and canonical hash as user attributes; its values,
state and timing are Optuna's own columns.  Trial user attributes written by the engine:

    assignment    the Assignment as JSON            hash       functional hash of the architecture
    options       label -> option name (``NorConv3x3``, ``64``; studies made since names are
                  stored: study attribute ``options = "names"``; a sampler's trials also have
                  them as Optuna params)
    dedup         the deduplication policy in effect (functional, exact or off)
    key           what names the architecture under that policy, when it is not ``hash``
                  (the exact hash; ``off``: a hash of the assignment)
    worker        {"host", "pid", "start", "since"} heartbeat  time.time() of the last heartbeat
                  (process start tick, trial creation time)
    seconds       the objective's run time          reason     why a trial FAILed
    skipped       why a trial is bookkeeping, not an evaluation: "duplicate" (with
                  ``duplicate_of``: the trial number it repeats), "infeasible" (a sampler's
                  proposal that breaks a constraint of the spec: ``reason`` says which),
                  "over budget", "stale" (its worker died while it ran) or "interrupted" (Ctrl-C).

An *evaluation* is a COMPLETE or FAIL trial without ``skipped``: the budget counts
evaluations.  Must not import torch or a backend.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from optuna.trial import TrialState

from archlang.ir import display
from archlang.nas.assignment import Assignment
from archlang.nas.progress import format_values
from archlang.nas.rdb import BatchedRDBStorage

FINISHED = (TrialState.COMPLETE, TrialState.FAIL)
MEMORY = ("memory", ":memory:")


class SearchError(Exception):
    """A search that cannot run as asked (a study of another space, bad directions …)."""


# ---- storages ------------------------------------------------------------------------------


def storage_url(storage, out_dir=None, create: bool = True) -> str | None:
    """The storage URL: given, a path to a SQLite file, or ``OUT_DIR/study.db``; None = memory.
    ``create``: the SQLite file's folder is made when missing."""
    if storage is None:
        return None if out_dir is None else sqlite_url(Path(out_dir) / "study.db", create)
    text = str(storage)
    if text in MEMORY or "://" in text:
        return text
    return sqlite_url(Path(text), create)


def sqlite_url(path: Path, create: bool = True) -> str:
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SearchError(f"cannot create the folder of the storage {path}: {error.strerror or error}") from None
    return f"sqlite:///{path.resolve()}"


def open_storage(url: str | None, create: bool = True):
    """An Optuna storage: in memory, SQLite (WAL journal, waits on locks) or any RDB URL (with
    batched writes: archlang.nas.rdb).  A corrupt file, an unknown URL scheme, a missing
    database driver or (``create=False``) a missing SQLite file is a SearchError naming the fix."""
    if url is None or url in MEMORY:
        return optuna.storages.InMemoryStorage()
    scheme = url.split("://", 1)[0]
    try:
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///"):]
            _check_sqlite(path, create)
            _use_wal(path)
            storage = _rdb(url, {"connect_args": {"timeout": 120}})
            _sync_normally(storage.engine)
            return storage
        return _rdb(url, {"pool_pre_ping": True})
    except SearchError:
        raise
    except ModuleNotFoundError as error:
        driver = error.name or str(error)
        raise SearchError(f"the storage {_redact(url)} needs the Python package '{driver}', which is not installed: "
                          f"{_DRIVERS.get(scheme, f'pip install {driver}')}") from None
    except (sqlite3.DatabaseError, ImportError, ValueError, RuntimeError) as error:
        raise SearchError(_storage_problem(url, scheme, error)) from None
    except Exception as error:  # SQLAlchemy's errors (connection refused, bad URL …): say what and where
        if type(error).__module__.startswith(("sqlalchemy", "optuna", "psycopg")):
            raise SearchError(_storage_problem(url, scheme, error)) from None
        raise


_DRIVERS = {
    "postgresql": "pip install psycopg2-binary, or use postgresql+psycopg://… (pip install 'archlang[search]')",
    "postgresql+psycopg": "pip install 'archlang[search]' (psycopg 3)",
    "mysql": "pip install mysqlclient, or use mysql+pymysql://… (pip install pymysql)",
}


def _rdb(url: str, engine_kwargs: dict):
    for attempt in range(20):  # two processes creating the tables of a new file at once: retry
        try:
            return BatchedRDBStorage(url, engine_kwargs=engine_kwargs)
        except Exception as error:  # noqa: BLE001 — SQLAlchemy's errors
            if attempt == 19 or not is_race(error):
                raise
        time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def is_race(error: Exception) -> bool:
    """Whether a storage error comes from another process doing the same thing at once."""
    text = str(error).lower()
    return any(word in text for word in ("already exists", "unique constraint", "database is locked",
                                         "duplicate key"))


def _check_sqlite(path: str, create: bool) -> None:
    """A SQLite storage file that exists must be a SQLite database; one that does not is made
    only when ``create``."""
    file = Path(path)
    if not file.exists():
        if not create:
            raise SearchError(f"no storage {path}: the file does not exist (give the study's --storage)")
        if not file.parent.is_dir():
            raise SearchError(f"cannot create the storage {path}: the folder {file.parent} does not exist")
        return
    if file.is_dir():
        raise SearchError(f"the storage {path} is a folder, not a SQLite file")
    try:
        with open(file, "rb") as handle:
            head = handle.read(16)
    except OSError as error:
        raise SearchError(f"cannot read the storage {path}: {error.strerror or error}") from None
    if head and head != b"SQLite format 3\x00":
        raise SearchError(f"the storage {path} is not a SQLite database (a corrupt or foreign file); "
                          "give another --storage, or move the file away")


def _storage_problem(url: str, scheme: str, error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "failed to import db access module" in text.lower():
        return (f"the storage {_redact(url)} needs a database driver for '{scheme}://', which is not installed: "
                f"{_DRIVERS.get(scheme.split('+')[0], 'install the SQLAlchemy driver of that database')}")
    if "can't load plugin" in text.lower() or "no such module" in text.lower():
        return (f"unknown storage URL scheme '{scheme}://' in {_redact(url)}: use sqlite:///FILE, "
                "postgresql+psycopg://USER@HOST/DB or another SQLAlchemy URL")
    if "not a database" in text.lower() or "malformed" in text.lower():
        return f"the storage {_redact(url)} is not a usable SQLite database ({text})"
    return f"cannot open the storage {_redact(url)}: {text}"


def _use_wal(path: str) -> None:
    """Write-ahead logging lets readers and one writer of several processes share the file.

    Switching the journal mode takes an exclusive lock that SQLite's busy timeout does not
    wait for: two processes opening a new file at once see "database is locked" from one of
    them.  That is a race, not a failure, so it is retried (for up to about a minute)."""
    for attempt in range(60):
        connection = sqlite3.connect(path, timeout=120)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if attempt == 59 or not is_race(error):
                raise
        finally:
            connection.close()
        time.sleep(min(0.02 * (attempt + 1), 1.0))


def _sync_normally(engine) -> None:
    """``synchronous=NORMAL``: with WAL, a commit survives a killed process (not a power cut)
    and costs a third of a FULL one."""
    from sqlalchemy import event

    def on_connect(connection, record) -> None:
        connection.execute("PRAGMA synchronous=NORMAL")

    event.listen(engine, "connect", on_connect)
    engine.dispose()


def is_shared(url: str | None) -> bool:
    """Whether other processes can reach the storage (not an in-memory one)."""
    return url is not None and url not in MEMORY


# ---- records -------------------------------------------------------------------------------


@dataclass
class Record:
    """One trial as the engine sees it."""

    number: int
    state: str  # COMPLETE, FAIL, RUNNING, WAITING, PRUNED
    values: tuple | None
    attrs: dict
    started: object = None  # datetime
    finished: object = None
    trial_id: int = -1
    params: dict = field(default_factory=dict)  # Optuna's params: label -> option name (or index, older studies)

    @property
    def hash(self) -> str | None:
        return self.attrs.get("hash")

    @property
    def key(self) -> str | None:
        """What names the architecture under the study's policy (``dedup``)."""
        return self.attrs.get("key") or self.attrs.get("hash")

    @property
    def skipped(self) -> str | None:
        return self.attrs.get("skipped")

    @property
    def reason(self) -> str | None:
        return self.attrs.get("reason")

    @property
    def evaluated(self) -> bool:
        return self.state in ("COMPLETE", "FAIL") and not self.skipped

    @property
    def ok(self) -> bool:
        return self.evaluated and self.state == "COMPLETE" and self.values is not None

    def __repr__(self) -> str:
        values = "" if self.values is None else " " + format_values(self.values)
        return f"<Record #{self.number} {self.state}{values}{' (' + self.skipped + ')' if self.skipped else ''}>"

    def assignment(self) -> Assignment | None:
        data = self.attrs.get("assignment")
        return Assignment.from_json(data) if data else None

    def to_json(self) -> dict:
        data = {"number": self.number, "state": self.state,
                "values": list(self.values) if self.values is not None else None}
        for key in ("assignment", "hash", "dedup", "key", "seconds", "reason", "skipped", "duplicate_of", "worker"):
            if key in self.attrs:
                data[key] = self.attrs[key]
        data["started"] = self.started.isoformat() if self.started else None
        data["finished"] = self.finished.isoformat() if self.finished else None
        return data


def record_of(trial) -> Record:
    values = tuple(trial.values) if trial.values is not None else None
    return Record(trial.number, trial.state.name, values, dict(trial.user_attrs),
                  trial.datetime_start, trial.datetime_complete, trial._trial_id, dict(trial.params))


# ---- dominance -----------------------------------------------------------------------------


def signs(directions) -> tuple[int, ...]:
    """+1 for a value to maximise, -1 for one to minimise."""
    return tuple(1 if str(getattr(d, "name", d)).lower().endswith("maximize") else -1 for d in directions)


def dominates(a: tuple, b: tuple, sign: tuple) -> bool:
    """Whether values ``a`` are at least as good as ``b`` everywhere and better somewhere."""
    better = False
    for x, y, s in zip(a, b, sign):
        if s * x < s * y:
            return False
        better = better or s * x > s * y
    return better


def pareto(records: list[Record], sign: tuple) -> list[Record]:
    """The records no other record dominates (first of equal values kept), in order."""
    front: list[Record] = []
    for r in records:
        if any(dominates(o.values, r.values, sign) or o.values == r.values for o in front):
            continue
        front = [o for o in front if not dominates(r.values, o.values, sign)] + [r]
    return sorted(front, key=lambda r: r.number)


def better(a: Record, b: Record | None, sign: tuple) -> bool:
    """Single objective: a strictly better value; several: ``a`` dominates ``b``."""
    if b is None:
        return True
    if len(sign) == 1:
        return sign[0] * a.values[0] > sign[0] * b.values[0]
    return dominates(a.values, b.values, sign)


def best_of(records: list[Record], sign: tuple, rng=None) -> Record | None:
    """The best record (single objective), or one of the non-dominated ones (several)."""
    if not records:
        return None
    if len(sign) == 1:
        return max(records, key=lambda r: (sign[0] * r.values[0], -r.number))
    front = pareto(records, sign)
    return rng.choice(front) if rng is not None else front[0]


# ---- history -------------------------------------------------------------------------------


class History:
    """A worker's view of a study, synced incrementally from the storage.

    Derived views (ordered, known, complete …) are cached until the records change: a sync
    that brings news, or ``touch()`` after the worker updates a record itself."""

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.sign = signs(study.directions)
        self.records: dict[int, Record] = {}
        self._cache: dict = {}

    def sync(self) -> "History":
        for trial in self.study.get_trials(deepcopy=False):
            old = self.records.get(trial.number)
            if old is None or old.state != trial.state.name or old.state not in ("COMPLETE", "FAIL"):
                self.records[trial.number] = record_of(trial)
                self._cache.clear()
        return self

    def touch(self) -> None:
        self._cache.clear()

    def _cached(self, key: str, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def ordered(self) -> list[Record]:
        return self._cached("ordered", lambda: [self.records[n] for n in sorted(self.records)])

    def evaluated(self) -> list[Record]:
        return self._cached("evaluated", lambda: [r for r in self.ordered() if r.evaluated])

    def complete(self) -> list[Record]:
        return self._cached("complete", lambda: [r for r in self.ordered() if r.ok])

    def running(self) -> list[Record]:
        return [r for r in self.ordered() if r.state == "RUNNING"]

    def claimed(self, below: int | None = None) -> int:
        """Evaluations plus running trials (all, or those numbered below ``below``)."""
        return sum(1 for r in self.records.values()
                   if (r.evaluated or (r.state == "RUNNING" and not r.skipped))
                   and (below is None or r.number < below))

    def known(self) -> dict[str, Record]:
        """Canonical hash -> the first evaluated or running trial of that architecture."""
        return self._cached("known", self._known)

    def _known(self) -> dict[str, Record]:
        found: dict[str, Record] = {}
        for r in self.ordered():
            if r.key and (r.evaluated or r.state == "RUNNING") and not r.skipped:
                found.setdefault(r.key, r)
        return found

    def measured(self) -> dict[str, Record]:
        """Assignment (as JSON text) -> the first complete evaluation of exactly it."""
        return self._cached("measured", self._measured)

    def _measured(self) -> dict[str, Record]:
        found: dict[str, Record] = {}
        for r in self.complete():
            data = r.attrs.get("assignment")
            if data:  # the stored JSON is Assignment.to_json(): the same text as Assignment.dumps()
                found.setdefault(json.dumps(data, sort_keys=True), r)
        return found

    def requeued(self) -> list[Record]:
        """Trials interrupted before their result (stale, Ctrl-C) whose architecture is not yet known."""
        return self._cached("requeued", self._requeued)

    def _requeued(self) -> list[Record]:
        known = self.known()
        seen: set[str] = set()
        found = []
        for r in self.ordered():
            if r.skipped in ("stale", "interrupted") and r.key not in known and r.key not in seen:
                seen.add(r.key)
                found.append(r)
        return found

    def best(self) -> Record | None:
        return self._cached("best", lambda: best_of(self.complete(), self.sign))


# ---- the result of a search ----------------------------------------------------------------


@dataclass
class Study:
    """A search's stored study: its records, best architecture(s) and counts."""

    study: optuna.Study
    url: str | None = None
    records: list[Record] = field(default_factory=list)

    @classmethod
    def load(cls, name: str, url: str | None, storage=None) -> "Study":
        """The stored study ``name``; never creates a storage (a missing one is a SearchError)."""
        storage = storage if storage is not None else open_storage(url, create=False)
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            names = ", ".join(s.study_name for s in optuna.get_all_study_summaries(storage)) or "none"
            raise SearchError(f"no study '{name}' in {_redact(url)} (studies: {names})") from None
        return cls(study, url).refresh()

    def refresh(self) -> "Study":
        self.records = History(self.study).sync().ordered()
        return self

    def __repr__(self) -> str:
        best = self.best_records()
        shown = format_values(best[0].values, self.objectives) if best else "none yet"
        front = f" (1 of {len(best)} Pareto-optimal)" if len(best) > 1 else ""
        return (f"<Study {self.name}: {len(self.evaluated())} evaluations, best #{best[0].number if best else '–'} "
                f"{shown}{front}>")

    def _repr_html_(self) -> str | None:
        """Jupyter shows a study as its best trials and plots (registered by ``archlang.api``)."""
        return display.show("study.html", self)

    @property
    def name(self) -> str:
        return self.study.study_name

    @property
    def directions(self) -> tuple[str, ...]:
        return tuple(d.name.lower() for d in self.study.directions)

    @property
    def sign(self) -> tuple[int, ...]:
        return signs(self.study.directions)

    @property
    def info(self) -> dict:
        return dict(self.study.user_attrs)

    @property
    def dedup(self) -> str:
        """The study's deduplication policy (studies made before policies existed: functional)."""
        return self.info.get("dedup", "functional")

    @property
    def stopped(self) -> list[str]:
        """Why workers stopped early (their first evaluations all failed with one reason)."""
        return sorted({v for k, v in self.info.items() if k.startswith("stopped:") and isinstance(v, str)})

    @property
    def objectives(self) -> list[str]:
        names = self.info.get("objectives") or []
        return list(names) if len(names) == len(self.directions) else [f"value{i}" for i in range(len(self.directions))]

    def evaluated(self) -> list[Record]:
        return [r for r in self.records if r.evaluated]

    def complete(self) -> list[Record]:
        return [r for r in self.records if r.ok]

    def failed(self) -> list[Record]:
        return [r for r in self.records if r.evaluated and r.state == "FAIL"]

    def skipped(self, why: str | None = None) -> list[Record]:
        return [r for r in self.records if r.skipped and (why is None or r.skipped == why)]

    def best(self) -> Record | None:
        """The best complete evaluation (single objective; several: the first Pareto one)."""
        return best_of(self.complete(), self.sign)

    def pareto(self) -> list[Record]:
        return pareto(self.complete(), self.sign)

    def best_records(self) -> list[Record]:
        """What a search reports: the best one, or the Pareto set for several objectives."""
        if len(self.sign) == 1:
            best = self.best()
            return [best] if best else []
        return self.pareto()

    def duplicates_avoided(self) -> int:
        """Proposals of an architecture already evaluated that were not evaluated again."""
        avoided = sum(v for k, v in self.info.items() if k.startswith("avoided:") and isinstance(v, int))
        return avoided + len(self.skipped("duplicate"))

    def counts(self) -> dict:
        return {"evaluations": len(self.evaluated()), "complete": len(self.complete()),
                "failed": len(self.failed()), "running": sum(1 for r in self.records if r.state == "RUNNING"),
                "stale": len(self.skipped("stale")) + len(self.skipped("interrupted")),
                "duplicates_avoided": self.duplicates_avoided(), "infeasible": len(self.skipped("infeasible"))}

    def to_json(self) -> dict:
        return {"study": self.name, "storage": _redact(self.url), "directions": list(self.directions),
                "objectives": self.objectives, "space": self.info.get("space"), "dedup": self.dedup,
                "counts": self.counts(),
                "best": [r.number for r in self.best_records()],
                "trials": [r.to_json() for r in self.records]}


def _redact(url: str | None) -> str | None:
    """A URL without its password."""
    if not url or "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    if ":" not in credentials:  # a user name without a password
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


# ---- worker identity -------------------------------------------------------------------------


def worker_identity() -> dict:
    """Who runs a trial: enough to tell later whether that process is still alive."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _process_start(os.getpid())}


def _process_start(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def worker_alive(worker: dict | None) -> bool | None:
    """True/False for a worker of this host; None when it cannot be told (another host)."""
    if not isinstance(worker, dict) or worker.get("host") != socket.gethostname():
        return None
    pid = worker.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    start = worker.get("start")
    return start is None or _process_start(pid) == start


def finite(values) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
