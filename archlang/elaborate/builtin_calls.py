"""The builtin functions of the language that act on the body being elaborated.

Each takes ``(body, args, kwargs, expr)``: ``sum`` over tensors adds ``add`` nodes,
``Sequential`` builds a sequence layer, ``choose`` makes a subset decision; the constant
functions of ``archlang.elaborate.builtins`` (``range``, ``len``, ``min`` …) are wrapped
here so that their errors are located at the call.  A builtin that is also a tensor op
(``abs``, ``sum``) dispatches on its first argument.  Must not import a backend.
"""

from __future__ import annotations

from archlang import ops
from archlang.elaborate import constants
from archlang.elaborate.builtins import CONSTANT_BUILTINS, OpLimit, b_sum_numbers, describe
from archlang.elaborate.choices import choose_builtin
from archlang.elaborate.values import Builtin, Layer, SeqLayer, SymbolicList, TensorVal
from archlang.errors import ArchTypeError, LimitError, OpError
from archlang.errors.limits import LIMITS
from archlang.ir.types import ConstTensor
from archlang.syntax import ast


def sum_builtin(body, args, kwargs, expr):
    if kwargs or len(args) != 1 or not isinstance(args[0], (list, tuple)):
        raise ArchTypeError("sum() takes one list", expr.span)
    items = list(args[0])
    if items and all(isinstance(i, TensorVal) for i in items):
        total = items[0]
        for item in items[1:]:
            total = body.emit_op("add", [total, item], {}, expr.span)
        return total
    try:
        return b_sum_numbers(items)
    except OpError as error:
        raise ArchTypeError(error.message, expr.span) from None


def constant_builtin(fn):
    def call(body, args, kwargs, expr):
        name = expr.func.id if isinstance(expr.func, ast.Name) else "builtin"
        try:
            result = fn(*args, **kwargs)
        except OpError as error:
            kind = LimitError if isinstance(error, OpLimit) else ArchTypeError
            raise kind(error.message, expr.span) from None
        except (TypeError, ValueError, OverflowError) as error:  # wrong arity, a value Python refuses
            raise ArchTypeError(f"{name}: {error}", expr.span) from None
        if type(result) is int and result.bit_length() > LIMITS.max_int_bits:  # int(1e300), round(...)
            raise LimitError(f"{name}() gives an integer beyond the {LIMITS.max_int_bits}-bit limit", expr.span)
        if isinstance(result, (list, tuple, str, SymbolicList)):  # each such result is bounded by max_repeat
            body.ctx.built(len(result.items) if isinstance(result, SymbolicList) else len(result), expr.span)
        return result

    return call


def sequential_builtin(body, args, kwargs, expr):
    prefix, start = _sequential_options(kwargs, expr)
    count = None
    if len(args) == 1 and isinstance(args[0], (list, tuple, SymbolicList)) and not _is_named_item(args[0]):
        items = args[0]
        if isinstance(items, SymbolicList):
            items, count = items.items, items.count
    else:
        items = args
    spans = [a.span for a in expr.args] if len(expr.args) == len(items) else [expr.span] * len(items)
    names, items = _item_names(items, spans, expr)
    if names and (prefix or start):
        raise ArchTypeError("a Sequential of named items takes no prefix= or start=", expr.span)
    for item, span in zip(items, spans):
        if not isinstance(item, Layer):
            raise ArchTypeError(f"Sequential takes layers, got {describe(item)}", span)
    body.ctx.built(len(items), expr.span)
    return SeqLayer(tuple(items), prefix, expr.span, count, start, names)


def _sequential_options(kwargs: dict, expr) -> tuple[str, int]:
    """``prefix=`` and ``start=``: the generated item names are ``prefix`` + ``start``, ``start + 1`` …"""
    prefix = kwargs.pop("prefix", "")
    start = kwargs.pop("start", 0)
    if kwargs:
        raise ArchTypeError(
            f"Sequential has no argument '{next(iter(kwargs))}' (it takes layers, prefix= and start=)", expr.span)
    if not isinstance(prefix, str):
        raise ArchTypeError("Sequential's prefix must be a string", expr.span)
    if type(start) is not int or start < 0:
        raise ArchTypeError(f"Sequential's start must be a non-negative integer, got {describe(start)}", expr.span)
    return prefix, start


def _is_named_item(value) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)


def _item_names(items, spans, expr) -> tuple[tuple[str, ...], list]:
    """Items written ``(name, layer)``, as in PyTorch's ``OrderedDict``: (names, layers).
    Either every item is named or none is."""
    named = [_is_named_item(item) for item in items]
    if not any(named):
        return (), list(items)
    if not all(named):
        span = spans[named.index(False)]
        raise ArchTypeError("either every item of a Sequential is named, (\"name\", layer), or none is", span)
    names = tuple(name for name, _ in items)
    for name, span in zip(names, spans):
        if not name or "." in name:
            raise ArchTypeError(f"a Sequential item's name must be non-empty and without '.', got {name!r}", span)
    duplicate = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if duplicate is not None:
        raise ArchTypeError(f"the Sequential has two items named '{duplicate}'", spans[names.index(duplicate, names.index(duplicate) + 1)])
    return names, [layer for _, layer in items]


def tensor_builtin(body, args, kwargs, expr):
    """``tensor(data, dtype=…)``: a constant tensor from nested lists of numbers (``range``s
    included), computed while elaborating; what ``Buffer`` and ``Parameter(init=…)`` take."""
    dtype = kwargs.pop("dtype", None)
    if kwargs or len(args) != 1:
        raise ArchTypeError("tensor() takes one list (nested lists of numbers) and dtype=", expr.span)
    return constants.make_tensor(args[0], dtype, expr.span, body.ctx)


def meshgrid_builtin(body, args, kwargs, expr):
    """``meshgrid([a, b], indexing="ij")`` on constant tensors, as torch.meshgrid."""
    indexing = kwargs.pop("indexing", "ij")
    if kwargs or len(args) != 1 or not isinstance(args[0], (list, tuple)):
        raise ArchTypeError("meshgrid() takes one list of constant tensors and indexing=", expr.span)
    return constants.meshgrid(list(args[0]), indexing, expr.span, body.ctx)


def special_builtins() -> dict[str, Builtin]:
    """The builtin functions by name (``choice`` is handled by the body itself: its options
    are evaluated lazily, one per option)."""
    table = {name: Builtin(name, constant_builtin(fn)) for name, fn in CONSTANT_BUILTINS.items()}
    table["sum"] = Builtin("sum", sum_builtin)
    table["Sequential"] = Builtin("Sequential", sequential_builtin)
    table["choice"] = Builtin("choice", None)
    table["choose"] = Builtin("choose", choose_builtin)
    table["tensor"] = Builtin("tensor", tensor_builtin)
    table["meshgrid"] = Builtin("meshgrid", meshgrid_builtin)
    for name, builtin in table.items():  # `sum`, `abs`: also tensor functions
        spec = ops.get(name)
        if spec is not None and spec.kind == "function":
            table[name] = Builtin(name, _or_tensor_op(spec, builtin.fn))
    return table


def _or_tensor_op(spec, constant_fn):
    """A builtin that is also an op: ``abs(x)`` / ``sum(x, dim=1)`` on a tensor is the op."""
    def call(body, args, kwargs, expr):
        if args and isinstance(args[0], (TensorVal, ConstTensor)):
            return body.call_op(spec, args, kwargs, expr)
        return constant_fn(body, args, kwargs, expr)

    return call
