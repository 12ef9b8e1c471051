"""The op reference (issue 14, item 10): docs/ops.md is generated from the registry and in
sync with it; ``archlang ops`` prints it and ``archlang ops NAME`` prints NAME's entry.

Every op needs its reference text in its ``OpSpec`` (``doc``, ``shape_rule``, ``macs_rule``)
and a docstring on its ONNX lowering; the MACs text must agree with whether the op counts
MACs at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archlang import ops
from archlang.cli import main
from archlang.report.reference import REGENERATE, entry, reference, section, signature

pytest.importorskip("onnx")
from archlang.backends.onnx import describe  # noqa: E402
from archlang.cli.ops import lowering_texts  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ops.md"


@pytest.mark.parametrize("name", sorted(ops.REGISTRY))
def test_every_op_has_its_reference_text(name):
    spec = ops.REGISTRY[name]
    assert spec.doc.strip() and spec.shape_rule.strip() and spec.macs_rule.strip(), f"{name} lacks reference text"
    assert describe(name), f"the ONNX lowering of {name} has no docstring"
    counted = spec.macs is not None
    assert counted != spec.macs_rule.startswith("0"), f"{name}: macs_rule {spec.macs_rule!r} but macs={spec.macs}"


def test_docs_ops_md_is_the_generated_reference():
    expected = reference(lowering_texts())
    assert DOC.read_text(encoding="utf-8") == expected, f"docs/ops.md is stale: regenerate it with `{REGENERATE}`"


def test_every_op_is_in_the_reference_once():
    text = DOC.read_text(encoding="utf-8")
    for name in ops.REGISTRY:
        assert text.count(f"\n### {name}\n") == 1, name


def test_archlang_ops_prints_the_reference(capsys):
    assert main(["ops"]) == 0
    assert capsys.readouterr().out == DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["Conv2d", "relu", "ReLU", "cat", "arange", "topk", "index_tensor", "rearrange",
                                  "scaled_dot_product_attention", "Parameter", "add"])
def test_archlang_ops_name_prints_its_entry(name, capsys):
    assert main(["ops", name]) == 0
    assert capsys.readouterr().out.rstrip("\n") == section(DOC.read_text(encoding="utf-8"), name)


def test_an_unknown_op_is_a_usage_error_with_suggestions(capsys):
    assert main(["ops", "Conv2"]) == 2
    err = capsys.readouterr().err
    assert "unknown op 'Conv2'" in err and "'Conv2d'" in err


@pytest.mark.parametrize("name, expected", [
    ("Linear", "Linear(in_features: int, out_features: int, bias: bool = true)(x)"),
    ("cat", "cat([tensors…], dim: int = 0)"),
    ("add", "add(a, b, *, alpha: number = 1)"),
    ("rearrange", "rearrange(x, pattern: str, **axes: int)"),
    ("scaled_dot_product_attention", "scaled_dot_product_attention(query, key, value, attn_mask=none, "
                                     "dropout_p: float = 0.0, is_causal: bool = false, scale: float | none = none, "
                                     "enable_gqa: bool = false)"),
    ("Upsample", 'Upsample(size: int | list[int] | none = none, scale_factor: float | list[float] | none = none, '
                 'mode: "nearest" | "linear" | "bilinear" | "bicubic" | "trilinear" | "area" | '
                 '"nearest-exact" = "nearest", align_corners: bool | none = none, '
                 'recompute_scale_factor: bool | none = none)(x)'),
    ("Parameter", 'Parameter(shape: list[int] | none = none, init: tensor | "normal" | "trunc_normal" | "zeros" | '
                  '"ones" | "constant" = "normal", std: float = 0.02, value: float = 0.0)()'),
])
def test_signatures_show_types_and_defaults(name, expected):
    assert signature(ops.REGISTRY[name]) == expected


def test_an_entry_names_its_parts():
    text = entry(ops.REGISTRY["Conv2d"], "Conv")
    assert text.startswith("### Conv2d\n\nLayer · torch.nn.Conv2d")
    for part in ("**Shape:**", "**MACs:** output elements × in_channels/groups × kernel volume", "**ONNX:** Conv"):
        assert part in text
