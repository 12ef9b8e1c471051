"""Shape-rule helpers shared by the op families: equality checks with precise messages,
broadcasting, axis normalisation, positivity checks and dtype promotion.

Every failed check raises ``OpError``.  Equality goes through ``dims.prove_equal``: a
refuted equality and an undecidable one are both errors, the message saying which.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from typing import Callable, Sequence

from archlang.errors import OpError
from archlang.ir import dims
from archlang.ir.types import FLOAT_DTYPES, TensorType

Message = Callable[[], str]  # built lazily: formatting shapes costs more than checking them


def fail(message: str, arg: str | None = None) -> None:
    raise OpError(message, arg)


def shape_str(shape: Sequence) -> str:
    return "[" + ", ".join(dims.to_str(d) for d in shape) + "]"


def tensor(dtype: str, shape: Sequence) -> TensorType:
    """An output type; dims are simplified so choice-only parts fold (H, not H - k + 2*(k//2) + 1)."""
    return TensorType(dtype=dtype, shape=tuple(dims.simplify(d) for d in shape))


# --------------------------------------------------------------------------- equality


def unequal_reason(a, b) -> str | None:
    """None when a == b is proved; otherwise a message suffix ('' if plainly different)."""
    if a is b or a == b:
        return None
    verdict = dims.prove_equal(a, b)
    if verdict.holds:
        return None
    if verdict.holds is False:
        if verdict.counterexample:
            cases = ", ".join(_case(k, v) for k, v in verdict.counterexample.items())
            return f" (when {cases})"
        return ""
    return f" (cannot prove {dims.to_str(a)} == {dims.to_str(b)})"


def _case(name: str, value) -> str:
    """``k=5``; for the option index of a choice among layers (``op#``), ``op is option 1``."""
    return f"{name[:-1]} is option {value}" if name.endswith("#") else f"{name}={value}"


def expect_equal(a, b, message: Message, arg: str | None = None) -> None:
    reason = unequal_reason(a, b)
    if reason is not None:
        raise OpError(message() + reason, arg)


def divide(a, b, message: Message, arg: str | None = None):
    """a / b when provably exact, else OpError."""
    q = dims.exact_div(a, b)
    if q is None:
        raise OpError(message(), arg)
    return q


def check_positive(size, message: Message, arg: str | None = None) -> None:
    """Reject a size that is (for some choice) certainly <= 0; unknown signs pass."""
    if type(size) is int:
        if size < 1:
            raise OpError(message(), arg)
    elif dims.prove_positive(size) is False:
        raise OpError(message(), arg)


def numel(shape: Sequence):
    n = 1
    for d in shape:
        n = n * d
    return n


# --------------------------------------------------------------------------- ranks and axes


def check_rank(x: TensorType, ranks: Sequence[int], op: str, layout: str, arg: str = "x") -> None:
    if x.rank not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise OpError(f"{op} expects a {want}-D input {layout}, got {x}", arg)


def check_min_rank(x: TensorType, rank: int, op: str, arg: str = "x") -> None:
    if x.rank < rank:
        raise OpError(f"{op} expects an input with at least {rank} dimension(s), got {x}", arg)


def axis(dim, rank: int, op: str, x: TensorType | None = None, arg: str = "dim") -> int:
    """Normalise a possibly negative axis; a rank-0 tensor accepts 0 and -1 like torch."""
    if type(dim) is not int:
        raise OpError(f"{op}: dimension index must be a plain int, got {dims.to_str(dim)}", arg)
    r = max(rank, 1)
    if not -r <= dim < r:
        where = f" of {x}" if x is not None else ""
        raise OpError(f"{op}: dim {dim} is out of range for rank {rank}{where}", arg)
    return dim % r


def axes(dim_list: Sequence, rank: int, op: str, x: TensorType | None = None, arg: str = "dim") -> list[int]:
    out = [axis(d, rank, op, x, arg) for d in dim_list]
    if len(set(out)) != len(out):
        raise OpError(f"{op}: dim {tuple(dim_list)} repeats an axis", arg)
    return out


# --------------------------------------------------------------------------- broadcasting


def broadcast(a: Sequence, b: Sequence, arg: str | None = None) -> tuple:
    """numpy broadcasting of two symbolic shapes (size-1 dims stretch)."""
    n = max(len(a), len(b))
    pa = (1,) * (n - len(a)) + tuple(a)
    pb = (1,) * (n - len(b)) + tuple(b)
    out = []
    for i, (x, y) in enumerate(zip(pa, pb)):
        if x is y or x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            reason = unequal_reason(x, y)
            if reason is not None:
                raise OpError(
                    f"cannot broadcast {shape_str(a)} with {shape_str(b)} "
                    f"(dim {i}: {dims.to_str(x)} vs {dims.to_str(y)}){reason}",
                    arg,
                )
            out.append(x)
    return tuple(out)


def broadcast_all(shapes: Sequence[Sequence], arg: str | None = None) -> tuple:
    out: tuple = ()
    for s in shapes:
        out = broadcast(out, s, arg)
    return out


# --------------------------------------------------------------------------- dtypes

_CATEGORY = {"bool": 0, "int32": 1, "int64": 1, "float16": 2, "bfloat16": 2, "float32": 2, "float64": 2}
_SIZE = {"bool": 0, "int32": 1, "int64": 2, "float16": 3, "bfloat16": 3, "float32": 4, "float64": 5}
_DEFAULT_FOR = {0: "bool", 1: "int64", 2: "float32"}


def is_float(dtype: str) -> bool:
    return dtype in FLOAT_DTYPES


def promote_pair(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} == {"float16", "bfloat16"}:
        return "float32"  # torch: neither holds the other
    return a if _SIZE[a] > _SIZE[b] else b


def result_dtype(operands: Sequence) -> str:
    """torch's type promotion: tensors with dims, then rank-0 tensors, then Python numbers;
    a later class only matters when it has a higher category (bool < int < float)."""
    classes: list[list[str]] = [[], [], []]
    for o in operands:
        if isinstance(o, TensorType):
            classes[0 if o.rank else 1].append(o.dtype)
        else:
            classes[2].append(_scalar_dtype(o))
    result = None
    for i, members in enumerate(classes):
        if not members:
            continue
        if result is None:
            result = _promote_all(members)
            continue
        higher = [m for m in members if _CATEGORY[m] > _CATEGORY[result]]
        if higher:  # a Python number of a higher category brings the default dtype
            result = _DEFAULT_FOR[max(_CATEGORY[m] for m in higher)] if i == 2 else _promote_all(higher)
    return result or "float32"


def _promote_all(dtypes: Sequence[str]) -> str:
    out = dtypes[0]
    for d in dtypes[1:]:
        out = promote_pair(out, d)
    return out


def _scalar_dtype(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, dims.Expr)):
        return "int64"
    return "float32"


def require_float(x: TensorType, op: str, arg: str = "x") -> None:
    if not is_float(x.dtype):
        raise OpError(f"{op} expects a floating-point tensor, got {x}", arg)


def shape_of(operand) -> tuple:
    """Shape of a tensor operand; a Python number is a rank-0 operand."""
    return operand.shape if isinstance(operand, TensorType) else ()
