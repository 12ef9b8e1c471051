"""Ops that move or mask values without changing the shape: roll, flip, tril, triu, and the
running sum cumsum.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ops._shape import axes, axis, check_min_rank, fail, is_float, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Movement and masking"  # of this family in the op reference (docs/ops.md)

_SAME = "the shape and dtype of x"
_NO_MACS = "0 (no multiply-accumulate)"


def _roll_infer(a: dict, inputs: list):
    x, shifts, dims = inputs[0], a["shifts"], a["dims"]
    if dims is None:
        if len(shifts) != 1:
            fail(f"roll: {len(shifts)} shifts need as many dims, got none (without dims x is rolled flat)", "dims")
    elif len(shifts) != len(dims):
        fail(f"roll: {len(shifts)} shifts for {len(dims)} dims", "shifts")
    else:
        axes(dims, x.rank, "roll", x, "dims")
    return x


def _flip_infer(a: dict, inputs: list):
    x = inputs[0]
    axes(a["dims"], x.rank, "flip", x, "dims")
    return x


def _triangle_infer(op: str):
    def infer(a: dict, inputs: list):
        x = inputs[0]
        check_min_rank(x, 2, op)
        return x

    return infer


def _cumsum_infer(a: dict, inputs: list):
    x = inputs[0]
    axis(a["dim"], x.rank, "cumsum", x)
    if a["dtype"] is not None:
        return tensor(a["dtype"], x.shape)
    return x if is_float(x.dtype) else tensor("int64", x.shape)  # torch sums integers and bools as int64


OPS = [
    OpSpec("roll", "function", (Attr("shifts", "ints"), Attr("dims", "ints?", None)), ("x",), _roll_infer,
           doc="torch.roll: shift elements along dims, wrapping around (without dims: of the flattened x)",
           shape_rule=_SAME + "; shifts and dims pair up", macs_rule=_NO_MACS),
    OpSpec("flip", "function", (Attr("dims", "ints"),), ("x",), _flip_infer,
           doc="torch.flip: reverse the order along dims", shape_rule=_SAME, macs_rule=_NO_MACS),
    OpSpec("tril", "function", (Attr("diagonal", "int", 0),), ("x",), _triangle_infer("tril"),
           doc="torch.tril: zero the elements above the diagonal of the last two dims",
           shape_rule=_SAME + " (rank >= 2)", macs_rule=_NO_MACS),
    OpSpec("triu", "function", (Attr("diagonal", "int", 0),), ("x",), _triangle_infer("triu"),
           doc="torch.triu: zero the elements below the diagonal of the last two dims",
           shape_rule=_SAME + " (rank >= 2)", macs_rule=_NO_MACS),
    OpSpec("cumsum", "function", (Attr("dim", "int"), Attr("dtype", "dtype?", None, kw_only=True)), ("x",),
           _cumsum_infer, doc="torch.cumsum: running sum along dim",
           shape_rule="the shape of x; dtype: dtype if given, else x's for floats and int64 for integers and bools",
           macs_rule="0 (additions only)"),
]
