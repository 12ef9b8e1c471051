"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d (torch.nn signatures).

Input is ``[N, C, *spatial]`` or unbatched ``[C, *spatial]``; parameters follow torch's
state dict (``weight`` then ``bias``).  MACs follow fvcore/torch.utils.flop_counter:
``out_numel * in_channels/groups * prod(kernel)`` (transposed: counted on the input).

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ir.types import ParamSpec
from archlang.ops._shape import (
    check_positive,
    check_rank,
    divide,
    expect_equal,
    fail,
    numel,
    require_float,
    shape_str,
    tensor,
)
from archlang.ops._spec import Attr, OpSpec

TITLE = "Convolution"  # of this family in the op reference (docs/ops.md)

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
LAYOUTS = {1: "([N,] C, L)", 2: "([N,] C, H, W)", 3: "([N,] C, D, H, W)"}


def _conv_attrs() -> tuple[Attr, ...]:
    return (
        Attr("in_channels", "int"),
        Attr("out_channels", "int"),
        Attr("kernel_size", "ints"),
        Attr("stride", "ints", 1),
        Attr("padding", "ints|str", 0, choices=("same", "valid")),
        Attr("dilation", "ints", 1),
        Attr("groups", "int", 1),
        Attr("bias", "bool", True),
        Attr("padding_mode", "str", "zeros", choices=PADDING_MODES),
    )


def _transpose_attrs() -> tuple[Attr, ...]:
    return (
        Attr("in_channels", "int"),
        Attr("out_channels", "int"),
        Attr("kernel_size", "ints"),
        Attr("stride", "ints", 1),
        Attr("padding", "ints", 0),
        Attr("output_padding", "ints", 0),
        Attr("groups", "int", 1),
        Attr("bias", "bool", True),
        Attr("dilation", "ints", 1),
        Attr("padding_mode", "str", "zeros", choices=("zeros",)),
    )


def _per_group(op: str, a: dict, which: str):
    """channels/groups, which torch requires to be exact."""
    return divide(
        a[which], a["groups"],
        lambda: f"{op}: {which} ({dims.to_str(a[which])}) must be divisible by groups "
        f"({dims.to_str(a['groups'])})",
        arg="groups",
    )


def _check_input(op: str, n: int, a: dict, x) -> int:
    """Validate rank, dtype and channels; return the channel axis."""
    check_rank(x, (n + 1, n + 2), op, LAYOUTS[n])
    require_float(x, op)
    c_axis = x.rank - n - 1
    expect_equal(
        x.shape[c_axis], a["in_channels"],
        lambda: f"{op} expects {dims.to_str(a['in_channels'])} input channels, got input {x} "
        f"(expected {_expected_layout(n, x, a['in_channels'])})",
        arg="x",
    )
    return c_axis


def _expected_layout(n: int, x, channels) -> str:
    """The input shape the layer wants, written over the given one: [B, 64, H, W]."""
    shape = list(x.shape)
    shape[x.rank - n - 1] = channels
    return shape_str(shape)


def _conv_padding(op: str, a: dict, n: int) -> tuple:
    pad = a["padding"]
    if pad == "valid":
        return (0,) * n
    if pad == "same":
        if any(s != 1 for s in a["stride"]):
            fail(f"{op}: padding='same' needs stride 1, got stride={a['stride']}", "padding")
        return None
    return pad


def _out_size(op, x, i, size, k, s, p, d):
    # simplify the numerator first so choice-only parts fold before the division splits them
    out = dims.simplify(size + 2 * p - d * (k - 1) - 1) // s + 1
    check_positive(
        out,
        lambda: f"{op} output would have size {dims.to_str(out)} in spatial dim {i}: input {x} "
        f"is too small for kernel {dims.to_str(k)} (padding {dims.to_str(p)}, dilation {dims.to_str(d)})",
        arg="x",
    )
    return out


def _conv_infer(op: str, n: int):
    def infer(a: dict, inputs: list):
        x = inputs[0]
        c_axis = _check_input(op, n, a, x)
        _per_group(op, a, "in_channels")
        _per_group(op, a, "out_channels")
        pad = _conv_padding(op, a, n)
        spatial = x.shape[c_axis + 1:]
        if pad is None:  # 'same': output keeps the input size
            out = list(spatial)
        else:
            out = [
                _out_size(op, x, i, h, k, s, p, d)
                for i, (h, k, s, p, d) in enumerate(zip(spatial, a["kernel_size"], a["stride"], pad, a["dilation"]))
            ]
        return tensor(x.dtype, x.shape[:c_axis] + (a["out_channels"],) + tuple(out))

    return infer


def _transpose_infer(op: str, n: int):
    def infer(a: dict, inputs: list):
        x = inputs[0]
        c_axis = _check_input(op, n, a, x)
        _per_group(op, a, "in_channels")
        _per_group(op, a, "out_channels")
        out = []
        for i, (h, k, s, p, op_, d) in enumerate(zip(
            x.shape[c_axis + 1:], a["kernel_size"], a["stride"], a["padding"], a["output_padding"], a["dilation"]
        )):
            if type(op_) is int and type(s) is int and type(d) is int and op_ >= max(s, d):
                fail(f"{op}: output_padding {op_} must be smaller than stride or dilation", "output_padding")
            size = (h - 1) * s - 2 * p + d * (k - 1) + op_ + 1
            check_positive(size, lambda: f"{op} output would have size {dims.to_str(size)} in spatial dim {i} for input {x}", "x")
            out.append(size)
        return tensor(x.dtype, x.shape[:c_axis] + (a["out_channels"],) + tuple(out))

    return infer


def _conv_params(op: str, transposed: bool):
    def params(a: dict) -> list[ParamSpec]:
        if transposed:
            shape = (a["in_channels"], _per_group(op, a, "out_channels")) + a["kernel_size"]
        else:
            shape = (a["out_channels"], _per_group(op, a, "in_channels")) + a["kernel_size"]
        out = [ParamSpec(name="weight", shape=shape)]
        if a["bias"]:
            out.append(ParamSpec(name="bias", shape=(a["out_channels"],)))
        return out

    return params


def _conv_macs(a: dict, inputs: list, output):
    per_output = (a["in_channels"] // a["groups"]) * numel(a["kernel_size"])
    return numel(output.shape) * per_output


def _transpose_macs(a: dict, inputs: list, output):
    per_input = (a["out_channels"] // a["groups"]) * numel(a["kernel_size"])
    return numel(inputs[0].shape) * per_input


_CONV_SHAPE = ("x is {layout}; out: C = out_channels, each spatial size floor((size + 2·padding − dilation·(kernel − 1) "
               "− 1) / stride) + 1 (padding=\"same\": unchanged, stride 1 only; \"valid\": 0); in_channels and "
               "out_channels divisible by groups")
_TRANSPOSE_SHAPE = ("x is {layout}; out: C = out_channels, each spatial size (size − 1)·stride − 2·padding + "
                    "dilation·(kernel − 1) + output_padding + 1")
_CONV_MACS = "output elements × in_channels/groups × kernel volume"
_TRANSPOSE_MACS = "input elements × out_channels/groups × kernel volume"


def _make(n: int) -> list[OpSpec]:
    conv, tconv = f"Conv{n}d", f"ConvTranspose{n}d"
    return [
        OpSpec(conv, "layer", _conv_attrs(), ("x",), _conv_infer(conv, n), _conv_params(conv, False),
               _conv_macs, doc=f"torch.nn.{conv}", spatial=n, shape_rule=_CONV_SHAPE.format(layout=LAYOUTS[n]),
               macs_rule=_CONV_MACS),
        OpSpec(tconv, "layer", _transpose_attrs(), ("x",), _transpose_infer(tconv, n),
               _conv_params(tconv, True), _transpose_macs, doc=f"torch.nn.{tconv}", spatial=n,
               shape_rule=_TRANSPOSE_SHAPE.format(layout=LAYOUTS[n]), macs_rule=_TRANSPOSE_MACS),
    ]


OPS = [spec for n in (1, 2, 3) for spec in _make(n)]
