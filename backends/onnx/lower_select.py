"""Lowerings of picking by index or by order: gather (``GatherElements``), index_select and
``x[idx]`` (``Gather``), topk and sort (``TopK``, which breaks ties by the lower index, as a
stable sort does), argmax and argmin (``ArgMax``/``ArgMin``, the first index on ties).

Imports this package's ``call``; never another backend.
"""

from __future__ import annotations

from .call import Call, reshape


def _gather(g, c: Call) -> str:
    """GatherElements along dim: out[i][j] = x[index[i][j]][j]."""
    x, index = c.inputs
    return g.op("GatherElements", [x, index], axis=c.attrs["dim"] % c.types[0].rank)


def _index_select(g, c: Call) -> str:
    """Gather along dim with the index as a 1-D tensor."""
    x, index = c.inputs
    if c.types[1].rank == 0:
        index = g.op("Reshape", [index, g.const([1])])
    return g.op("Gather", [x, index], axis=c.attrs["dim"] % c.types[0].rank)


def _index_tensor(g, c: Call) -> str:
    """Gather along dim: the index's whole shape replaces that dim; negative indices wrap."""
    x, index = c.inputs
    return g.op("Gather", [x, index], axis=c.attrs["dim"])


def _top(g, c: Call, k, largest: bool, ordered: bool) -> tuple:
    t = c.types[0]
    if t.rank == 0:  # a scalar is its own top value, at index 0
        return g.op("Identity", [c.inputs[0]]), g.op("Identity", [g.scalar(0, "int64")])
    axis = c.attrs["dim"] % t.rank
    values, indices = g.op("TopK", [c.inputs[0], g.sizes.vector([k])], outputs=2, axis=axis,
                           largest=int(largest), sorted=int(ordered))
    return values, indices


def _topk(g, c: Call) -> tuple:
    """TopK with K = k."""
    return _top(g, c, c.attrs["k"], c.attrs["largest"], c.attrs["sorted"])


def _sort(g, c: Call) -> tuple:
    """TopK of the whole dim (K = its size), smallest first unless descending."""
    t = c.types[0]
    size = t.shape[c.attrs["dim"] % t.rank] if t.rank else 1
    return _top(g, c, size, c.attrs["descending"], True)


def _arg(op_type: str):
    def lower(g, c: Call) -> str:
        t, dim, keep = c.types[0], c.attrs["dim"], c.attrs["keepdim"]
        x = c.inputs[0]
        if t.rank == 0:
            return g.op("Identity", [g.scalar(0, "int64")])
        if dim is None:  # over the flattened x
            flat = g.op(op_type, [reshape(g, x, t.shape, (-1,)) if t.rank != 1 else x], axis=0, keepdims=0,
                        select_last_index=0)
            return reshape(g, flat, (), c.out.shape) if keep else flat
        return g.op(op_type, [x], axis=dim % t.rank, keepdims=int(keep), select_last_index=0)

    lower.__doc__ = f"{op_type} along dim (of the flattened x without dim); the first index on ties"
    return lower


def lowerings() -> dict:
    return {
        "gather": _gather, "index_select": _index_select, "index_tensor": _index_tensor,
        "topk": _topk, "sort": _sort, "argmax": _arg("ArgMax"), "argmin": _arg("ArgMin"),
    }

