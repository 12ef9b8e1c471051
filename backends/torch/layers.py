"""Layer ops of the registry as torch modules: ``make_layer(op, attrs) -> nn.Module``.

The registry's attribute names are torch's constructor arguments, so most layers are the
``torch.nn`` class of the same name built with the attributes as keywords: parameter
names, shapes, order and default initialisation are then exactly PyTorch's.  The few ops
without a torch class of that behaviour (``Zero``, ``MultiheadAttention`` returning only the
output, GPT-2's ``Conv1D``) are small modules here.  ``Parameter`` is not a module: the builder registers it
as a bare parameter of its parent.  Imports only torch; never another backend.
"""

from __future__ import annotations

import torch
from torch import nn


class MultiheadAttention(nn.MultiheadAttention):
    """torch's MultiheadAttention returning only the attention output (no weights)."""

    def forward(self, query, key, value, key_padding_mask=None, attn_mask=None):
        out, _ = super().forward(query, key, value, key_padding_mask=key_padding_mask,
                                 need_weights=False, attn_mask=attn_mask)
        return out


class Zero(nn.Module):
    """NAS's "none" operation: zeros shaped like the (strided) input."""

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x):
        if self.stride == 1:
            return x.mul(0.0)
        return x[..., :: self.stride, :: self.stride].mul(0.0)

    def extra_repr(self) -> str:
        return f"stride={self.stride}"


class Conv1D(nn.Module):
    """GPT-2's linear layer (transformers' ``Conv1D(nf, nx)``): the weight is stored
    ``[nx, nf]``, the transpose of ``nn.Linear``'s, so Hugging Face checkpoints load as they
    are.  Initialised as transformers does: weight ~ N(0, 0.02²), bias 0."""

    def __init__(self, nf: int, nx: int) -> None:
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf).normal_(std=0.02))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        out = torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight)  # as transformers computes it
        return out.reshape(*x.shape[:-1], self.nf)

    def extra_repr(self) -> str:
        return f"nf={self.nf}, nx={self.weight.shape[0]}"


_CUSTOM = {"MultiheadAttention": MultiheadAttention, "Zero": Zero, "Conv1D": Conv1D}


def make_layer(op: str, attrs: dict) -> nn.Module:
    cls = _CUSTOM.get(op) or getattr(nn, op, None)
    assert cls is not None, f"layer op {op} has no torch module"
    return cls(**_torch_kwargs(op, attrs))


def _torch_kwargs(op: str, attrs: dict) -> dict:
    kwargs = {k: _plain(v) for k, v in attrs.items()}
    if op.startswith("ConvTranspose") and kwargs.get("padding_mode") is None:
        kwargs.pop("padding_mode", None)
    if op == "RMSNorm" or op == "LayerNorm":
        kwargs["normalized_shape"] = tuple(kwargs["normalized_shape"]) if isinstance(kwargs["normalized_shape"], (list, tuple)) else kwargs["normalized_shape"]
    return kwargs


def _plain(value):
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def make_parameter(attrs: dict) -> nn.Parameter:
    shape = tuple(attrs["shape"])
    init = attrs.get("init", "normal")
    std = attrs.get("std", 0.02)
    if not isinstance(init, str):  # a constant tensor computed while elaborating
        data = torch.tensor(init.values, dtype=torch.float32).reshape(shape)
    elif init == "zeros":
        data = torch.zeros(shape)
    elif init == "ones":
        data = torch.ones(shape)
    elif init == "constant":
        data = torch.full(shape, float(attrs.get("value", 0.0)))
    elif init == "trunc_normal":
        data = nn.init.trunc_normal_(torch.empty(shape), std=std)  # bounds ±2 as torch (and timm) use
    else:
        data = torch.empty(shape).normal_(std=std)
    return nn.Parameter(data)


def make_buffer(attrs: dict) -> torch.Tensor:
    """The tensor of a ``Buffer``: the values computed while elaborating, in their dtype."""
    value = attrs["value"]
    return torch.tensor(value.values, dtype=getattr(torch, value.dtype)).reshape(value.shape)
