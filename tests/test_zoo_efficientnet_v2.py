"""EfficientNetV2 (specs/vision/efficientnet_v2.arch) against torchvision's efficientnet_v2_s,
without torchvision: the shared reference facts (../shared/reference) hold its state dict,
entry for entry, and its outputs under deterministic weights (see that folder's README)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
from _reference import STATE_DICTS, reference_file

import archlang
from archlang.ir.params import state_dict_entries

SPEC = Path(__file__).resolve().parents[1] / "specs" / "vision" / "efficientnet_v2.arch"
NUMERICS = reference_file("torchvision_numerics.json")


def _reference(path: Path, name: str) -> dict:
    if not path.exists():
        pytest.skip(f"reference file {path} is not on this machine")
    return json.loads(path.read_text())[name]


def test_efficientnet_v2_s_has_torchvisions_state_dict():
    reference = _reference(STATE_DICTS, "efficientnet_v2_s")
    model = archlang.load(SPEC).elaborate("EfficientNetV2_S")
    ours = [[key, list(spec.shape), spec.dtype] for key, spec in state_dict_entries(model.graph)]
    assert ours == [list(entry) for entry in reference["state_dict"]]
    assert archlang.summary(SPEC, "EfficientNetV2_S").params == reference["num_params"]


def _deterministic(module, torch) -> None:
    """The README's weights: each floating entry refilled from a generator seeded by its key."""
    with torch.no_grad():
        for key, value in module.state_dict().items():
            if not value.is_floating_point():
                continue
            gen = torch.Generator().manual_seed(zlib.crc32(key.encode()))
            if key.endswith("running_var"):
                value.copy_(torch.rand(value.shape, generator=gen) + 0.5)
            else:
                value.copy_(torch.randn(value.shape, generator=gen) * 0.05)


def test_efficientnet_v2_s_computes_what_torchvision_computes():
    torch = pytest.importorskip("torch")
    expected = _reference(NUMERICS, "efficientnet_v2_s")
    module = archlang.to_torch(str(SPEC), "EfficientNetV2_S", seed=0).eval()
    _deterministic(module, torch)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = module(x).double()
    torch.testing.assert_close(logits[:, :8], torch.tensor(expected["first_logits"], dtype=torch.float64),
                               rtol=1e-4, atol=1e-6)
    assert float(logits.sum()) == pytest.approx(expected["sum"], rel=1e-4)
    assert float(logits.norm()) == pytest.approx(expected["norm"], rel=1e-4)
