"""``assert`` statements: checked at elaboration when the sizes decide them, kept as guards
when they depend on sizes only the input will tell (``assert T <= block_size``).

A condition is split at ``and`` and into the links of a chained comparison.  A comparison
whose sides are sizes over free symbols (``B``, ``T``, ``H``: not search choices) and that
holds for some sizes but not all becomes a ``Guard`` in the block's IR: backends check it
when the sizes are known (the torch backend once per new input shape).  One that holds for
every size is dropped, one that holds for none fails here, as does any other condition that
is false.  A failed assert is an ``AssertFailed`` at its line; a comparison says its values.

Must not import a backend.
"""

from __future__ import annotations

from archlang.elaborate.builtins import describe, is_int
from archlang.elaborate.evaluate import Evaluator
from archlang.elaborate.values import TensorVal
from archlang.errors import ArchError, ArchTypeError
from archlang.ir import Guard, dims
from archlang.syntax import ast
from archlang.syntax.printer import format_expr

_ORDER = ("==", "!=", "<", "<=", ">", ">=")


class AssertFailed(ArchError):
    kind = "assert"


def run_assert(body: Evaluator, stmt: ast.Assert) -> list[Guard]:
    """Check ``stmt``; the guards it leaves for run time (empty when elaboration decided it)."""
    guards = []
    for part in _conjuncts(stmt.cond):
        if not isinstance(part, tuple):
            if not body.truth(part):
                raise _failed(body, stmt, None)
            continue
        expr, op, left, right = part
        guard = _comparison(body, stmt, expr, op, left, right)
        if guard is not None:
            guards.append(guard)
    return guards


def _conjuncts(cond):
    """``a and b`` → a, b; ``x < y <= z`` → (x < y), (y <= z); each comparison as
    (expression, op, left, right), anything else as itself."""
    if isinstance(cond, ast.Binary) and cond.op == "and":
        yield from _conjuncts(cond.left)
        yield from _conjuncts(cond.right)
    elif isinstance(cond, ast.Compare) and all(op in _ORDER for op in cond.ops):
        left = cond.left
        for op, right in zip(cond.ops, cond.rights):
            yield cond, op, left, right
            left = right
    else:
        yield cond


def _comparison(body: Evaluator, stmt: ast.Assert, expr: ast.Compare, op: str, left_expr, right_expr) -> Guard | None:
    left, right = body.eval(left_expr), body.eval(right_expr)
    if isinstance(left, TensorVal) or isinstance(right, TensorVal):
        raise ArchTypeError("assert checks sizes and parameters, not tensor values", expr.span)
    if not (_free(left) or _free(right)):
        pair = ast.Compare(left_expr, (op,), (right_expr,), expr.span)
        if not body.truth(pair):
            text, values = format_expr(pair), f"{_value(left)} {op} {_value(right)}"
            raise _failed(body, stmt, f"{text}: {values} is false" if values != text else None)
        return None
    if not (is_int(left) and is_int(right)):
        raise ArchTypeError(f"'{op}' compares a size with {describe(right if is_int(left) else left)}", expr.span)
    verdict = _decide(op, dims.simplify(left - right))
    text = f"{format_expr(left_expr)} {op} {format_expr(right_expr)}"
    if verdict is False:
        raise _failed(body, stmt, f"{text} is false for every size ({dims.to_str(left)} {op} {dims.to_str(right)})")
    if verdict is True:
        return None
    return Guard(op=op, left=left, right=right, text=text, message=_message(body, stmt), span=stmt.span)


def _free(value) -> bool:
    """A size over a symbol that only the input tells (not a search choice)."""
    return isinstance(value, dims.Expr) and any(domain is None for domain in dims.symbols(value).values())


def _decide(op: str, diff) -> bool | None:
    """Whether ``diff op 0`` holds for every size (True), for none (False), or it depends."""
    if op in ("==", "!="):
        if dims.prove_equal(diff, 0).holds is True:
            return op == "=="
        lo, hi = dims.bounds(diff)
        return (op == "!=") if (lo > 0 or hi < 0) else None
    lo, hi = dims.bounds(diff)
    low_true, high_true = (_compare(op, lo), _compare(op, hi))
    if low_true and high_true:
        return True
    if not low_true and not high_true:  # the sizes for which it holds form a half-line
        return False
    return None


def _compare(op: str, value) -> bool:
    return {"<": value < 0, "<=": value <= 0, ">": value > 0, ">=": value >= 0}[op]


def _message(body: Evaluator, stmt: ast.Assert) -> str | None:
    if stmt.message is None:
        return None
    message = body.eval(stmt.message)
    if not isinstance(message, str):
        raise ArchTypeError(f"an assert's message is a string, got {describe(message)}", stmt.message.span)
    return message


def _failed(body: Evaluator, stmt: ast.Assert, detail: str | None) -> AssertFailed:
    message = _message(body, stmt) or "assertion failed"
    return AssertFailed(message, stmt.span, notes=(detail,) if detail else ())


def _value(value) -> str:
    return dims.to_str(value) if is_int(value) and not isinstance(value, bool) else describe(value)
