"""``constrain`` statements, captured as data while a body is elaborated.

A condition that reads neither a search decision nor a metric is decided on the spot: it
holds (nothing is kept) or it fails (a located error; inside an option of a choice it is
kept, so it rules out the configurations that take that option).  Any other condition
becomes an ``ir.Constraint`` of the graph being built: its expression and the values of the
names it reads, with search decisions kept symbolic (``ir.ChoiceRef``, or sizes over integer
choices), evaluated later for each architecture (``Space.feasible``, and a model's own
check when it is elaborated: ``archlang.elaborate.satisfy``).  Must not import a backend.
"""

from __future__ import annotations

from archlang.elaborate.builtins import describe
from archlang.elaborate.values import ChoiceValue
from archlang.errors import ArchTypeError, ConstraintError, Span
from archlang.ir import ChoiceRef, Constraint, dims
from archlang.resolve.names import METRICS, free_names
from archlang.syntax.printer import format_expr


def constrain(body, stmt) -> Constraint | None:
    """The constraint a ``constrain`` statement leaves in the graph, or None if it holds."""
    env, metrics, searched = {}, [], False
    for name in free_names(stmt.cond):
        if name in body.locals or (body.unit.lookup(name) is not None and name not in body.unit.builtins):
            value, depends = capture(body.lookup(name, stmt.span), name, stmt.span)
            env[name] = value
            searched = searched or depends
        elif name in METRICS:
            metrics.append(name)
    text = format_expr(stmt.cond)
    if not searched and not metrics:
        if body.truth(stmt.cond):
            return None
        if not body.ctx.conditions:
            raise ConstraintError(f"the constraint '{text}' does not hold", stmt.span)
    return Constraint(text=text, cond=stmt.cond, env=env, metrics=tuple(metrics), span=stmt.span)


def capture(value, name: str, span: Span):
    """(value as kept in the IR, whether it depends on a search decision)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value, False
    if isinstance(value, ChoiceValue):
        return ChoiceRef(label=value.label, options=value.options), True
    if isinstance(value, dims.Expr):
        shapes = sorted(s for s, domain in dims.symbols(value).items() if domain is None)
        if shapes:
            raise ArchTypeError(
                f"a constraint cannot read '{name}': it depends on the size{'s' if len(shapes) > 1 else ''} "
                f"{', '.join(shapes)} of an input, which is not a search decision", span,
            )
        return value, True
    if isinstance(value, (list, tuple)):
        items = [capture(v, name, span) for v in value]
        kept = [v for v, _ in items]
        return (kept if isinstance(value, list) else tuple(kept)), any(d for _, d in items)
    raise ArchTypeError(
        f"a constraint reads numbers, strings, lists and search choices; '{name}' is {describe(value)}", span,
    )
