"""Static checks over the AST of every loaded file, before anything is elaborated.

Every name used in a block must be a parameter, an input, something the block assigns
(anywhere in it), a size named in an input declaration, a loop or comprehension variable,
a top-level name of the file, or a builtin — even in blocks no model uses and in branches
no argument takes.  Also checked: parameter type names, duplicate parameters, inputs
declared at the top of a body, and a return in every block.  All errors are reported
together.  Must not import the elaborator or any backend.
"""

from __future__ import annotations

import difflib

from archlang.errors import ArchError, ArchNameError, ArchTypeError
from archlang.syntax import ast


def resolve_units(units) -> None:
    """Time linear in the files' size: each definition looks names up in the file's set of
    top-level names and a set of its own, never a copy of the former."""
    errors: list[ArchError] = []
    hints = _Hints()
    for unit in units:
        top = frozenset(unit.visible_names())
        for definition in unit.module.items:
            if isinstance(definition, ast.BlockDef):
                errors.extend(_check_definition(definition, top, hints))
            elif isinstance(definition, ast.Let):
                errors.extend(_Names(top, hints).expr(definition.value))
    if errors:
        raise ArchError.collect(errors)


class _Hints:
    """"did you mean" suggestions, each a scan of every visible name: the first few only, so
    a file full of unknown names is not quadratic."""

    LIMIT = 100

    def __init__(self) -> None:
        self.left = self.LIMIT

    def suggest(self, name: str, names) -> str:
        if self.left <= 0:
            return ""
        self.left -= 1
        close = difflib.get_close_matches(name, sorted(names), n=1)
        return f"; did you mean '{close[0]}'?" if close else ""


# The type names a block parameter may declare (``depth: int``, ``block: block``).
KNOWN_TYPES = ("int", "float", "bool", "str", "dim", "shape", "block", "layer", "list", "tuple", "any")


def _check_definition(definition: ast.BlockDef, top: frozenset[str], hints: _Hints) -> list[ArchError]:
    errors: list[ArchError] = []
    seen: set[str] = set()
    for param in definition.params:
        if param.name in seen:
            errors.append(ArchNameError(f"parameter '{param.name}' is declared twice", param.span))
        seen.add(param.name)
        errors.extend(_check_type(param.type, KNOWN_TYPES))
    names = _Names(top, hints, seen)
    for param in definition.params:
        if param.default is not None:
            errors.extend(names.expr(param.default))
    if definition.alias is not None:
        return errors + names.expr(definition.alias)
    errors.extend(_check_body_shape(definition))
    names.local |= _assigned(definition.body)
    body_errors = names.statements(definition.body)
    if body_errors and not any(isinstance(s, ast.Input) for s in definition.body):
        for error in body_errors:
            if error.message.startswith("unknown name '"):
                error.with_note(_factory_hint(definition, error.message.split("'")[1]))
    return errors + body_errors


def _factory_hint(definition: ast.BlockDef, name: str) -> str:
    """A block without ``input`` is a layer factory: a tensor its body uses is unknown."""
    return (f"{definition.name} declares no input, so it is a layer factory (it returns a layer); "
            f"to take a tensor, declare it first: input {name}: [...]")


def _check_type(type_ref, known) -> list[ArchError]:
    if type_ref is None:
        return []
    errors = []
    if type_ref.name not in known:
        close = difflib.get_close_matches(type_ref.name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (types: {', '.join(known)})"
        errors.append(ArchTypeError(f"unknown type '{type_ref.name}'{hint}", type_ref.span))
    for arg in type_ref.args:
        errors.extend(_check_type(arg, known))
    return errors


def _check_body_shape(definition: ast.BlockDef) -> list[ArchError]:
    errors = []
    for stmt in _nested_statements(definition.body):
        if isinstance(stmt, ast.Input):
            errors.append(ArchTypeError("inputs are declared at the top level of a block body", stmt.span))
    seen: set[str] = set()
    for stmt in definition.body:
        if isinstance(stmt, ast.Input):
            if stmt.name in seen:
                errors.append(ArchNameError(f"input '{stmt.name}' is declared twice", stmt.span))
            seen.add(stmt.name)
    if not any(isinstance(s, ast.Return) for s in _all_statements(definition.body)):
        errors.append(ArchTypeError(f"{definition.kind} {definition.name} never returns a value", definition.span))
    return errors


def _nested_statements(body):
    for stmt in body:
        for suite in _suites(stmt):
            yield from _all_statements(suite)


def _all_statements(body):
    for stmt in body:
        yield stmt
        for suite in _suites(stmt):
            yield from _all_statements(suite)


def _suites(stmt):
    if isinstance(stmt, ast.If):
        yield from (suite for _, suite in stmt.branches)
        if stmt.orelse is not None:
            yield stmt.orelse
    elif isinstance(stmt, ast.For):
        yield stmt.body


def _assigned(body) -> set[str]:
    names: set[str] = set()
    for stmt in _all_statements(body):
        if isinstance(stmt, ast.Assign):
            names.update(stmt.targets)
        elif isinstance(stmt, ast.Input):
            names.add(stmt.name)
            names.update(d.id for d in stmt.dims if isinstance(d, ast.Name))
        elif isinstance(stmt, ast.For):
            names.add(stmt.var)
    return names


class _Names:
    """Finds names that nothing defines: neither the file (``top``, shared) nor the
    definition (``local``)."""

    def __init__(self, top: frozenset[str], hints: _Hints, local: set[str] | None = None) -> None:
        self.top = top
        self.hints = hints
        self.local = set(local or ())

    def statements(self, body) -> list[ArchError]:
        errors = []
        for stmt in _all_statements(body):
            extra = METRICS if isinstance(stmt, ast.Constrain) else frozenset()
            for expr in _expressions(stmt):
                errors.extend(self.expr(expr, extra))
        return errors

    def expr(self, expr, extra: frozenset = frozenset()) -> list[ArchError]:
        if expr is None:
            return []
        if isinstance(expr, ast.Name):
            known = expr.id in self.local or expr.id in self.top or expr.id in extra
            return [] if known else [self._unknown(expr)]
        if isinstance(expr, ast.ListComp):
            inner = extra | {expr.var}
            return (self.expr(expr.iter, extra) + self.expr(expr.elt, inner) + self.expr(expr.cond, inner))
        if isinstance(expr, ast.Attribute):
            return self.expr(expr.value, extra)
        errors = []
        for child in _children(expr):
            errors.extend(self.expr(child, extra))
        return errors

    def _unknown(self, expr: ast.Name) -> ArchNameError:
        hint = self.hints.suggest(expr.id, self.local | self.top)
        return ArchNameError(f"unknown name '{expr.id}'{hint}", expr.span)


def _expressions(stmt):
    if isinstance(stmt, ast.Input):
        return list(stmt.dims)
    if isinstance(stmt, ast.Assign):
        return [stmt.value]
    if isinstance(stmt, ast.If):
        return [cond for cond, _ in stmt.branches]
    if isinstance(stmt, ast.For):
        return [stmt.iter]
    if isinstance(stmt, ast.Return):
        return list(stmt.values)
    if isinstance(stmt, ast.Assert):
        return [stmt.cond, stmt.message]
    if isinstance(stmt, ast.Constrain):
        return [stmt.cond]
    return []


# Names a `constrain` condition may read without defining them: measures of the whole architecture.
METRICS = frozenset({"params", "macs"})


def free_names(expr, bound: frozenset = frozenset()) -> list[str]:
    """The names an expression reads (not those its comprehensions bind), in order, once each."""
    found: dict[str, None] = {}

    def walk(e, inner):
        if e is None:
            return
        if isinstance(e, ast.Name):
            if e.id not in inner:
                found.setdefault(e.id)
        elif isinstance(e, ast.ListComp):
            walk(e.iter, inner)
            walk(e.elt, inner | {e.var})
            walk(e.cond, inner | {e.var})
        elif isinstance(e, ast.Attribute):
            walk(e.value, inner)
        else:
            for child in _children(e):
                walk(child, inner)

    walk(expr, bound)
    return list(found)


def _children(expr):
    if isinstance(expr, (ast.Const, ast.EllipsisLit)):
        return ()
    if isinstance(expr, ast.Unary):
        return (expr.operand,)
    if isinstance(expr, ast.Binary):
        return (expr.left, expr.right)
    if isinstance(expr, ast.Compare):
        return (expr.left,) + expr.rights
    if isinstance(expr, ast.IfExp):
        return (expr.cond, expr.then, expr.orelse)
    if isinstance(expr, ast.Call):
        return (expr.func,) + expr.args + tuple(k.value for k in expr.kwargs)
    if isinstance(expr, ast.Subscript):
        return (expr.value,) + expr.items
    if isinstance(expr, ast.Slice):
        return tuple(e for e in (expr.start, expr.stop, expr.step) if e is not None)
    if isinstance(expr, (ast.ListExpr, ast.TupleExpr)):
        return expr.items
    raise AssertionError(f"unhandled expression {type(expr).__name__}")


def value_reads(body, name: str) -> list[ast.Name]:
    """Every read of ``name`` in a block body as a value: not as the layer a call applies
    (``name(x)``) nor the owner of an attribute (``name.weight``).  Comprehensions that bind
    ``name`` hide it."""
    found: list[ast.Name] = []

    def walk(e) -> None:
        if e is None or isinstance(e, ast.Attribute):
            return
        if isinstance(e, ast.Name):
            if e.id == name:
                found.append(e)
        elif isinstance(e, ast.ListComp):
            if e.var != name:
                walk(e.iter), walk(e.elt), walk(e.cond)
            else:
                walk(e.iter)
        elif isinstance(e, ast.Call) and isinstance(e.func, ast.Name):
            for child in _children(e)[1:]:
                walk(child)
        else:
            for child in _children(e):
                walk(child)

    for stmt in _all_statements(body):
        for expr in _expressions(stmt):
            walk(expr)
    return found
