"""Built-in objectives (archlang.objectives): registry, static counts without torch, the
digits data fitted to input shapes, proxies and trained accuracy (deterministic for a seed)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

import archlang
from archlang import objectives
from archlang.objectives import ObjectiveError

ROOT = Path(__file__).resolve().parent.parent
DIGITS = ROOT / "specs" / "spaces" / "digits_cnn.arch"
NB201 = ROOT / "specs" / "spaces" / "nasbench201.arch"
# a valid DigitsCNN architecture: width 8, kernel 3, one layer per stage
SMALL = {"width": 0, "kernel": 0, "depth1": 0, "down": 0, "depth2": 0, "stage1.layers.0": 0, "stage2.layers.0": 1}


@pytest.fixture(scope="module")
def small_model():
    space = archlang.space(DIGITS)
    return space.fix_model(archlang.nas.Assignment(dict(SMALL), space.hash))


def test_registry_names_and_directions():
    assert set(objectives.names()) == {"params", "macs", "latency", "synflow", "grad_norm", "snip", "naswot",
                                       "gradsign", "accuracy"}
    for name in objectives.names():
        expected = "minimize" if name in ("params", "macs", "latency") else "maximize"
        assert objectives.get(name).directions == (expected,)
        assert objectives.get(name).takes == "model"
    with pytest.raises(ObjectiveError, match="unknown objective 'speed'"):
        objectives.get("speed")
    both = objectives.combine(["accuracy", "params"])
    assert both.directions == ("maximize", "minimize") and both.names == ("accuracy", "params")


def test_static_objectives_match_the_summary_and_need_no_torch(small_model):
    from archlang.report.summary import summarize

    counts = summarize(small_model)
    assert objectives.get("params")(small_model) == counts.params
    macs = objectives.get("macs")(small_model)
    assert macs > counts.params  # a conv net does more MACs per image than it has weights
    code = ("import sys, archlang; from archlang import objectives; s = archlang.space(%r); "
            "m = s.fix_model(s.sample(seed=1)); objectives.get('params')(m); objectives.get('macs')(m); "
            "print('torch' in sys.modules)" % str(DIGITS))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_digits_fit_the_shapes_the_objectives_accept():
    torch = pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from archlang.objectives.data import digits, fit

    x_train, y_train, x_val, y_val = digits()
    assert len(x_train) + len(x_val) == 1797 and len(x_val) == 359
    assert set(y_val.tolist()) == set(range(10))
    assert fit(x_val, ("B", 64)).shape == (359, 64)
    assert fit(x_val, ("B", 1, 8, 8)).shape == (359, 1, 8, 8)
    assert fit(x_val[:4], ("B", 3, 32, 32)).shape == (4, 3, 32, 32)
    with pytest.raises(ObjectiveError, match="do not fit"):
        fit(x_val, ("B", 3, 4, 4))
    assert torch.allclose(fit(x_val, ("B", 64)).mean(), torch.tensor(0.0), atol=0.1)


@pytest.mark.parametrize("name", objectives.PROXIES)
def test_proxies_are_finite_and_deterministic(small_model, name):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    proxy = objectives.get(name)
    first, second = proxy(small_model), proxy(small_model)
    assert math.isfinite(first) and first == second


def test_proxies_run_on_nasbench201_with_upsampled_digits():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    space = archlang.space(NB201, C=4, N=1)
    model = space.fix_model(space.sample(seed=0))
    assert math.isfinite(objectives.get("naswot", batch=16)(model))
    assert math.isfinite(objectives.get("grad_norm", batch=16)(model))


def test_accuracy_is_a_short_deterministic_training_run(small_model):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    accuracy = objectives.get("accuracy", epochs=2)
    first = accuracy(small_model)
    assert 0.5 < first <= 1.0
    assert accuracy(small_model) == first


def test_latency_is_a_positive_median(small_model):
    pytest.importorskip("torch")
    assert objectives.get("latency", runs=5)(small_model) > 0


def test_objectives_reject_what_they_cannot_score(arch):
    pytest.importorskip("torch")
    program = arch.load("""
        model Seq() {
            input x: [B, 12, 16]
            fc = Linear(16, 10)
            return fc(x).mean(dim=1)
        }""")
    model = program.elaborate("Seq")
    with pytest.raises(ObjectiveError, match="do not fit"):
        objectives.get("accuracy")(model)
