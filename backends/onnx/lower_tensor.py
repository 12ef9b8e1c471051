"""Lowerings of shape and data-movement ops: reshape/view/flatten/unflatten, permute,
transpose, (un)squeeze, expand, casts, cat/stack/split/chunk/unbind/item, getitem,
rearrange, creation functions (const, arange, zeros, ones) and the identity-like ops
(Identity, Dropout, contiguous, clone).

Target shapes come from the IR result type, so a ``-1`` is already solved and symbolic
sizes are computed in-graph (``call.reshape``).  ``rearrange`` is planned like the torch
backend's: reshape (split groups) → transpose → reshape (merge groups).

Imports onnx, archlang.ir.dims/ops (the rearrange pattern parser) and this package; never
another backend.
"""

from __future__ import annotations

from onnx import helper

from archlang.ops.rearrange import plan_rearrange

from .call import INT64_MAX, Call, cast, expand_shape, is_one, reshape, squeeze, transpose, unsqueeze
from .graph import ELEM

# ---------------------------------------------------------------------------- identity-like


def _same(g, c: Call) -> str:
    """none: the input itself (eval-mode semantics: dropout is the identity)."""
    return c.inputs[0]


def _to(g, c: Call) -> str:
    """Cast (none when the dtype is already right)."""
    return cast(g, c.inputs[0], c.types[0].dtype, c.out.dtype)


# ---------------------------------------------------------------------------- reshapes


def _reshape(g, c: Call) -> str:
    """Reshape to the IR shape: 0 copies a dim, -1 stands for one symbolic dim, other symbolic sizes are computed in-graph."""
    return reshape(g, c.inputs[0], c.types[0].shape, c.out.shape)


def _flatten(g, c: Call) -> str:
    """Flatten when the trailing dims become a matrix, else Reshape."""
    t = c.types[0]
    start = c.attrs["start_dim"] % max(t.rank, 1)
    end = c.attrs["end_dim"] % max(t.rank, 1)
    if t.rank >= 2 and end == t.rank - 1 and start >= 1 and c.out.rank == 2:
        return g.op("Flatten", [c.inputs[0]], axis=start)
    return reshape(g, c.inputs[0], t.shape, c.out.shape)


def _permute(g, c: Call) -> str:
    """Transpose(perm=dims)."""
    rank = c.types[0].rank
    return transpose(g, c.inputs[0], [d % rank for d in c.attrs["dims"]])


def _transpose(g, c: Call) -> str:
    """Transpose swapping dim0 and dim1."""
    rank = c.types[0].rank
    perm = list(range(rank))
    if rank:
        i, j = c.attrs["dim0"] % rank, c.attrs["dim1"] % rank
        perm[i], perm[j] = perm[j], perm[i]
    return transpose(g, c.inputs[0], perm)


def _unsqueeze(g, c: Call) -> str:
    """Unsqueeze."""
    return unsqueeze(g, c.inputs[0], [c.attrs["dim"] % (c.types[0].rank + 1)])


def _squeeze(g, c: Call) -> str:
    """Squeeze of the dims that are 1."""
    t = c.types[0]
    targets = range(t.rank) if c.attrs["dim"] is None else [d % max(t.rank, 1) for d in c.attrs["dim"]]
    axes = [i for i in targets if t.rank and is_one(t.shape[i])]
    return squeeze(g, c.inputs[0], axes) if axes else c.inputs[0]


def _expand(g, c: Call) -> str:
    """Expand to the IR shape (sizes computed in-graph when symbolic)."""
    return g.op("Expand", [c.inputs[0], g.ints(expand_shape(c.types[0].shape, c.out.shape))])


# ---------------------------------------------------------------------------- joins


def _cat(g, c: Call) -> str:
    """Concat, operands cast to the result dtype."""
    parts = [cast(g, x, t.dtype, c.out.dtype) for x, t in zip(c.inputs, c.types)]
    return g.op("Concat", parts, axis=c.attrs["dim"] % c.out.rank)


def _stack(g, c: Call) -> str:
    """Unsqueeze each tensor, then Concat."""
    axis = c.attrs["dim"] % c.out.rank
    parts = [unsqueeze(g, cast(g, x, t.dtype, c.out.dtype), [axis]) for x, t in zip(c.inputs, c.types)]
    return g.op("Concat", parts, axis=axis)


def _pieces(g, c: Call, axis: int, sizes: list) -> tuple:
    if len(sizes) == 1:
        return (g.op("Identity", [c.inputs[0]]),)
    return tuple(g.op("Split", [c.inputs[0], g.ints(sizes)], outputs=len(sizes), axis=axis))


def _split(g, c: Call) -> tuple:
    """Split with the pieces' sizes (computed in-graph when symbolic)."""
    axis = c.attrs["dim"] % c.types[0].rank
    return _pieces(g, c, axis, [piece.shape[axis] for piece in c.out])


def _unbind(g, c: Call) -> tuple:
    """Split into pieces of 1, then Squeeze each."""
    axis = c.attrs["dim"] % c.types[0].rank
    return tuple(squeeze(g, piece, [axis]) for piece in _pieces(g, c, axis, [1] * len(c.out)))


def _item(g, c: Call) -> str:
    """none: the chosen output of the tuple-valued node."""
    return c.inputs[0][c.attrs["index"]]


# ---------------------------------------------------------------------------- indexing


def _getitem(g, c: Call) -> str:
    """Slice (any nonzero step) on every sliced axis, Squeeze for int indices, Unsqueeze for none."""
    t = c.types[0]
    index = _full_index(c.attrs["index"], t.rank)
    starts, ends, axes, steps, dropped, added = [], [], [], [], [], []
    axis = out = 0
    for e in index:
        if e is None:
            added.append(out)
            out += 1
            continue
        if isinstance(e, slice):
            if e != slice(None):
                start, end, step = _slice_bounds(e)
                starts.append(start), ends.append(end), axes.append(axis), steps.append(step)
            out += 1
        else:
            starts.append(e), ends.append(INT64_MAX if e == -1 else e + 1), axes.append(axis), steps.append(1)
            dropped.append(axis)
        axis += 1
    y = c.inputs[0]
    if axes:
        y = g.op("Slice", [y, g.ints(starts), g.ints(ends), g.const(axes), g.const(steps)])
    if dropped:
        y = squeeze(g, y, dropped)
    if added:
        y = unsqueeze(g, y, added)
    return y


def _full_index(index: tuple, rank: int) -> tuple:
    used = sum(1 for e in index if e is not None and e is not Ellipsis)
    fill = (slice(None),) * (rank - used)
    if Ellipsis not in index:
        return tuple(index) + fill
    at = index.index(Ellipsis)
    return tuple(index[:at]) + fill + tuple(index[at + 1:])


def _slice_bounds(e: slice) -> tuple:
    """ONNX Slice bounds; with a negative step it clamps start to [0, n - 1] and end to
    [-1, n - 1] as Python does, so open ends are the extreme int64 values."""
    step = 1 if e.step is None else e.step
    if step < 0:
        start = INT64_MAX if e.start is None else e.start
        end = -INT64_MAX - 1 if e.stop is None else e.stop
        return start, end, step
    start = 0 if e.start is None else e.start
    end = INT64_MAX if e.stop is None else e.stop
    return start, end, step


# ---------------------------------------------------------------------------- rearrange


def _rearrange(g, c: Call) -> str:
    """Reshape (split the groups), Transpose, Reshape (merge the groups)."""
    t = c.types[0]
    split, perm, merged = plan_rearrange(c.attrs["pattern"], t.shape, c.attrs.get("axes") or {})
    y = reshape(g, c.inputs[0], t.shape, tuple(split))
    y = transpose(g, y, perm)
    permuted = tuple(split[i] for i in perm)
    return reshape(g, y, permuted, tuple(merged))


# ---------------------------------------------------------------------------- creation


def _const(g, c: Call) -> str:
    """a Constant scalar."""
    return g.op("Identity", [g.scalar(c.attrs["value"], c.out.dtype)])


def _buffer(g, c: Call) -> str:
    """A ``Constant`` holding the values computed while elaborating (a non-persistent buffer; a
    persistent one is an initializer named by its state-dict key, as a parameter is)."""
    value = c.attrs["value"]
    return g.op("Identity", [g.const(value.nested(), value.dtype)])


def _arange(g, c: Call) -> str:
    """A constant when start and end are numbers, else Range over in-graph sizes."""
    start, end, step = c.attrs["start"], c.attrs["end"], c.attrs["step"]
    if type(start) is int and type(end) is int:
        return g.op("Identity", [g.const(list(range(start, end, step)), c.out.dtype)])
    bounds = [g.scalar(v, "int64") if type(v) is int else squeeze(g, g.sizes.dim(v), [0]) for v in (start, end)]
    y = g.op("Range", bounds + [g.scalar(step, "int64")])
    return cast(g, y, "int64", c.out.dtype)


def _filled(value: int):
    def lower(g, c: Call) -> str:
        fill = helper.make_tensor("value", ELEM[c.out.dtype], [1], [value])
        return g.op("ConstantOfShape", [g.ints(list(c.out.shape))], value=fill)

    lower.__doc__ = f"ConstantOfShape(value={value}) of the size (computed in-graph when symbolic)"
    return lower


def lowerings() -> dict:
    return {
        "Identity": _same, "Dropout": _same, "Dropout2d": _same, "dropout": _same,
        "contiguous": _same, "clone": _same, "to": _to,
        "reshape": _reshape, "view": _reshape, "flatten": _flatten, "Flatten": _flatten, "Unflatten": _reshape,
        "permute": _permute, "transpose": _transpose, "unsqueeze": _unsqueeze, "squeeze": _squeeze,
        "expand": _expand,
        "cat": _cat, "stack": _stack, "split": _split, "chunk": _split, "unbind": _unbind, "item": _item,
        "getitem": _getitem, "rearrange": _rearrange,
        "const": _const, "Buffer": _buffer, "arange": _arange, "zeros": _filled(0), "ones": _filled(1),
    }
