"""Dense layers: Linear (on ``[..., in_features]``), Conv1D (GPT-2's transposed Linear) and
Embedding (on integer tensors).

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ir.types import ParamSpec
from archlang.ops._shape import check_min_rank, expect_equal, fail, numel, require_float, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Dense"  # of this family in the op reference (docs/ops.md)


def _linear_infer(a: dict, inputs: list):
    x = inputs[0]
    check_min_rank(x, 1, "Linear")
    require_float(x, "Linear")
    expect_equal(
        x.shape[-1], a["in_features"],
        lambda: f"Linear expects {dims.to_str(a['in_features'])} input features in the last dim, got input {x}",
        arg="x",
    )
    return tensor(x.dtype, x.shape[:-1] + (a["out_features"],))


def _linear_params(a: dict) -> list[ParamSpec]:
    out = [ParamSpec(name="weight", shape=(a["out_features"], a["in_features"]))]
    if a["bias"]:
        out.append(ParamSpec(name="bias", shape=(a["out_features"],)))
    return out


def _linear_macs(a: dict, inputs: list, output):
    return numel(output.shape) * a["in_features"]


def _conv1d_infer(a: dict, inputs: list):
    x = inputs[0]
    check_min_rank(x, 1, "Conv1D")
    require_float(x, "Conv1D")
    expect_equal(
        x.shape[-1], a["nx"],
        lambda: f"Conv1D expects {dims.to_str(a['nx'])} input features (nx) in the last dim, got input {x}",
        arg="x",
    )
    return tensor(x.dtype, x.shape[:-1] + (a["nf"],))


def _conv1d_params(a: dict) -> list[ParamSpec]:
    # Hugging Face stores the weight as [in, out] (the transpose of Linear's) and always has a bias
    return [ParamSpec(name="weight", shape=(a["nx"], a["nf"])), ParamSpec(name="bias", shape=(a["nf"],))]


def _conv1d_macs(a: dict, inputs: list, output):
    return numel(output.shape) * a["nx"]


def _embedding_infer(a: dict, inputs: list):
    x = inputs[0]
    if x.dtype not in ("int64", "int32"):
        fail(f"Embedding expects an integer index tensor (int64 or int32), got {x}", "x")
    _check_padding_idx(a)
    return tensor("float32", x.shape + (a["embedding_dim"],))


def _check_padding_idx(a: dict) -> None:
    idx, n = a["padding_idx"], a["num_embeddings"]
    if idx is None or type(idx) is not int or type(n) is not int:
        return
    if not -n <= idx < n:
        fail(f"Embedding: padding_idx {idx} is out of range for {n} embeddings", "padding_idx")


def _embedding_params(a: dict) -> list[ParamSpec]:
    return [ParamSpec(name="weight", shape=(a["num_embeddings"], a["embedding_dim"]))]


OPS = [
    OpSpec(
        "Linear", "layer",
        (Attr("in_features", "int"), Attr("out_features", "int"), Attr("bias", "bool", True)),
        ("x",), _linear_infer, _linear_params, _linear_macs, doc="torch.nn.Linear",
        shape_rule="x is [..., in_features] (float); out: [..., out_features]",
        macs_rule="output elements × in_features",
    ),
    OpSpec(
        "Conv1D", "layer",
        (Attr("nf", "int"), Attr("nx", "int")),
        ("x",), _conv1d_infer, _conv1d_params, _conv1d_macs,
        doc="transformers.pytorch_utils.Conv1D: GPT-2's Linear with its weight stored [nx, nf] (in, out)",
        shape_rule="x is [..., nx] (float); out: [..., nf]; weight [nx, nf], bias [nf]",
        macs_rule="output elements × nx",
    ),
    OpSpec(
        "Embedding", "layer",
        (
            Attr("num_embeddings", "int"), Attr("embedding_dim", "int"),
            Attr("padding_idx", "int?", None), Attr("max_norm", "float?", None),
            Attr("norm_type", "float", 2.0), Attr("scale_grad_by_freq", "bool", False),
            Attr("sparse", "bool", False),
        ),
        ("x",), _embedding_infer, _embedding_params, doc="torch.nn.Embedding",
        shape_rule="x is an integer tensor of any shape; out: float32[*x.shape, embedding_dim]",
        macs_rule="0 (a lookup)",
    ),
]
