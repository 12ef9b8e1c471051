"""Lowerings of the shape-keeping movements: roll (two Slices and a Concat per rolled dim,
with the cut computed in-graph when the size is symbolic), flip (a Slice with step -1),
tril/triu (``Trilu``) and cumsum (``CumSum``).

Imports this package's ``call``; never another backend.
"""

from __future__ import annotations

from .call import INT64_MAX, Call, cast

INT64_MIN = -(2**63)


def _roll(g, c: Call) -> str:
    """Per dim: x[n - s:] then x[:n - s] along it, s = shift mod n; without dims, of the flat x."""
    t, shifts, dims = c.types[0], c.attrs["shifts"], c.attrs["dims"]
    x = c.inputs[0]
    if dims is None:
        size = 1
        for d in t.shape:
            size = size * d
        flat = g.op("Reshape", [x, g.const([-1])])
        rolled = _roll_axis(g, flat, 0, size, shifts[0])
        return g.op("Reshape", [rolled, g.op("Shape", [x])])
    for shift, dim in zip(shifts, dims):
        axis = dim % t.rank
        x = _roll_axis(g, x, axis, t.shape[axis], shift)
    return x


def _roll_axis(g, x: str, axis: int, n, shift) -> str:
    if type(n) is int and type(shift) is int and shift % n == 0:
        return x
    cut = n - shift % n
    tail = g.op("Slice", [x, g.ints([cut]), g.const([INT64_MAX]), g.const([axis])])
    head = g.op("Slice", [x, g.const([0]), g.ints([cut]), g.const([axis])])
    return g.op("Concat", [tail, head], axis=axis)


def _flip(g, c: Call) -> str:
    """A Slice from the last element down, step -1, on every flipped dim."""
    rank = c.types[0].rank
    axes = [d % max(rank, 1) for d in c.attrs["dims"]]
    if rank == 0 or not axes:
        return g.op("Identity", [c.inputs[0]])
    k = len(axes)
    return g.op("Slice", [c.inputs[0], g.const([-1] * k), g.const([INT64_MIN] * k), g.const(axes), g.const([-1] * k)])


def _triangle(upper: bool):
    def lower(g, c: Call) -> str:
        return g.op("Trilu", [c.inputs[0], _scalar(g, c.attrs["diagonal"])], upper=int(upper))

    lower.__doc__ = f"Trilu(upper={int(upper)}) with k = diagonal"
    return lower


def _scalar(g, value) -> str:
    """An int64 scalar: a constant, or a size computed in-graph."""
    if type(value) is int:
        return g.scalar(value, "int64")
    return g.op("Squeeze", [g.sizes.dim(value), g.const([0])])


def _cumsum(g, c: Call) -> str:
    """CumSum along dim, on x cast to the result dtype (integers sum as int64)."""
    x = cast(g, c.inputs[0], c.types[0].dtype, c.out.dtype)
    return g.op("CumSum", [x, g.scalar(c.attrs["dim"] % max(c.types[0].rank, 1), "int64")])


def lowerings() -> dict:
    return {"roll": _roll, "flip": _flip, "tril": _triangle(False), "triu": _triangle(True), "cumsum": _cumsum}
