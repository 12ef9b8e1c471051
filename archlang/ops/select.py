"""Picking elements by integer index or by order: gather, index_select, index_tensor (what
``x[idx]`` with an integer tensor emits), topk, sort, argmax, argmin.

Index tensors must be integer tensors; a bool mask as an index would give a shape that
depends on the data, which no static shape can say (use ``where`` or ``masked_fill``).

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ops._shape import axis, check_positive, fail, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Selection and order"  # of this family in the op reference (docs/ops.md)

_INTS = ("int64", "int32")
_NO_MACS = "0 (no multiply-accumulate)"


def _require_index(op: str, index, arg: str = "index") -> None:
    if index.dtype == "bool":
        fail(f"{op}: a bool mask picks a number of elements that depends on the data; "
             f"use where(mask, x, y) or masked_fill(x, mask, value) instead", arg)
    if index.dtype not in _INTS:
        fail(f"{op}: indices must be an integer tensor, got {index}", arg)


def _gather_infer(a: dict, inputs: list):
    x, index = inputs
    _require_index("gather", index)
    d = axis(a["dim"], x.rank, "gather", x)
    if index.rank != x.rank:
        fail(f"gather: index {index} must have the rank of x {x}", "index")
    for i, (n, m) in enumerate(zip(x.shape, index.shape)):
        if i != d and dims.prove_positive(n - m + 1) is False:
            fail(f"gather: index {index} is larger than x {x} in dim {i} ({dims.to_str(m)} > {dims.to_str(n)})",
                 "index")
    return tensor(x.dtype, index.shape)


def _index_select_infer(a: dict, inputs: list):
    x, index = inputs
    _require_index("index_select", index)
    d = axis(a["dim"], x.rank, "index_select", x)
    if index.rank > 1:
        fail(f"index_select: index must be 1-D, got {index} (x[idx] takes any shape)", "index")
    count = index.shape[0] if index.rank else 1
    return tensor(x.dtype, x.shape[:d] + (count,) + x.shape[d + 1:])


def _index_tensor_infer(a: dict, inputs: list):
    x, index = inputs
    _require_index("x[index]", index)
    d = axis(a["dim"], x.rank, "x[index]", x)
    return tensor(x.dtype, x.shape[:d] + index.shape + x.shape[d + 1:])


def _topk_infer(a: dict, inputs: list):
    x, k = inputs[0], a["k"]
    d = axis(a["dim"], x.rank, "topk", x)
    size = x.shape[d] if x.rank else 1
    check_positive(size - k + 1, lambda: f"topk: k={dims.to_str(k)} exceeds the size {dims.to_str(size)} of "
                   f"dim {a['dim']} of {x}", "k")
    shape = x.shape[:d] + (k,) + x.shape[d + 1:] if x.rank else ()
    return tensor(x.dtype, shape), tensor("int64", shape)


def _sort_infer(a: dict, inputs: list):
    x = inputs[0]
    axis(a["dim"], x.rank, "sort", x)
    return x, tensor("int64", x.shape)


def _arg_infer(op: str):
    def infer(a: dict, inputs: list):
        x, dim, keep = inputs[0], a["dim"], a["keepdim"]
        if dim is None:
            return tensor("int64", (1,) * x.rank if keep else ())
        d = axis(dim, x.rank, op, x)
        if not x.rank:
            return tensor("int64", ())
        shape = x.shape[:d] + ((1,) if keep else ()) + x.shape[d + 1:]
        return tensor("int64", shape)

    return infer


_ARG = (Attr("dim", "int?", None), Attr("keepdim", "bool", False))

OPS = [
    OpSpec("gather", "function", (Attr("dim", "int"),), ("x", "index"), _gather_infer,
           doc="torch.gather: out[i][j] = x[index[i][j]][j] along dim",
           shape_rule="the shape of index, the dtype of x; index has x's rank and is no larger in other dims",
           macs_rule=_NO_MACS),
    OpSpec("index_select", "function", (Attr("dim", "int"),), ("x", "index"), _index_select_infer,
           doc="torch.index_select: the slices of x at the (1-D) indices along dim",
           shape_rule="x's shape with dim replaced by the length of index", macs_rule=_NO_MACS),
    OpSpec("index_tensor", "function", (Attr("dim", "int"),), ("x", "index"), _index_tensor_infer,
           doc="x[..., index, ...] with an integer tensor at dim (written x[idx], x[:, idx]); negative "
               "indices count from the end",
           shape_rule="x's shape with dim replaced by the whole shape of index", macs_rule=_NO_MACS),
    OpSpec("topk", "function",
           (Attr("k", "int"), Attr("dim", "int", -1), Attr("largest", "bool", True), Attr("sorted", "bool", True)),
           ("x",), _topk_infer,
           doc="torch.topk: the k largest (or smallest) values along dim and their indices, as a pair "
               "(values, indices = x.topk(k)); with sorted=false their order is unspecified",
           shape_rule="(values, indices): x's shape with dim replaced by k; values of x's dtype, indices int64",
           macs_rule=_NO_MACS),
    OpSpec("sort", "function", (Attr("dim", "int", -1), Attr("descending", "bool", False),
                                Attr("stable", "bool", False, kw_only=True)), ("x",), _sort_infer,
           doc="torch.sort: values along dim in order and their indices, as a pair; equal values may come "
               "in any order unless stable=true",
           shape_rule="(values, indices): x's shape; values of x's dtype, indices int64", macs_rule=_NO_MACS),
    OpSpec("argmax", "function", _ARG, ("x",), _arg_infer("argmax"),
           doc="torch.argmax: the index of the largest value along dim (of the flattened x without dim); "
               "the first one on ties",
           shape_rule="int64; x's shape without dim (1 with keepdim); a scalar without dim", macs_rule=_NO_MACS),
    OpSpec("argmin", "function", _ARG, ("x",), _arg_infer("argmin"),
           doc="torch.argmin: the index of the smallest value along dim (of the flattened x without dim)",
           shape_rule="int64; x's shape without dim (1 with keepdim); a scalar without dim", macs_rule=_NO_MACS),
]
