"""Elementwise math: broadcasting binary ops (add, sub, mul, div, pow, maximum, minimum),
where, and unary ops (exp, log, sqrt, rsqrt, neg, abs, ...).

A binary op's inputs may be tensors or plain numbers (a number acts like torch's Python
scalar: it broadcasts and only promotes the dtype category).  Elementwise ops cost no MACs.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir.types import TensorType
from archlang.ops._shape import broadcast, is_float, result_dtype, shape_of, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Elementwise"  # of this family in the op reference (docs/ops.md)

_ALPHA = Attr("alpha", "number", 1, kw_only=True)
_ROUNDING = Attr("rounding_mode", "str?", None, choices=("trunc", "floor"), kw_only=True)

_BINARY = {
    "add": (_ALPHA,), "sub": (_ALPHA,), "mul": (), "div": (_ROUNDING,), "pow": (),
    "maximum": (), "minimum": (),
}


def _binary_infer(op: str):
    def infer(a: dict, inputs: list):
        x, y = inputs
        shape = broadcast(shape_of(x), shape_of(y), arg="b")
        dtype = result_dtype([x, y])
        if op == "div" and a.get("rounding_mode") is None and not is_float(dtype):
            dtype = "float32"  # true division of integers gives floats
        return tensor(dtype, shape)

    return infer


def _where_infer(a: dict, inputs: list):
    cond, x, y = inputs
    shape = broadcast(broadcast(shape_of(cond), shape_of(x), "a"), shape_of(y), "b")
    return tensor(result_dtype([x, y]), shape)


# unary ops that map integers to float32 (torch's "unary float" ops) vs. keep the dtype
_TO_FLOAT = ("exp", "log", "sqrt", "rsqrt", "sin", "cos", "erf", "reciprocal")
_KEEP = ("neg", "abs", "square")


def _unary_infer(op: str):
    def infer(a: dict, inputs: list):
        x: TensorType = inputs[0]
        if op in _TO_FLOAT and not is_float(x.dtype):
            return tensor("float32", x.shape)
        return x

    return infer


_MACS = "0 (elementwise ops are not counted, as in torchvision's figures)"
_BINARY_SHAPE = "the broadcast shape of a and b (either may be a number); dtype: torch's promotion"
_SHAPES = {
    "div": _BINARY_SHAPE + "; true division of integers gives float32",
    "where": "the broadcast shape of condition, a and b; dtype: the promotion of a and b",
    **{op: "the shape of x; float32 for an integer x, else its dtype" for op in _TO_FLOAT},
    **{op: "the shape and dtype of x" for op in _KEEP},
}
_DOCS = {"add": "torch.add: a + alpha·b (written a + b)", "sub": "torch.sub: a − alpha·b (written a - b)",
         "mul": "torch.mul (written a * b)", "div": "torch.div (written a / b)", "pow": "torch.pow (written a ** b)",
         "neg": "torch.neg (written -x)"}

OPS = (
    [OpSpec(op, "function", attrs, ("a", "b"), _binary_infer(op), doc=_DOCS.get(op, f"torch.{op}"),
            shape_rule=_SHAPES.get(op, _BINARY_SHAPE), macs_rule=_MACS) for op, attrs in _BINARY.items()]
    + [OpSpec("where", "function", (), ("condition", "a", "b"), _where_infer,
              doc="torch.where: a where condition is true, else b", shape_rule=_SHAPES["where"], macs_rule=_MACS)]
    + [OpSpec(op, "function", (), ("x",), _unary_infer(op), doc=_DOCS.get(op, f"torch.{op}"), shape_rule=_SHAPES[op],
              macs_rule=_MACS) for op in _TO_FLOAT + _KEEP]
)
