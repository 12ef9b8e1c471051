"""Small layers and creation functions with no family of their own: Identity, Dropout,
dropout, Parameter (a learnable tensor with no inputs), Buffer (a constant tensor a module
keeps), const, arange (with a start and a step), zeros, ones.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ir.types import ConstTensor, ParamSpec
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
    if a["shape"] is None:
        fail("Parameter needs a shape, or an initial value: Parameter(init=tensor([...]))", "shape")
    _check_sizes("Parameter", a["shape"], "shape")
    return tensor("float32", a["shape"])


def _parameter_canonical(a: dict) -> dict:
    """``Parameter(init=t)`` takes its shape from ``t`` (checked when constructed, so a
    Parameter declared and never applied is checked too)."""
    init = a["init"]
    if not isinstance(init, ConstTensor):
        return a
    if init.dtype not in ("float32", "float64", "float16", "bfloat16"):
        fail(f"Parameter: a learnable tensor is floating point; the initial value is {init.dtype}", "init")
    if a["shape"] is None:
        return {**a, "shape": tuple(init.shape)}
    if tuple(init.shape) != tuple(a["shape"]):
        fail(f"Parameter: the initial value is {init.dtype}[{', '.join(map(str, init.shape))}], "
             f"not of the shape [{', '.join(dims.to_str(d) for d in a['shape'])}]", "init")
    return a


def _buffer_infer(a: dict, inputs: list):
    value = a["value"]
    return tensor(value.dtype, value.shape)


def _buffer_params(a: dict) -> list[ParamSpec]:
    value = a["value"]
    return [ParamSpec(name="", shape=value.shape, dtype=value.dtype, buffer=True, persistent=a["persistent"])]


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
           (Attr("shape", "dims?", None), Attr("init", "str|tensor", "normal", choices=INITS),
            Attr("std", "float", 0.02), Attr("value", "float", 0.0)),
           (), _parameter_infer, _parameter_params, canonical=_parameter_canonical,
           shape_rule="float32[shape], every size positive; the shape of init when init is a tensor",
           macs_rule="0",
           doc="a learnable tensor; its parameter name is ''; init normal/trunc_normal (std), zeros, ones, "
               "constant (value) or a constant tensor (tensor([...]), computed while elaborating)"),
    OpSpec("Buffer", "layer", (Attr("value", "tensor"), Attr("persistent", "bool", True)),
           (), _buffer_infer, _buffer_params, shape_rule="the dtype and shape of value", macs_rule="0",
           doc="a constant tensor a module keeps (torch's register_buffer): value is computed while "
               "elaborating (tensor, meshgrid, arithmetic, indexing); persistent=false keeps it out of "
               "the state dict"),
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
