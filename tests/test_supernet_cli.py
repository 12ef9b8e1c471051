"""``archlang supernet``: one-shot NAS from the command line — its outputs, kill-and-resume,
data-parallel runs under torchrun, user data and the errors of bad options."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from safetensors.torch import load_file  # noqa: E402

import archlang  # noqa: E402
from archlang.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NB201 = str(ROOT / "specs" / "spaces" / "nasbench201.arch")
DATA = str(ROOT / "tests" / "_supernet_data.py")
SMALL = ["--param", "C=4", "--param", "N=1", "--batch-size", "8", "--limit-batches", "3"]


def supernet_args(out: Path, method: str, *extra: str) -> list[str]:
    return ["supernet", NB201, "-m", "NASBench201", "--method", method, "-o", str(out), *extra]


def command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "archlang", *args]


def environment(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT / "tests"), "OMP_NUM_THREADS": "1", **extra}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread here and in the subprocesses (OMP_NUM_THREADS=1): the same arithmetic
    in both, and on a busy machine several threads wait on each other far longer than they
    compute (as in archlang.objectives)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def assert_loads_strictly(out: Path) -> torch.nn.Module:
    """best.arch checks alone and best.safetensors loads into it with strict=True."""
    archlang.load(out / "best.arch")
    module = archlang.to_torch(out / "best.arch")
    module.load_state_dict(load_file(out / "best.safetensors"), strict=True)
    return module


def same_weights(a: Path, b: Path) -> bool:
    first, second = load_file(a), load_file(b)
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def epochs_without_time(out: Path) -> list[dict]:
    history = json.loads((out / "history.json").read_text())
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history["epochs"]]


# ---- the run of the issue ----------------------------------------------------------------------------


def test_spos_on_nasbench201_writes_a_standalone_architecture_with_its_weights(tmp_path, capsys):
    """NAS-Bench-201 (C=8, N=1), SPOS, one epoch on the digits (upscaled to 32×32), a small
    evolution: every output is there and best.arch loads best.safetensors strictly."""
    out = tmp_path / "run"
    code = main(supernet_args(out, "spos", "--param", "C=8", "--param", "N=1", "--epochs", "1", "--batch-size",
                              "32", "--limit-batches", "6", "--hp", "population=4", "--hp", "iterations=2",
                              "--hp", "parents=2", "--hp", "mutations=2", "--hp", "crossovers=1",
                              "--hp", "calibration_batches=2", "--no-plots", "--quiet"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    for name in ("best.arch", "best.safetensors", "history.json", "history.csv", "checkpoint.pt"):
        assert (out / name).is_file(), name
    assert not (out / "losses.png").exists()
    module = assert_loads_strictly(out)
    assert module(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    history = json.loads((out / "history.json").read_text())
    assert history["method"] == "spos" and len(history["epochs"]) == 1
    assert history["epochs"][0]["steps"] == 6
    assert history["evolution"] and history["evolution"][0]["assignment"] == history["best"]
    assert history["evolution"][0]["score"] == max(e["score"] for e in history["evolution"])
    assert "best architecture:" in captured.out
    assert (out / "history.csv").read_text().splitlines()[0].startswith("epoch,lr,steps,train_loss")


def test_darts_writes_the_architecture_weights_plots_and_diagram_and_resumes_only_its_own_run(tmp_path, capsys):
    """--data MODULE:FUNCTION (called with --batch-size); the history holds the architecture
    weights of each decision per epoch, plotted; a finished run started again trains nothing
    and writes the same result; a checkpoint of another run is not continued."""
    out = tmp_path / "darts"
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        args = supernet_args(out, "darts", "--epochs", "2", "--data", "_supernet_data:loaders", *SMALL)
        assert main([*args, "--quiet"]) == 0
        capsys.readouterr()
        first = (out / "best.arch").read_text()
        assert main(args) == 0
        assert "resumed from" in capsys.readouterr().err
        assert (out / "best.arch").read_text() == first
        assert main([*args, "--seed", "9"]) == 2
    finally:
        sys.path.remove(str(ROOT / "tests"))
    err = capsys.readouterr().err
    assert "checkpoint.pt belongs to another run (seed: 0 there, 9 now)" in err and "Traceback" not in err
    history = json.loads((out / "history.json").read_text())
    assert [r["steps"] for r in history["epochs"]] == [3, 3]
    weights = history["epochs"][-1]["arch_weights"]
    assert sorted(weights) == sorted(["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"])
    assert all(len(w) == 5 and sum(w) == pytest.approx(1.0) for w in weights.values())
    assert history["epochs"][0]["arch_weights"] != weights  # the architecture steps moved them
    for name in ("arch_weights.png", "arch_weights.svg", "losses.png", "losses.svg"):
        assert (out / name).stat().st_size > 1000, name
    assert (out / "best.svg").is_file() or (out / "best.dot").is_file()
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert "1<-0=4" in header and len(header) == 8 + 30
    assert_loads_strictly(out)


# ---- kill and resume -----------------------------------------------------------------------------------


def test_a_run_killed_in_epoch_2_and_started_again_ends_as_an_uninterrupted_run(tmp_path):
    """SIGKILL in the middle of epoch 2 (the data function pauses there); the same command
    continues from the epoch-1 checkpoint and ends bit for bit as a run never interrupted."""
    args = lambda out: supernet_args(out, "darts", "--epochs", "3", "--data", f"{DATA}:loaders", *SMALL,  # noqa: E731
                                     "--seed", "5", "--no-plots", "--quiet")
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert main(args(whole)) == 0

    marker = tmp_path / "paused"
    process = subprocess.Popen(command(args(killed)), env=environment(ARCHLANG_TEST_PAUSE=str(marker)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the run never reached epoch 2"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert torch.load(killed / "checkpoint.pt", weights_only=True)["epoch"] == 1
    assert not (killed / "best.arch").exists()

    resumed = subprocess.run(command(args(killed)[:-1]), env=environment(), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stderr and "after epoch 1 of 3" in resumed.stderr
    assert (killed / "best.arch").read_text() == (whole / "best.arch").read_text()
    assert same_weights(killed / "best.safetensors", whole / "best.safetensors")
    assert epochs_without_time(killed) == epochs_without_time(whole)
    supernets = [torch.load(d / "checkpoint.pt", weights_only=True)["supernet"] for d in (whole, killed)]
    assert all(torch.equal(supernets[0][k], supernets[1][k]) for k in supernets[0])


# ---- torchrun ----------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun is not installed")
def test_two_processes_under_torchrun_train_in_step_and_write_once(tmp_path):
    """2 ranks (gloo on CPU) split every epoch's batches, average their gradients and end
    with identical supernets; rank 0 writes a result that loads strictly."""
    out = tmp_path / "ddp"
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    args = supernet_args(out, "darts", "--epochs", "2", "--data", f"{DATA}:loaders", "--param", "C=4", "--param",
                         "N=1", "--batch-size", "8", "--limit-batches", "4", "--no-plots", "--quiet")
    result = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", "-m", "archlang", *args],
                            env=environment(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    history = json.loads((out / "history.json").read_text())
    assert history["world"] == 2 and history["ranks_in_sync"] is True
    assert [r["steps"] for r in history["epochs"]] == [2, 2]  # 4 batches an epoch, 2 per rank
    assert result.stdout.count("best architecture:") == 1  # rank 0 alone reports and writes
    assert_loads_strictly(out)


# ---- bad options ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("extra, code, message", [
    (["--method", "enas"], 2, "invalid choice: 'enas'"),
    (["--method", "darts", "--hp", "orderr=2"], 2, "darts has no hyperparameter orderr"),
    (["--method", "darts", "--hp", "order=3"], 2, "DARTS' order is 1 (first order) or 2"),
    (["--method", "darts", "--hp", "order"], 2, "--hp expects NAME=VALUE"),
    (["--method", "darts", "--data", "imagenet"], 2, "--data imagenet: expected 'digits', FILE.py:FUNCTION or"),
    (["--method", "darts", "--data", "no_such_module_h13:loaders"], 2, "no module named 'no_such_module_h13'"),
    (["--method", "darts", "--data", f"{DATA}:nothing"], 2, "has no function 'nothing'"),
    (["--method", "darts", "--data", f"{DATA}:small_images"], 2,
     "the inputs of a batch have shape [64, 3, 16, 16]; the space takes [B, 3, 32, 32]"),
    (["--method", "darts", "--epochs", "0"], 2, "must be an integer of 1 or more"),
])
def test_bad_options_are_usage_errors(tmp_path, capsys, extra, code, message):
    argv = ["supernet", NB201, "-m", "NASBench201", "-o", str(tmp_path / "o"), "--epochs", "1", "--param", "C=4",
            "--param", "N=1", *extra]
    if extra[-2:] == ["--epochs", "0"]:
        argv.remove("1"), argv.remove("--epochs")
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_method_that_does_not_apply_to_the_space_is_a_located_error(tmp_path, capsys):
    code = main(["supernet", str(ROOT / "specs" / "spaces" / "flexibert.arch"), "-m", "FlexiBERT", "--method",
                 "darts", "--epochs", "1", "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and "flexibert.arch:" in err and "error:" in err and "Traceback" not in err


def test_progress_prints_a_line_per_epoch_off_a_terminal_and_nothing_when_quiet():
    import io

    from archlang.cli.supernet import EpochProgress

    record = {"epoch": 2, "train_loss": 1.23456, "valid_accuracy": 0.5, "seconds": 3.0}
    for quiet, expected in ((False, "NB · darts: epoch 2/3: train loss 1.2346, valid accuracy 0.5000 (3.0s)\n"),
                            (True, "")):
        stream = io.StringIO()
        with EpochProgress("NB · darts", quiet=quiet, stream=stream) as progress:
            progress.begin(3, 10, 1)
            progress.step(1, 0, 2.0)
            progress.end_epoch(record)
        assert stream.getvalue() == expected


def test_the_command_runs_spos_for_five_generations_unless_told_and_says_so():
    from archlang.cli.supernet import parse_hyperparameters

    assert parse_hyperparameters(None, "spos", 3) == {"seed": 3, "iterations": 5}
    assert parse_hyperparameters(["iterations=20"], "spos", 3)["iterations"] == 20
    assert "iterations" not in parse_hyperparameters(None, "darts", 3)
