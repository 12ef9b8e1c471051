"""Comparisons and masks: eq, not_equal, less, less_equal, greater, greater_equal (what
``a == b``, ``a < b`` … on tensors emit), the logical ops on masks, and masked_fill.

A comparison broadcasts like any binary op, compares in the promoted dtype and gives a bool
tensor; one operand may be a plain number (``x > 0``).

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ops._shape import broadcast, fail, result_dtype, shape_of, shape_str, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Comparisons and masks"  # of this family in the op reference (docs/ops.md)

# torch's names (the long aliases where torch has one: a two-letter name would be offered as
# the correction of many a typo)
COMPARISONS = {"eq": "==", "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">", "greater_equal": ">="}
_BROADCAST = "bool, the broadcast shape of the operands"
_NO_MACS = "0 (no multiply-accumulate)"


def compared_dtype(types: list) -> str:
    """The dtype a comparison compares in: the operands' promotion (an int tensor against 0.5
    compares as float)."""
    return result_dtype(types)


def _compare_infer(a: dict, inputs: list):
    x, y = inputs
    return tensor("bool", broadcast(shape_of(x), shape_of(y), arg="b"))


def _logical_infer(a: dict, inputs: list):
    shape = shape_of(inputs[0])
    for other in inputs[1:]:
        shape = broadcast(shape, shape_of(other), arg="b")
    return tensor("bool", shape)


def _masked_fill_infer(a: dict, inputs: list):
    x, mask = inputs
    if mask.dtype != "bool":
        fail(f"masked_fill needs a bool mask, got {mask}; compare to make one (m > 0)", "mask")
    shape = broadcast(x.shape, mask.shape, arg="mask")
    if tuple(shape) != tuple(x.shape):
        fail(f"masked_fill: mask {mask} does not broadcast to x {shape_str(x.shape)} "
             f"(it would make {shape_str(shape)})", "mask")
    if isinstance(a["value"], float) and x.dtype in ("int32", "int64", "bool"):
        fail(f"masked_fill: cannot fill {x} with the float {a['value']}", "value")
    return x


def _comparison(op: str) -> OpSpec:
    return OpSpec(op, "function", (), ("a", "b"), _compare_infer,
                  doc=f"torch.{op}: a {COMPARISONS[op]} b elementwise (what the operator emits on tensors)",
                  shape_rule=_BROADCAST, macs_rule=_NO_MACS)


OPS = [_comparison(op) for op in COMPARISONS] + [
    OpSpec("logical_and", "function", (), ("a", "b"), _logical_infer, doc="torch.logical_and",
           shape_rule=_BROADCAST, macs_rule=_NO_MACS),
    OpSpec("logical_or", "function", (), ("a", "b"), _logical_infer, doc="torch.logical_or",
           shape_rule=_BROADCAST, macs_rule=_NO_MACS),
    OpSpec("logical_not", "function", (), ("x",), _logical_infer, doc="torch.logical_not",
           shape_rule="bool, the shape of x", macs_rule=_NO_MACS),
    OpSpec("masked_fill", "function", (Attr("value", "number"),), ("x", "mask"), _masked_fill_infer,
           doc="torch.Tensor.masked_fill: value where mask is true, x elsewhere",
           shape_rule="the shape and dtype of x; mask is bool and broadcasts to x", macs_rule=_NO_MACS),
]
