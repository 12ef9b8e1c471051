"""What a lowering receives: ``Call`` (one IR op or layer application, its tensors and types)
and the small helpers every lowering family shares (casts, reshapes to an IR shape,
reductions whose axes moved from attribute to input at opset 18).

Imports archlang.ir.dims/errors and this package's ``graph`` (dtype codes); the builder is
passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from archlang.errors import ArchError, ShapeError, Span
from archlang.ir import dims

from .graph import ELEM

INT64_MAX = 2**63 - 1


@dataclass
class Call:
    """One IR node to lower: ``op`` with bound ``attrs``; ``inputs`` are tensor names (None
    for an absent optional input) with their IR ``types``; ``out`` is the IR result type."""

    op: str
    attrs: dict
    inputs: list
    types: list
    out: Any
    span: Span
    path: str
    params: Callable[[str], str] | None = None
    extra: dict = field(default_factory=dict)

    def param(self, name: str) -> str:
        """The tensor holding the layer's parameter ``name`` (an initializer or function input)."""
        assert self.params is not None, f"{self.op} has no parameters"
        return self.params(name)

    def fail(self, message: str) -> ArchError:
        return ArchError(f"ONNX export: {message}", self.span)

    def needs_concrete(self, message: str) -> ShapeError:
        """An error concrete input sizes would avoid (the exporter adds how to give them)."""
        return ShapeError(f"ONNX export: {message}", self.span)


# ---------------------------------------------------------------------------- helpers


def cast(g, x: str, have: str, want: str) -> str:
    if have == want:
        return x
    return g.op("Cast", [x], to=ELEM[want])


def unsqueeze(g, x: str, axes) -> str:
    return g.op("Unsqueeze", [x, g.const(list(axes))])


def squeeze(g, x: str, axes) -> str:
    return g.op("Squeeze", [x, g.const(list(axes))])


def transpose(g, x: str, perm) -> str:
    perm = list(perm)
    return x if perm == sorted(perm) else g.op("Transpose", [x], perm=perm)


def reduce(g, op_type: str, x: str, axes, keepdims: bool) -> str:
    """ReduceMean/Sum/Max/Min over ``axes`` (None: all) at any opset >= 13."""
    keep = int(bool(keepdims))
    if axes is None:
        return g.op(op_type, [x], keepdims=keep)
    if op_type == "ReduceSum" or g.opset >= 18:
        return g.op(op_type, [x, g.const(list(axes))], keepdims=keep)
    return g.op(op_type, [x], axes=list(axes), keepdims=keep)


def reshape(g, x: str, have: tuple, want: tuple) -> str:
    """Reshape ``x`` (IR shape ``have``) to the IR shape ``want``: a dim equal to the input's at
    the same position is copied (0), one other symbolic dim is inferred (-1), and any further
    symbolic dim is computed in-graph."""
    if tuple(have) == tuple(want):
        return x
    items, inferred = [], False
    for i, d in enumerate(want):
        if type(d) is int:
            items.append(d)
        elif i < len(have) and have[i] == d:
            items.append(0)
        elif not inferred:
            items.append(-1)
            inferred = True
        else:
            items.append(d)
    return g.op("Reshape", [x, g.ints(items)])


def expand_shape(have: tuple, want: tuple) -> list:
    """Target of Expand: 1 where the (right-aligned) input already has the size."""
    lead = len(want) - len(have)
    return [1 if i >= lead and have[i - lead] == d else d for i, d in enumerate(want)]


def float_scalar(g, value: float, dtype: str = "float32") -> str:
    return g.scalar(value, dtype if dtype in ("float32", "float16", "float64", "bfloat16") else "float32")


def is_one(d) -> bool:
    return d == 1 or (type(d) is not int and dims.prove_equal(d, 1).holds is True)
