"""Tensor and parameter types shared by the IR, the op registry and every backend.

A ``TensorType`` is a dtype plus a shape whose dimensions are ``Dim``s: plain ints or
symbolic expressions from ``archlang.ir.dims``.  A ``ParamSpec`` describes one learnable
parameter or buffer a layer owns (its local name, shape, dtype and whether it is a buffer).

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archlang.ir import dims

# frozen and keyword-only, like the IR classes of archlang.ir.graph (validated as a whole by
# archlang.ir.schema, never one by one)
ir_type = dataclass(frozen=True, slots=True, kw_only=True)

DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "bool")
FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64")


@ir_type
class TensorType:
    """dtype + symbolic shape, e.g. ``float32[B, 64, 56, 56]``."""

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


@ir_type
class ParamSpec:
    """One parameter or buffer owned by a layer, named locally (``weight``, ``running_mean``)."""

    name: str
    shape: tuple[Any, ...]  # tuple[Dim, ...]
    dtype: str = "float32"
    buffer: bool = False
    persistent: bool = True  # a buffer in the state dict (torch's register_buffer(persistent=…))

    def numel(self):
        n = 1
        for d in self.shape:
            n = n * d
        return dims.simplify(n)


@ir_type
class ConstTensor:
    """A tensor whose values are known while the spec is elaborated (``tensor([[0, 1]])``,
    ``arange``/``meshgrid`` arithmetic): what a ``Buffer`` holds or a ``Parameter`` starts from.
    ``values`` are the elements in row-major order, as Python ints, floats or bools."""

    dtype: str
    shape: tuple[int, ...]
    values: tuple[Any, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    def numel(self) -> int:
        return len(self.values)

    def nested(self):
        """The values as nested lists of the tensor's shape (a scalar for rank 0)."""
        flat = list(self.values)
        for size in reversed(self.shape[1:]):
            flat = [flat[i:i + size] for i in range(0, len(flat), size)]
        return flat[0] if not self.shape else flat

    def __str__(self) -> str:
        """``int64[49, 49]{0, 1, 2, …}``: the type and the first values (the IR's view)."""
        head = ", ".join(str(v).lower() if isinstance(v, bool) else repr(v) for v in self.values[:4])
        more = ", …" if len(self.values) > 4 else ""
        return f"{self.dtype}[{', '.join(map(str, self.shape))}]{{{head}{more}}}"
