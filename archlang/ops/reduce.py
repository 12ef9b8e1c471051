"""Reductions over axes: mean, sum, amax, amin (``dim`` None reduces everything).

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ops._shape import axes, fail, is_float, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Reductions"  # of this family in the op reference (docs/ops.md)

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


_SHAPE = {
    "mean": "x's shape without dim (all dims when none; kept as 1 with keepdim); x must be floating-point",
    "sum": "x's shape without dim (all dims when none; kept as 1 with keepdim); integers and bools sum as int64",
    "amax": "x's shape without dim (all dims when none; kept as 1 with keepdim)",
    "amin": "x's shape without dim (all dims when none; kept as 1 with keepdim)",
}

OPS = [OpSpec(op, "function", _ATTRS, ("x",), _reduce_infer(op), doc=f"torch.{op}", shape_rule=_SHAPE[op],
              macs_rule="0 (reductions are not counted, as in torchvision's figures)")
       for op in ("mean", "sum", "amax", "amin")]
