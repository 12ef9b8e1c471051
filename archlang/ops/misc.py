"""Small layers and creation functions with no family of their own: Identity, Dropout,
dropout, Parameter (a learnable tensor with no inputs), const, arange, zeros, ones.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ir.types import ParamSpec
from archlang.ops._shape import check_positive, fail, tensor
from archlang.ops._spec import Attr, OpSpec

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


def _arange_infer(a: dict, inputs: list):
    check_positive(a["end"], lambda: f"arange: end must be positive, got {dims.to_str(a['end'])}", "end")
    return tensor(a["dtype"], (a["end"],))


def _filled_infer(op: str):
    def infer(a: dict, inputs: list):
        _check_sizes(op, a["size"], "size")
        return tensor(a["dtype"], a["size"])

    return infer


_P = Attr("p", "float", 0.5)
_INPLACE = Attr("inplace", "bool", False)

OPS = [
    OpSpec("Identity", "layer", (), ("x",), _same, doc="torch.nn.Identity"),
    OpSpec("Dropout", "layer", (_P, _INPLACE), ("x",), _dropout_infer, doc="torch.nn.Dropout"),
    OpSpec("Dropout2d", "layer", (_P, _INPLACE), ("x",), _dropout_infer, doc="torch.nn.Dropout2d"),
    OpSpec("dropout", "function", (_P, Attr("training", "bool", True), _INPLACE), ("x",), _dropout_infer,
           doc="torch.nn.functional.dropout"),
    OpSpec("Parameter", "layer",
           (Attr("shape", "dims"), Attr("init", "str", "normal", choices=INITS), Attr("std", "float", 0.02),
            Attr("value", "float", 0.0)),
           (), _parameter_infer, _parameter_params,
           doc="a learnable tensor; its parameter name is ''; init normal/trunc_normal (std), zeros, ones "
               "or constant (value)"),
    OpSpec("const", "function", (Attr("value", "number"), Attr("dtype", "dtype", "float32")), (), _const_infer,
           doc="a rank-0 constant tensor"),
    OpSpec("arange", "function", (Attr("end", "int"), Attr("dtype", "dtype", "int64")), (), _arange_infer,
           doc="torch.arange(end)"),
    OpSpec("zeros", "function", (Attr("size", "dims"), Attr("dtype", "dtype", "float32")), (),
           _filled_infer("zeros"), doc="torch.zeros"),
    OpSpec("ones", "function", (Attr("size", "dims"), Attr("dtype", "dtype", "float32")), (),
           _filled_infer("ones"), doc="torch.ones"),
]
