"""Where the shared reference facts (../shared/reference) are: beside the checkout, as CI lays
them out, or at the workplace's fixed path.  Tests that need them skip when neither exists."""

from __future__ import annotations

from pathlib import Path

_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "shared" / "reference",
    Path("/work/shared/reference"),
)


def reference_file(name: str) -> Path:
    for folder in _CANDIDATES:
        if (folder / name).exists():
            return folder / name
    return _CANDIDATES[0] / name


STATE_DICTS = reference_file("torchvision_state_dicts.json")
