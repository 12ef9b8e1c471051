"""Issue 12, items 6–8: search results are measured, never borrowed; deduplication policies;
storages that cannot be used are clear errors; failing fast; user objectives on the CLI.

CLI cases run ``archlang`` in a subprocess under ``prlimit --as=4 GiB``: each ends in success
or a clear error, with the exit code the docs give and no traceback.
"""

from __future__ import annotations

import itertools
import json
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _search import NB201, ROOT, edge_score

import archlang
from archlang import objectives
from archlang.nas import formats
from archlang.nas.engine import search
from archlang.nas.strategies.base import Proposal
from archlang.nas.strategies.random import RandomSearch
from archlang.nas.study import SearchError, Study

TINY = ROOT / "specs" / "spaces" / "tiny_cnn.arch"
ARCHLANG = str(Path(sys.executable).with_name("archlang"))
LIMIT = ["prlimit", "--as=4294967296"] if shutil.which("prlimit") else []
CELLS = ("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|",  # 344,346 parameters
         "|avg_pool_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|")  # 101,306: one function


def cli(args, cwd: Path, env: dict | None = None, prefix: list | None = None) -> subprocess.CompletedProcess:
    command = [*LIMIT, *(prefix or [ARCHLANG]), *map(str, args)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=300, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert "Traceback" not in result.stderr, result.stderr
    spent = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert spent < 20, f"{args[0]} used {spent:.1f} s of CPU (the bound is 20 s)"
    return result


def proposing(monkeypatch, space, texts: list[str]) -> None:
    """Random search proposes these NAS-Bench-201 cells, in turn (after 200 repeats in a row
    the engine draws a random architecture instead)."""
    cells = itertools.cycle([formats.nb201_to_assignment(space, t) for t in texts])
    monkeypatch.setattr(RandomSearch, "propose", lambda self, ctx: Proposal(next(cells)))


# ---- measured, never borrowed -----------------------------------------------------------------


def test_a_params_search_measures_both_cells_of_one_function(monkeypatch, nb201):
    """The issue's pair: one functional hash, 344,346 and 101,306 parameters.  ``params``
    measures a cost, so the search deduplicates by the exact model and measures both."""
    a, b = (formats.nb201_to_assignment(nb201, t) for t in CELLS)
    assert nb201.canonical_hash(a) == nb201.canonical_hash(b)
    proposing(monkeypatch, nb201, list(CELLS))
    study = search(nb201, objectives.get("params"), strategy="random", budget=2)
    values = [(r.assignment().values, r.values[0]) for r in study.complete()]
    assert values == [(a.values, 344_346.0), (b.values, 101_306.0)]
    assert study.dedup == "exact" and {r.attrs["dedup"] for r in study.records} == {"exact"}


@pytest.mark.parametrize("dedup, first, second", [("functional", 1, 0), ("exact", 1, 1), ("off", 2, 2)])
def test_the_policy_decides_what_is_evaluated_and_nothing_is_borrowed(monkeypatch, nb201, dedup, first, second):
    """A function-only objective on the two cells, proposed in turn: ``functional`` evaluates
    the first only (the second is the same function), ``exact`` each once, ``off`` every
    proposal.  Every stored value was measured on its own trial's architecture."""
    calls = []

    def score(assignment):
        calls.append(assignment.key())
        return edge_score(assignment)

    score.takes, score.directions = "assignment", ("maximize",)
    proposing(monkeypatch, nb201, list(CELLS))
    study = search(nb201, score, strategy="random", budget=4, dedup=dedup)
    a, b = (formats.nb201_to_assignment(nb201, t).key() for t in CELLS)
    assert (calls.count(a), calls.count(b)) == (first, second)
    assert len(study.evaluated()) == len(calls) == 4
    for record in study.complete():
        assert record.values == (edge_score(record.assignment()),)
        assert record.attrs["dedup"] == dedup and record.hash == nb201.canonical_hash(record.assignment())
    assert study.dedup == dedup


def test_a_study_keeps_its_policy(tmp_path, nb201):
    search(nb201, edge_score, strategy="random", budget=2, out_dir=tmp_path, study="s", dedup="exact")
    with pytest.raises(SearchError, match="deduplicates by 'exact', not 'functional'"):
        search(nb201, edge_score, strategy="random", budget=3, out_dir=tmp_path, study="s")


def test_a_cli_params_search_stores_only_values_measured_on_its_own_trial(tmp_path):
    result = cli(["search", NB201, "-m", "NASBench201", "--objective", "params", "--strategy", "tpe",
                  "--budget", "25", "--quiet", "-o", tmp_path / "out"], tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "out" / "trials.json").read_text())
    space = archlang.space(str(NB201))
    assert data["dedup"] == "exact"
    assert len([t for t in data["trials"] if t["values"] is not None and not t.get("skipped")]) == 25
    for trial in data["trials"]:
        if trial["values"] is None:
            continue
        if trial.get("skipped"):  # a sampler's repeat of the very same assignment
            assert data["trials"][trial["duplicate_of"]]["assignment"] == trial["assignment"]
        assignment = archlang.nas.Assignment.from_json(trial["assignment"])
        assert trial["values"] == [float(archlang.summary(space.fix(assignment)).params)]


# ---- failing fast ---------------------------------------------------------------------------


FLAKY = '''
import os

def score(model):
    if os.path.exists(os.path.join(os.path.dirname(__file__), "broken")):
        raise ImportError("No module named 'sklearn'")
    return float(len(model.graph.nodes))

score.takes = "model"

def leave(model):
    import sys
    sys.exit(3)

leave.takes = "model"
'''


def test_a_search_whose_first_trials_all_fail_stops_exits_1_and_resumes_once_fixed(tmp_path):
    (tmp_path / "score.py").write_text(FLAKY)
    (tmp_path / "broken").write_text("")
    args = ["search", TINY, "-m", "TinyCNN", "--objective", "score.py:score", "--budget", "12", "--quiet", "-o", "out"]
    first = cli(args, tmp_path)
    assert first.returncode == 1
    assert "the first 5 evaluations all failed with the same error: ImportError" in first.stderr
    assert "no trial of study 'TinyCNN-evolution' completed" in first.stderr
    (tmp_path / "broken").unlink()  # "pip install" the missing package
    again = cli(args, tmp_path)
    assert again.returncode == 0, again.stderr
    study = Study.load("TinyCNN-evolution", f"sqlite:///{tmp_path / 'out' / 'study.db'}")
    assert len(study.failed()) == 5 and len(study.complete()) == 7


def test_sys_exit_in_an_objective_fails_its_trial_and_leaves_none_running(tmp_path):
    (tmp_path / "score.py").write_text(FLAKY)
    result = cli(["search", TINY, "-m", "TinyCNN", "--objective", "score.py:leave", "--budget", "3", "--quiet",
                  "-o", "out"], tmp_path)
    assert result.returncode == 1
    study = Study.load("TinyCNN-evolution", f"sqlite:///{tmp_path / 'out' / 'study.db'}")
    assert not [r for r in study.records if r.state == "RUNNING"]
    assert {r.reason for r in study.failed()} == {"the objective called sys.exit(3)"}


def test_ctrl_c_between_creating_a_trial_and_evaluating_it_leaves_none_running(nb201, tmp_path, monkeypatch):
    """The window a busy machine widens: the trial is in the storage, its evaluation has not
    begun — Ctrl-C there records it interrupted (the next run evaluates it), never RUNNING."""
    from archlang.nas.engine import Worker

    original, created = Worker.insert, []

    def interrupted_after_the_second_trial(self, *args):
        found = original(self, *args)
        created.append(found[0])
        if len(created) == 2:
            raise KeyboardInterrupt
        return found

    monkeypatch.setattr(Worker, "insert", interrupted_after_the_second_trial)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    with pytest.raises(KeyboardInterrupt):
        search(nb201, objectives.get("params"), strategy="random", budget=5, storage=url, study="s")
    records = Study.load("s", url).records
    assert [r.state for r in records] == ["COMPLETE", "FAIL"] and records[1].skipped == "interrupted"


def test_a_missing_package_is_named_before_the_first_trial(tmp_path):
    code = ("import sys; sys.modules['sklearn'] = None; from archlang.cli.app import main; "
            "sys.exit(main(sys.argv[1:]))")
    result = cli(["search", TINY, "-m", "TinyCNN", "--objective", "accuracy", "--budget", "3", "--quiet",
                  "-o", "out"], tmp_path, prefix=[sys.executable, "-c", code])
    assert result.returncode == 1
    assert "the accuracy objective needs scikit-learn, which is not installed: pip install 'archlang[search]'" \
        in result.stderr
    assert not (tmp_path / "out").exists(), "nothing was created before the check"


# ---- user objectives --------------------------------------------------------------------------


def test_a_user_objective_from_a_file_or_a_module_with_two_workers(tmp_path):
    (tmp_path / "score.py").write_text(FLAKY)
    package = tmp_path / "lib" / "mine"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "scores.py").write_text(FLAKY)
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path / "lib")}
    for spec, workers in (("score.py:score", "2"), ("mine.scores:score", "1")):
        result = cli(["search", TINY, "-m", "TinyCNN", "--objective", f"{spec},params", "--budget", "6",
                      "--workers", workers, "--quiet", "-o", f"out-{workers}"], tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        study = json.loads((tmp_path / f"out-{workers}" / "trials.json").read_text())
        assert study["objectives"] == ["score", "params"] and study["counts"]["complete"] == 6


@pytest.mark.parametrize("spec, message", [
    ("missing.py:score", "no such file"),
    ("score.py:nothing", "has no 'nothing'"),
    ("score.py:VALUE", "is a int, not a function"),
    ("broken.py:score", "importing .*broken.py failed: SyntaxError"),
    ("nosuchmodule.x:score", "no module named 'nosuchmodule'"),
    ("score.py:", "FILE.py:FUNCTION or MODULE:FUNCTION"),
])
def test_user_objective_errors_are_usage_errors(tmp_path, spec, message):
    (tmp_path / "score.py").write_text(FLAKY + "\nVALUE = 3\n")
    (tmp_path / "broken.py").write_text("def score(model):\n    return (\n")
    result = cli(["search", TINY, "-m", "TinyCNN", "--objective", spec, "--budget", "2", "-o", "out"], tmp_path)
    assert result.returncode == 2
    assert __import__("re").search(message, result.stderr), result.stderr
    assert not (tmp_path / "out").exists()


# ---- storages -------------------------------------------------------------------------------


@pytest.mark.parametrize("storage, message", [
    ("garbage.db", "is not a SQLite database"),
    ("truncated.db", "is not a usable SQLite database"),
    ("foo://bar", "unknown storage URL scheme 'foo://'"),
    ("mysql://user@host/db", "needs a database driver for 'mysql://'"),
    ("sqlite:///{tmp}/missing/study.db", "missing.* does not exist"),
    ("folder", "is a folder, not a SQLite file"),
])
def test_unusable_storages_are_clear_errors(tmp_path, storage, message):
    (tmp_path / "garbage.db").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "truncated.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 20)
    (tmp_path / "folder").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    storage = storage.format(tmp=tmp_path)
    for args in (["search", TINY, "-m", "TinyCNN", "--objective", "params", "--budget", "2", "--storage", storage],
                 ["study", "show", "--storage", storage, "--study", "s"]):
        result = cli(args, tmp_path)
        assert result.returncode == 2
        assert __import__("re").search(message, result.stderr), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "garbage.db").read_bytes() == bytes(range(256)) * 4


def test_study_show_never_creates_a_storage(tmp_path):
    result = cli(["study", "show", "--storage", tmp_path / "new" / "study.db", "--study", "s"], tmp_path)
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []
    made = cli(["search", TINY, "-m", "TinyCNN", "--objective", "params", "--budget", "2", "--quiet", "-o", "out"],
               tmp_path)
    assert made.returncode == 0
    other = cli(["study", "show", "--storage", tmp_path / "out" / "study.db", "--study", "nope"], tmp_path)
    assert other.returncode == 2 and "no study 'nope'" in other.stderr and "TinyCNN-evolution" in other.stderr


CREATE = '''
import sys
from archlang.nas.engine import open_study, resolve_directions
from archlang.nas.study import open_storage, sqlite_url
from pathlib import Path
import archlang
space = archlang.space(sys.argv[2])
open_study(open_storage(sqlite_url(Path(sys.argv[1]))), "same", ("minimize",), space, ["params"])
print("ok")
'''


def test_two_processes_creating_one_new_study_both_succeed(tmp_path):
    (tmp_path / "create.py").write_text(CREATE)
    for round_ in range(6):
        db = tmp_path / f"round{round_}.db"
        processes = [subprocess.Popen([sys.executable, "create.py", db, TINY], cwd=tmp_path, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        for process in processes:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0 and out.strip() == "ok", err


# ---- bad numbers are usage errors -------------------------------------------------------------


BAD_OPTIONS = [
    ["search", TINY, "-m", "TinyCNN", "--objective", "params", "--budget", "0"],
    ["search", TINY, "-m", "TinyCNN", "--objective", "params", "--budget", "-1"],
    ["search", TINY, "-m", "TinyCNN", "--objective", "params", "--budget", "9" * 5000],
    ["search", TINY, "-m", "TinyCNN", "--objective", "params", "--workers", "0"],
    ["search", TINY, "-m", "TinyCNN", "--objective", "params", "--timeout", "-3"],
    ["search", TINY, "-m", "TinyCNN", "--objective", "params", "--timeout", "nan"],
    ["search", TINY, "-m", "TinyCNN", "--objective", "params", "--timeout", "inf"],
    ["search", TINY, "-m", "TinyCNN", "--objective", "params", "--seed", "-1"],
    ["search", TINY, "-m", "TinyCNN", "--objective", "params", "--dedup", "sometimes"],
    ["space", TINY, "-m", "TinyCNN", "--unique-limit", "-5"],
    ["summary", TINY, "-m", "TinyCNN", "--depth", "-1"],
    ["render", TINY, "-m", "TinyCNN", "--depth", "x"],
    ["sample", TINY, "-m", "TinyCNN", "--max-params", "-1e6"],
    ["sample", TINY, "-m", "TinyCNN", "--max-params", "1e999"],
    ["sample", TINY, "-m", "TinyCNN", "-n", "0"],
    ["study", "show", "--storage", "x.db", "--study", "s", "--top", "0"],
    ["summary", TINY, "-m", "TinyCNN", "--input", "x=1x²"],
    ["summary", TINY, "-m", "TinyCNN", "--input", "x=1x" + "9" * 5000],
    ["summary", TINY, "-m", "TinyCNN", "--input", "x=1x٣x8x8"],
]


@pytest.mark.parametrize("args", BAD_OPTIONS, ids=[" ".join(a[3:] if len(a) > 3 else a)[:40] for a in BAD_OPTIONS])
def test_bad_numbers_are_usage_errors(tmp_path, args):
    result = cli(args, tmp_path)
    assert result.returncode == 2, result.stderr
    assert "error" in result.stderr and len(result.stderr) < 2000
    assert list(tmp_path.iterdir()) == []


def test_search_arguments_are_checked_by_the_python_api(nb201):
    cases = {
        "budget": (-1, ValueError), "workers": (0, ValueError), "timeout": (float("nan"), ValueError),
        "seed": ("0", TypeError), "storage": (123, TypeError), "dedup": ("maybe", ValueError),
        "study": ("", TypeError), "strategy": (3, TypeError), "out_dir": (b"x", TypeError),
    }
    for name, (value, kind) in cases.items():
        with pytest.raises(kind, match=name):
            search(nb201, edge_score, **{name: value})
    with pytest.raises(TypeError, match="objective"):
        archlang.search(nb201, None)
    with pytest.raises(TypeError, match="space"):
        search("not a space", edge_score)
    assert not Path("123").exists()


def test_the_help_names_user_objectives_and_dedup():
    text = textwrap.dedent(subprocess.run([ARCHLANG, "search", "--help"], capture_output=True, text=True).stdout)
    assert "FILE.py:FUNCTION" in text and "--dedup" in text


SLOW = '''
import time

def slow(model):
    time.sleep(0.2)
    return float(len(model.graph.nodes))

slow.takes = "model"
'''


def test_ctrl_c_during_a_search_with_workers_prints_no_traceback(tmp_path):
    """Interrupted while starting, while the workers import archlang, and while they evaluate:
    exit 130 and no traceback from the command or its workers; trials that were being
    evaluated are recorded as interrupted (the next run evaluates them again)."""
    (tmp_path / "score.py").write_text(SLOW)
    args = [*LIMIT, ARCHLANG, "search", TINY, "-m", "TinyCNN", "--objective", "score.py:slow", "--budget", "200",
            "--workers", "2", "--quiet"]
    for i, moment in enumerate((0.3, 1.5, 3.0, "evaluating")):
        out = tmp_path / f"out{i}"
        process = subprocess.Popen([*args, "-o", out], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        if moment == "evaluating":
            while not _complete(out / "study.db", 3) and process.poll() is None:
                time.sleep(0.05)
        else:
            time.sleep(moment)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=300)
        assert process.returncode == 130, (moment, process.returncode, err)
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, (moment, err)
    study = Study.load("TinyCNN-evolution", f"sqlite:///{tmp_path / 'out3' / 'study.db'}")
    assert study.skipped("interrupted") or not [r for r in study.records if r.state == "RUNNING"]


def _complete(db: Path, count: int) -> bool:
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return connection.execute("select count(*) from trials where state = 'COMPLETE'").fetchone()[0] >= count
    except sqlite3.Error:
        return False
