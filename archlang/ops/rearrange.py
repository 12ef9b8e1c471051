"""einops-style ``rearrange(x, pattern, **axis_sizes)``: reorder, merge and split axes.

``"b c h w -> b (h w) c"`` merges h and w; ``"b (h w) c -> b c h w"`` with ``h=14`` splits
them (the other size is solved by exact division).  ``...`` stands for any run of axes;
``1`` and ``()`` are unit axes.  Axis sizes come in as extra keyword arguments, collected
by ``OpSpec.bind`` into the ``axes`` attribute.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

import re

from archlang.ir import dims
from archlang.ops._shape import divide, expect_equal, fail, numel, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Rearrange"  # of this family in the op reference (docs/ops.md)

ELLIPSIS = "..."
PACKED = "(...)"  # an ellipsis inside parentheses: all its dims merged into one
_TOKEN = re.compile(r"\s*(\.\.\.|\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+|\S)")


def _tokens(side: str) -> list[str]:
    return [m.group(1) for m in _TOKEN.finditer(side) if m.group(1).strip()]


def parse_side(side: str, pattern: str) -> list[list[str]]:
    """One side of the pattern -> groups of axis names; a bare name is a group of one.

    A bare ``...`` is the group ``[ELLIPSIS]`` itself (it spans several dims); inside
    parentheses it becomes ``["(...)"]``-style member ``PACKED`` (one merged dim).
    """
    groups: list[list[str]] = []
    current: list[str] | None = None
    for tok in _tokens(side):
        if tok == "(":
            if current is not None:
                _bad(pattern, "nested parentheses")
            current = []
        elif tok == ")":
            if current is None:
                _bad(pattern, "unbalanced ')'")
            groups.append([PACKED if n == ELLIPSIS else n for n in current])
            current = None
        elif tok == ELLIPSIS or tok.isidentifier() or tok == "1":
            names = [] if tok == "1" else [tok]
            if current is None:
                groups.append(names)
            else:
                current.extend(names)
        else:
            _bad(pattern, f"unexpected {tok!r}")
    if current is not None:
        _bad(pattern, "unbalanced '('")
    return groups


def _bad(pattern: str, why: str) -> None:
    fail(f"rearrange: bad pattern {pattern!r}: {why}", "pattern")


def parse_pattern(pattern: str) -> tuple[list[list[str]], list[list[str]]]:
    if pattern.count("->") != 1:
        _bad(pattern, "it needs exactly one '->'")
    left, right = (parse_side(s, pattern) for s in pattern.split("->"))
    names = [[ELLIPSIS if n == PACKED else n for g in side for n in g] for side in (left, right)]
    for side in names:
        dup = {n for n in side if side.count(n) > 1}
        if dup:
            _bad(pattern, f"axis {sorted(dup)[0]!r} appears twice on one side")
    if set(names[0]) != set(names[1]):
        odd = sorted(set(names[0]) ^ set(names[1]))
        _bad(pattern, f"axis {odd[0]!r} appears on only one side")
    if any(PACKED in g for g in left):
        _bad(pattern, "'...' cannot be inside parentheses on the left")
    return left, right


def _bind_left(pattern: str, left: list, x, sizes: dict) -> list:
    """Match left groups to the dims of x, solving unknown axis sizes; returns '...' dims."""
    has_ellipsis = [ELLIPSIS] in left
    fixed = len(left) - has_ellipsis
    if x.rank < fixed or (not has_ellipsis and x.rank != fixed):
        fail(f"rearrange {pattern!r}: the left side has {fixed} axes but the input is {x}", "x")
    rest: list = []
    d = 0
    for group in left:
        if group == [ELLIPSIS]:
            rest = list(x.shape[d:d + x.rank - fixed])
            d += len(rest)
            continue
        _solve_group(pattern, group, x, d, sizes)
        d += 1
    return rest


def _solve_group(pattern: str, group: list, x, d: int, sizes: dict) -> None:
    size = x.shape[d]
    unknown = [n for n in group if n not in sizes]
    known = numel(sizes[n] for n in group if n in sizes)
    if len(unknown) > 1:
        fail(f"rearrange {pattern!r}: cannot infer the sizes of {', '.join(unknown)} from dim {d} "
             f"(size {dims.to_str(size)}) of {x}; pass {unknown[0]}=...", "pattern")
    if unknown:
        sizes[unknown[0]] = divide(
            size, known,
            lambda: f"rearrange {pattern!r}: dim {d} of {x} (size {dims.to_str(size)}) is not "
            f"divisible by {dims.to_str(known)}",
            arg="x",
        )
        return
    expect_equal(
        known, size,
        lambda: f"rearrange {pattern!r}: axes ({' '.join(group)}) have size {dims.to_str(known)} "
        f"but dim {d} of {x} has size {dims.to_str(size)}",
        arg="x",
    )


def _right_shape(right: list, sizes: dict, rest: list) -> tuple:
    out = []
    for group in right:
        if group == [ELLIPSIS]:
            out.extend(rest)
            continue
        out.append(numel(numel(rest) if n == PACKED else sizes[n] for n in group))
    return tuple(out)


def _rearrange_infer(a: dict, inputs: list):
    x, pattern, given = inputs[0], a["pattern"], a["axes"]
    left, right = parse_pattern(pattern)
    named = {n for g in left for n in g if n not in (ELLIPSIS, PACKED)}
    extra = sorted(set(given) - named)
    if extra:
        fail(f"rearrange {pattern!r}: axis size {extra[0]}= is not an axis of the pattern", extra[0])
    sizes = dict(given)
    rest = _bind_left(pattern, left, x, sizes)
    return tensor(x.dtype, _right_shape(right, sizes, rest))


OPS = [
    OpSpec("rearrange", "function", (Attr("pattern", "str"),), ("x",), _rearrange_infer,
           doc="einops.rearrange: rearrange(x, \"b c h w -> b (h w) c\", h=…); axis sizes as keyword arguments",
           extra_kwargs="axes",
           shape_rule="the pattern's right side: a group's size is the product of its axes; an axis split on the "
                      "left needs all but one of its sizes given (the last is solved exactly)",
           macs_rule="0 (data movement)"),
]


def plan_rearrange(pattern: str, shape: tuple, axes: dict) -> tuple[list, list, list]:
    """A checked rearrange as (split shape, permutation, output shape) for backends: reshape
    the input to ``split``, permute, reshape to the output.  Sizes may be symbolic."""
    left, right = parse_pattern(pattern)
    sizes = dict(axes or {})
    names: list[str] = []
    dim = 0
    for group in left:
        if group == [ELLIPSIS]:
            extra = len(shape) - (len(left) - 1)
            for k in range(extra):
                sizes[f"...{k}"] = shape[dim + k]
                names.append(f"...{k}")
            dim += extra
            continue
        unknown = [n for n in group if n not in sizes]
        known = 1
        for n in group:
            if n in sizes:
                known = known * sizes[n]
        if unknown:
            sizes[unknown[0]] = dims.exact_div(shape[dim], known)
        names.extend(group)
        dim += 1
    ellipsis = [n for n in names if n.startswith("...")]
    order, out = [], []
    for group in right:
        members = ellipsis if group == [ELLIPSIS] else group
        order.extend(members)
        if group == [ELLIPSIS]:
            out.extend(sizes[n] for n in members)
        else:
            size = 1
            for n in members:
                size = size * sizes[n]
            out.append(dims.simplify(size))
    return [sizes[n] for n in names], [names.index(n) for n in order], out
