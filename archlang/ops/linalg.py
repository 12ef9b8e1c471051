"""Products: matmul (torch.matmul rules: 1-D operands, batch broadcasting), mm, bmm, einsum.

MACs are the product sizes torch.utils.flop_counter counts (flops = 2 x MACs): for matmul
batch x n x m x k; for einsum the pairwise contractions, left to right, after summing out
labels that no later operand or the output needs (a pair that contracts nothing is an
elementwise product: 0, as for mul).  torch's counter skips matrix-vector products
(aten.mv/aten.dot); we still count them.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

import re

from archlang.ir import dims
from archlang.ops._shape import broadcast, expect_equal, fail, numel, result_dtype, tensor, unequal_reason
from archlang.ops._spec import Attr, OpSpec

TITLE = "Products"  # of this family in the op reference (docs/ops.md)

# --------------------------------------------------------------------------- matmul


def _matmul_parts(op: str, a, b):
    """(batch, n, k, m, squeeze_n, squeeze_m) with inner sizes checked."""
    if a.rank == 0 or b.rank == 0:
        fail(f"{op}: both operands need at least one dimension, got {a} and {b}", "a" if a.rank == 0 else "b")
    sa = ((1,) + a.shape) if a.rank == 1 else a.shape
    sb = (b.shape + (1,)) if b.rank == 1 else b.shape
    (n, k), (k2, m) = sa[-2:], sb[-2:]
    expect_equal(
        k, k2,
        lambda: f"{op}: cannot multiply {a} by {b}: inner sizes {dims.to_str(k)} vs {dims.to_str(k2)}",
        arg="b",
    )
    batch = broadcast(sa[:-2], sb[:-2], arg="b")
    return batch, n, k, m, a.rank == 1, b.rank == 1


def _matmul_infer(op: str, ranks: tuple | None = None):
    def infer(a: dict, inputs: list):
        x, y = inputs
        if ranks and (x.rank, y.rank) != ranks:
            fail(f"{op} expects {ranks[0]}-D and {ranks[1]}-D operands, got {x} and {y}", "a")
        if op == "bmm":
            expect_equal(x.shape[0], y.shape[0], lambda: f"bmm: batch sizes differ: {x} and {y}", "b")
        batch, n, _, m, drop_n, drop_m = _matmul_parts(op, x, y)
        shape = batch + (() if drop_n else (n,)) + (() if drop_m else (m,))
        return tensor(result_dtype([x, y]), shape)

    return infer


def _matmul_macs(a: dict, inputs: list, output):
    batch, n, k, m, _, _ = _matmul_parts("matmul", *inputs)
    return numel(batch) * n * k * m


# --------------------------------------------------------------------------- einsum

_TERM = re.compile(r"^(?:[A-Za-z]|\.\.\.)*$")


def _parse_equation(eq: str, count: int):
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != count:
        fail(f"einsum {eq!r}: {len(terms)} operand subscripts for {count} operands", "equation")
    for t in terms + ([rhs] if arrow else []):
        if not _TERM.match(t) or t.count("...") > 1:
            fail(f"einsum {eq!r}: bad subscripts {t!r}", "equation")
    if not arrow:  # implicit output: '...' then labels used once, alphabetically
        once = sorted(c for c in set(lhs) if c.isalpha() and lhs.count(c) == 1)
        rhs = ("..." if "..." in lhs else "") + "".join(once)
    return eq, [_labels(t) for t in terms], _labels(rhs)


def _labels(term: str) -> list[str]:
    """'b...ij' -> ['b', '...', 'i', 'j']."""
    return re.findall(r"\.\.\.|[A-Za-z]", term)


def _bind_labels(eq: str, terms: list, operands: list):
    """Sizes of every label and the broadcast '...' shape."""
    sizes: dict = {}
    ell: tuple = ()
    for n, (labels, t) in enumerate(zip(terms, operands)):
        named = [c for c in labels if c != "..."]
        extra = t.rank - len(named)
        if extra < 0 or (extra and "..." not in labels):
            fail(f"einsum {eq!r}: subscripts {''.join(labels)!r} do not fit operand {n} {t}", "equation")
        dims_iter = iter(t.shape)
        for c in labels:
            if c == "...":
                ell = broadcast(ell, tuple(next(dims_iter) for _ in range(extra)), "operands")
            else:
                _bind_label(eq, sizes, c, next(dims_iter), n, t)
    return sizes, ell


def _bind_label(eq: str, sizes: dict, c: str, size, n: int, t) -> None:
    have = sizes.get(c)
    if have is None or have == 1:
        sizes[c] = size
        return
    if size == 1:  # torch broadcasts size-1 dims that share a label
        return
    reason = unequal_reason(have, size)
    if reason is not None:
        fail(f"einsum {eq!r}: label {c!r} has size {dims.to_str(have)} elsewhere but "
             f"{dims.to_str(size)} in operand {n} {t}{reason}", "operands")


def _einsum_infer(a: dict, inputs: list):
    eq, terms, out = _parse_equation(a["equation"], len(inputs))
    sizes, ell = _bind_labels(eq, terms, inputs)
    missing = [c for c in out if c != "..." and c not in sizes]
    if missing or len(set(out)) != len(out):
        fail(f"einsum {eq!r}: bad output subscripts", "equation")
    shape = []
    for c in out:
        shape.extend(ell if c == "..." else (sizes[c],))
    return tensor(result_dtype(inputs), shape)


def _einsum_macs(a: dict, inputs: list, output):
    eq, terms, out = _parse_equation(a["equation"], len(inputs))
    sizes, ell = _bind_labels(eq, terms, inputs)
    label_sets = [{c for c in t if c != "..."} for t in terms]
    keep_out = {c for c in out if c != "..."}
    total = 0
    current = label_sets[0]
    for i in range(1, len(label_sets)):
        later = keep_out.union(*label_sets[i + 1:])
        nxt = label_sets[i]
        # labels only one side uses (and nobody later) are summed out before the product
        left = {c for c in current if c in nxt or c in later}
        right = {c for c in nxt if c in current or c in later}
        kept = {c for c in left | right if c in later}
        if (left | right) - kept:  # a pair with nothing to contract is an elementwise product
            total = total + numel(ell) * numel(sizes[c] for c in left | right)
        current = kept
    return total


_MATMUL_SHAPE = ("[..., n, k] × [..., k, m] → [..., n, m] with the batch dims broadcast; a 1-D operand is a row "
                 "(first) or a column (second) vector whose dim is dropped from the result")
_MATMUL_MACS = "batch × n × k × m"

OPS = [
    OpSpec("matmul", "function", (), ("a", "b"), _matmul_infer("matmul"), macs=_matmul_macs,
           doc="torch.matmul (written a @ b)", shape_rule=_MATMUL_SHAPE, macs_rule=_MATMUL_MACS),
    OpSpec("mm", "function", (), ("a", "b"), _matmul_infer("mm", (2, 2)), macs=_matmul_macs, doc="torch.mm",
           shape_rule="[n, k] × [k, m] → [n, m]", macs_rule=_MATMUL_MACS),
    OpSpec("bmm", "function", (), ("a", "b"), _matmul_infer("bmm", (3, 3)), macs=_matmul_macs, doc="torch.bmm",
           shape_rule="[b, n, k] × [b, k, m] → [b, n, m]", macs_rule=_MATMUL_MACS),
    OpSpec("einsum", "function", (Attr("equation", "str"),), ("*operands",), _einsum_infer, macs=_einsum_macs,
           doc="torch.einsum: einsum(\"bij,bjk->bik\", [a, b])",
           shape_rule="the output subscripts' sizes (implicit output: ... then the labels used once, "
                      "alphabetically); a label has one size everywhere (1 broadcasts), ... broadcasts",
           macs_rule="the pairwise products left to right, after summing out labels no later operand or the "
                     "output needs; a product that contracts nothing is elementwise (0)"),
]
