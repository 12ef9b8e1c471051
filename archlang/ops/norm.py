"""Normalisation layers: BatchNorm1d/2d/3d, LayerNorm, GroupNorm, RMSNorm (torch.nn).

Parameter lists follow torch's state dict, buffers included (``running_mean``,
``running_var`` and the int64 scalar ``num_batches_tracked``).

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ir.types import ParamSpec
from archlang.ops._shape import (
    check_min_rank,
    check_rank,
    divide,
    expect_equal,
    require_float,
    shape_str,
)
from archlang.ops._spec import Attr, OpSpec

TITLE = "Normalization"  # of this family in the op reference (docs/ops.md)

_NORM_MACS = "0 (normalisations are not counted, as in torchvision's figures)"
_TRAILING = "x (float) ends in normalized_shape; out: the same"
_BN_RANKS = {1: ((2, 3), "(N, C) or (N, C, L)"), 2: ((4,), "(N, C, H, W)"), 3: ((5,), "(N, C, D, H, W)")}


def _batchnorm_infer(op: str, n: int):
    ranks, layout = _BN_RANKS[n]

    def infer(a: dict, inputs: list):
        x = inputs[0]
        check_rank(x, ranks, op, layout)
        require_float(x, op)
        expect_equal(
            x.shape[1], a["num_features"],
            lambda: f"{op} expects {dims.to_str(a['num_features'])} channels, got input {x}",
            arg="x",
        )
        return x

    return infer


def _batchnorm_params(a: dict) -> list[ParamSpec]:
    c = (a["num_features"],)
    out = []
    if a["affine"]:
        out += [ParamSpec(name="weight", shape=c), ParamSpec(name="bias", shape=c)]
    if a["track_running_stats"]:
        out += [
            ParamSpec(name="running_mean", shape=c, buffer=True),
            ParamSpec(name="running_var", shape=c, buffer=True),
            ParamSpec(name="num_batches_tracked", shape=(), dtype="int64", buffer=True),
        ]
    return out


def _batchnorm(n: int) -> OpSpec:
    op = f"BatchNorm{n}d"
    attrs = (
        Attr("num_features", "int"), Attr("eps", "float", 1e-5), Attr("momentum", "float?", 0.1),
        Attr("affine", "bool", True), Attr("track_running_stats", "bool", True),
    )
    return OpSpec(op, "layer", attrs, ("x",), _batchnorm_infer(op, n), _batchnorm_params, doc=f"torch.nn.{op}",
                  shape_rule=f"x is {_BN_RANKS[n][1]} (float) with C = num_features; out: the same",
                  macs_rule=_NORM_MACS)


def _trailing_infer(op: str):
    """LayerNorm/RMSNorm: the last dims of the input must equal normalized_shape."""

    def infer(a: dict, inputs: list):
        x, norm = inputs[0], a["normalized_shape"]
        check_min_rank(x, len(norm), op)
        require_float(x, op)
        tail = x.shape[x.rank - len(norm):]
        for got, want in zip(tail, norm):
            expect_equal(
                got, want,
                lambda: f"{op} over {shape_str(norm)} expects the input to end in those sizes, got input {x}",
                arg="x",
            )
        return x

    return infer


def _layernorm_params(a: dict) -> list[ParamSpec]:
    if not a["elementwise_affine"]:
        return []
    out = [ParamSpec(name="weight", shape=a["normalized_shape"])]
    if a["bias"]:
        out.append(ParamSpec(name="bias", shape=a["normalized_shape"]))
    return out


def _rmsnorm_params(a: dict) -> list[ParamSpec]:
    return [ParamSpec(name="weight", shape=a["normalized_shape"])] if a["elementwise_affine"] else []


def _groupnorm_infer(a: dict, inputs: list):
    x = inputs[0]
    check_min_rank(x, 2, "GroupNorm")
    require_float(x, "GroupNorm")
    divide(
        a["num_channels"], a["num_groups"],
        lambda: f"GroupNorm: num_channels ({dims.to_str(a['num_channels'])}) must be divisible by "
        f"num_groups ({dims.to_str(a['num_groups'])})",
        arg="num_groups",
    )
    expect_equal(
        x.shape[1], a["num_channels"],
        lambda: f"GroupNorm expects {dims.to_str(a['num_channels'])} channels, got input {x}",
        arg="x",
    )
    return x


def _groupnorm_params(a: dict) -> list[ParamSpec]:
    c = (a["num_channels"],)
    return [ParamSpec(name="weight", shape=c), ParamSpec(name="bias", shape=c)] if a["affine"] else []


OPS = [
    _batchnorm(1), _batchnorm(2), _batchnorm(3),
    OpSpec(
        "LayerNorm", "layer",
        (
            Attr("normalized_shape", "ints"), Attr("eps", "float", 1e-5),
            Attr("elementwise_affine", "bool", True), Attr("bias", "bool", True),
        ),
        ("x",), _trailing_infer("LayerNorm"), _layernorm_params, doc="torch.nn.LayerNorm",
        shape_rule=_TRAILING, macs_rule=_NORM_MACS,
    ),
    OpSpec(
        "RMSNorm", "layer",
        (Attr("normalized_shape", "ints"), Attr("eps", "float?", None), Attr("elementwise_affine", "bool", True)),
        ("x",), _trailing_infer("RMSNorm"), _rmsnorm_params, doc="torch.nn.RMSNorm",
        shape_rule=_TRAILING, macs_rule=_NORM_MACS,
    ),
    OpSpec(
        "GroupNorm", "layer",
        (Attr("num_groups", "int"), Attr("num_channels", "int"), Attr("eps", "float", 1e-5), Attr("affine", "bool", True)),
        ("x",), _groupnorm_infer, _groupnorm_params, doc="torch.nn.GroupNorm",
        shape_rule="x is (N, C, …) (float) with C = num_channels, divisible by num_groups; out: the same",
        macs_rule=_NORM_MACS,
    ),
]
