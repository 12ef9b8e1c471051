"""Tensor and parameter types shared by the IR, the op registry and every backend.

A ``TensorType`` is a dtype plus a shape whose dimensions are ``Dim``s: plain ints or
symbolic expressions from ``archlang.ir.dims``.  A ``ParamSpec`` describes one learnable
parameter or buffer a layer owns (its local name, shape, dtype and whether it is a buffer).

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from archlang.ir import dims

DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "bool")
FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64")


class TensorType(BaseModel):
    """dtype + symbolic shape, e.g. ``float32[B, 64, 56, 56]``."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)  # built on first use

    dtype: str = "float32"
    shape: tuple[Any, ...]  # tuple[Dim, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    def with_shape(self, shape) -> "TensorType":
        return TensorType(dtype=self.dtype, shape=tuple(dims.simplify(d) for d in shape))

    def __str__(self) -> str:
        inner = ", ".join(dims.to_str(d) for d in self.shape)
        return f"{self.dtype}[{inner}]"

    def short(self) -> str:
        """``B×64×56×56`` — the compact form used on diagram edges and in messages."""
        return "×".join(dims.to_str(d) for d in self.shape) or "scalar"


class ParamSpec(BaseModel):
    """One parameter or buffer owned by a layer, named locally (``weight``, ``running_mean``)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)  # built on first use

    name: str
    shape: tuple[Any, ...]  # tuple[Dim, ...]
    dtype: str = "float32"
    buffer: bool = False

    def numel(self):
        n = 1
        for d in self.shape:
            n = n * d
        return dims.simplify(n)
