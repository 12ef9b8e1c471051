"""Elaboration: run a block's body with concrete arguments and input types, building its Graph.

``Body`` executes statements (inputs, assignments, if, for, return, assert, tie), evaluates
expressions (archlang.elaborate.evaluate) and dispatches calls: builtins, ops, block constructors and
layer applications (archlang.elaborate.layers turns a layer and input types into a Member and a node).
``Context`` is shared by one whole model: the cache of elaborated block instances, limits
counters, the chain of block calls used in messages, and the error list.

Must not import a backend.
"""

from __future__ import annotations

import contextlib
import difflib
import math
from typing import Any

from archlang import ops
from archlang.elaborate import constants
from archlang.elaborate.builtins import describe, is_int, is_number
from archlang.elaborate.choices import choice_label, make_choice
from archlang.elaborate.constrain import constrain
from archlang.elaborate.evaluate import BoundMethod, Evaluator, _Poisoned
from archlang.elaborate.guards import AssertFailed, run_assert
from archlang.elaborate.layers import apply_member, child_layer, declare_only
from archlang.elaborate.located import locate
from archlang.elaborate.params import check_type, match_arguments
from archlang.elaborate.values import (
    POISON,
    BlockLayer,
    BlockRef,
    Builtin,
    ChoiceLayer,
    ChoiceValue,
    Layer,
    MemberRef,
    OpLayer,
    OpRef,
    Poison,
    SeqLayer,
    SymbolicList,
    TensorVal,
)
from archlang.errors import (
    ArchError,
    ArchNameError,
    ArchTypeError,
    LimitError,
    OpError,
    ShapeError,
    SpaceError,
    Span,
)
from archlang.errors.limits import LIMITS, Budget, block_call
from archlang.ir import BlockName, ChoiceDecl, Graph, Member, Node, Tie, dims
from archlang.ir.types import DTYPES, ConstTensor, TensorType
from archlang.resolve.names import value_reads
from archlang.syntax import ast
from archlang.syntax.printer import format_expr

# ---- shared per-model state --------------------------------------------------------------


class Context:
    """State shared while elaborating one entry point."""

    def __init__(self, assignment: dict[str, Any] | None = None, budget: Budget | None = None,
                 shared: Any = None) -> None:
        self.assignment = assignment or {}
        self.budget = budget if budget is not None else Budget()  # the run's work so far
        self.cache: dict[Any, Any] = {}
        self.shared = shared  # archlang.elaborate.sharing.SharedBlocks of a check, or None
        self.keep: list = []  # objects whose id() is a cache key
        self.chain: list[tuple[str, str]] = []  # (block name, member path) of enclosing calls
        self.choices: dict[str, ChoiceDecl] = {}  # absolute label -> decision
        self.entry: str | None = None  # the entry point's name, first in every chain note
        self.conditions: list = []  # (label, option indices) of the choices enclosing this point
        self.constrained = False  # whether a `constrain` statement left a constraint in the IR

    def run_body(self, ref: BlockRef, args: dict[str, Any], input_types: list | None, span: Span) -> Graph:
        """Elaborate one instance of block ``ref``: layers (``archlang.elaborate.layers``) reach
        the body elaborator through the context they are handed, as it reaches them."""
        return Body(self, ref, args).run(input_types, span)

    @contextlib.contextmanager
    def condition(self, label: str, allowed: tuple[int, ...]):
        """Choices made inside this are active only when ``label`` takes one of ``allowed``."""
        self.conditions.append((label, allowed))
        try:
            yield
        finally:
            self.conditions.pop()

    def note(self, member: str | None = None) -> str:
        """``in ResNet50 › layer2 › 0 › conv1``: where an error happened."""
        if not self.chain:
            return ""
        parts = [self.entry or self.chain[0][0]]
        for _, path in self.chain[1:]:
            parts.extend(path.split("."))
        if member:
            parts.extend(member.split("."))
        return "in " + " › ".join(parts)

    @property
    def path(self) -> str:
        return ".".join(member for _, member in self.chain[1:])

    def count_node(self, span: Span) -> None:
        self.budget.charge_node(span)

    def step(self, span: Span) -> None:
        self.budget.charge_step(span)

    def built(self, count: int, span: Span) -> None:
        """``count`` list elements or string characters are being built."""
        self.budget.charge_elements(count, span)


# ---- graph under construction ------------------------------------------------------------


class Slot:
    """A member being declared: its layer, and its Member once instantiated."""

    def __init__(self, layer: Layer, span: Span, anonymous: bool = False) -> None:
        self.layer = layer
        self.span = span
        self.anonymous = anonymous  # made inline, e.g. `y = Linear(4, 8)(x)`: no name to reuse
        self.member: Member | None = None


class Builder:
    """Nodes, members, ties and choices of the graph being built."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.names: dict[str, int] = {}
        self.slots: dict[str, Slot] = {}
        self.ties: list[Tie] = []
        self.constraints: list = []
        self.guards: list = []  # asserts left for run time (archlang.elaborate.guards)
        self.outputs: tuple[str, ...] | None = None

    def fresh(self, base: str) -> str:
        base = base or "v"
        if base not in self.names:
            self.names[base] = 0
            return base
        while True:
            self.names[base] += 1
            name = f"{base}_{self.names[base]}"
            if name not in self.names:
                self.names[name] = 0
                return name

    def add(self, ctx: Context, node: Node) -> Node:
        ctx.count_node(node.span)
        _check_sizes(node)
        self.nodes.append(node)
        return node

    def members(self) -> tuple[tuple[str, Member], ...]:
        return tuple((name, slot.member) for name, slot in self.slots.items() if slot.member is not None)


def _check_sizes(node: Node) -> None:
    """Every concrete dimension of a value fits in int64, as torch and ONNX store sizes."""
    for tensor in node.type if isinstance(node.type, tuple) else (node.type,):
        for size in getattr(tensor, "shape", ()):
            if type(size) is int and size > LIMITS.max_size:
                raise LimitError(f"a dimension of {size:,} exceeds the limit of {LIMITS.max_size:,} (int64)",
                                 node.span)


# ---- block bodies ------------------------------------------------------------------------


class Body(Evaluator):
    """Elaborates one block instance: statements in, Graph out."""

    def __init__(self, ctx: Context, ref: BlockRef, args: dict[str, Any]) -> None:
        self.ctx = ctx
        self.ref = ref
        self.definition = ref.definition
        self.unit = ref.unit
        self.locals: dict[str, Any] = dict(args)
        self.args = args
        self.b = Builder()
        self.applied: dict[str, Member] = {}  # members of sequences applied item by item
        self.target = ""
        self.labels: list[str] = []
        self.errors: list[ArchError] = []

    # ---- scope
    def lookup(self, name: str, span: Span) -> Any:
        if name in self.locals:
            return self.locals[name]
        found = self.unit.lookup(name)
        if found is not None:
            return found
        raise ArchNameError(_unknown_name(name, self._visible_names()), span)

    def _visible_names(self):
        return list(self.locals) + self.unit.visible_names()

    @contextlib.contextmanager
    def binding(self, name: str, value):
        missing = object()
        saved = self.locals.get(name, missing)
        self.locals[name] = value
        try:
            yield
        finally:
            if saved is missing:
                del self.locals[name]
            else:
                self.locals[name] = saved

    @contextlib.contextmanager
    def label_part(self, part: str):
        self.labels.append(part)
        try:
            yield
        finally:
            self.labels.pop()

    # ---- running the body
    def run(self, input_types: list[TensorType] | None, span: Span) -> Graph:
        inputs = [s for s in self.definition.body if isinstance(s, ast.Input)]
        if input_types is not None and len(input_types) != len(inputs):
            raise ArchTypeError(
                f"{self.definition.name} takes {len(inputs)} tensor input"
                f"{'' if len(inputs) == 1 else 's'}, got {len(input_types)}", span,
            )
        self._pending_inputs = list(input_types) if input_types is not None else None
        self._call_span = span
        self.execute_body()
        if self.errors:
            raise ArchError.collect(self.errors)
        self._declare_unapplied()
        self._check_ties()
        return self._graph()

    def _check_ties(self) -> None:
        """Both sides of every ``tie`` name a parameter of a member, and their shapes agree."""
        members = dict(self.b.members())
        for tie in self.b.ties:
            found = []
            for path in (tie.target, tie.source):
                head = path.split(".")[0]
                params = dict(_params_of(members[head], head)) if head in members else {}
                if path not in params:
                    close = difflib.get_close_matches(path, list(params), n=1)
                    hint = f"; did you mean '{close[0]}'?" if close else ""
                    raise ArchNameError(f"'{path}' is not a parameter of {self.definition.name}{hint}", tie.span)
                found.append(params[path])
            if found[0].shape != found[1].shape or found[0].dtype != found[1].dtype:
                shapes = " vs ".join(f"{p.dtype}[{', '.join(map(dims.to_str, p.shape))}]" for p in found)
                raise ShapeError(f"tie {tie.target} = {tie.source}: the parameters differ ({shapes})", tie.span)

    def _graph(self) -> Graph:
        if self.b.outputs is None:
            raise ArchTypeError(f"{self.definition.kind} {self.definition.name} has no return statement", self.definition.span)
        return Graph(
            name=self.definition.name, args=_ir_args(self.args), doc=self.definition.doc,
            members=self.b.members(), nodes=tuple(self.b.nodes), outputs=self.b.outputs,
            ties=tuple(self.b.ties), constraints=tuple(self.b.constraints), span=self.definition.span,
            guards=tuple(self.b.guards),
        )

    def execute_body(self) -> None:
        try:
            self.execute(self.definition.body)
        except _Returned:
            pass

    def execute(self, statements) -> None:
        for stmt in statements:
            self.ctx.step(stmt.span)
            try:
                getattr(self, "stmt_" + type(stmt).__name__)(stmt)
            except _Poisoned:
                self._poison_targets(stmt)
            except ArchError as error:
                error.located_at(stmt.span)
                if isinstance(error, LimitError):
                    raise
                self._add_error(error)
                self._poison_targets(stmt)
                if isinstance(error, AssertFailed):  # a failed assert stops the block, as in Python
                    raise _Returned() from None

    def _add_error(self, error: ArchError) -> None:
        note = self.ctx.note()
        located = any(n.startswith("in ") for d in error.diagnostics for n in d.notes)
        if note and not located:  # the innermost block knows the most precise chain
            error.with_note(note)
        self.errors.append(error)

    def _poison_targets(self, stmt) -> None:
        names = (stmt.name,) if isinstance(stmt, ast.Input) else getattr(stmt, "targets", ())
        for name in names:  # an inline layer's slot is named after its target, which still failed
            if name not in self.b.slots or self.b.slots[name].anonymous:
                self.locals[name] = POISON

    # ---- statements
    def stmt_Input(self, stmt: ast.Input) -> None:
        dtype = stmt.dtype or "float32"
        if dtype not in DTYPES:
            raise ArchTypeError(f"unknown dtype '{dtype}' (one of: {', '.join(DTYPES)})", stmt.span)
        given = self._pending_inputs.pop(0) if self._pending_inputs else None
        if given is None:
            tensor = TensorType(dtype=dtype, shape=self._declared_shape(stmt))
        else:
            tensor = self._match_input(stmt, dtype, given)
        node = self.b.add(self.ctx, Node(kind="input", name=self.b.fresh(stmt.name), target=stmt.name, type=tensor, span=stmt.span))
        self.locals[stmt.name] = TensorVal(node.name, tensor)

    def _declared_shape(self, stmt: ast.Input) -> tuple:
        shape = []
        for dim in stmt.dims:
            if isinstance(dim, ast.EllipsisLit):
                raise ArchTypeError("an entry point's input needs a full shape ('...' only matches inside blocks)", dim.span)
            if isinstance(dim, ast.Name) and not self._bound(dim.id):
                self.locals[dim.id] = dims.sym(dim.id)
            shape.append(self._dim_value(dim))
        return tuple(shape)

    def _bound(self, name: str) -> bool:
        return name in self.locals or self.unit.lookup(name) is not None

    def _dim_value(self, expr):
        value = self.eval(expr)
        if isinstance(value, bool) or not is_int(value):
            raise ArchTypeError(f"a dimension must be an integer, got {describe(value)}", expr.span)
        if isinstance(value, int) and value < 0:
            raise ShapeError(f"a dimension cannot be negative, got {value}", expr.span)
        return value

    def _match_input(self, stmt: ast.Input, dtype: str, actual: TensorType) -> TensorType:
        if actual.dtype != dtype and stmt.dtype is not None:
            raise ArchTypeError(f"input {stmt.name} of {self.definition.name} expects {dtype}, got {actual}", stmt.span)
        declared = list(stmt.dims)
        actual_dims = list(actual.shape)
        if any(isinstance(d, ast.EllipsisLit) for d in declared):
            lead = len(actual_dims) - (len(declared) - 1)
            if lead < 0:
                raise self._input_mismatch(stmt, actual, "too few dimensions")
            at = next(i for i, d in enumerate(declared) if isinstance(d, ast.EllipsisLit))
            actual_dims = actual_dims[:at] + actual_dims[at + lead:]
            declared = declared[:at] + declared[at + 1:]
        if len(declared) != len(actual_dims):
            raise self._input_mismatch(stmt, actual, f"rank {len(declared)} expected, got rank {actual.rank}")
        for i, (want, got) in enumerate(zip(declared, actual_dims)):
            self._match_dim(stmt, actual, i, want, got)
        return actual

    def _match_dim(self, stmt, actual, i, want, got) -> None:
        if isinstance(want, ast.Name) and not self._bound(want.id):
            self.locals[want.id] = got
            return
        expected = self._dim_value(want)
        verdict = dims.prove_equal(expected, got)
        if verdict.holds is not True:
            why = f"dim {i}: expected {dims.to_str(expected)}, got {dims.to_str(got)}"
            if verdict.counterexample:
                why += " when " + ", ".join(f"{k}={v}" for k, v in verdict.counterexample.items())
            raise self._input_mismatch(stmt, actual, why)

    def _input_mismatch(self, stmt: ast.Input, actual: TensorType, why: str) -> ShapeError:
        declared = ", ".join(_dim_text(d) for d in stmt.dims)
        error = ShapeError(
            f"input {stmt.name} of {self.definition.name} expects [{declared}], got {actual} ({why})",
            stmt.span,
        )
        call = getattr(self, "_call_span", None)
        if call is not None and call.line:  # the caller is as likely to be wrong as the declaration
            error.with_note(f"{self.definition.name} is applied to {actual} at {call}")
        return error

    def stmt_Assign(self, stmt: ast.Assign) -> None:
        self.target = stmt.targets[0]
        with self.label_part(stmt.targets[0]):
            value = self.eval(stmt.value)
        if len(stmt.targets) == 1:
            self._bind(stmt.targets[0], value, stmt)
            return
        values = self._unpack(value, len(stmt.targets), stmt)
        for name, item in zip(stmt.targets, values):
            self._bind(name, item, stmt)

    def _unpack(self, value, count: int, stmt):
        if isinstance(value, Poison):
            return [POISON] * count
        if isinstance(value, TensorVal) and isinstance(value.type, tuple):
            if len(value.type) != count:
                return self._unpack_error(value, count, stmt)
            items = []
            for i, name in enumerate(stmt.targets):  # `q, k, v = ...`: nodes %q, %k, %v
                self.target = name
                items.append(self._item(value, i, stmt.span))
            return items
        if isinstance(value, (list, tuple)) and len(value) == count:
            return list(value)
        return self._unpack_error(value, count, stmt)

    def _unpack_error(self, value, count, stmt):
        raise ArchTypeError(f"cannot unpack {describe(value)} into {count} names", stmt.span)

    def _item(self, value: TensorVal, i: int, span: Span) -> TensorVal:
        return self.emit_op("item", [value], {"index": i}, span, out_type=value.type[i])

    def _bind(self, name: str, value, stmt) -> None:
        if name in self.b.slots and not (self.b.slots[name].anonymous and not isinstance(value, Layer)):
            raise ArchNameError(
                f"'{name}' is already a member (declared at {self.b.slots[name].span.line}:{self.b.slots[name].span.col}); members cannot be reassigned",
                stmt.span,
            )
        if isinstance(value, Layer) and not isinstance(value, MemberRef):
            self._check_not_parameter(name, stmt)
            self.declare(name, value, stmt.span)
            return
        if isinstance(value, TensorVal) and isinstance(value.type, tuple):
            raise ArchTypeError(f"this call returns {len(value.type)} tensors; unpack them: a, b = ...", stmt.span)
        self.locals[name] = value

    def _check_not_parameter(self, name: str, stmt) -> None:
        """``intermediate = Inter(hidden, intermediate)`` hides the parameter from every later
        statement: refused, with the fix, when a later statement reads the name as a value."""
        if not any(p.name == name for p in self.definition.params):
            return
        after = (stmt.span.end_line, stmt.span.end_col)
        later = [r for r in value_reads(self.definition.body, name) if (r.span.line, r.span.col) > after]
        if later:
            raise ArchNameError(
                f"member '{name}' takes the name of a parameter of {self.definition.name}, which a later "
                f"statement reads; rename the parameter (e.g. '{name}_size'; state-dict keys stay) or the member",
                stmt.span, notes=(f"'{name}' is read here as the parameter: {later[0].span}",))

    def declare(self, name: str, layer: Layer, span: Span, anonymous: bool = False) -> MemberRef:
        self.b.slots[name] = Slot(layer, span, anonymous)
        ref = MemberRef(name, layer, span)
        if not anonymous:
            self.locals[name] = ref
        return ref

    def stmt_If(self, stmt: ast.If) -> None:
        for cond, suite in stmt.branches:
            if self.truth(cond):
                self.execute(suite)
                return
        if stmt.orelse is not None:
            self.execute(stmt.orelse)

    def stmt_For(self, stmt: ast.For) -> None:
        items = self.eval(stmt.iter)
        if isinstance(items, Poison):
            return
        if isinstance(items, SymbolicList):
            raise SpaceError("a for loop cannot run a searched number of times; use Sequential([...]) over the list", stmt.iter.span)
        if isinstance(items, MemberRef) and isinstance(items.layer, SeqLayer):
            items = [self.child_member(items, i, stmt.span) for i in range(len(items.layer.items))]
        if not isinstance(items, (list, tuple)):
            raise ArchTypeError(f"for iterates over a list, got {describe(items)}", stmt.iter.span)
        for item in items:
            self.locals[stmt.var] = item
            self.execute(stmt.body)

    def stmt_Return(self, stmt: ast.Return) -> None:
        if self.b.outputs is not None:
            raise ArchTypeError("a block returns once", stmt.span)
        self.target = ""  # nodes made here are named after their member or op, not the last assignment
        if self.is_factory:
            self._return_layer(stmt)
            raise _Returned()
        outputs, values = [], []
        for expr in stmt.values:
            value = self.eval(expr)
            if isinstance(value, Poison):
                raise _Poisoned()
            if not isinstance(value, TensorVal) or isinstance(value.type, tuple):
                raise ArchTypeError(f"a block returns tensors, got {describe(value)}", expr.span)
            values.append((expr, value))
        for expr, value in values:  # outputs last: `return a, f(b)` computes f(b) before any output
            node = Node(kind="output", name=self.b.fresh("output"), inputs=(value.ref,), type=value.type, span=expr.span)
            self.b.add(self.ctx, node)
            outputs.append(node.name)
        self.b.outputs = tuple(outputs)
        raise _Returned()

    @property
    def is_factory(self) -> bool:
        """A block without inputs is a layer factory: it returns a layer, e.g. a Sequential."""
        return not any(isinstance(s, ast.Input) for s in self.definition.body or ())

    def _return_layer(self, stmt: ast.Return) -> None:
        value = self.eval(stmt.values[0]) if len(stmt.values) == 1 else None
        if isinstance(value, MemberRef):
            value = value.layer
        if not isinstance(value, Layer):
            raise ArchTypeError(
                f"{self.definition.name} has no inputs, so it is a layer factory and returns one layer"
                f"{'' if value is None else ', got ' + describe(value)}", stmt.span,
            )
        self.returned_layer = value
        self.b.outputs = ()

    def stmt_Assert(self, stmt: ast.Assert) -> None:
        self.b.guards.extend(run_assert(self, stmt))

    def stmt_Constrain(self, stmt: ast.Constrain) -> None:
        kept = constrain(self, stmt)
        if kept is not None:
            self.b.constraints.append(kept)
            self.ctx.constrained = True

    def stmt_Tie(self, stmt: ast.Tie) -> None:
        target, source = ".".join(stmt.target), ".".join(stmt.source)
        for path in stmt.target, stmt.source:
            if path[0] not in self.b.slots:
                raise ArchNameError(f"'{path[0]}' is not a member of {self.definition.name}", stmt.span)
        self.b.ties.append(Tie(target=target, source=source, span=stmt.span))

    # ---- calls
    def call(self, expr: ast.Call):
        func = self.eval(expr.func)
        if isinstance(func, Poison):
            return func
        if isinstance(func, Builtin) and func.name == "choice":
            return self.call_choice(expr)
        args, kwargs = self._arguments(expr, _positional_names(func))
        if any(_has_poison(v) for v in list(args) + list(kwargs.values())):
            return POISON
        return self.dispatch(func, args, kwargs, expr)

    def _arguments(self, expr: ast.Call, names: list[str]):
        args = []
        for i, arg in enumerate(expr.args):  # a choice in an argument is labelled by its name
            if i < len(names):
                with self.label_part(names[i]):
                    args.append(self.eval(arg))
            else:
                args.append(self.eval(arg))
        kwargs = {}
        for kw in expr.kwargs:
            if kw.name in kwargs:
                raise ArchTypeError(f"argument '{kw.name}' given twice", kw.span)
            with self.label_part(kw.name):
                kwargs[kw.name] = self.eval(kw.value)
        return args, kwargs

    def dispatch(self, func, args, kwargs, expr: ast.Call):
        if isinstance(func, Builtin):
            return func.fn(self, args, kwargs, expr)
        if isinstance(func, OpRef):
            return self.call_op(func.spec, args, kwargs, expr)
        if isinstance(func, BoundMethod):
            return self.call_method(func, args, kwargs, expr)
        if isinstance(func, BlockRef):
            return self.construct_block(func, args, kwargs, expr)
        if isinstance(func, Layer):
            return self.apply(func, args, kwargs, expr)
        raise ArchTypeError(f"{describe(func)} is not callable", expr.func.span)

    def call_op(self, spec, args, kwargs, expr: ast.Call):
        if spec.kind == "layer":
            return self.construct_op(spec, args, kwargs, expr)
        tensors, attrs = self._split_function_args(spec, args, kwargs, expr)
        if any(isinstance(t, ConstTensor) for t in tensors):
            return self._constant_op(spec, tensors, attrs, expr)
        if not tensors and spec.input_names and not spec.variadic:
            return self._numeric_function(spec, args, expr)
        return self.emit_op(spec.name, tensors, attrs, expr.span, arg_spans=_arg_spans(expr), attr_args=True)

    def _constant_op(self, spec, tensors, attrs, expr):
        """An op whose tensors are all constant is computed now (``flatten(coords, 1)``)."""
        if any(isinstance(t, TensorVal) for t in tensors):
            self._no_constant_tensor(*tensors, span=expr.span)
        try:
            bound = spec.bind(*attrs)
        except OpError as error:
            raise locate(error, expr.span, self.ctx, _arg_spans(expr)) from None
        return constants.apply_op(spec.name, [t for t in tensors if t is not None], bound, expr.span, self.ctx)

    def _numeric_function(self, spec, args, expr):
        numeric = {"sqrt": math.sqrt, "exp": math.exp, "rsqrt": lambda v: 1 / math.sqrt(v)}
        if spec.name in numeric and len(args) == 1 and is_number(args[0]) and not isinstance(args[0], dims.Expr):
            try:
                return numeric[spec.name](args[0])
            except (ValueError, OverflowError, ZeroDivisionError) as exc:
                raise ArchTypeError(f"{spec.name}({args[0]}): {exc}", expr.span) from None
        raise ArchTypeError(f"{spec.name} needs a tensor argument", expr.span)

    def _split_function_args(self, spec, args, kwargs, expr):
        names = list(spec.input_names)
        tensors: dict[str, Any] = {}
        attrs_pos = []
        for value in args:
            empty_list = spec.variadic and isinstance(value, (list, tuple)) and not value
            if (_is_tensorish(value) or empty_list) and len(tensors) < len(names):
                tensors[names[len(tensors)]] = value
            elif isinstance(value, TensorVal):  # not an attribute: say so, not "bad attribute value"
                if spec.variadic:
                    raise ArchTypeError(f"{spec.name} takes its tensors as one list, e.g. [a, b]", expr.span)
                raise ArchTypeError(
                    f"{spec.name} takes {len(names)} tensor input{'s' if len(names) != 1 else ''}"
                    f" ({', '.join(names)}), got more", expr.span)
            else:
                attrs_pos.append(value)
        attrs_kw = {}
        for key, value in kwargs.items():
            (tensors if key in names else attrs_kw)[key] = value
        ordered = [tensors.get(n) for n in names]
        if spec.variadic:
            last = ordered.pop()
            ordered.extend(last if isinstance(last, (list, tuple)) else ([last] if last is not None else []))
        return ordered, (attrs_pos, attrs_kw)

    def call_method(self, method: BoundMethod, args, kwargs, expr):
        spec = ops.get(method.op)
        if spec is None or spec.kind != "function":
            raise ArchTypeError(f"tensors have no method '{method.op}'", expr.func.span)
        return self.call_op(spec, [method.tensor] + list(args), kwargs, expr)

    def emit_op(self, op: str, tensors: list, attrs, span: Span, *, arg_spans=None, attr_args=False, out_type=None):
        spec = ops.get(op)
        assert spec is not None, f"op {op} is not registered"
        try:
            bound = spec.bind(*attrs) if attr_args else spec.bind([], attrs)
            if out_type is None:
                types = [t.type if isinstance(t, TensorVal) else None for t in tensors]
                for t, value in zip(types, tensors):
                    if value is not None and not isinstance(value, TensorVal):
                        raise OpError(f"{op} expects tensors, got {describe(value)}")
                out_type = spec.infer(bound, types)
        except OpError as error:
            raise locate(error, span, self.ctx, arg_spans) from None
        inputs = tuple(t.ref if t is not None else "" for t in tensors)
        node = Node(kind="op", name=self.b.fresh(self.target or op), op=op, inputs=inputs,
                    attrs=bound, type=out_type, span=span)
        self.b.add(self.ctx, node)
        return TensorVal(node.name, out_type)

    # ---- constructing layers
    def construct_op(self, spec, args, kwargs, expr: ast.Call) -> Layer:
        lifted = _lift_choice_values(args, kwargs)
        if lifted is not None:
            return self._lifted_choice(lifted, lambda a, k: self.construct_op(spec, a, k, expr), args, kwargs, expr)
        if any(isinstance(v, (TensorVal, list)) and _is_tensorish(v) for v in list(args) + list(kwargs.values())):
            if spec.name in ("Buffer", "Parameter"):  # Buffer(arange(7)): a model tensor, not a constant
                raise ArchTypeError(f"{spec.name} takes a constant tensor computed while elaborating, "
                                    "tensor([...]) (tensor(range(n)) for arange(n)), not a model tensor", expr.span)
            raise ArchTypeError(
                f"{spec.name} is a layer: construct it first, then apply it, e.g. {spec.name}(...)(x)",
                expr.span,
            )
        try:
            attrs = spec.bind(args, kwargs)
        except OpError as error:
            raise locate(error, expr.span, self.ctx, _arg_spans(expr)) from None
        return OpLayer(spec, attrs, expr.span)

    def construct_block(self, ref: BlockRef, args, kwargs, expr: ast.Call) -> Layer:
        lifted = _lift_choice_values(args, kwargs)
        if lifted is not None:
            return self._lifted_choice(lifted, lambda a, k: self.construct_block(ref, a, k, expr), args, kwargs, expr)
        bound = bind_params(ref, args, kwargs, expr.span, _arg_spans(expr), self.ctx.budget)
        if ref.definition.alias is not None:
            return self._call_alias(ref, bound, expr)
        if not any(isinstance(s, ast.Input) for s in ref.definition.body or ()):
            return self._run_factory(ref, bound, expr)
        return BlockLayer(ref, bound, expr.span)

    def _call_alias(self, ref: BlockRef, bound: dict, expr: ast.Call) -> Layer:
        """``model A = X(…)`` called as ``A()`` (also across an import) is the call it names."""
        with block_call(expr.span):  # `model A = A()` ends in a located limit, not a RecursionError
            self.ctx.budget.charge_block(ref.definition.name, expr.span)
            value = Body(self.ctx, ref, bound).eval(ref.definition.alias)
        if not isinstance(value, Layer):
            raise ArchTypeError(f"{ref.definition.kind} {ref.definition.name} must be a call of a block",
                                ref.definition.alias.span)
        return value

    def _run_factory(self, ref: BlockRef, bound: dict, expr: ast.Call) -> Layer:
        with block_call(expr.span):
            self.ctx.budget.charge_block(ref.definition.name, expr.span)
            factory = Body(self.ctx, ref, bound)
            factory._pending_inputs = None
            self.ctx.chain.append((ref.definition.name, self.target or ref.definition.name))
            try:
                factory.execute_body()
            finally:
                self.ctx.chain.pop()
        if factory.errors:
            raise ArchError.collect(factory.errors)
        layer = getattr(factory, "returned_layer", None)
        if layer is None:
            raise ArchTypeError(f"{ref.definition.name} returned no layer", expr.span)
        return layer

    def _lifted_choice(self, choice: ChoiceValue, build, args, kwargs, expr) -> ChoiceLayer:
        """``Dropout(p=choice(0.1, 0.2))`` is ``choice(Dropout(p=0.1), Dropout(p=0.2))``."""
        options = []
        for option in choice.options:
            swap = lambda v: option if v is choice else v  # noqa: E731
            options.append(build([swap(a) for a in args], {k: swap(v) for k, v in kwargs.items()}))
        return ChoiceLayer(choice.label, tuple(options), expr.span, lifted=True)

    # ---- applying layers
    def apply(self, layer: Layer, args, kwargs, expr: ast.Call):
        if kwargs:
            raise ArchTypeError("layers are applied to tensors positionally", expr.span)
        for value, arg in zip(args, expr.args):
            if not isinstance(value, TensorVal):
                raise ArchTypeError(f"a layer is applied to tensors, got {describe(value)}", arg.span)
        if not isinstance(layer, MemberRef):
            layer = self.declare(self._anonymous_name(), layer, expr.span, anonymous=True)
        return apply_member(self, layer, list(args), expr.span)

    def _anonymous_name(self) -> str:
        base = self.target or "layer"
        name, k = base, 0
        while name in self.b.slots or (name in self.locals and name != self.target
                                        and isinstance(self.locals[name], MemberRef)):
            k += 1
            name = f"{base}_{k}"
        return name

    def child_member(self, ref: MemberRef, key, span: Span) -> MemberRef:
        return child_layer(self, ref, key, span)

    def _declare_unapplied(self) -> None:
        for name, slot in self.b.slots.items():
            if slot.member is None:
                slot.member = declare_only(self, slot.layer, name)

    # ---- choices
    def call_choice(self, expr: ast.Call):
        kwargs = {kw.name: self.eval(kw.value) for kw in expr.kwargs}
        label = choice_label(self, kwargs, expr)
        options = []
        for i, arg in enumerate(expr.args):  # choices inside option i matter only when i is taken
            with self.label_part(str(i)), self.ctx.condition(label, (i,)):
                options.append(self.eval(arg))
        if any(isinstance(o, Poison) for o in options):
            return POISON
        return make_choice(self, options, label, expr)


# ---- block arguments ---------------------------------------------------------------------


def bind_params(ref: BlockRef, args: list, kwargs: dict, span: Span, arg_spans: dict[str, Span] | None = None,
                budget: Budget | None = None) -> dict:
    """Arguments of a block call → {param: value}, defaults filled in and types checked;
    evaluating the defaults is charged to ``budget``, the caller's run."""
    given = match_arguments(ref, args, kwargs, span, arg_spans or {})
    bound: dict[str, Any] = {}
    for param in ref.definition.params:
        where = (arg_spans or {}).get(param.name, span)
        if param.name in given:
            value = given[param.name]
        elif param.default is not None:  # evaluated in the block's own file, seeing the earlier parameters
            value = Body(Context(budget=budget), ref, dict(bound)).eval(param.default)
            where = param.default.span  # a default of the wrong type is the definition's fault
        else:
            raise ArchTypeError(f"{ref.definition.name} is missing argument '{param.name}'", span)
        check_type(param, value, ref.definition.name, where)
        bound[param.name] = value
    return bound


# ---- helpers -----------------------------------------------------------------------------


def _positional_names(func) -> list[str]:
    """Parameter names of a constructor's positional arguments (for choice labels)."""
    if isinstance(func, OpRef) and func.spec.kind == "layer":
        return [a.name for a in func.spec.attrs if not a.kw_only]
    if isinstance(func, BlockRef):
        return [p.name for p in func.definition.params]
    return []


class _Returned(Exception):
    """``return`` ends the body, as in Python: later statements do not run."""


def _has_poison(value) -> bool:
    """A value built from a name whose definition failed (also inside a list): report nothing more."""
    if isinstance(value, (list, tuple)):
        return any(_has_poison(v) for v in value)
    return isinstance(value, Poison)


def _is_tensorish(value) -> bool:
    if isinstance(value, (TensorVal, ConstTensor)):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, (TensorVal, ConstTensor)) for v in value)


def _params_of(member: Member, path: str):
    """(dotted path, ParamSpec) of every parameter under ``member``, named from ``path``."""
    if member.kind == "layer":
        for p in member.params:
            yield (f"{path}.{p.name}" if p.name else path), p
        return
    for name, child in member.own_members():
        yield from _params_of(child, f"{path}.{name}")


def _lift_choice_values(args, kwargs) -> ChoiceValue | None:
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, ChoiceValue):
            return value
    return None


def _arg_spans(expr: ast.Call) -> dict[str, Span]:
    return {kw.name: kw.span for kw in expr.kwargs}


def _ir_args(args: dict[str, Any]) -> dict[str, Any]:
    return {k: _ir_value(v) for k, v in args.items()}


def _ir_value(value):
    if isinstance(value, BlockRef):
        return BlockName(value.definition.name)
    if isinstance(value, Layer):
        return _layer_text(value)
    if isinstance(value, (list, tuple)):
        return tuple(_ir_value(v) for v in value)
    return value


def _layer_text(layer: Layer) -> str:
    """A layer argument as the IR shows it: ``Linear``, ``Bottleneck``, ``Sequential``, ``choice``."""
    if isinstance(layer, MemberRef):
        return _layer_text(layer.layer)
    if isinstance(layer, OpLayer):
        return layer.spec.name
    if isinstance(layer, BlockLayer):
        return layer.ref.definition.name
    return "Sequential" if isinstance(layer, SeqLayer) else "choice"


def _dim_text(expr) -> str:
    return format_expr(expr)


def _unknown_name(name: str, visible) -> str:
    close = difflib.get_close_matches(name, sorted(set(visible)), n=1)
    return f"unknown name '{name}'" + (f"; did you mean '{close[0]}'?" if close else "")
