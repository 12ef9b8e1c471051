"""The classes every op definition is made of: ``Attr``, ``OpSpec`` and the ``REQUIRED`` marker.

``OpSpec.bind`` turns a call's non-tensor arguments into a complete, type-checked attribute
dict; ``OpSpec.infer`` is wrapped so it always receives one entry per declared input.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable

from archlang.errors import OpError
from archlang.ir import dims
from archlang.ir.types import DTYPES, ConstTensor, TensorType


class _Required:
    """Marks an attribute with no default."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Attr:
    """One constructor/function argument that is not a tensor.

    ``type``: int, float, bool, str, number, ints, sizes, floats, dims, dtype, index, any --
    a trailing ``?`` allows None and ``a|b`` accepts either.  ``kw_only`` mirrors Python's
    keyword-only arguments (torch's ``add(..., *, alpha)``).
    """

    name: str
    type: str
    default: Any = REQUIRED
    choices: tuple = ()
    kw_only: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class OpSpec:
    """A primitive op: its signature, shape rule, parameters and cost.

    ``inputs`` name the tensor arguments in order: ``*name`` is a variadic list (always last),
    ``name?`` an optional tensor.  ``infer(attrs, inputs)`` gets one entry per fixed input
    (None for an absent optional one) followed by the variadic tensors.  ``spatial`` is the
    length that ``ints``/``sizes``/``floats`` attributes are normalised to, when the op knows
    it.  ``extra_kwargs`` names the attribute that collects undeclared int keyword arguments
    (rearrange's axis sizes).  ``canonical(attrs)`` rewrites bound attributes into the one form
    backends read (``arange(T)`` binds ``start=T`` and becomes ``start=0, end=T``).

    ``doc`` says what the op is (its PyTorch counterpart); ``shape_rule`` and ``macs_rule`` say
    in words how its output type and its multiply-accumulates follow from its inputs.  The op
    reference (``docs/ops.md``, ``archlang ops``) is generated from these three.
    """

    name: str
    kind: str
    attrs: tuple[Attr, ...]
    inputs: tuple[str, ...]
    infer: Callable
    params: Callable | None = None
    macs: Callable | None = None
    doc: str = ""
    spatial: int | None = None
    extra_kwargs: str | None = None
    shape_rule: str = ""
    macs_rule: str = ""
    canonical: Callable | None = None

    def __post_init__(self) -> None:
        assert self.kind in ("layer", "function"), self.kind
        assert all(not n.startswith("*") for n in self.inputs[:-1]), "variadic input must be last"
        object.__setattr__(self, "infer", _with_arity_check(self, self.infer))
        if self.macs is not None:
            object.__setattr__(self, "macs", _simplified(self.macs))

    # -- signature facts the elaborator needs
    @property
    def input_names(self) -> tuple[str, ...]:
        """Input names without the ``*``/``?`` markers."""
        return tuple(n.strip("*?") for n in self.inputs)

    @property
    def variadic(self) -> bool:
        return bool(self.inputs) and self.inputs[-1].startswith("*")

    def attr(self, name: str) -> Attr | None:
        return next((a for a in self.attrs if a.name == name), None)

    # -- binding
    def bind(self, args: list, kwargs: dict) -> dict:
        """Positional + keyword attribute values -> the full attribute dict (defaults filled)."""
        given = self._match(list(args), dict(kwargs))
        bound = {}
        for a in self.attrs:
            if a.name in given:
                bound[a.name] = check_value(self, a, given.pop(a.name))
            elif a.required:
                raise OpError(f"{self.name} is missing required argument '{a.name}'")
            else:
                bound[a.name] = normalise_default(self, a)
        if self.extra_kwargs is not None:
            bound[self.extra_kwargs] = {k: _check_extra(self, k, v) for k, v in given.items()}
        return self.canonical(bound) if self.canonical is not None else bound

    def _match(self, args: list, kwargs: dict) -> dict:
        positional = [a.name for a in self.attrs if not a.kw_only]
        if len(args) > len(positional):
            raise OpError(
                f"{self.name} takes at most {len(positional)} positional argument"
                f"{'' if len(positional) == 1 else 's'} besides its tensors, got {len(args)}"
            )
        given = dict(zip(positional, args))
        names = {a.name for a in self.attrs}
        for key, value in kwargs.items():
            if key in given:
                raise OpError(f"{self.name} got multiple values for argument '{key}'", arg=key)
            if key not in names and self.extra_kwargs is None:
                raise OpError(_unknown_message(self, key, names), arg=key)
            given[key] = value
        return given


def _unknown_message(spec: OpSpec, key: str, names: set) -> str:
    message = f"{spec.name} has no argument '{key}'"
    close = difflib.get_close_matches(key, sorted(names), n=1)
    if close:
        return f"{message}; did you mean '{close[0]}'?"
    if names:
        return f"{message} (its arguments: {', '.join(a.name for a in spec.attrs)})"
    return f"{message} (it takes none)"


def _check_extra(spec: OpSpec, key: str, value):
    if type(value) is bool or not isinstance(value, (int, dims.Expr)):
        raise OpError(f"{spec.name} argument '{key}' must be an int, got {_describe(value)}", arg=key)
    return dims.simplify(value)


def _with_arity_check(spec: OpSpec, infer: Callable) -> Callable:
    fixed = [n for n in spec.inputs if not n.startswith("*")]
    required = sum(1 for n in fixed if not n.endswith("?"))
    variadic = spec.variadic

    def checked(attrs: dict, inputs: list):
        inputs = list(inputs)
        if len(inputs) < required or (not variadic and len(inputs) > len(fixed)):
            raise OpError(_arity_message(spec, len(inputs), required, len(fixed), variadic))
        if len(inputs) < len(fixed):
            inputs += [None] * (len(fixed) - len(inputs))
        for name, value in zip(spec.inputs, inputs):
            if value is None and not name.endswith("?"):
                raise OpError(f"{spec.name} is missing tensor input '{name.strip('*')}'", arg=name)
        return infer(attrs, inputs)

    checked.__wrapped__ = infer
    return checked


def _simplified(macs: Callable) -> Callable:
    def counted(attrs: dict, inputs: list, output):
        return dims.simplify(macs(attrs, list(inputs), output))

    counted.__wrapped__ = macs
    return counted


def _arity_message(spec: OpSpec, got: int, required: int, fixed: int, variadic: bool) -> str:
    if variadic:
        want = f"at least {required}"
    elif required == fixed:
        want = str(fixed)
    else:
        want = f"{required} to {fixed}"
    names = ", ".join(spec.inputs) or "none"
    return f"{spec.name} takes {want} tensor input{'' if want == '1' else 's'} ({names}), got {got}"


# --------------------------------------------------------------------------- value checking


class _Mismatch(Exception):
    """A value does not fit one alternative of an attribute type."""


def check_value(spec: OpSpec, attr: Attr, value):
    """Validate and normalise one attribute value, or raise OpError naming the attribute."""
    kinds, optional = _parse_type(attr.type)
    if value is None:
        if optional:
            return None
        raise OpError(f"{spec.name} argument '{attr.name}' must not be None", arg=attr.name)
    for kind in kinds:
        try:
            return _check_range(spec, attr, _CHECKERS[kind](value, spec, attr))
        except _Mismatch:
            continue
    wanted = " or ".join(_DESCRIPTIONS[k] for k in kinds)
    raise OpError(
        f"{spec.name} argument '{attr.name}' must be {wanted}, got {_describe(value)}", arg=attr.name
    )


# Sizes that must be positive, and ones that must not be negative, whatever the op: a zero
# stride would otherwise divide by zero in a shape rule.
_POSITIVE = {"stride", "kernel_size", "dilation", "groups", "upscale_factor", "downscale_factor",
             "num_heads", "chunks", "num_groups", "in_features", "out_features", "in_channels",
             "out_channels", "num_features", "num_embeddings", "embedding_dim", "embed_dim",
             "num_channels", "k"}
_NON_NEGATIVE = {"padding", "output_padding"}


def _check_range(spec: OpSpec, attr: Attr, value):
    low = 1 if attr.name in _POSITIVE else 0 if attr.name in _NON_NEGATIVE else None
    if low is None:
        return value
    for item in value if isinstance(value, tuple) else (value,):
        if isinstance(item, int) and not isinstance(item, bool) and item < low:
            what = "positive" if low == 1 else "non-negative"
            raise OpError(f"{spec.name} argument '{attr.name}' must be {what}, got {item}", arg=attr.name)
        if isinstance(item, dims.Expr) and dims.prove_positive(item - low + 1) is False:
            raise OpError(f"{spec.name} argument '{attr.name}' can be below {low}: {dims.to_str(item)}", arg=attr.name)
    return value


def normalise_default(spec: OpSpec, attr: Attr):
    """Defaults are valid by construction but still get the same shape (e.g. 1 -> (1, 1))."""
    if attr.default is None:
        return None
    return check_value(spec, attr, attr.default)


def _parse_type(type_: str) -> tuple[tuple[str, ...], bool]:
    parsed = _PARSED_TYPES.get(type_)
    if parsed is None:  # a few dozen distinct types, each checked thousands of times
        kinds = tuple(type_.rstrip("?").split("|"))
        assert all(k in _CHECKERS for k in kinds), type_
        parsed = _PARSED_TYPES[type_] = (kinds, type_.endswith("?"))
    return parsed


_PARSED_TYPES: dict[str, tuple[tuple[str, ...], bool]] = {}


def _describe(value) -> str:
    if isinstance(value, dims.Expr):
        return f"size expression {value}"
    if isinstance(value, TensorType):
        return f"tensor {value}"
    if type(value).__module__ != "builtins":  # the elaborator's values repr as messages show them
        return repr(value)
    return f"{value!r} ({type(value).__name__})"


def _is_int(v) -> bool:
    return (type(v) is int) or isinstance(v, dims.Expr) or (isinstance(v, int) and not isinstance(v, bool))


def _int(v, spec, attr):
    if not _is_int(v):
        raise _Mismatch
    return dims.simplify(v)


def _float(v, spec, attr):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Mismatch
    return float(v)


def _number(v, spec, attr):
    if not isinstance(v, (int, float)):
        raise _Mismatch
    return v


def _bool(v, spec, attr):
    if not isinstance(v, bool):
        raise _Mismatch
    return v


def _str(v, spec, attr):
    if not isinstance(v, str):
        raise _Mismatch
    if attr.choices and v not in attr.choices:
        options = ", ".join(repr(c) for c in attr.choices)
        close = difflib.get_close_matches(v, attr.choices, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise OpError(
            f"{spec.name} argument '{attr.name}' must be one of {options}, got {v!r}{hint}",
            arg=attr.name,
        )
    return v


def _dtype(v, spec, attr):
    if not isinstance(v, str):
        raise _Mismatch
    if v not in DTYPES:
        raise OpError(
            f"{spec.name} argument '{attr.name}' must be a dtype ({', '.join(DTYPES)}), got {v!r}",
            arg=attr.name,
        )
    return v


def _tuple_of(v, element_ok, spec, attr):
    """int-like -> repeated to the spatial rank; sequence -> tuple checked for length."""
    if element_ok(v) and not isinstance(v, (list, tuple)):
        return (dims.simplify(v) if _is_int(v) else v,) * (spec.spatial or 1)
    if not isinstance(v, (list, tuple)) or not all(element_ok(e) for e in v):
        raise _Mismatch
    if spec.spatial is not None and len(v) != spec.spatial:
        raise OpError(
            f"{spec.name} argument '{attr.name}' needs {spec.spatial} values, got {len(v)}: {tuple(v)}",
            arg=attr.name,
        )
    return tuple(dims.simplify(e) if _is_int(e) else e for e in v)


def _ints(v, spec, attr):
    return _tuple_of(v, _is_int, spec, attr)


def _sizes(v, spec, attr):
    return _tuple_of(v, lambda e: e is None or _is_int(e), spec, attr)


def _floats(v, spec, attr):
    ok = lambda e: isinstance(e, (int, float)) and not isinstance(e, bool)  # noqa: E731
    return tuple(float(e) for e in _tuple_of(v, ok, spec, attr))


def _dims(v, spec, attr):
    if _is_int(v):
        return (dims.simplify(v),)
    if not isinstance(v, (list, tuple)) or not all(_is_int(e) for e in v):
        raise _Mismatch
    return tuple(dims.simplify(e) for e in v)


def _index_element_ok(e) -> bool:
    if e is None or e is Ellipsis or _is_int(e):
        return True
    if isinstance(e, slice):
        return all(p is None or _is_int(p) for p in (e.start, e.stop, e.step))
    return False


def _index(v, spec, attr):
    items = v if isinstance(v, tuple) else (v,)
    if not all(_index_element_ok(e) for e in items):
        raise _Mismatch
    return items


def _any(v, spec, attr):
    return v


def _tensor(v, spec, attr):
    if not isinstance(v, ConstTensor):
        raise _Mismatch
    return v


_CHECKERS: dict[str, Callable] = {
    "int": _int, "float": _float, "number": _number, "bool": _bool, "str": _str,
    "dtype": _dtype, "ints": _ints, "sizes": _sizes, "floats": _floats, "dims": _dims,
    "index": _index, "any": _any, "tensor": _tensor,
}

_DESCRIPTIONS = {
    "int": "an int", "float": "a number", "number": "a number", "bool": "True or False",
    "str": "a string", "dtype": "a dtype name", "ints": "an int or a tuple of ints",
    "sizes": "an int or a tuple of ints/None", "floats": "a number or a tuple of numbers",
    "dims": "a list of sizes", "index": "an index (ints, slices, None, ...)", "any": "a value",
    "tensor": "a constant tensor (tensor([...]))",
}
