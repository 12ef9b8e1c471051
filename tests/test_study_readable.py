"""Search results that read as the papers write them: trials store option names as Optuna
params (older studies that stored indices still resume and are named from their space file),
the study carries Optuna metric names, ``study show`` writes NAS-Bench-201 arch strings and
DARTS genotypes, plots turn logarithmic over more than three decades, parameter importance
and parallel coordinates are drawn, and ``archlang study list`` / ``study plot`` work."""

from __future__ import annotations

import random
import re
from pathlib import Path

import optuna
import pytest

import archlang
from archlang.cli import main
from archlang.nas import formats
from archlang.nas.plots import figure, importance, pyplot
from archlang.nas.report import results_table, wants_log
from archlang.nas.strategies.distributions import params
from archlang.nas.study import Study

SPACES = Path(__file__).resolve().parents[1] / "specs" / "spaces"
plt = pyplot()


@pytest.fixture(scope="module")
def tiny():
    return archlang.space(SPACES / "tiny_cnn.arch")


@pytest.fixture(scope="module")
def nb201():
    return archlang.space(SPACES / "nasbench201.arch")


@pytest.fixture(scope="module")
def stored(tmp_path_factory, tiny, nb201):
    """A storage with a TPE study of TinyCNN (two objectives) and a random one of NB201."""
    db = tmp_path_factory.mktemp("studies") / "study.db"
    archlang.search(tiny, ["params", "macs"], strategy="tpe", budget=6, seed=0, storage=db, study="tiny-tpe")
    archlang.search(nb201, "params", strategy="random", budget=5, seed=0, storage=db, study="nb201")
    return db


def _load(db, name) -> Study:
    return Study.load(name, f"sqlite:///{db}")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---- what a study stores ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tiny-tpe", "nb201"])  # a sampler's trials and the engine's own
def test_trials_store_option_names(stored, name, tiny, nb201):
    study = _load(stored, name)
    space = tiny if name == "tiny-tpe" else nb201
    for record, trial in zip(study.records, study.study.trials):
        expected, _ = params(space, record.assignment())
        assert trial.user_attrs["options"] == expected
        if name == "tiny-tpe":  # the sampler's own params are the names too
            assert trial.params == expected
        assert all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in expected.values())
    names = {v for trial in study.study.trials for v in trial.user_attrs["options"].values()}
    assert names & ({"Residual", "Sequential", "Identity", 16, 24, 32} if name == "tiny-tpe"
                    else {"Zero", "Identity", "NorConv1x1", "NorConv3x3", "AvgPool2d"})


def test_study_sets_optuna_metric_names(stored):
    assert _load(stored, "tiny-tpe").study.metric_names == ["params", "macs"]
    assert _load(stored, "nb201").study.metric_names == ["params"]


def _old_study(db, space, n: int = 4) -> None:
    """A study as archlang wrote them before option names: params are option indices."""
    study = optuna.create_study(study_name="old", storage=f"sqlite:///{db}", directions=["minimize"])
    study.set_user_attr("space", {"name": space.name, "file": str(space.program.file), "hash": space.hash})
    study.set_user_attr("objectives", ["params"])
    study.set_user_attr("dedup", "exact")  # what a cost objective (params) implies
    rng = random.Random(1)
    for i in range(n):
        assignment = space.sample(rng)
        values, dists = params(space, assignment, names=False)
        study.add_trial(optuna.trial.create_trial(
            params=values, distributions=dists, values=[float(1000 * (i + 1))],
            user_attrs={"assignment": assignment.to_json(), "hash": space.canonical_hash(assignment)}))


@pytest.mark.parametrize("strategy", ["tpe", "random"])
def test_an_old_index_study_resumes_with_indices(tmp_path, tiny, strategy):
    db = tmp_path / "old.db"
    _old_study(db, tiny)
    study = archlang.search(tiny, "params", strategy=strategy, budget=6, seed=0, storage=db, study="old")
    assert len(study.evaluated()) == 6
    assert all(isinstance(v, int) for t in study.study.trials for v in t.params.values())
    assert not any("options" in t.user_attrs for t in study.study.trials)


def test_show_names_the_options_of_an_old_study(tmp_path, tiny, capsys):
    db = tmp_path / "old.db"
    _old_study(db, tiny)
    code, out, _ = run(capsys, "study", "show", "--storage", db, "--study", "old")
    assert code == 0
    assert re.search(r"stage1\.blocks\.0=(Residual|Sequential|Identity)", out)
    assert re.search(r"width=(16|24|32)\b", out)
    assert not re.search(r"width=[0-2]\b", out)  # not the indices


def test_results_table_without_the_space_shows_indices(tmp_path, tiny):
    db = tmp_path / "old.db"
    _old_study(db, tiny)
    table = results_table(_load(db, "old"))
    assert re.search(r"stage1\.blocks\.0=[0-2]\b", table)


# ---- the space's own notation --------------------------------------------------------------------


@pytest.mark.parametrize("file, name, write", [
    ("nasbench201.arch", "NASBench201", lambda a: formats.assignment_to_nb201(a)),
    ("darts.arch", "DARTS", lambda a: str(formats.assignment_to_genotype(a))),
])
def test_notation_is_the_benchmark_string(file, name, write):
    space = archlang.space(SPACES / file, name)
    rng = random.Random(0)
    for _ in range(5):
        assignment = space.sample(rng)
        assert formats.notation(assignment.to_json()["choices"]) == write(assignment)


def test_notation_of_other_spaces_is_none(tiny):
    assert formats.notation(tiny.sample(random.Random(0)).values) is None
    assert formats.notation({"1<-0": 7, "2<-0": 0, "2<-1": 0, "3<-0": 0, "3<-1": 0, "3<-2": 0}) is None


def test_show_writes_nasbench201_arch_strings(stored, capsys):
    code, out, _ = run(capsys, "study", "show", "--storage", stored, "--study", "nb201")
    assert code == 0
    strings = re.findall(r"\|\S+\|", out)
    assert len(strings) == 5
    space = archlang.space(SPACES / "nasbench201.arch")
    for text in strings:  # each reads back as an architecture of the space
        formats.nb201_to_assignment(space, text)


# ---- plots --------------------------------------------------------------------------------------


@pytest.mark.parametrize("values, log", [
    ([1, 10, 100, 1000], False), ([1, 10, 100, 1001], True), ([2e5, 3e9], True),
    ([-1, 1e6], False), ([0.0, 5e6], False), ([0.5], False), ([], False),
])
def test_log_axis_over_three_decades(values, log):
    assert wants_log(values) is log


@pytest.mark.skipif(plt is None, reason="matplotlib is not installed")
def test_history_plot_is_logarithmic_when_values_span_decades(tmp_path, tiny):
    db = tmp_path / "old.db"
    _old_study(db, tiny)  # values 1000 … 4000: linear
    study = _load(db, "old")
    linear = figure(plt, study, "history")
    assert linear.axes[0].get_yscale() == "linear"
    plt.close(linear)
    for record, value in zip(study.records, (1.0, 10.0, 1e4, 1e6)):
        record.values = (value,)
    wide = figure(plt, study, "history")
    assert wide.axes[0].get_yscale() == "log"
    plt.close(wide)


def test_importance_ranks_the_decisions(stored):
    found = importance(_load(stored, "nb201"))
    assert found and set(found) <= {"1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"}
    assert all(v >= 0 for v in found.values()) and sum(found.values()) == pytest.approx(1.0, abs=1e-6)
    assert list(found.values()) == sorted(found.values(), reverse=True)


# ---- archlang study list / plot -----------------------------------------------------------------


def test_study_list_names_every_study(stored, capsys):
    code, out, _ = run(capsys, "study", "list", "--storage", stored)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["study", "space", "objectives", "evaluations"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"tiny-tpe", "nb201"}
    assert "NASBench201" in rows["nb201"] and "params (min)" in rows["nb201"] and " 5 " in rows["nb201"]
    best = _load(stored, "tiny-tpe").best_records()
    assert "params (min), macs (min)" in rows["tiny-tpe"]
    assert f"{int(best[0].values[0]):,}, {int(best[0].values[1]):,}" in rows["tiny-tpe"]
    assert ("Pareto" in rows["tiny-tpe"]) is (len(best) > 1)


def test_study_list_finds_search_folders(stored, capsys, monkeypatch):
    monkeypatch.chdir(stored.parent.parent)
    code, out, _ = run(capsys, "study", "list")
    assert code == 0 and f"{stored.parent.name}/study.db" in out
    monkeypatch.chdir(stored.parent / "..")
    empty = stored.parent.parent / "empty"
    empty.mkdir(exist_ok=True)
    monkeypatch.chdir(empty)
    code, _, err = run(capsys, "study", "list")
    assert code == 2 and "no --storage" in err


@pytest.mark.skipif(plt is None, reason="matplotlib is not installed")
@pytest.mark.parametrize("study, kind, suffix", [
    ("nb201", "history", ".png"), ("nb201", "importance", ".svg"), ("nb201", "parallel", ".png"),
    ("tiny-tpe", "pareto", ".svg"),
])
def test_study_plot_writes_the_file(stored, tmp_path, capsys, study, kind, suffix):
    out_file = tmp_path / f"plot{suffix}"
    code, out, err = run(capsys, "study", "plot", study, "--storage", stored, "--kind", kind, "-o", out_file)
    assert code == 0, err
    data = out_file.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data
    assert out.strip() == f"wrote {out_file}"


@pytest.mark.parametrize("argv, message", [
    (["nb201", "--kind", "pareto"], "a Pareto front needs two"),
    (["missing"], "no study 'missing'"),
    (["nb201", "-o", "plot.txt"], "cannot tell the format"),
    (["tiny-tpe", "--objective", "latency"], "no objective 'latency'"),
])
def test_study_plot_usage_errors(stored, tmp_path, capsys, argv, message):
    code, _, err = run(capsys, "study", "plot", *argv, "--storage", stored)
    assert code == 2 and message in err and "Traceback" not in err
