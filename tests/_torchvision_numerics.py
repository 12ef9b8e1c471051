"""Compare a module built from a spec with torchvision's recorded outputs
(``../shared/reference/torchvision_numerics.json``) without torchvision: the weights are
refilled as the reference README describes, from a generator seeded by each state-dict key."""

from __future__ import annotations

import json
import zlib

import pytest
from _reference import reference_file

NUMERICS = reference_file("torchvision_numerics.json")


def recorded(name: str) -> dict:
    if not NUMERICS.exists():
        pytest.skip(f"reference file {NUMERICS} is not on this machine")
    return json.loads(NUMERICS.read_text())[name]


def fill_deterministically(module) -> None:
    """Every floating state-dict entry refilled from its own generator; integer buffers
    (``num_batches_tracked``, ``relative_position_index``) keep their values."""
    import torch

    with torch.no_grad():
        for key, tensor in module.state_dict(keep_vars=True).items():
            if not tensor.is_floating_point():
                continue
            g = torch.Generator().manual_seed(zlib.crc32(key.encode()))
            if key.endswith("running_var"):
                value = torch.rand(tensor.shape, generator=g) + 0.5
            else:
                value = torch.randn(tensor.shape, generator=g) * 0.05
            tensor.copy_(value)


def assert_matches_torchvision(module, name: str, rel: float = 1e-5) -> None:
    """The module's logits on the reference input equal torchvision's (first 8 of each row,
    their sum and norm) within ``rel`` of the logits' norm."""
    import torch

    want = recorded(name)
    fill_deterministically(module)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = module.eval()(x).double()
    scale = want["norm"]
    assert abs(out.norm().item() - want["norm"]) <= rel * scale
    assert abs(out.sum().item() - want["sum"]) <= rel * scale
    first = torch.tensor(want["first_logits"], dtype=torch.float64)
    assert (out[:, :8] - first).abs().max().item() <= rel * first.abs().max().item()
