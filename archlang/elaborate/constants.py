"""Constant tensors computed while a spec is elaborated: ``tensor(...)`` literals and the
ops, operators and indexing applied to them, evaluated with numpy.

A ``ConstTensor`` (``archlang.ir.types``) is what a ``Buffer`` holds and a ``Parameter`` may
start from: torchvision's Swin computes its ``relative_position_index`` from ``arange``,
``meshgrid``, ``stack``, ``flatten``, ``permute``, broadcasting and arithmetic, and so can a
spec.  Every result is checked against the elaboration's element budget before it is built
(``Context.built``), so a huge constant is a located ``LimitError``, never a stalled machine.

numpy is imported inside the functions (it is optional for the rest of archlang).  Must not
import a backend.
"""

from __future__ import annotations

from dataclasses import replace
from math import prod

from archlang.elaborate.values import TensorVal
from archlang.errors import ArchTypeError, LimitError, Span
from archlang.errors.limits import LIMITS
from archlang.ir import dims
from archlang.ir.types import DTYPES, ConstTensor

# What a mistake of mixing the two kinds of tensors is told to do instead.
MIXING_HINT = "declare it as a member, buf = Buffer(t, persistent=false), and use buf()"

# The operators of the language on constant tensors (numpy's ufuncs by name).
BINARY = {"+": "add", "-": "subtract", "*": "multiply", "/": "true_divide", "//": "floor_divide",
          "%": "remainder", "**": "power"}
COMPARE = {"<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal", "==": "equal",
           "!=": "not_equal"}


def _np():
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy comes with the torch and search extras
        raise ArchTypeError("constant tensors need numpy: pip install numpy", None) from None
    return numpy


# ---- between numpy and ConstTensor ---------------------------------------------------------


def to_array(t: ConstTensor):
    np = _np()
    return np.asarray(t.values, dtype=_numpy_dtype(t.dtype)).reshape(t.shape)


def from_array(array, span: Span, ctx=None) -> ConstTensor:
    """The ConstTensor of a numpy result; its elements are counted against the budget."""
    np = _np()
    array = np.asarray(array)
    dtype = _dtype_name(array.dtype, span)
    if ctx is not None:
        ctx.built(int(array.size), span)
    return ConstTensor(dtype=dtype, shape=tuple(int(d) for d in array.shape), values=tuple(array.reshape(-1).tolist()))


def _numpy_dtype(dtype: str):
    np = _np()
    return {"float32": np.float32, "float64": np.float64, "float16": np.float16, "bfloat16": np.float32,
            "int64": np.int64, "int32": np.int32, "bool": np.bool_}[dtype]


def _dtype_name(dtype, span: Span) -> str:
    np = _np()
    if dtype == np.bool_:
        return "bool"
    for name in ("float32", "float64", "float16", "int64", "int32"):
        if dtype == np.dtype(name):
            return name
    if np.issubdtype(dtype, np.integer):
        return "int64"
    raise ArchTypeError(f"a constant tensor of {dtype} is not supported", span)


def check_size(shape, span: Span) -> None:
    """Refuse, before computing it, a constant with more elements than the budget allows."""
    numel = prod(int(d) for d in shape)
    if numel > LIMITS.max_elements:
        raise LimitError(f"a constant tensor of shape {list(shape)} has {numel:,} elements; "
                         f"the limit is {LIMITS.max_elements:,}", span)


# ---- making constants ----------------------------------------------------------------------


def make_tensor(data, dtype: str | None, span: Span, ctx) -> ConstTensor:
    """``tensor(data, dtype=…)``: nested lists (or ranges) of numbers, or a constant tensor."""
    np = _np()
    if dtype is not None and dtype not in DTYPES:
        raise ArchTypeError(f"tensor: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}", span)
    if isinstance(data, ConstTensor):
        array = to_array(data)
    else:
        _check_nested(data, span)
        try:
            array = np.asarray(data)
        except ValueError:
            array = None
        if array is None or array.dtype == object:
            raise ArchTypeError("tensor: the lists must be rectangular (every row the same length)", span)
        if array.dtype == np.float64:  # a float literal is float32, as torch.tensor makes it
            array = array.astype(np.float32)
    if dtype is not None:
        array = array.astype(_numpy_dtype(dtype))
    result = from_array(array, span, ctx)
    return result if dtype is None else replace(result, dtype=dtype)


def _check_nested(data, span: Span, depth: int = 0) -> None:
    if isinstance(data, (list, tuple)):
        if depth > 8:
            raise ArchTypeError("tensor: lists nested more than 8 deep", span)
        for item in data:
            _check_nested(item, span, depth + 1)
    elif isinstance(data, dims.Expr) or isinstance(data, str) or data is None or not isinstance(data, (int, float, bool)):
        kind = "a symbolic size" if isinstance(data, dims.Expr) else type(data).__name__
        raise ArchTypeError(f"tensor: elements must be concrete numbers or booleans, got {kind}", span)


def meshgrid(tensors, indexing: str, span: Span, ctx) -> list[ConstTensor]:
    """``meshgrid([a, b], indexing="ij")`` as torch.meshgrid: one tensor per input."""
    np = _np()
    if indexing not in ("ij", "xy"):
        raise ArchTypeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}", span)
    if not tensors or not all(isinstance(t, ConstTensor) and t.rank == 1 for t in tensors):
        raise ArchTypeError("meshgrid takes a list of 1-D constant tensors", span)
    check_size([t.numel() for t in tensors], span)
    grids = np.meshgrid(*[to_array(t) for t in tensors], indexing=indexing)
    return [from_array(g, span, ctx) for g in grids]


# ---- operators and indexing ----------------------------------------------------------------


def binary(op: str, left, right, span: Span, ctx) -> ConstTensor:
    """``a + b`` (and the other operators) with broadcasting; a number is a scalar tensor."""
    np = _np()
    name = BINARY.get(op) or COMPARE.get(op)
    if name is None:
        raise ArchTypeError(f"operator '{op}' is not defined on constant tensors", span)
    a, b = (_operand(v, span) for v in (left, right))
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ArchTypeError(f"cannot broadcast constant tensors of shapes {list(a.shape)} and {list(b.shape)}",
                            span) from None
    check_size(shape, span)
    if op in ("//", "%") and np.issubdtype(b.dtype, np.integer) and (b == 0).any():
        raise ArchTypeError(f"integer division by zero in a constant tensor ('{op}')", span)
    with np.errstate(all="ignore"):
        result = getattr(np, name)(a, b)
    return from_array(_keep_float32(result, a, b), span, ctx)


def negate(value: ConstTensor, span: Span, ctx) -> ConstTensor:
    return from_array(-to_array(value), span, ctx)


def _operand(value, span: Span):
    np = _np()
    if isinstance(value, ConstTensor):
        return to_array(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArchTypeError(f"cannot combine a constant tensor with {type(value).__name__}", span)
    return np.asarray(value)  # a Python number: a scalar that follows the tensor's dtype


def _keep_float32(result, a, b):
    """numpy promotes ``float32 * 0.5`` as torch does, except that a Python float scalar next
    to an int tensor gives float64 in numpy and float32 in torch."""
    np = _np()
    if result.dtype == np.float64 and a.dtype != np.float64 and b.dtype != np.float64:
        return result.astype(np.float32)
    if result.dtype == np.float64 and (a.ndim == 0 or b.ndim == 0):
        tensor = b if a.ndim == 0 else a
        if tensor.dtype != np.float64:
            return result.astype(np.float32)
    return result


def index(value: ConstTensor, items: tuple, span: Span, ctx) -> ConstTensor:
    """``t[i, :, None, idx]``: ints, slices, None, ``...`` and constant integer tensors."""
    converted = []
    for item in items:
        if isinstance(item, ConstTensor):
            if item.dtype not in ("int64", "int32", "bool"):
                raise ArchTypeError(f"a tensor index must hold integers or booleans, got {item.dtype}", span)
            converted.append(to_array(item))
        elif item is None or item is Ellipsis or isinstance(item, slice) or (type(item) is int):
            if isinstance(item, slice) and not all(p is None or type(p) is int for p in (item.start, item.stop, item.step)):
                raise ArchTypeError("a constant tensor's slice bounds must be concrete integers", span)
            converted.append(item)
        elif isinstance(item, TensorVal):
            raise ArchTypeError(f"a constant tensor cannot be indexed by a model tensor; {MIXING_HINT}", span)
        else:
            raise ArchTypeError(f"cannot index a constant tensor with {type(item).__name__}", span)
    try:
        result = to_array(value)[tuple(converted)]
    except (IndexError, ValueError) as error:
        raise ArchTypeError(f"indexing a constant tensor of shape {list(value.shape)}: {error}", span) from None
    return from_array(result, span, ctx)


# ---- function ops ------------------------------------------------------------------------


def apply_op(op: str, tensors: list, attrs: dict, span: Span, ctx) -> ConstTensor:
    """A function op of the registry on constant tensors (attributes already bound)."""
    fn = _OPS.get(op)
    if fn is None:
        raise ArchTypeError(f"{op} cannot be computed on constant tensors (supported: {', '.join(sorted(_OPS))})", span)
    arrays = [to_array(t) for t in tensors]
    if op in _ELEMENTWISE:  # broadcasting may multiply sizes: refuse before numpy allocates
        try:
            check_size(_np().broadcast_shapes(*[a.shape for a in arrays]), span)
        except ValueError:
            raise ArchTypeError(f"{op}: cannot broadcast constant tensors of shapes {[list(a.shape) for a in arrays]}",
                                span) from None
    try:
        result = fn(arrays, attrs)
    except (ValueError, IndexError) as error:
        raise ArchTypeError(f"{op} on constant tensors of shapes {[list(a.shape) for a in arrays]}: {error}",
                            span) from None
    check_size(result.shape, span)
    return from_array(result, span, None if op in _VIEWS else ctx)


# ops that rearrange the elements they are given: they build nothing new for the budget
_VIEWS = frozenset({"flatten", "reshape", "view", "permute", "transpose", "unsqueeze", "squeeze", "contiguous",
                    "clone", "to", "flip", "roll"})


def _flatten(arrays, a):
    x = arrays[0]
    start, end = a["start_dim"] % max(x.ndim, 1), a["end_dim"] % max(x.ndim, 1)
    if x.ndim == 0:
        return x.reshape(1)
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])


def _reduce(name):
    def reduce(arrays, a):
        np = _np()
        axis = a.get("dim")
        axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
        x = arrays[0]
        if name == "mean" and not np.issubdtype(x.dtype, np.floating):  # a mean is float32, never float64
            x = x.astype(np.float32)
        return getattr(np, name)(x, axis=axis, keepdims=a.get("keepdim", False))

    return reduce


def _unary(name):
    return lambda arrays, a: getattr(_np(), name)(arrays[0])


def _elementwise(name):
    return lambda arrays, a: getattr(_np(), name)(*arrays)


def _masked_fill(arrays, a):
    x, mask = arrays
    return _np().where(mask, _np().asarray(a["value"], dtype=x.dtype), x)


def _concrete_shape(shape) -> tuple:
    if not all(type(d) is int for d in shape):
        raise ValueError("the shape must be concrete integers")
    return tuple(shape)


_OPS = {
    "flatten": _flatten,
    "reshape": lambda arrays, a: arrays[0].reshape(_concrete_shape(a["shape"])),
    "view": lambda arrays, a: arrays[0].reshape(_concrete_shape(a["shape"])),
    "permute": lambda arrays, a: arrays[0].transpose(tuple(a["dims"])),
    "transpose": lambda arrays, a: _np().swapaxes(arrays[0], a["dim0"], a["dim1"]),
    "unsqueeze": lambda arrays, a: _np().expand_dims(arrays[0], a["dim"]),
    "squeeze": lambda arrays, a: _np().squeeze(arrays[0], axis=a.get("dim")),
    "contiguous": lambda arrays, a: arrays[0],
    "clone": lambda arrays, a: arrays[0],
    "to": lambda arrays, a: arrays[0].astype(_numpy_dtype(a["dtype"])),
    "stack": lambda arrays, a: _np().stack(arrays, axis=a["dim"]),
    "cat": lambda arrays, a: _np().concatenate(arrays, axis=a["dim"]),
    "sum": _reduce("sum"),
    "amax": _reduce("amax"),
    "amin": _reduce("amin"),
    "abs": _unary("abs"),
    "neg": _unary("negative"),
    "flip": lambda arrays, a: _np().flip(arrays[0], axis=tuple(a["dims"])),
    "roll": lambda arrays, a: _np().roll(arrays[0], a["shifts"], axis=None if a.get("dims") is None else tuple(a["dims"])),
    "tril": lambda arrays, a: _np().tril(arrays[0], a.get("diagonal", 0)),
    "triu": lambda arrays, a: _np().triu(arrays[0], a.get("diagonal", 0)),
    "mean": _reduce("mean"),
    "cumsum": lambda arrays, a: _np().cumsum(arrays[0], axis=a["dim"]),
    "logical_not": _unary("logical_not"),
    "where": _elementwise("where"),
    "maximum": _elementwise("maximum"),
    "minimum": _elementwise("minimum"),
    "logical_and": _elementwise("logical_and"),
    "logical_or": _elementwise("logical_or"),
    "masked_fill": _masked_fill,
}
_ELEMENTWISE = frozenset({"where", "maximum", "minimum", "logical_and", "logical_or", "masked_fill"})
