"""The search engine (archlang.nas.engine): strategies, duplicates, budget, failures,
resume after a kill, several workers on SQLite and on PostgreSQL, reports and the CLI.

Objectives here are synthetic (pure functions of the assignment) so the tests measure the
engine, not training.  Scripts that run in subprocesses import them from ``synthetic.py``,
written next to the storage.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _search import DIGITS, NB201, OPTIMUM, ROOT, edge_score
from _timing import cpu_budget

import archlang
from archlang.nas.engine import canonical_hash, search
from archlang.nas.study import SearchError, Study


def evaluations_to_optimum(study: Study, cap: int) -> int:
    for count, record in enumerate(study.evaluated(), start=1):
        if record.ok and record.values[0] == OPTIMUM:
            return count
    return cap + 1


# ---- strategies --------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["random", "evolution", "local", "tpe", "nsga2"])
def test_every_strategy_spends_the_budget_on_distinct_architectures(nb201, strategy):
    study = search(nb201, edge_score, strategy=strategy, budget=60, seed=3)
    evaluated = study.evaluated()
    assert len(evaluated) == 60
    hashes = [r.hash for r in evaluated]
    assert len(set(hashes)) == 60, "an architecture was evaluated twice"
    for record in evaluated:
        assert record.hash == canonical_hash(nb201, record.assignment())
        nb201.check(record.assignment())
    assert study.best().values[0] == max(r.values[0] for r in study.complete())


def test_evolution_reaches_the_optimum_in_fewer_evaluations_than_random(nb201):
    """Median over 10 seeds of the evaluations until the optimum (capped: not reached = cap + 1)."""
    cap = 250
    runs = {}
    for strategy in ("evolution", "random"):
        runs[strategy] = [evaluations_to_optimum(search(nb201, edge_score, strategy=strategy, budget=cap,
                                                        seed=seed), cap) for seed in range(10)]
    evolution, random_ = statistics.median(runs["evolution"]), statistics.median(runs["random"])
    assert evolution <= cap, runs
    assert evolution < random_, runs


def test_tpe_suggests_only_active_decisions(digits):
    def objective(assignment):
        return float(sum(1 for v in assignment.values.values() if v == 0))

    objective.takes, objective.directions = "assignment", ("maximize",)
    study = search(digits, objective, strategy="tpe", budget=30, seed=0)
    active_labels = {d.label for d in digits.tree.by_label.values()}
    for trial in study.study.get_trials():
        if trial.user_attrs.get("skipped"):
            continue
        values = trial.user_attrs["assignment"]["choices"]
        assert set(trial.params) == set(values), "TPE suggested an inactive decision"
        assert set(trial.params) <= active_labels
        digits.check(archlang.nas.Assignment.from_json(trial.user_attrs["assignment"]))


def test_two_objectives_give_a_pareto_set(nb201):
    def objective(assignment):
        score = edge_score(assignment)
        cost = sum(1 for v in assignment.values.values() if v in (2, 3))
        return score, cost

    objective.takes, objective.directions = "assignment", ("maximize", "minimize")
    study = search(nb201, objective, strategy="nsga2", budget=80, seed=1)
    front = study.pareto()
    assert front
    for a in front:
        for b in study.complete():
            assert not (b.values[0] >= a.values[0] and b.values[1] <= a.values[1] and b.values != a.values)


def test_exhausted_space_stops_early(tmp_path):
    space = archlang.space(_write(tmp_path / "tiny.arch", """
        space Tiny() {
            input x: [B, 4]
            fc = Linear(4, choice(2, 3, label="width"))
            return fc(x)
        }"""))

    def objective(assignment):
        return float(assignment.values["width"])

    objective.takes = "assignment"
    study = search(space, objective, strategy="evolution", budget=10, seed=0)
    assert len(study.evaluated()) == 2
    assert study.duplicates_avoided() > 0


# ---- failures ------------------------------------------------------------------------------


def picky(assignment) -> float:
    first = assignment.values["1<-0"]
    if first == 0:
        raise RuntimeError("no edge out of the input")
    if first == 1:
        return float("nan")
    if first == 2:
        time.sleep(5)
    if first == 3:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    return 1.0


picky.takes = "assignment"


def test_failed_trials_are_recorded_with_their_reason_and_the_search_goes_on(nb201):
    with cpu_budget(15, "20 trials of which some fail"):
        study = search(nb201, picky, strategy="random", budget=20, seed=0, timeout=0.2)
    assert len(study.evaluated()) == 20
    reasons = {r.attrs["assignment"]["choices"]["1<-0"]: r.reason for r in study.failed()}
    assert "no edge out of the input" in reasons[0]
    assert "NaN" in reasons[1]
    assert reasons[2].startswith("timeout")
    assert reasons[3].startswith("out of memory")
    assert all(r.ok for r in study.complete())
    assert {r.state for r in study.evaluated()} == {"COMPLETE", "FAIL"}


def test_wrong_number_of_values_fails_the_trial(nb201):
    def two(assignment):
        return 1.0, 2.0

    two.takes = "assignment"
    study = search(nb201, two, strategy="random", budget=3)
    assert len(study.failed()) == 3
    assert "2 value(s)" in study.failed()[0].reason


def test_a_study_of_another_space_is_refused(tmp_path, nb201, digits):
    search(nb201, edge_score, strategy="random", budget=2, out_dir=tmp_path, study="s")
    with pytest.raises(SearchError, match="another version of space|optimises"):
        search(digits, edge_score, strategy="random", budget=2, out_dir=tmp_path, study="s")


# ---- storage, resume, workers -----------------------------------------------------------------

SYNTHETIC = '''
import time

EDGE_SCORE = (0.0, 1.0, 2.0, 3.0, 0.5)


def slow_score(assignment):
    time.sleep({delay})
    return sum(EDGE_SCORE[v] for v in assignment.values.values())


slow_score.takes = "assignment"
slow_score.directions = ("maximize",)
'''

RUNNER = '''
import sys

import archlang
import synthetic

if __name__ == "__main__":
    storage, strategy, budget, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    space = archlang.space({space!r})
    study = archlang.search(space, synthetic.slow_score, strategy=strategy, budget=budget, seed=0,
                            storage=storage, study="shared", workers=workers)
    print("done", len(study.evaluated()))
'''


def _runner(folder: Path, delay: float) -> Path:
    (folder / "synthetic.py").write_text(SYNTHETIC.format(delay=delay))
    script = folder / "runner.py"
    script.write_text(RUNNER.format(space=str(NB201)))
    return script


def _run(script: Path, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(script.parent))
    return subprocess.run([sys.executable, str(script), *map(str, args)], cwd=script.parent, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _finished(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return connection.execute("select count(*) from trials where state in ('COMPLETE', 'FAIL')").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _check_no_lost_or_duplicated(study: Study, budget: int) -> None:
    evaluated = study.evaluated()
    assert len(evaluated) == budget
    hashes = [r.hash for r in evaluated]
    assert len(set(hashes)) == len(hashes), "an architecture was evaluated twice"
    assert not [r for r in study.records if r.state == "RUNNING"]


@pytest.mark.parametrize("strategy", ["evolution", "tpe"])
def test_resume_after_sigkill_loses_and_duplicates_nothing(tmp_path, strategy):
    script = _runner(tmp_path, delay=0.15)
    db = tmp_path / "study.db"
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    process = subprocess.Popen([sys.executable, str(script), str(db), strategy, "30", "1"], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 600  # a wait for the other process, not a speed bound
    while _finished(db) < 8 and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    time.sleep(0.07)  # most likely in the middle of a trial
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = Study.load("shared", f"sqlite:///{db}")
    done_before = len(before.evaluated())
    assert 8 <= done_before < 30
    interrupted = [r for r in before.records if r.state == "RUNNING"]

    result = _run(script, db, strategy, 30, 1)
    assert result.returncode == 0, result.stderr
    study = Study.load("shared", f"sqlite:///{db}")
    _check_no_lost_or_duplicated(study, 30)
    stale = study.skipped("stale")
    assert [r.number for r in stale] == [r.number for r in interrupted]
    evaluated_hashes = {r.hash for r in study.evaluated()}
    assert all(r.hash in evaluated_hashes for r in stale), "an interrupted architecture was lost"
    # the earlier evaluations are kept as they were
    assert [r.number for r in study.evaluated()][:done_before] == [r.number for r in before.evaluated()]


def test_two_workers_on_one_sqlite_study(tmp_path):
    script = _runner(tmp_path, delay=0.05)
    db = tmp_path / "study.db"
    result = _run(script, db, "random", 40, 2)
    assert result.returncode == 0, result.stderr
    study = Study.load("shared", f"sqlite:///{db}")
    _check_no_lost_or_duplicated(study, 40)
    pids = {r.attrs["worker"]["pid"] for r in study.evaluated()}
    assert len(pids) == 2, "both workers evaluate"


# ---- PostgreSQL ------------------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    """A PostgreSQL server on loopback in a temporary folder, for the duration of the module."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; `make system` tries)")
    pytest.importorskip("psycopg", reason="the psycopg driver is not installed (pip install 'archlang[search]')")
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="archlang-pg-", dir="/tmp"))
    run_as = _postgres_user()
    os.chmod(folder, 0o755)
    if run_as is not None:
        import pwd

        entry = pwd.getpwnam(run_as)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    prefix = ["runuser", "-u", run_as, "--"] if run_as else []
    port = _free_port()
    data, log = folder / "data", folder / "log"
    subprocess.run(prefix + [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "archlang"],
                   check=True, capture_output=True)
    subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o",
                             f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        subprocess.run(prefix + [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "archlang",
                                 "search"], check=True, capture_output=True)
        yield f"postgresql+psycopg://archlang@127.0.0.1:{port}/search"
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)


def _postgres_user() -> str | None:
    """initdb refuses to run as root: use the postgres (or nobody) account then."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.skip("running as root and no postgres/nobody account to run the server")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("strategy", ["evolution", "tpe"])
def test_two_workers_share_a_postgresql_study(tmp_path, postgres_url, strategy):
    script = _runner(tmp_path, delay=0.05)
    # one database for the module: a study per strategy
    script.write_text(script.read_text().replace('study="shared"', f'study="shared-{strategy}"'))
    result = _run(script, postgres_url, strategy, 30, 2)
    assert result.returncode == 0, result.stderr
    study = Study.load(f"shared-{strategy}", postgres_url)
    _check_no_lost_or_duplicated(study, 30)
    assert len({r.attrs["worker"]["pid"] for r in study.evaluated()}) == 2
    # a second machine (here: a second run) joining the finished study adds nothing
    again = _run(script, postgres_url, strategy, 30, 1)
    assert again.returncode == 0, again.stderr
    assert len(Study.load(f"shared-{strategy}", postgres_url).evaluated()) == 30


# ---- reports and the CLI ---------------------------------------------------------------------


def test_cli_search_writes_the_best_architecture_trials_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    result = _cli(["search", str(DIGITS), "-m", "DigitsCNN", "--objective", "params", "--strategy", "random",
                   "--budget", "12", "-o", str(out), "--seed", "1"])
    assert result.returncode == 0, result.stderr
    assert "best architecture" in result.stdout
    best = (out / "best.arch").read_text()
    program = archlang.loads(best, filename="best.arch")
    assert program.models == ["DigitsCNN"]
    trials = json.loads((out / "trials.json").read_text())
    assert trials["counts"]["evaluations"] == 12
    assert len(trials["trials"]) >= 12 and "assignment" in trials["trials"][0]
    for name in ("best_so_far.png", "best_so_far.svg"):
        assert (out / name).stat().st_size > 1000
    # the same command again resumes: nothing more to do
    again = _cli(["search", str(DIGITS), "-m", "DigitsCNN", "--objective", "params", "--strategy", "random",
                  "--budget", "12", "-o", str(out), "--quiet"])
    assert again.returncode == 0 and "12 evaluations" in again.stdout
    show = _cli(["study", "show", "--storage", str(out / "study.db"), "--study", "DigitsCNN-random"])
    assert show.returncode == 0 and "12 evaluations" in show.stdout and "params" in show.stdout


def test_cli_two_objectives_write_the_pareto_set(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    result = _cli(["search", str(DIGITS), "-m", "DigitsCNN", "--objective", "params,macs", "--strategy", "nsga2",
                   "--budget", "16", "-o", str(out), "--quiet"])
    assert result.returncode == 0, result.stderr
    pareto = sorted((out / "pareto").glob("*.arch"))
    assert pareto
    assert (out / "pareto.png").exists() and (out / "pareto.svg").exists()


def test_cli_errors_are_usage_errors(tmp_path):
    bad = _cli(["search", str(DIGITS), "-m", "DigitsCNN", "--objective", "speed", "-o", str(tmp_path)])
    assert bad.returncode == 2 and "unknown objective 'speed'" in bad.stderr
    missing = _cli(["study", "show", "--storage", str(tmp_path / "sub" / "none.db"), "--study", "nope"])
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "sub").exists(), "study show never creates a storage"


def _cli(argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archlang", *argv], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


def test_archlang_search_is_the_package_and_the_function(nb201):
    study = archlang.search(nb201, edge_score, strategy="random", budget=3)
    assert len(study.evaluated()) == 3
    import archlang.nas.engine as engine

    assert engine.search is search


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_edge_score_optimum_is_unique(nb201):
    best = [a for a in nb201.enumerate() if edge_score(a) == OPTIMUM]
    assert len(best) == 1 and set(best[0].values.values()) == {3}
    assert not math.isnan(OPTIMUM)


def test_running_trials_of_another_host_are_stale_only_after_the_grace_period(tmp_path, nb201):
    import optuna

    from archlang.nas.engine import recover
    from archlang.nas.study import open_storage, sqlite_url

    url = sqlite_url(tmp_path / "s.db")
    search(nb201, edge_score, strategy="random", budget=1, storage=url, study="s")
    ostudy = optuna.load_study(study_name="s", storage=open_storage(url))
    for since in (time.time() - 1000, time.time()):
        trial = ostudy.ask()
        trial.set_user_attr("worker", {"host": "elsewhere", "pid": 1, "start": None, "since": since})
        trial.set_user_attr("hash", f"h{since}")
    assert recover(ostudy, grace=60) == [1]
    study = Study.load("s", url)
    assert [r.number for r in study.skipped("stale")] == [1]
    assert [r.number for r in study.records if r.state == "RUNNING"] == [2]
    assert len(study.evaluated()) == 1
