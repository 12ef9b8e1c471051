"""Saving and loading state dicts for the torch backend: ``.pt`` (torch.save, loaded back
with ``weights_only=True``) and ``.safetensors``.  Files are written atomically: a failure
never leaves a partial file behind.  Imports only torch and safetensors.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn


def save_state_dict(module: nn.Module, path: Path, fmt: str) -> None:
    state = module.state_dict()
    tmp = path.with_name(f".{path.name}.partial")
    try:
        if fmt == "safetensors":
            from safetensors.torch import save_file

            save_file(_unshared(state), str(tmp))
        else:
            torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _unshared(state: dict) -> dict:
    """safetensors refuses tensors that share memory (tied weights): store copies."""
    seen: set[int] = set()
    result = {}
    for key, tensor in state.items():
        pointer = tensor.untyped_storage().data_ptr() if tensor.numel() else -1
        result[key] = tensor.clone() if pointer in seen and pointer != -1 else tensor.contiguous()
        seen.add(pointer)
    return result
