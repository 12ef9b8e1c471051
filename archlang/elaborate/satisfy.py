"""Evaluating ``constrain`` statements on a concrete architecture.

``archlang.elaborate.constrain`` keeps a condition it cannot decide while elaborating as an
``ir.Constraint``; here such constraints are collected from a model's IR and evaluated for
one architecture: a fixed model, or a space's model with its decisions read from an
assignment (``choose``).  Must not import a backend.

    collect(model.graph)                       # every ir.Constraint in a model's IR
    broken(model, unit, constraints, choose)   # those an architecture does not satisfy
"""

from __future__ import annotations

from archlang.elaborate.body import Body, Context
from archlang.elaborate.values import BlockRef
from archlang.errors import ConstraintError, SpaceError, Span
from archlang.ir import ChoiceRef, Constraint, Graph, Member, Model, dims
from archlang.ir.params import count_params
from archlang.report.counts import model_macs
from archlang.syntax import ast


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
    values = {}
    if "params" in names:
        values["params"] = _number(count_params(model.graph), model, "parameters")
    if "macs" in names:
        values["macs"] = _number(model_macs(model), model, "MACs")
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
