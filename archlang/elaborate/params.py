"""Block parameters: matching a call's arguments to a block's parameters, and the type a
parameter declares (``depth: int``, ``block: block``, ``widths: list[int]``).

Defaults are evaluated by the caller (``body.bind_params``): they are expressions of the
block's own file.  Must not import the body elaborator or a backend.
"""

from __future__ import annotations

import difflib

from archlang.elaborate.builtins import describe, is_int, is_number
from archlang.elaborate.values import BlockRef, ChoiceValue, Layer, Poison
from archlang.errors import ArchTypeError, Span
from archlang.syntax import ast


def match_arguments(ref: BlockRef, args: list, kwargs: dict, span: Span, arg_spans: dict[str, Span]) -> dict:
    """Arguments of a block call → {param: value} for the parameters given (no defaults yet)."""
    definition = ref.definition
    params = definition.params
    if len(args) > len(params):
        raise ArchTypeError(f"{definition.name} takes {len(params)} argument{'s' if len(params) != 1 else ''}, got {len(args)}", span)
    given = {p.name: a for p, a in zip(params, args)}
    names = [p.name for p in params]
    for key, value in kwargs.items():
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (its parameters: {', '.join(names) or 'none'})"
            raise ArchTypeError(f"{definition.name} has no parameter '{key}'{hint}", arg_spans.get(key, span))
        if key in given:
            raise ArchTypeError(f"{definition.name} got two values for '{key}'", arg_spans.get(key, span))
        given[key] = value
    return given


def check_type(param: ast.Param, value, owner: str, span: Span) -> None:
    if param.type is None or isinstance(value, Poison):
        return
    options = value.options if isinstance(value, ChoiceValue) else (value,)
    for option in options:
        if not _fits(param.type, option):
            raise ArchTypeError(
                f"{owner}: parameter '{param.name}' is {param.type}, got {describe(option)}", span
            )


def _fits(t: ast.TypeRef, value) -> bool:
    name = t.name
    if name == "any":
        return True
    if name in ("int", "dim"):
        return is_int(value)
    if name == "float":
        return is_number(value) and not isinstance(value, bool)
    if name == "bool":
        return isinstance(value, bool)
    if name == "str":
        return isinstance(value, str)
    if name == "block":
        return isinstance(value, BlockRef)
    if name == "layer":
        return isinstance(value, Layer)
    if name == "shape":
        return isinstance(value, (list, tuple)) and all(is_int(v) for v in value)
    if name in ("list", "tuple"):
        return _fits_sequence(t, value)
    return False


def _fits_sequence(t: ast.TypeRef, value) -> bool:
    if not isinstance(value, (list, tuple)):
        return False
    if not t.args:
        return True
    if t.name == "tuple" and len(t.args) > 1:
        return len(value) == len(t.args) and all(_fits(a, v) for a, v in zip(t.args, value))
    return all(_fits(t.args[0], v) for v in value)

