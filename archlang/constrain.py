"""``constrain`` statements: captured as data while elaborating, evaluated per architecture.

A condition that reads neither a search decision nor a metric is decided on the spot: it
holds (nothing is kept) or it fails (a located error; inside an option of a choice it is
kept, so it rules out the configurations that take that option).  Any other condition
becomes an ``ir.Constraint`` of the graph being built: its expression and the values of the
names it reads, with search decisions kept symbolic (``ir.ChoiceRef``, or sizes over integer
choices), evaluated later for each architecture (``Space.feasible``, and a model's own
check when it is elaborated).  Must not import a backend.

    collect(model.graph)                       # every ir.Constraint in a model's IR
    broken(model, unit, constraints, choose)   # those an architecture does not satisfy
"""

from __future__ import annotations

from archlang import ast, dims
from archlang.builtins import describe
from archlang.errors import ArchTypeError, ConstraintError, SpaceError, Span
from archlang.fmt import format_expr
from archlang.ir import ChoiceRef, Constraint, Graph, Member, Model
from archlang.resolve import METRICS, free_names
from archlang.values import ChoiceValue


def constrain(body, stmt) -> Constraint | None:
    """The constraint a ``constrain`` statement leaves in the graph, or None if it holds."""
    from archlang.program import builtins  # the program module imports the elaborator

    env, metrics, searched = {}, [], False
    for name in free_names(stmt.cond):
        if name in body.locals or (body.unit.lookup(name) is not None and name not in builtins()):
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


# ---- evaluating constraints on an architecture ---------------------------------------------


def collect(graph: Graph) -> tuple[Constraint, ...]:
    """Every constraint in a graph and the graphs under it, each once."""
    found: dict[tuple, Constraint] = {}
    seen: set[int] = set()

    def visit_graph(g: Graph | None) -> None:
        if g is None or id(g) in seen:
            return
        seen.add(id(g))
        for c in g.constraints:
            found.setdefault((c.text, c.span, repr(c.env)), c)
        for _, member in g.members:
            visit_member(member)
        for node in g.nodes:
            visit_graph(node.body)
            for branch in node.branches:
                visit_graph(branch.body)

    def visit_member(m: Member) -> None:
        visit_graph(m.graph)
        for _, child in m.members:
            visit_member(child)

    visit_graph(graph)
    return tuple(found.values())


def broken(model: Model, unit, constraints, choose=None) -> list[tuple[Constraint, dict]]:
    """The constraints ``model`` (a concrete architecture) does not satisfy, each with the
    values it read.  ``choose(label)`` gives the option a decision took (an assignment's
    value, for constraints kept in a space's IR); without it the model must have none."""
    measured: dict = {}
    out = []
    for c in constraints:
        missing = [m for m in c.metrics if m not in measured]
        if missing:
            measured.update(measure(model, missing))
        env = {name: _resolve(value, choose, c.span) for name, value in c.env.items()}
        env.update({m: measured[m] for m in c.metrics})
        if not _truth(c, unit, env):
            out.append((c, {name: env[name] for name in c.metrics}))
    return out


def violation(model: Model, c: Constraint, values: dict) -> ConstraintError:
    """The located error for an architecture that breaks ``c``."""
    read = ", ".join(f"{name} = {value:,}" for name, value in values.items())
    return ConstraintError(f"{model.name}: the constraint '{c.text}' does not hold" + (f" ({read})" if read else ""),
                           c.span)


def _truth(c: Constraint, unit, env: dict) -> bool:
    from archlang.elaborate import Body, Context
    from archlang.values import BlockRef

    holder = ast.BlockDef("block", "constrain", (), None, (), None, c.span)
    return bool(Body(Context(), BlockRef(holder, unit), env).truth(c.cond))


def _resolve(value, choose, span: Span):
    if isinstance(value, ChoiceRef):
        return value.options[_chosen(choose, value.label, span)[0]]
    if isinstance(value, dims.Expr):
        env = {}
        for name in dims.free_symbols(value):
            label = name[:-1] if name.endswith("#") else name
            index, option = _chosen(choose, label, span)
            env[name] = index if name.endswith("#") else option
        return dims.evaluate(value, env)
    if isinstance(value, (list, tuple)):
        items = [_resolve(v, choose, span) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def _chosen(choose, label: str, span: Span):
    assert choose is not None, f"constraint reads decision {label} of a concrete model"
    return choose(label)


def measure(model: Model, names) -> dict:
    """``params`` and per-example ``macs`` of a concrete model, as ints."""
    from archlang.summarize import count_params, summarize

    values = {}
    if "params" in names:
        values["params"] = _number(count_params(model.graph), model, "parameters")
    if "macs" in names:
        values["macs"] = _number(summarize(model).macs, model, "MACs")
    return values


def _number(value, model: Model, what: str) -> int:
    """An int: the batch size (first input dimension) set to 1; other sizes must be concrete."""
    if isinstance(value, int):
        return value
    batch = {d for n in model.graph.input_nodes for d in n.type.shape[:1] if not isinstance(d, int)}
    env = {name: 1 for d in batch for name in dims.free_symbols(d)}
    missing = dims.free_symbols(value) - set(env)
    if missing:
        raise SpaceError(
            f"the {what} of {model.name} depend on the size{'s' if len(missing) > 1 else ''} "
            f"{', '.join(sorted(missing))}; give concrete inputs (inputs={{...}})", model.graph.span,
        )
    return dims.evaluate(value, env)
