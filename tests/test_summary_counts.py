"""What a summary counts, checked against independent measurements.

* A space's summary is an expression over its decisions: evaluated at an assignment, every
  total (parameters, buffers, MACs, activation bytes) equals the summary of the fixed model,
  for every architecture of a small space and for samples of specs/spaces/digits_cnn.arch
  (layer choices, searched sizes, a searched depth); each option row equals the fixed
  model's row; the smallest and largest architectures are the minimum and maximum over an
  enumeration.
* Activation bytes and buffers equal what PyTorch computes: forward hooks on every leaf
  module of the built model, and ``module.buffers()``.
* Formulas wrap at their terms and read back whole.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

import archlang
from archlang.ir import dims
from archlang.report.summary import WRAP, _wrap, format_summary, summarize

ROOT = Path(__file__).resolve().parents[1]

TINY_SPACE = """
space Tiny() {
    input x: [1, 3, 8, 8]
    width = choice(4, 8, label="width")
    stem = Conv2d(3, width, 3, padding=1)
    body = choice(Conv2d(width, width, 3, padding=1), Conv2d(width, width, 5, padding=2), Identity(), label="body")
    blocks = Sequential([choice(Conv2d(width, width, 3, padding=1), BatchNorm2d(width))
                         for i in range(choice(1, 2, 3, label="depth"))])
    head = Linear(width, 10)
    return head(blocks(body(stem(x))).mean(dim=[2, 3]))
}
"""

LEAVES = """
model Net() {
    input x: [2, 3, 16, 16]
    features = Sequential(Conv2d(3, 8, 3, padding=1), BatchNorm2d(8), ReLU(), MaxPool2d(2),
                          Conv2d(8, 16, 3, stride=2), ReLU(), Flatten(), Linear(16 * 3 * 3, 10))
    return features(x)
}
"""

TOTALS = ("params", "buffers", "macs", "activations")


def env_of(model, assignment) -> dict:
    """The summary's symbols at ``assignment``: a searched size is its value, a searched
    layer (``label#``) its option index, a DAG cell's picked inputs (``label#``) the index of
    that subset among the ``k``-subsets in order."""
    env = {}
    for decl in model.choices:
        if decl.label in assignment.values:
            index = assignment.values[decl.label]
            if decl.kind == "subset":
                index = list(itertools.combinations(range(len(decl.options)), decl.k)).index(tuple(index))
            env[decl.label + "#"] = index
            if decl.kind == "value":
                env[decl.label] = decl.options[index]
    return env


def at(d, env):
    return d if isinstance(d, int) else dims.evaluate(dims.subs(d, env), {})


def totals(summary) -> dict:
    return {name: getattr(summary, name) for name in TOTALS}


def test_every_architecture_is_the_space_summary_at_its_assignment():
    space = archlang.space(TINY_SPACE)
    general = summarize(space.model)
    architectures = list(space.enumerate())
    assert len(architectures) == 2 * 3 * (2 + 4 + 8)
    for a in architectures:
        env = env_of(space.model, a)
        assert {k: at(v, env) for k, v in totals(general).items()} == totals(summarize(space.fix_model(a))), a


def test_the_smallest_and_largest_architectures_are_the_extremes_of_an_enumeration():
    space = archlang.space(TINY_SPACE)
    general = summarize(space.model)
    fixed = [summarize(space.fix_model(a)) for a in space.enumerate()]
    assert (general.smallest.params, general.largest.params) == (min(s.params for s in fixed), max(s.params for s in fixed))
    assert (general.smallest.macs, general.largest.macs) == (min(s.macs for s in fixed), max(s.macs for s in fixed))
    assert general.smallest.macs < general.largest.macs


def test_each_option_row_is_the_fixed_model_s_row():
    space = archlang.space(TINY_SPACE)
    rows = {r.path: r for r in summarize(space.model).rows}
    assert rows["body"].kind == "choice" and [rows[f"body.{i}"].kind for i in range(3)] == ["Conv2d", "Conv2d", "Identity"]
    for a in space.enumerate():
        fixed = {r.path: r for r in summarize(space.fix_model(a)).rows}
        option = rows[f"body.{a.values['body']}"]
        env = env_of(space.model, a)
        assert at(option.macs, env) == fixed["body"].macs and at(option.params, env) == fixed["body"].params
    assert at(rows["body.1"].macs, {"width": 8}) == 8 * 8 * 25 * 64 and rows["body.2"].macs == 0


def test_digits_space_counts_match_its_fixed_models():
    space = archlang.space(ROOT / "specs" / "spaces" / "digits_cnn.arch", inputs={"x": [1, 1, 8, 8]})
    general = summarize(space.model)
    for seed in range(25):
        a = space.sample(seed=seed)
        env = env_of(space.model, a)
        assert {k: at(v, env) for k, v in totals(general).items()} == totals(summarize(space.fix_model(a))), a
    assert 0 < general.smallest.macs < general.largest.macs


def test_activation_bytes_and_buffers_are_what_pytorch_computes():
    torch = pytest.importorskip("torch")
    summary = archlang.summary(LEAVES, "Net")
    module = archlang.to_torch(LEAVES, "Net", seed=0)
    measured: dict[str, int] = {}

    def record(name):
        def hook(_module, _inputs, output):
            measured[name] = measured.get(name, 0) + output.numel() * output.element_size()
        return hook

    for name, sub in module.named_modules():
        if not list(sub.children()):
            sub.register_forward_hook(record(name))
    with torch.no_grad():
        module(torch.randn(2, 3, 16, 16))
    leaves = {r.path: r.activations for r in summary.rows if r.kind != "Sequential"}
    assert leaves == measured
    assert summary.activations == sum(measured.values())
    assert summary.buffers == sum(b.numel() for b in module.buffers())
    assert summary.params == sum(p.numel() for p in module.parameters() if p.requires_grad)
    assert summary.frozen == 0


def test_the_json_has_every_count_and_a_space_s_extremes(capsys):
    from archlang.cli.app import main

    spec = ROOT / "specs" / "spaces" / "digits_cnn.arch"
    assert main(["summary", str(spec), "-m", "DigitsCNN", "--input", "x=1x1x8x8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"trainable", "frozen", "buffers", "activation_bytes", "smallest", "largest"} <= set(out)
    assert out["frozen"] == 0 and out["smallest"]["params"] < out["largest"]["params"]
    assert {"buffers", "activation_bytes"} <= set(out["layers"][0])


def test_formulas_wrap_at_their_terms_and_read_back_whole():
    formula = " + ".join(f"select(stage{i}.layers.0#, [{i}*kernel*width, 2*width + {i}, 0])" for i in range(6))
    lines = _wrap(formula)
    assert len(lines) > 1 and all(len(line) <= WRAP + 2 for line in lines)
    assert " ".join(line.strip() for line in lines) == formula
    assert _wrap("max(0, depth1 - 2)") == ["max(0, depth1 - 2)"]
    text = format_summary(archlang.summary(ROOT / "specs" / "spaces" / "digits_cnn.arch", "DigitsCNN"), depth=1)
    assert "Smallest:" in text and "Largest:" in text and "Frozen params:    0" in text


def test_nasbench201_largest_architecture_is_the_published_one():
    """NAS-Bench-201's largest CIFAR-10 cell (conv 3×3 on every edge): 1,531,546 parameters,
    220.12 M FLOPs (MACs) as its API reports them."""
    general = archlang.summary(ROOT / "specs" / "spaces" / "nasbench201.arch", "NASBench201")
    assert general.largest.params == 1_531_546
    assert abs(general.largest.macs / 1e6 - 220.12) < 0.01
    assert general.smallest.params < general.largest.params // 10


def test_a_space_too_large_to_bound_shows_no_extreme_rather_than_a_guess(monkeypatch):
    from archlang.report import extremes

    monkeypatch.setattr(extremes, "BUDGET", 2)
    general = summarize(archlang.space(TINY_SPACE).model)
    assert general.largest.params is None and general.smallest.macs is None
    assert "Largest:          — params, — MACs per example" in format_summary(general)
