"""Saving and loading state dicts for the torch backend: ``.pt`` (torch.save, loaded back
with ``weights_only=True``) and ``.safetensors``.  Files are written by archlang's one safe
writer (``archlang.files``): a failure or Ctrl-C never leaves a partial file behind, modes are
kept and symbolic links are not followed.  Imports torch, safetensors and archlang.files.
"""

from __future__ import annotations

import torch
from torch import nn

from archlang import files


def save_state_dict(module: nn.Module, path, fmt: str) -> None:
    state = module.state_dict()
    if fmt == "safetensors":
        from safetensors.torch import save

        data = save(_unshared(state))
        files.write_file(path, lambda stream: stream.write(data))
    else:
        files.write_file(path, lambda stream: torch.save(state, stream))


def _unshared(state: dict) -> dict:
    """safetensors refuses tensors that share memory (tied weights): store copies."""
    seen: set[int] = set()
    result = {}
    for key, tensor in state.items():
        pointer = tensor.untyped_storage().data_ptr() if tensor.numel() else -1
        result[key] = tensor.clone() if pointer in seen and pointer != -1 else tensor.contiguous()
        seen.add(pointer)
    return result
