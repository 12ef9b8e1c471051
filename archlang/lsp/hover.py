"""Hover: what the checker knows about the name under the cursor, as Markdown.

A tensor shows its inferred type (dtype and symbolic shape) per distinct instance of the
block it is in; a layer its bound arguments, parameter count and parameter shapes; a block,
model or space its signature, docstring, inputs and, where it was elaborated, its
parameter count and output types; an op its signature.  Nothing is shown that the checker
did not compute.

An API-layer module: must not import the protocol libraries or a backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from archlang.errors import Span
from archlang.ir.params import count_params
from archlang.lsp.analysis import Analysis
from archlang.lsp.describe import (
    block_signature,
    count_text,
    inputs_text,
    member_params_text,
    member_text,
    op_doc,
    op_signature,
    params_count_text,
    value_text,
)
from archlang.lsp.lookup import Target, target_at
from archlang.lsp.shapes import statement_types, type_text
from archlang.syntax import ast
from archlang.syntax.printer import format_expr

MAX_INSTANCES = 4  # distinct shapes listed before "… and N more"


@dataclass(frozen=True)
class Hover:
    markdown: str
    span: Span


def hover(analysis: Analysis, line: int, col: int) -> Hover | None:
    target = target_at(analysis, line, col)
    if target is None:
        return None
    describe = _DESCRIBE.get(target.kind)
    text = describe(analysis, target) if describe else None
    return Hover(text, target.span) if text else None


def _code(text: str) -> str:
    return f"```arch\n{text}\n```"


def _local(analysis: Analysis, target: Target) -> str | None:
    bound = target.binding
    stmt = bound.node
    parts = []
    if bound.kind == "param":
        parts.append(_code(f"(parameter) {_param_line(stmt)}"))
        values = _distinct_args(analysis, target.owner, bound.name)
        if values:
            parts.append(_instances("value", values))
    elif bound.kind == "for":
        parts.append(_code(f"(loop variable) {bound.name} in {format_expr(stmt.iter)}"))
    else:
        kind = "input" if bound.kind == "input" else "value"
        parts.append(_code(f"({kind}) {bound.name}" + (f" = {format_expr(stmt.value)}" if bound.kind == "assign" else "")))
        if bound.kind == "assign":
            parts += _members(analysis, stmt)
        types = statement_types(analysis.shapes, stmt)
        if types:
            parts.append(_instances("type", [(type_text(t), path) for t, path in types]))
        elif bound.kind == "assign":  # a layer: what applying it gives
            outputs = analysis.shapes.calls(target.owner, bound.name)
            if outputs:
                parts.append(_instances("output", [(type_text(t), path) for t, path in outputs]))
    return "\n\n".join(parts)


def _param_line(param: ast.Param) -> str:
    text = param.name + (f": {param.type}" if param.type is not None else "")
    return text + (f" = {format_expr(param.default)}" if param.default is not None else "")


def _members(analysis: Analysis, stmt: ast.Assign) -> list[str]:
    """The layer (or block instance) an assignment binds: arguments, parameters."""
    seen = analysis.shapes.members_at(stmt.value.span)
    if not seen:
        return []
    member = seen[0].item
    lines = [f"**layer** `{member_text(member)}`"]
    if member.kind == "block" and member.graph is not None and member.graph.doc:
        lines.append(member.graph.doc)
    lines.append(f"**parameters** {params_count_text(member)}")
    shapes = member_params_text(member)
    if shapes:
        lines.append("\n".join(f"- `{s}`" for s in shapes))
    if len({member_text(s.item) for s in seen}) > 1:
        lines.append(f"*{len(seen)} instances with different arguments; the first, in {seen[0].path}*")
    return ["\n\n".join(lines)]


def _instances(what: str, pairs: list[tuple[str, str]]) -> str:
    """One line per distinct value, with the instance it comes from when there are several."""
    if len(pairs) == 1:
        return f"**{what}** `{pairs[0][0]}`"
    lines = [f"**{what}** (per instance):"]
    for text, path in pairs[:MAX_INSTANCES]:
        lines.append(f"- `{text}` — in {path}")
    if len(pairs) > MAX_INSTANCES:
        lines.append(f"- … and {len(pairs) - MAX_INSTANCES} more")
    return "\n".join(lines)


def _distinct_args(analysis: Analysis, owner: ast.BlockDef, name: str) -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    for seen in analysis.shapes.instances(owner):
        if name in seen.item.args:
            found.setdefault(value_text(seen.item.args[name]), seen.path)
    return list(found.items())


def _definition(analysis: Analysis, target: Target) -> str:
    definition = target.definition
    parts = [_code(block_signature(definition))]
    if definition.doc:
        parts.append(definition.doc)
    inputs = inputs_text(definition)
    if inputs:
        parts.append("**inputs** " + ", ".join(f"`{i}`" for i in inputs))
    instances = analysis.shapes.instances(definition) or _alias_instances(analysis, definition)
    if instances:
        counts = _dedupe((count_text(count_params(s.item)), s.path) for s in instances)
        outputs = _dedupe((", ".join(type_text(t) for t in s.item.output_types), s.path) for s in instances)
        parts.append(_instances("parameters", counts))
        parts.append(_instances("output", outputs))
    if target.file and target.file != analysis.file:
        parts.append(f"*defined in {target.file}*")
    return "\n\n".join(parts)


def _alias_instances(analysis: Analysis, definition: ast.BlockDef):
    """``model ResNet18 = ResNet(…)`` is elaborated as the block it calls: its top graph."""
    model = analysis.models.get(definition.name)
    if model is None:
        return []
    return [_Top(model.graph, definition.name)]


@dataclass(frozen=True)
class _Top:
    item: object
    path: str


def _dedupe(pairs) -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    for text, path in pairs:
        found.setdefault(text, path)
    return list(found.items())


def _op(analysis: Analysis, target: Target) -> str:
    spec = target.value
    return "\n\n".join([_code(op_signature(spec)), op_doc(spec)])


def _builtin(analysis: Analysis, target: Target) -> str:
    return _code(f"(builtin) {target.name}")


def _let(analysis: Analysis, target: Target) -> str:
    let = target.value
    if isinstance(let, ast.Let):
        text = f"let {let.name} = {format_expr(let.value)}"
        unit = analysis.unit
        value = unit.scope.get(let.name) if unit is not None else None
        return _code(text) + (f"\n\n**value** `{value_text(value)}`" if value is not None else "")
    return _code(f"{target.name} = {value_text(let)}")


def _module(analysis: Analysis, target: Target) -> str:
    names = sorted(n for n in target.value.scope)
    return _code(f"(module) {target.name}") + f"\n\n{target.file}: " + ", ".join(f"`{n}`" for n in names)


def _keyword(analysis: Analysis, target: Target) -> str | None:
    callee = target.callee
    if callee is None:
        return None
    if isinstance(callee, Target):
        param = next((p for p in callee.definition.params if p.name == target.name), None)
        return _code(f"(argument of {callee.name}) {_param_line(param)}") if param is not None else None
    attr = callee.attr(target.name)
    if attr is None:
        return None
    default = "" if attr.required else f" = {value_text(attr.default)}"
    choices = f"\n\none of {', '.join(map(value_text, attr.choices))}" if attr.choices else ""
    return _code(f"(argument of {callee.name}) {attr.name}: {attr.type}{default}") + choices


def _file(analysis: Analysis, target: Target) -> str:
    return f"`{target.file}`"


_DESCRIBE = {
    "local": _local, "definition": _definition, "op": _op, "builtin": _builtin, "let": _let,
    "module": _module, "keyword": _keyword, "file": _file,
}
