"""Shape-only tensor functions: reshape/view, flatten/Flatten/Unflatten, permute, transpose,
unsqueeze, squeeze, expand, contiguous/clone, to (dtype cast).

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ops._shape import axes, axis, divide, expect_equal, fail, numel, shape_str, tensor, unequal_reason
from archlang.ops._spec import Attr, OpSpec

TITLE = "Shape"  # of this family in the op reference (docs/ops.md)

# --------------------------------------------------------------------------- reshape


def resolve_shape(op: str, x, shape: tuple, total) -> tuple:
    """``shape`` with its (at most one) -1 solved so the element count equals ``total``."""
    holes = [i for i, d in enumerate(shape) if type(d) is int and d == -1]
    if len(holes) > 1:
        fail(f"{op}: only one dimension can be -1, got {shape_str(shape)}", "shape")
    bad = [d for d in shape if type(d) is int and d < -1]
    if bad:
        fail(f"{op}: invalid size {bad[0]} in {shape_str(shape)}", "shape")
    if not holes:
        expect_equal(
            numel(shape), total,
            lambda: f"{op}: cannot reshape {x} ({dims.to_str(total)} elements) into {shape_str(shape)} "
            f"({dims.to_str(numel(shape))} elements)",
            arg="shape",
        )
        return shape
    i = holes[0]
    known = numel(shape[:i] + shape[i + 1:])
    inferred = divide(
        total, known,
        lambda: f"{op}: cannot reshape {x} into {shape_str(shape)}: {dims.to_str(total)} elements "
        f"are not divisible by {dims.to_str(known)}",
        arg="shape",
    )
    return shape[:i] + (inferred,) + shape[i + 1:]


def _reshape_infer(op: str):
    def infer(a: dict, inputs: list):
        x = inputs[0]
        return tensor(x.dtype, resolve_shape(op, x, a["shape"], numel(x.shape)))

    return infer


def _flatten_infer(op: str):
    def infer(a: dict, inputs: list):
        x = inputs[0]
        if x.rank == 0:
            return tensor(x.dtype, (1,))
        start = axis(a["start_dim"], x.rank, op, x, "start_dim")
        end = axis(a["end_dim"], x.rank, op, x, "end_dim")
        if start > end:
            fail(f"{op}: start_dim {a['start_dim']} comes after end_dim {a['end_dim']} for input {x}", "start_dim")
        merged = numel(x.shape[start:end + 1])
        return tensor(x.dtype, x.shape[:start] + (merged,) + x.shape[end + 1:])

    return infer


def _unflatten_infer(a: dict, inputs: list):
    x = inputs[0]
    d = axis(a["dim"], x.rank, "Unflatten", x)
    sizes = resolve_shape("Unflatten", x, a["unflattened_size"], x.shape[d])
    return tensor(x.dtype, x.shape[:d] + sizes + x.shape[d + 1:])


# --------------------------------------------------------------------------- axes


def _permute_infer(a: dict, inputs: list):
    x, order = inputs[0], a["dims"]
    if len(order) != x.rank:
        fail(f"permute: dims {tuple(order)} must list all {x.rank} axes of {x}", "dims")
    perm = axes(order, x.rank, "permute", x, "dims")
    return tensor(x.dtype, tuple(x.shape[i] for i in perm))


def _transpose_infer(a: dict, inputs: list):
    x = inputs[0]
    i = axis(a["dim0"], x.rank, "transpose", x, "dim0")
    j = axis(a["dim1"], x.rank, "transpose", x, "dim1")
    shape = list(x.shape)
    if x.rank:
        shape[i], shape[j] = shape[j], shape[i]
    return tensor(x.dtype, shape)


def _unsqueeze_infer(a: dict, inputs: list):
    x = inputs[0]
    d = axis(a["dim"], x.rank + 1, "unsqueeze", x)
    return tensor(x.dtype, x.shape[:d] + (1,) + x.shape[d:])


def _squeeze_infer(a: dict, inputs: list):
    x = inputs[0]
    targets = range(x.rank) if a["dim"] is None else axes(a["dim"], x.rank, "squeeze", x)
    drop = {i for i in targets if _is_one(x, i, a["dim"] is None)}
    return tensor(x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in drop))


def _is_one(x, i: int, implicit: bool) -> bool:
    size = x.shape[i]
    if type(size) is int:
        return size == 1
    verdict = dims.prove_equal(size, 1)
    if verdict.holds is None:
        which = "squeeze() without dim" if implicit else f"squeeze(dim={i})"
        fail(f"{which}: cannot tell whether size {size} of dim {i} in {x} is 1", "dim")
    return bool(verdict.holds)


def _expand_infer(a: dict, inputs: list):
    x, sizes = inputs[0], a["sizes"]
    if len(sizes) < x.rank:
        fail(f"expand: {len(sizes)} sizes given for {x}, which has rank {x.rank}", "sizes")
    lead = len(sizes) - x.rank
    out = []
    for i, want in enumerate(sizes):
        have = x.shape[i - lead] if i >= lead else None
        out.append(_expanded(x, sizes, i, have, want))
    return tensor(x.dtype, out)


def _expanded(x, sizes, i: int, have, want):
    if type(want) is int and want == -1:
        if have is None:
            fail(f"expand: -1 is not allowed for the new leading dim {i} in {shape_str(sizes)}", "sizes")
        return have
    if have is None or have == 1:
        return want
    reason = unequal_reason(have, want)
    if reason is not None:
        fail(f"expand: cannot expand {x} to {shape_str(sizes)} (dim {i}: {dims.to_str(have)} vs "
             f"{dims.to_str(want)}){reason}", "sizes")
    return have


def _same(a: dict, inputs: list):
    return inputs[0]


def _cast(a: dict, inputs: list):
    return tensor(a["dtype"], inputs[0].shape)


_MOVES = "0 (data movement)"


def _fn(name: str, attrs: tuple, infer, shape_rule: str, doc: str = "") -> OpSpec:
    return OpSpec(name, "function", attrs, ("x",), infer, doc=doc or f"torch.{name}", shape_rule=shape_rule,
                  macs_rule=_MOVES)


_RESHAPE = "shape, with at most one -1 solved so the element count is x's (exactly, also on symbolic sizes)"
_FLATTEN = "dims start_dim … end_dim of x merged into their product (a scalar becomes [1])"

OPS = [
    _fn("reshape", (Attr("shape", "dims"),), _reshape_infer("reshape"), _RESHAPE),
    _fn("view", (Attr("shape", "dims"),), _reshape_infer("view"), _RESHAPE, "torch.Tensor.view"),
    _fn("flatten", (Attr("start_dim", "int", 0), Attr("end_dim", "int", -1)), _flatten_infer("flatten"), _FLATTEN),
    OpSpec("Flatten", "layer", (Attr("start_dim", "int", 1), Attr("end_dim", "int", -1)), ("x",),
           _flatten_infer("Flatten"), doc="torch.nn.Flatten", shape_rule=_FLATTEN, macs_rule=_MOVES),
    OpSpec("Unflatten", "layer", (Attr("dim", "int"), Attr("unflattened_size", "dims")), ("x",),
           _unflatten_infer, doc="torch.nn.Unflatten",
           shape_rule="dim of x split into unflattened_size (one -1 solved); their product is its size",
           macs_rule=_MOVES),
    _fn("permute", (Attr("dims", "ints"),), _permute_infer, "x's dims in the order dims, which lists every axis once"),
    _fn("transpose", (Attr("dim0", "int"), Attr("dim1", "int")), _transpose_infer, "x's shape with dim0 and dim1 swapped"),
    _fn("unsqueeze", (Attr("dim", "int"),), _unsqueeze_infer, "x's shape with a 1 inserted at dim"),
    _fn("squeeze", (Attr("dim", "ints?", None),), _squeeze_infer,
        "x's shape without the size-1 dims (of dim, or all); a symbolic size must be provably 1 or not"),
    _fn("expand", (Attr("sizes", "dims"),), _expand_infer,
        "sizes, right-aligned with x: -1 keeps a size, a size-1 dim stretches, new leading dims are added",
        "torch.Tensor.expand"),
    _fn("contiguous", (), _same, "the shape and dtype of x", "torch.Tensor.contiguous"),
    _fn("clone", (), _same, "the shape and dtype of x"),
    _fn("to", (Attr("dtype", "dtype"),), _cast, "the shape of x, the dtype given", "torch.Tensor.to"),
]
