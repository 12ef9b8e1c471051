"""Small layers and creation functions with no family of their own: Identity, Dropout,
dropout, Parameter (a learnable tensor with no inputs), const, arange (with a start and a
step), zeros, ones.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ir.types import ParamSpec
from archlang.ops._shape import check_positive, fail, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Identity, dropout, parameters and constants"  # of this family in the op reference (docs/ops.md)

INITS = ("normal", "trunc_normal", "zeros", "ones", "constant")


def _same(a: dict, inputs: list):
    return inputs[0]


def _dropout_infer(a: dict, inputs: list):
    if not 0.0 <= a["p"] <= 1.0:
        fail(f"dropout probability has to be between 0 and 1, got {a['p']}", "p")
    return inputs[0]


def _check_sizes(op: str, shape: tuple, arg: str) -> None:
    for d in shape:
        check_positive(d, lambda: f"{op}: sizes must be positive, got {d} in "
                       f"[{', '.join(dims.to_str(s) for s in shape)}]", arg)


def _parameter_infer(a: dict, inputs: list):
    _check_sizes("Parameter", a["shape"], "shape")
    return tensor("float32", a["shape"])


def _parameter_params(a: dict) -> list[ParamSpec]:
    return [ParamSpec(name="", shape=a["shape"])]


def _const_infer(a: dict, inputs: list):
    return tensor(a["dtype"], ())


def _arange_canonical(a: dict) -> dict:
    """torch's two signatures: arange(end) binds its one number to start."""
    if a["end"] is None:
        return {**a, "start": 0, "end": a["start"]}
    return a


def arange_length(start, end, step):
    """len(range(start, end, step)) for sizes that may be symbolic (step a nonzero int)."""
    if step > 0:
        return (end - start + step - 1) // step
    return (start - end - step - 1) // -step


def _arange_infer(a: dict, inputs: list):
    start, end, step = a["start"], a["end"], a["step"]
    if type(step) is not int or step == 0:
        fail(f"arange: step must be a nonzero int, got {dims.to_str(step)}", "step")
    length = arange_length(start, end, step)
    check_positive(length, lambda: f"arange({dims.to_str(start)}, {dims.to_str(end)}, {step}) is empty", "end")
    return tensor(a["dtype"], (length,))


def _filled_infer(op: str):
    def infer(a: dict, inputs: list):
        _check_sizes(op, a["size"], "size")
        return tensor(a["dtype"], a["size"])

    return infer


_SAME = "the shape and dtype of x"
_P = Attr("p", "float", 0.5)
_INPLACE = Attr("inplace", "bool", False)

OPS = [
    OpSpec("Identity", "layer", (), ("x",), _same, doc="torch.nn.Identity", shape_rule=_SAME, macs_rule="0"),
    OpSpec("Dropout", "layer", (_P, _INPLACE), ("x",), _dropout_infer, doc="torch.nn.Dropout",
           shape_rule=_SAME + "; 0 <= p <= 1", macs_rule="0"),
    OpSpec("Dropout2d", "layer", (_P, _INPLACE), ("x",), _dropout_infer, doc="torch.nn.Dropout2d",
           shape_rule=_SAME + "; 0 <= p <= 1", macs_rule="0"),
    OpSpec("dropout", "function", (_P, Attr("training", "bool", True), _INPLACE), ("x",), _dropout_infer,
           doc="torch.nn.functional.dropout", shape_rule=_SAME + "; 0 <= p <= 1", macs_rule="0"),
    OpSpec("Parameter", "layer",
           (Attr("shape", "dims"), Attr("init", "str", "normal", choices=INITS), Attr("std", "float", 0.02),
            Attr("value", "float", 0.0)),
           (), _parameter_infer, _parameter_params, shape_rule="float32[shape], every size positive",
           macs_rule="0",
           doc="a learnable tensor; its parameter name is ''; init normal/trunc_normal (std), zeros, ones "
               "or constant (value)"),
    OpSpec("const", "function", (Attr("value", "number"), Attr("dtype", "dtype", "float32")), (), _const_infer,
           doc="a rank-0 constant tensor (what a number next to a tensor becomes: x * 0.5)",
           shape_rule="a scalar of dtype", macs_rule="0"),
    OpSpec("arange", "function",
           (Attr("start", "int", 0), Attr("end", "int?", None), Attr("step", "int", 1), Attr("dtype", "dtype", "int64")),
           (), _arange_infer, doc="torch.arange: arange(end) or arange(start, end, step); int64 by default",
           canonical=_arange_canonical,
           shape_rule="[len(range(start, end, step))], which must be positive; symbolic bounds stay exact",
           macs_rule="0 (no multiply-accumulate)"),
    OpSpec("zeros", "function", (Attr("size", "dims"), Attr("dtype", "dtype", "float32")), (),
           _filled_infer("zeros"), doc="torch.zeros", shape_rule="dtype[size], every size positive", macs_rule="0"),
    OpSpec("ones", "function", (Attr("size", "dims"), Attr("dtype", "dtype", "float32")), (),
           _filled_infer("ones"), doc="torch.ones", shape_rule="dtype[size], every size positive", macs_rule="0"),
]
