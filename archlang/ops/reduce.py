"""Reductions over axes: mean, sum, amax, amin (``dim`` None reduces everything).

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ops._shape import axes, fail, is_float, tensor
from archlang.ops._spec import Attr, OpSpec

_ATTRS = (Attr("dim", "ints?", None), Attr("keepdim", "bool", False))


def _reduced_shape(op: str, x, dim, keepdim: bool) -> tuple:
    targets = set(range(x.rank)) if dim is None else set(axes(dim, x.rank, op, x))
    if keepdim:
        return tuple(1 if i in targets else d for i, d in enumerate(x.shape))
    return tuple(d for i, d in enumerate(x.shape) if i not in targets)


def _reduce_infer(op: str):
    def infer(a: dict, inputs: list):
        x = inputs[0]
        shape = _reduced_shape(op, x, a["dim"], a["keepdim"])
        return tensor(_out_dtype(op, x), shape)

    return infer


def _out_dtype(op: str, x) -> str:
    if op == "mean" and not is_float(x.dtype):
        fail(f"mean needs a floating-point input, got {x}; cast it with to(x, 'float32') first", "x")
    if op == "sum" and not is_float(x.dtype):
        return "int64"  # torch sums integers and bools as int64
    return x.dtype


OPS = [OpSpec(op, "function", _ATTRS, ("x",), _reduce_infer(op), doc=f"torch.{op}") for op in ("mean", "sum", "amax", "amin")]
