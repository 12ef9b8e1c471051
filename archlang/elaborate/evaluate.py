"""Expression evaluation during elaboration: constants, symbolic sizes and tensor arithmetic
(operators, comparisons and indexing on tensors emit ops).

``Evaluator`` is the half of a block-body elaborator that turns AST expressions into values
(archlang.elaborate.values).  Arithmetic on tensors adds op nodes through ``self.emit_op`` (provided by
archlang.elaborate.body.Body); calls are dispatched by ``self.call``.  Must not import a backend.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from archlang.elaborate import constants
from archlang.elaborate.builtins import describe, is_int, is_number
from archlang.elaborate.choices import count_condition
from archlang.elaborate.values import (
    POISON,
    ImportedModule,
    Layer,
    MemberRef,
    Poison,
    SymbolicList,
    TensorVal,
)
from archlang.errors import ArchNameError, ArchTypeError, LimitError, ShapeError, SpaceError, Span
from archlang.errors.limits import LIMITS
from archlang.ir import dims
from archlang.ir.types import ConstTensor
from archlang.syntax import ast


class NeedsConcrete(Exception):
    """Evaluation needs the value of a search decision (raised to the layer that can branch)."""

    def __init__(self, label: str, span: Span) -> None:
        super().__init__(label)
        self.label = label
        self.span = span

    def error(self) -> SpaceError:
        """The user's error when nothing can branch on the decision (an entry point, a let)."""
        return SpaceError(
            f"this depends on the search choice '{self.label}' made in the same block; "
            "express the alternatives with choice(...) over layers or blocks",
            self.span,
        )


_ARITH = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
}
_TENSOR_OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "@": "matmul", "**": "pow"}
_COMPARE = {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}
_TENSOR_COMPARE = {"==": "eq", "!=": "not_equal", "<": "less", "<=": "less_equal", ">": "greater",
                   ">=": "greater_equal"}




class Evaluator:
    """Expression evaluation; mixed into archlang.elaborate.body.Body."""

    # provided by Body
    def lookup(self, name: str, span: Span) -> Any: ...
    def call(self, node: ast.Call) -> Any: ...
    def emit_op(self, op: str, tensors: list, attrs: dict, span: Span) -> Any: ...

    def eval(self, expr) -> Any:
        budget = self.ctx.budget  # every evaluation counts: a statement may hold a 150-deep expression
        budget.evaluations += 1
        if budget.evaluations > LIMITS.max_evaluations:
            raise budget.too_many_evaluations(expr.span)
        method = getattr(self, "eval_" + type(expr).__name__)
        return method(expr)

    def eval_Name(self, expr: ast.Name):
        return self.lookup(expr.id, expr.span)

    def eval_Const(self, expr: ast.Const):
        return expr.value

    def eval_EllipsisLit(self, expr):
        return Ellipsis

    def eval_ListExpr(self, expr: ast.ListExpr):
        self.ctx.built(len(expr.items), expr.span)
        return [self.eval(item) for item in expr.items]

    def eval_TupleExpr(self, expr: ast.TupleExpr):
        self.ctx.built(len(expr.items), expr.span)
        return tuple([self.eval(item) for item in expr.items])

    def eval_Slice(self, expr: ast.Slice):
        parts = [None if e is None else self.eval(e) for e in (expr.start, expr.stop, expr.step)]
        for part, sub in zip(parts, (expr.start, expr.stop, expr.step)):
            if part is not None and not is_int(part):
                raise ArchTypeError(f"slice bounds must be integers, got {describe(part)}", sub.span)
        return slice(*parts)

    def eval_IfExp(self, expr: ast.IfExp):
        return self.eval(expr.then) if self.truth(expr.cond) else self.eval(expr.orelse)

    def eval_Call(self, expr: ast.Call):
        return self.call(expr)

    # ---- truth and concrete values ------------------------------------------------------
    def truth(self, expr) -> bool:
        value = self.eval(expr)
        if isinstance(value, Poison):
            raise _Poisoned()
        if isinstance(value, bool):
            return value
        raise ArchTypeError(f"condition must be true or false, got {describe(value)}", expr.span)

    def concrete(self, value, span: Span, what: str):
        """``value`` as a plain Python int; symbolic sizes that depend on a choice branch."""
        if isinstance(value, dims.Expr):
            self._branch_on(value, span, what)
        return value

    def _branch_on(self, value: dims.Expr, span: Span, what: str):
        syms = dims.symbols(value)
        choice_syms = [name for name, domain in syms.items() if domain is not None]
        free = [name for name, domain in syms.items() if domain is None]
        if free:
            names = ", ".join(sorted(free))
            sizes = f"the size {names}, which is" if len(free) == 1 else f"the sizes {names}, which are"
            raise ShapeError(
                f"{what} depends on {sizes} not known here; give the input a concrete size", span,
            )
        raise NeedsConcrete(choice_syms[0], span)

    # ---- operators ----------------------------------------------------------------------
    def eval_Unary(self, expr: ast.Unary):
        if expr.op == "not":
            return not self.truth(expr.operand)
        value = self.eval(expr.operand)
        if isinstance(value, Poison):
            return value
        if isinstance(value, TensorVal):
            return value if expr.op == "+" else self.emit_op("neg", [value], {}, expr.span)
        if isinstance(value, ConstTensor):
            return value if expr.op == "+" else constants.negate(value, expr.span, self.ctx)
        if isinstance(value, bool) or not is_number(value):
            raise ArchTypeError(f"unary '{expr.op}' needs a number, got {describe(value)}", expr.span)
        if expr.op == "+":
            return value
        return dims.simplify(-value) if isinstance(value, dims.Expr) else -value  # floats are no dims

    def eval_Binary(self, expr: ast.Binary):
        if expr.op in ("and", "or"):
            left = self.truth(expr.left)
            if (expr.op == "and") != left:
                return left
            return self.truth(expr.right)
        left, right = self.eval(expr.left), self.eval(expr.right)
        if isinstance(left, Poison) or isinstance(right, Poison):
            return POISON
        if isinstance(left, TensorVal) or isinstance(right, TensorVal):
            self._no_constant_tensor(left, right, span=expr.span)
            return self._tensor_binary(expr, left, right)
        if isinstance(left, ConstTensor) or isinstance(right, ConstTensor):
            return constants.binary(expr.op, left, right, expr.span, self.ctx)
        return self._constant_binary(expr, left, right)

    @staticmethod
    def _no_constant_tensor(*values, span: Span) -> None:
        """A constant tensor meets a tensor of the model only through a Buffer, which backends
        store once, rather than as a literal copied into every forward."""
        if any(isinstance(v, ConstTensor) for v in values):
            raise ArchTypeError(f"a constant tensor cannot be combined with a model tensor directly; {constants.MIXING_HINT}",
                                span)

    def _tensor_binary(self, expr: ast.Binary, left, right):
        op = _TENSOR_OPS.get(expr.op)
        if op is None:
            raise ArchTypeError(f"operator '{expr.op}' is not defined on tensors", expr.span)
        operands = [self._as_tensor(v, expr, side) for v, side in ((left, expr.left), (right, expr.right))]
        return self.emit_op(op, operands, {}, expr.span)

    def _as_tensor(self, value, expr, side):
        if isinstance(value, TensorVal):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, dims.Expr):
                raise ArchTypeError(
                    "a symbolic size cannot be used as a tensor value; use a constant", side.span
                )
            raise ArchTypeError(f"cannot combine a tensor with {describe(value)}", side.span)
        # a Python int keeps an integer tensor integer (idx + 1), as torch does; floats are float32
        dtype = "int64" if isinstance(value, int) else "float32"
        return self.emit_op("const", [], {"value": value, "dtype": dtype}, side.span)

    def _constant_binary(self, expr: ast.Binary, left, right):
        op = expr.op
        if isinstance(left, str) and isinstance(right, str) and op == "+":
            return self._bounded_str(left + right, expr.span)
        if isinstance(left, (list, tuple)) and type(left) is type(right) and op == "+":
            return self._bounded_list(left + right, expr.span)
        if isinstance(left, (list, tuple, str)) and is_int(right) and op == "*":
            return self._repeat(left, right, expr)
        self._check_numbers(expr, left, right)
        return self._arith(expr, op, left, right)

    def _repeat(self, seq, times, expr):
        times = self.concrete(times, expr.span, "a repetition count")
        limit = LIMITS.max_str_len if isinstance(seq, str) else LIMITS.max_repeat
        if len(seq) * max(times, 0) > limit:
            raise LimitError(f"repetition builds {len(seq) * times:,} elements; the limit is {limit:,}", expr.span)
        self.ctx.built(len(seq) * max(times, 0), expr.span)
        return seq * times

    def _bounded_str(self, s: str, span: Span) -> str:
        if len(s) > LIMITS.max_str_len:
            raise LimitError(f"string of {len(s):,} characters exceeds the limit of {LIMITS.max_str_len:,}", span)
        self.ctx.built(len(s), span)
        return s

    def _bounded_list(self, items, span: Span):
        if len(items) > LIMITS.max_repeat:
            raise LimitError(f"list of {len(items):,} elements exceeds the limit of {LIMITS.max_repeat:,}", span)
        self.ctx.built(len(items), span)
        return items

    def _check_numbers(self, expr, left, right):
        for value, side in ((left, expr.left), (right, expr.right)):
            if isinstance(value, bool) or not is_number(value):
                raise ArchTypeError(
                    f"operator '{expr.op}' needs numbers, got {describe(value)}", side.span,
                    notes=(f"the other operand is {describe(right if value is left else left)}",),
                )

    def _arith(self, expr, op, left, right):
        symbolic = isinstance(left, dims.Expr) or isinstance(right, dims.Expr)
        if op in ("//", "%", "/") and not isinstance(right, dims.Expr) and right == 0:
            raise ArchTypeError("division by zero", expr.right.span)
        if symbolic:
            return self._symbolic_arith(expr, op, left, right)
        if op == "**":
            return self._power(expr, left, right)
        if op == "/":
            return left / right
        if op == "@":
            raise ArchTypeError("'@' multiplies tensors, not numbers", expr.span)
        return self._bounded_int(_ARITH[op](left, right), expr.span)

    def _symbolic_arith(self, expr, op, left, right):
        if isinstance(left, float) or isinstance(right, float) or op not in _ARITH:
            raise ArchTypeError(
                f"operator '{op}' on a symbolic size needs integers (use // for division)", expr.span
            )
        self.ctx.built(dims.size(left) * dims.size(right), expr.span)  # the work of expanding the product
        try:
            return dims.simplify(_ARITH[op](left, right))
        except LimitError as error:
            raise error.located_at(expr.span) from None

    def _power(self, expr, base, exponent):
        if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
            bits = (abs(base).bit_length() - 1) * exponent + 1  # the fewest bits base ** exponent has
            if abs(base) > 1 and bits > LIMITS.max_int_bits:
                raise LimitError(
                    f"{base} ** {exponent} exceeds the {LIMITS.max_int_bits}-bit integer limit", expr.span
                )
        try:
            result = base ** exponent
            if isinstance(result, complex):
                raise ArchTypeError(f"{base} ** {exponent} is not a real number", expr.span)
            return self._bounded_int(result, expr.span)
        except (OverflowError, ZeroDivisionError) as exc:
            raise ArchTypeError(f"cannot compute {base} ** {exponent}: {exc}", expr.span) from None

    def _bounded_int(self, value, span: Span):
        if isinstance(value, int) and value.bit_length() > LIMITS.max_int_bits:
            raise LimitError(f"integer {value:.3e} exceeds the {LIMITS.max_int_bits}-bit limit", span)
        if isinstance(value, float) and not math.isfinite(value):
            raise ArchTypeError(f"arithmetic produced {value}", span)
        return value

    # ---- comparisons --------------------------------------------------------------------
    def eval_Compare(self, expr: ast.Compare):
        left = self.eval(expr.left)
        for i, (op, right_expr) in enumerate(zip(expr.ops, expr.rights)):
            right = self.eval(right_expr)
            if isinstance(left, Poison) or isinstance(right, Poison):
                raise _Poisoned()
            if (isinstance(left, TensorVal) or isinstance(right, TensorVal)) and op in _TENSOR_COMPARE:
                return self._tensor_compare(expr, i, op, left, right)
            if (isinstance(left, ConstTensor) or isinstance(right, ConstTensor)) and op in constants.COMPARE:
                if len(expr.ops) > 1:
                    raise ArchTypeError("tensor comparisons cannot be chained", expr.span)
                return constants.binary(op, left, right, expr.span, self.ctx)
            if not self._compare(op, left, right, expr):
                return False
            left = right
        return True

    def _tensor_compare(self, expr: ast.Compare, i: int, op: str, left, right):
        """``a < b`` on tensors: an elementwise comparison giving a bool tensor."""
        if len(expr.ops) > 1:
            raise ArchTypeError("tensor comparisons cannot be chained; combine them with logical_and(a, b)",
                                expr.span)
        sides = (expr.left, expr.rights[i])
        operands = [self._as_tensor(v, expr, side) for v, side in zip((left, right), sides)]
        return self.emit_op(_TENSOR_COMPARE[op], operands, {}, expr.span)

    def _compare(self, op, left, right, expr) -> bool:
        if op in ("in", "not in"):
            if not isinstance(right, (list, tuple, str)):
                raise ArchTypeError(f"'{op}' needs a list, tuple or string on the right", expr.span)
            if any(isinstance(v, (TensorVal, Layer)) for v in (left, *right)):
                raise ArchTypeError("tensors and layers cannot be compared", expr.span)
            return (left in right) == (op == "in")
        if op in ("==", "!="):
            return self._equal(left, right, expr) == (op == "==")
        for value in (left, right):
            if isinstance(value, bool) or not is_number(value):
                raise ArchTypeError(f"'{op}' needs numbers, got {describe(value)}", expr.span)
        if isinstance(left, dims.Expr) or isinstance(right, dims.Expr):
            self._branch_on(dims.simplify(left - right), expr.span, "this comparison")
        return _COMPARE[op](left, right)

    def _equal(self, left, right, expr) -> bool:
        if isinstance(left, dims.Expr) or isinstance(right, dims.Expr):
            if not (is_int(left) and is_int(right)):
                return False
            verdict = dims.prove_equal(left, right)
            if verdict.holds is None or (verdict.holds is False and verdict.counterexample):
                self._branch_on(dims.simplify(left - right), expr.span, "this comparison")
            return bool(verdict.holds)
        if isinstance(left, (TensorVal, Layer)) or isinstance(right, (TensorVal, Layer)):
            raise ArchTypeError("tensors and layers cannot be compared", expr.span)
        return left == right

    # ---- subscripts and attributes ------------------------------------------------------
    def eval_Subscript(self, expr: ast.Subscript):
        value = self.eval(expr.value)
        if isinstance(value, Poison):
            return value
        if isinstance(value, TensorVal):
            index = tuple([self.eval(item) for item in expr.items])
            if any(isinstance(e, Poison) for e in index):
                return POISON
            if any(isinstance(e, TensorVal) for e in index):
                return self._tensor_index(value, index, expr)
            return self.emit_op("getitem", [value], {"index": index}, expr.span)
        if isinstance(value, ConstTensor):
            index = tuple([self.eval(item) for item in expr.items])
            return constants.index(value, index, expr.span, self.ctx)
        if len(expr.items) != 1:
            raise ArchTypeError(f"{describe(value)} takes one index", expr.span)
        index = self.eval(expr.items[0])
        return self.index(value, index, expr)

    def _tensor_index(self, x: TensorVal, index: tuple, expr: ast.Subscript):
        """``x[..., idx, ...]`` with one integer tensor: the basic index with a full slice in its
        place, then ``index_tensor`` along the axis that slice left."""
        where = [i for i, e in enumerate(index) if isinstance(e, TensorVal)]
        if len(where) > 1:
            raise ArchTypeError("an index can hold one tensor; index one axis at a time, or use gather", expr.span)
        at = where[0]
        if any(isinstance(e, int) or isinstance(e, dims.Expr) for e in index):
            raise ArchTypeError("an integer next to a tensor index moves axes in PyTorch; index in two steps, "
                                "x[i][idx]", expr.items[at].span)
        basic = index[:at] + (slice(None),) + index[at + 1:]
        axis = self._axis_after(basic, at, x.type.rank)
        if not all(e is Ellipsis or e == slice(None) for e in basic):  # more than the identity
            x = self.emit_op("getitem", [x], {"index": basic}, expr.span)
        return self.emit_op("index_tensor", [x, index[at]], {"dim": axis}, expr.span)

    @staticmethod
    def _axis_after(index: tuple, at: int, rank: int) -> int:
        """The output axis that the item at position ``at`` of a basic index becomes."""
        consumed = sum(1 for e in index if e is not None and e is not Ellipsis)
        axis = 0
        for e in index[:at]:
            axis += max(rank - consumed, 0) if e is Ellipsis else 1
        return axis

    def index(self, value, index, expr):
        if isinstance(value, MemberRef):
            return self.child_member(value, index, expr.span)
        if isinstance(value, SymbolicList):
            value = value.items
        if not isinstance(value, (list, tuple, str)):
            raise ArchTypeError(f"cannot index {describe(value)}", expr.value.span)
        if isinstance(index, slice):
            part = value[slice(*[self.concrete(p, expr.span, "a slice bound") for p in (index.start, index.stop, index.step)])]
            self.ctx.built(len(part), expr.span)
            return part
        index = self.concrete(index, expr.span, "an index")
        if isinstance(index, bool) or not isinstance(index, int):
            raise ArchTypeError(f"list index must be an integer, got {describe(index)}", expr.items[0].span)
        if not -len(value) <= index < len(value):
            raise ArchTypeError(f"index {index} is out of range for {describe(value)}", expr.items[0].span)
        return value[index]

    def eval_Attribute(self, expr: ast.Attribute):
        value = self.eval(expr.value)
        if isinstance(value, Poison):
            return value
        if isinstance(value, ImportedModule):
            if expr.attr not in value.scope:
                raise ArchNameError(f"'{value.name}' has no definition named '{expr.attr}'", expr.span)
            return value.scope[expr.attr]
        if isinstance(value, MemberRef):
            return self.child_member(value, expr.attr, expr.span)
        if isinstance(value, (TensorVal, ConstTensor)):
            return self.tensor_attribute(value, expr)
        raise ArchTypeError(f"{describe(value)} has no attribute '{expr.attr}'", expr.span)

    def tensor_attribute(self, value: TensorVal, expr: ast.Attribute):
        if expr.attr == "shape":
            return tuple(value.type.shape)
        if expr.attr == "ndim":
            return value.type.rank
        if expr.attr == "dtype":
            return value.type.dtype
        return BoundMethod(expr.attr, value)

    # ---- comprehensions -----------------------------------------------------------------
    def eval_ListComp(self, expr: ast.ListComp):
        items = self.eval(expr.iter)
        if isinstance(items, Poison):
            return items
        count = None
        if isinstance(items, SymbolicList):
            items, count = list(items.items), items.count
        if not isinstance(items, (list, tuple)):
            raise ArchTypeError(f"a comprehension iterates over a list, got {describe(items)}", expr.iter.span)
        self.ctx.built(len(items), expr.span)
        result = [self._comp_item(expr, i, item, count) for i, item in enumerate(items)]
        result = [r for r in result if r is not _SKIP]
        return SymbolicList(tuple(result), count) if count is not None else result

    def _comp_item(self, expr: ast.ListComp, i: int, item, count=None):
        self.ctx.step(expr.span)  # nested comprehensions multiply: bound them like loops
        condition = count_condition(self.ctx, count, i) if count is not None else None
        exists = self.ctx.condition(*condition) if condition else contextlib.nullcontext()
        with self.binding(expr.var, item), self.label_part(str(i)), exists:
            if expr.cond is not None and not self.truth(expr.cond):
                return _SKIP
            return self.eval(expr.elt)


class BoundMethod:
    """``x.reshape`` before it is called: a functional op with ``x`` as its first input."""

    def __init__(self, op: str, tensor: TensorVal) -> None:
        self.op = op
        self.tensor = tensor


class _Poisoned(Exception):
    """A condition read a name whose definition already failed: skip, report nothing more."""


_SKIP = object()

