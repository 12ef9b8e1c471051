"""Basic indexing ``x[index]``: ints (drop a dim), slices (negative steps too), None (new dim)
and one Ellipsis.  (An integer tensor in the index is ``index_tensor``, in ``select``.)

Slice lengths on symbolic sizes are exact when the bounds are provable from the sizes
being >= 1 (``x[..., :T]`` on a dim of size T is T); otherwise they stay as min/max terms.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ops._shape import fail, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Indexing"  # of this family in the op reference (docs/ops.md)


def _consumes(e) -> bool:
    return e is not None and e is not Ellipsis


def _full_index(x, index: tuple) -> tuple:
    """Expand the Ellipsis (or pad at the end) so every dim of x has one entry."""
    if sum(1 for e in index if e is Ellipsis) > 1:
        fail("getitem: an index can only have a single ellipsis ('...')", "index")
    used = sum(1 for e in index if _consumes(e))
    if used > x.rank:
        fail(f"getitem: too many indices ({used}) for {x}", "index")
    fill = (slice(None),) * (x.rank - used)
    if Ellipsis not in index:
        return index + fill
    at = index.index(Ellipsis)
    return index[:at] + fill + index[at + 1:]


def _getitem_infer(a: dict, inputs: list):
    x = inputs[0]
    out, d = [], 0
    for e in _full_index(x, a["index"]):
        if e is None:
            out.append(1)
            continue
        size = x.shape[d]
        if isinstance(e, slice):
            out.append(slice_length(size, e))
        else:
            _check_index(x, d, size, e)
        d += 1
    return tensor(x.dtype, out)


def _check_index(x, d: int, size, i) -> None:
    out_of_range = False
    if type(size) is int and type(i) is int:
        out_of_range = not -size <= i < size
    elif type(i) is int and i >= 0:
        out_of_range = dims.prove_positive(size - i) is False
    if out_of_range:
        fail(f"getitem: index {dims.to_str(i)} is out of range for dim {d} (size {dims.to_str(size)}) of {x}", "index")


def slice_length(n, s: slice):
    """len(range(n)[s]) for a possibly symbolic size n; the step is a nonzero int."""
    step = 1 if s.step is None else s.step
    if type(step) is not int or step == 0:
        fail(f"getitem: slice step must be a nonzero int, got {dims.to_str(step)}", "index")
    if all(type(v) is int for v in (n, s.start, s.stop) if v is not None):
        return len(range(*slice(s.start, s.stop, step).indices(n)))
    if step < 0:
        return _reversed_length(n, s, -step)
    if type(s.start) is int and s.start < 0 and s.stop is None:  # the last k: min(k, n), stepped
        return (_clamp(-s.start, n) + step - 1) // step
    start = 0 if s.start is None else _clamp_low(_clamp(_from_end(n, s.start), n), 0)
    stop = n if s.stop is None else _clamp_low(_clamp(_from_end(n, s.stop), n), 0)
    return _at_least_zero((stop - start + step - 1) // step)


def _reversed_length(n, s: slice, step: int):
    """A negative step walks down from start (default: the last element) to just above stop
    (default: past the first), both clamped to [-1, n - 1] as Python does."""
    start = n - 1 if s.start is None else _clamp_low(_clamp(_from_end(n, s.start), n - 1), -1)
    stop = -1 if s.stop is None else _clamp_low(_clamp(_from_end(n, s.stop), n - 1), -1)
    return _at_least_zero((start - stop + step - 1) // step)


def _clamp_low(v, low: int):
    """max(v, low), resolved when provable for sizes >= 1."""
    lo, hi = dims.bounds(v - low)
    if lo >= 0:
        return v
    if hi <= 0:
        return low
    return dims.dmax(v, low)


def _from_end(n, v):
    return n + v if type(v) is int and v < 0 else v


def _clamp(v, n):
    """min(v, n), resolved when provable for sizes >= 1."""
    lo, hi = dims.bounds(n - v)
    if lo >= 0:
        return v
    if hi <= 0:
        return n
    return dims.dmin(v, n)


def _at_least_zero(v):
    lo, hi = dims.bounds(v)
    if lo >= 0:
        return v
    if hi <= 0:
        return 0
    return dims.dmax(v, 0)


OPS = [
    OpSpec("getitem", "function", (Attr("index", "index"),), ("x",), _getitem_infer,
           doc="torch.Tensor.__getitem__: written x[…] with ints, slices (any nonzero step), none and ...",
           shape_rule="an int drops its dim, a slice keeps len(range(size)[slice]) (exact on symbolic sizes, with "
                      "min/max where the bounds may clamp), none inserts a 1, ... stands for the dims not indexed",
           macs_rule="0 (data movement)"),
]
