"""Activations, as torch.nn layers (ReLU, GELU, Softmax, ...) and functions (relu, gelu,
softmax, ...).  All keep the input shape; they differ only in attributes and dtype rules.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ops._shape import axis, is_float, require_float, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Activations"  # of this family in the op reference (docs/ops.md)

_INPLACE = Attr("inplace", "bool", False)
_DIM = Attr("dim", "int", -1)
_GELU_APPROX = Attr("approximate", "str", "none", choices=("none", "tanh"))

# dtype rule of each activation: "any" keeps any dtype; "float" needs a floating input;
# "to_float" maps integer inputs to float32 like torch.sigmoid/tanh do.
_ACTIVATIONS = [
    # layer name, function name, attrs, dtype rule
    ("ReLU", "relu", (_INPLACE,), "any"),
    ("ReLU6", "relu6", (_INPLACE,), "float"),
    ("LeakyReLU", "leaky_relu", (Attr("negative_slope", "float", 0.01), _INPLACE), "float"),
    ("ELU", "elu", (Attr("alpha", "float", 1.0), _INPLACE), "float"),
    ("GELU", "gelu", (_GELU_APPROX,), "float"),
    ("SiLU", "silu", (_INPLACE,), "float"),
    ("Mish", "mish", (_INPLACE,), "float"),
    ("Hardswish", "hardswish", (_INPLACE,), "float"),
    ("Hardsigmoid", "hardsigmoid", (_INPLACE,), "float"),
    ("Sigmoid", "sigmoid", (), "to_float"),
    ("Tanh", "tanh", (), "to_float"),
    ("Softplus", "softplus", (Attr("beta", "float", 1.0), Attr("threshold", "float", 20.0)), "float"),
    ("Softmax", "softmax", (_DIM,), "float"),
    ("LogSoftmax", "log_softmax", (_DIM,), "float"),
]


def _activation_infer(op: str, rule: str):
    def infer(a: dict, inputs: list):
        x = inputs[0]
        if "dim" in a:
            axis(a["dim"], x.rank, op, x)
        if rule == "float":
            require_float(x, op)
        elif rule == "to_float" and not is_float(x.dtype):
            return tensor("float32", x.shape)
        return x

    return infer


_SHAPE_RULES = {
    "any": "the shape and dtype of x",
    "float": "the shape and dtype of x, which must be floating-point",
    "to_float": "the shape of x; float32 for an integer x, else its dtype",
}
_MACS = "0 (elementwise ops are not counted, as in torchvision's figures)"


def _make(layer: str, function: str, attrs: tuple, rule: str) -> list[OpSpec]:
    # the layer and its functional twin share attributes (torch.nn.ReLU(inplace) / F.relu(x, inplace))
    shape = _SHAPE_RULES[rule] + ("; dim must be an axis of x" if any(a.name == "dim" for a in attrs) else "")
    return [
        OpSpec(layer, "layer", attrs, ("x",), _activation_infer(layer, rule), doc=f"torch.nn.{layer}",
               shape_rule=shape, macs_rule=_MACS),
        OpSpec(function, "function", attrs, ("x",), _activation_infer(function, rule),
               doc=f"torch.nn.functional.{function}", shape_rule=shape, macs_rule=_MACS),
    ]


OPS = [spec for row in _ACTIVATIONS for spec in _make(*row)]
