"""Joining and splitting tensors: cat, stack, split, chunk, unbind, and item (one tensor
picked out of a tuple-valued result).

split/chunk/unbind return a tuple of tensors, so the number of pieces must be known: a
symbolic size splits only when the piece count is provably an integer.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.errors.limits import LIMITS
from archlang.ir import dims
from archlang.ops._shape import axis, expect_equal, fail, result_dtype, shape_str, tensor, unequal_reason
from archlang.ops._spec import Attr, OpSpec

TITLE = "Join and split"  # of this family in the op reference (docs/ops.md)


def _same_except(op: str, tensors: list, skip: int | None) -> None:
    """Every tensor matches the first in rank and in every dim but ``skip``."""
    first = tensors[0]
    for n, t in enumerate(tensors[1:], start=1):
        if t.rank != first.rank:
            fail(f"{op}: tensor {n} {t} has rank {t.rank} but tensor 0 {first} has rank {first.rank}", "tensors")
        for i, (x, y) in enumerate(zip(first.shape, t.shape)):
            if i == skip:
                continue
            reason = unequal_reason(x, y)
            if reason is not None:
                fail(f"{op}: tensor {n} {t} does not match tensor 0 {first} in dim {i} "
                     f"({dims.to_str(y)} vs {dims.to_str(x)}){reason}", "tensors")


def _cat_infer(a: dict, inputs: list):
    if not inputs:
        fail("cat needs at least one tensor", "tensors")
    d = axis(a["dim"], inputs[0].rank, "cat", inputs[0])
    _same_except("cat", inputs, d)
    total = 0
    for t in inputs:
        total = total + t.shape[d]
    shape = inputs[0].shape
    return tensor(result_dtype(inputs), shape[:d] + (total,) + shape[d + 1:])


def _stack_infer(a: dict, inputs: list):
    if not inputs:
        fail("stack needs at least one tensor", "tensors")
    first = inputs[0]
    d = axis(a["dim"], first.rank + 1, "stack", first)
    _same_except("stack", inputs, None)
    return tensor(result_dtype(inputs), first.shape[:d] + (len(inputs),) + first.shape[d:])


def _pieces(x, d: int, sizes: list) -> tuple:
    return tuple(tensor(x.dtype, x.shape[:d] + (s,) + x.shape[d + 1:]) for s in sizes)


def _split_infer(a: dict, inputs: list):
    x = inputs[0]
    d = axis(a["dim"], x.rank, "split", x)
    n, spec = x.shape[d], a["split_size_or_sections"]
    if isinstance(spec, tuple):
        total = sum(spec[1:], spec[0]) if spec else 0
        expect_equal(
            total, n,
            lambda: f"split: sections {shape_str(spec)} add up to {dims.to_str(total)}, "
            f"but dim {d} of {x} has size {dims.to_str(n)}",
            arg="split_size_or_sections",
        )
        return _pieces(x, d, list(spec))
    return _pieces(x, d, _even_pieces("split", x, d, n, spec))


def _even_pieces(op: str, x, d: int, n, size) -> list:
    """Pieces of ``size`` (the last may be shorter) covering n, like torch.split."""
    if type(n) is int and type(size) is int:
        if size < 1:
            fail(f"{op}: piece size must be positive, got {size}", "split_size_or_sections")
        _bounded(op, -(-n // size))
        return [size] * (n // size) + ([n % size] if n % size else []) or [n]
    count = dims.exact_div(n, size)
    if type(count) is not int:
        fail(f"{op}: cannot split dim {d} of {x} (size {dims.to_str(n)}) into a known number of "
             f"pieces of size {dims.to_str(size)}; give explicit sections")
    _bounded(op, count)
    return [size] * count


def _bounded(op: str, pieces: int) -> None:
    """Every piece is a tensor in the IR: a huge count would exhaust memory."""
    if pieces > LIMITS.max_repeat:
        fail(f"{op} makes {pieces:,} pieces; the limit is {LIMITS.max_repeat:,}", "split_size_or_sections")


def _chunk_infer(a: dict, inputs: list):
    x, chunks = inputs[0], a["chunks"]
    d = axis(a["dim"], x.rank, "chunk", x)
    n = x.shape[d]
    if type(chunks) is not int or chunks < 1:
        fail(f"chunk: chunks must be a positive int, got {dims.to_str(chunks)}", "chunks")
    if type(n) is int:  # torch: pieces of ceil(n / chunks), maybe fewer than `chunks`
        return _pieces(x, d, _even_pieces("chunk", x, d, n, max(-(-n // chunks), 1)))
    size = dims.exact_div(n, chunks)
    if size is None:
        fail(f"chunk: cannot prove that dim {d} of {x} (size {n}) divides into {chunks} chunks", "chunks")
    return _pieces(x, d, [size] * chunks)


def _unbind_infer(a: dict, inputs: list):
    x = inputs[0]
    d = axis(a["dim"], x.rank, "unbind", x)
    n = x.shape[d]
    if type(n) is not int:
        fail(f"unbind: dim {d} of {x} must have a concrete size, got {n}", "dim")
    return tuple(tensor(x.dtype, x.shape[:d] + x.shape[d + 1:]) for _ in range(n))


def _item_infer(a: dict, inputs: list):
    """One tensor out of a tuple-valued result."""
    values, i = inputs[0], a["index"]
    if not isinstance(values, tuple):
        fail(f"item needs a tuple of tensors (from split, chunk, unbind, ...), got {values}", "x")
    if type(i) is not int or not -len(values) <= i < len(values):
        fail(f"item: index {dims.to_str(i)} is out of range for {len(values)} tensors", "index")
    return values[i]


_MOVES = "0 (data movement)"
_PIECES = "a tuple of pieces of x along dim (unpack them: a, b = …); the count must be known"

OPS = [
    OpSpec("cat", "function", (Attr("dim", "int", 0),), ("*tensors",), _cat_infer, doc="torch.cat",
           shape_rule="the tensors' common shape with dim summed; every other dim equal; dtypes promoted",
           macs_rule=_MOVES),
    OpSpec("stack", "function", (Attr("dim", "int", 0),), ("*tensors",), _stack_infer, doc="torch.stack",
           shape_rule="the tensors' common shape with a new dim of their count at dim", macs_rule=_MOVES),
    OpSpec("split", "function", (Attr("split_size_or_sections", "int|dims"), Attr("dim", "int", 0)), ("x",),
           _split_infer, doc="torch.split",
           shape_rule=_PIECES + ": pieces of size split_size_or_sections (the last may be shorter), or the sections "
                                "given, which must add up to the size",
           macs_rule=_MOVES),
    OpSpec("chunk", "function", (Attr("chunks", "int"), Attr("dim", "int", 0)), ("x",), _chunk_infer,
           doc="torch.chunk", shape_rule=_PIECES + ": chunks pieces of ceil(size / chunks) (a symbolic size must "
                                                   "divide evenly)", macs_rule=_MOVES),
    OpSpec("unbind", "function", (Attr("dim", "int", 0),), ("x",), _unbind_infer, doc="torch.unbind",
           shape_rule=_PIECES + ": one tensor without dim per index of dim, whose size must be a number",
           macs_rule=_MOVES),
    OpSpec("item", "function", (Attr("index", "int"),), ("x",), _item_infer,
           doc="the index-th tensor of a tuple-valued result (what unpacking `a, b = split(...)` emits)",
           shape_rule="the index-th tensor of the tuple x", macs_rule="0"),
]
