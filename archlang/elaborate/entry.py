"""Entry points: elaborating a model, space or block of a file into an ``ir.Model``, and
checking every entry point of a file at once.

Must not import a backend.
"""

from __future__ import annotations

from archlang.elaborate.body import Body, Context, _ir_args, bind_params
from archlang.elaborate.evaluate import NeedsConcrete
from archlang.elaborate.layers import elaborate_block
from archlang.elaborate.satisfy import broken, collect, violation
from archlang.elaborate.sharing import SharedBlocks
from archlang.elaborate.values import BlockLayer, BlockRef
from archlang.errors import ArchError, ArchNameError, ArchTypeError, SpaceError
from archlang.errors.limits import Budget
from archlang.ir import Model
from archlang.ir.types import TensorType
from archlang.resolve.units import Unit
from archlang.syntax import ast


def elaborate_entry(unit: Unit, definition: ast.BlockDef, params: dict, inputs: dict, assignment,
                    budget: Budget | None = None, shared: SharedBlocks | None = None) -> Model:
    """The IR of ``definition`` (a model, space or block of ``unit``) with ``params`` and
    ``inputs``; its work is charged to ``budget`` (by default a run of its own); block
    instances in ``shared`` are reused, and the ones it builds offered to it."""
    name = definition.name
    ctx = Context(assignment, budget, shared)
    ctx.entry = name
    ref = BlockRef(definition, unit)
    try:  # a decision the entry point itself branches on cannot be lifted to a caller
        if definition.alias is not None:
            ref, args = _alias_target(ctx, ref, params)
        else:
            args = bind_params(ref, [], params, definition.span, budget=ctx.budget)
        if not any(isinstance(s, ast.Input) for s in ref.definition.body or ()):
            raise ArchTypeError(
                f"{definition.kind} {name} declares no inputs (a block without inputs is a layer factory)",
                definition.span,
            )
        types = _input_types(ref.definition, inputs)
        graph = elaborate_block(ctx, ref, args, types, definition.span, "")
    except NeedsConcrete as need:
        raise need.error() from None
    # an assignment fixes choices: only the ones it leaves open are still free
    free = {label: decl for label, decl in ctx.choices.items() if label not in ctx.assignment}
    if definition.kind == "model" and free:
        labels = ", ".join(list(free)[:6]) + (" …" if len(free) > 6 else "")
        raise SpaceError(
            f"model {name} has {len(free)} free choice{'s' if len(free) != 1 else ''} ({labels}); "
            "declare it as `space`, or fix the choices",
            definition.span,
        )
    model = Model(name=name, kind=definition.kind, params=_ir_args(args), graph=graph,
                  choices=tuple(free.values()), span=definition.span)
    if ctx.constrained and not free:
        _check_constraints(unit, model)
    return model


def _check_constraints(unit: Unit, model: Model) -> None:
    """A concrete architecture satisfies its ``constrain`` statements (metrics included)."""
    failures = broken(model, unit, collect(model.graph))
    if failures:
        raise ArchError.collect([violation(model, c, values) for c, values in failures])


def _alias_target(ctx: Context, ref: BlockRef, params: dict):
    """``model ResNet18 = ResNet(BasicBlock, [2, 2, 2, 2])``: the block called, and its arguments."""
    definition = ref.definition
    own = {p.name for p in definition.params}
    mine = {k: v for k, v in params.items() if k in own}
    bound = bind_params(ref, [], mine, definition.span, budget=ctx.budget) if definition.params else {}
    value = Body(ctx, ref, bound).eval(definition.alias)
    if not isinstance(value, BlockLayer):
        raise ArchTypeError(f"{definition.kind} {definition.name} must be a call of a block", definition.alias.span)
    rest = {k: v for k, v in params.items() if k not in own}
    args = bind_params(value.ref, [], {**value.args, **rest}, definition.span, budget=ctx.budget) if rest else value.args
    return value.ref, args


def _input_types(definition: ast.BlockDef, inputs: dict):
    declared = [s for s in definition.body or () if isinstance(s, ast.Input)]
    names = {s.name for s in declared}
    for key in inputs:
        if key not in names:
            raise ArchNameError(
                f"{definition.name} has no input '{key}' (its inputs: {', '.join(sorted(names)) or 'none'})",
                definition.span,
            )
    if not inputs:
        return None
    return [_override(s, inputs[s.name]) if s.name in inputs else None for s in declared]


def _override(stmt: ast.Input, shape) -> TensorType:
    return TensorType(dtype=stmt.dtype or "float32", shape=tuple(shape))


def check_program(unit: Unit) -> list[Model]:
    """Every model and space of ``unit`` elaborated with its defaults, and every constant
    evaluated; all errors reported together.  All of it is one run: the load's budget."""
    models, errors = [], []
    shared = SharedBlocks()  # the variants of a file (ResNet18, ResNet34) share most blocks
    for name in list(unit.lets):
        try:
            unit.lookup(name)
        except ArchError as error:
            errors.append(error)
    for definition in unit.definitions.values():
        if definition.kind == "block" or _needs_arguments(definition):
            continue
        try:
            models.append(elaborate_entry(unit, definition, {}, {}, None, unit.budget, shared))
        except ArchError as error:
            errors.append(error)
    if errors:
        raise ArchError.collect(errors)
    return models


def _needs_arguments(definition: ast.BlockDef) -> bool:
    return any(p.default is None for p in definition.params)
