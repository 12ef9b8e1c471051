"""Completion: what may be written at the cursor.

* after ``module.``: the definitions of an imported module (``std.``, ``blocks.``);
  after ``member.``: the members inside a layer the block built (``downsample.0``);
  after ``tensor.``: ``shape``, ``ndim``, ``dtype`` and the functional ops, as methods;
* inside a call's parentheses: the keyword arguments of the op or block called that the
  call has not given yet, with their types and defaults;
* elsewhere: the names in scope (the block's parameters, inputs and earlier assignments, the
  file's definitions, constants and imports), the ops with their signatures, the builtins
  and the keywords.

The text at the cursor need not parse (it is being typed): the call and the dotted name
before the cursor are read off the raw text, the names from the last analysis that parsed.
An API-layer module: must not import the protocol libraries or a backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archlang import ops
from archlang.lsp.analysis import Analysis
from archlang.lsp.describe import binding_detail, block_signature, op_doc, op_signature, param_text, value_text
from archlang.lsp.lookup import Target, resolve_name
from archlang.lsp.walk import bindings, definition_at
from archlang.resolve.units import BlockRef, ImportedModule
from archlang.syntax import ast

STATEMENT_KEYWORDS = ("input", "if", "elif", "else", "for", "return", "assert", "constrain", "tie")
TOP_KEYWORDS = ("block", "model", "space", "let", "import", "from")
CONSTANTS = ("true", "false", "none")
TENSOR_ATTRIBUTES = ("shape", "ndim", "dtype")

_DOTTED_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\.([A-Za-z_][A-Za-z0-9_]*)?$")
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Completion:
    label: str
    kind: str  # keyword, op, function, definition, module, variable, member, argument, field, constant
    detail: str = ""
    documentation: str = ""
    insert_text: str | None = None


def complete(analysis: Analysis, lines: list[str], line: int, col: int) -> list[Completion]:
    """Completions at (line, col) of ``lines`` (the document as it is now)."""
    before = lines[line - 1][: col - 1] if 1 <= line <= len(lines) else ""
    owner = _owner(analysis, line)
    dotted = _DOTTED_BEFORE.search(before)
    if dotted is not None:
        return _after_dot(analysis, dotted.group(1), owner, line)
    call = _open_call(lines, line, col)
    items = []
    if call is not None and call[1]:
        callee, _, named, positional = call
        items += _arguments(analysis, callee, named, positional, owner, line)
    items += _names(analysis, owner, line, col, at_statement_start=not before[: len(before) - len(_prefix(before))].strip())
    return items


def _prefix(before: str) -> str:
    found = _PREFIX.search(before)
    return found.group() if found else ""


def _owner(analysis: Analysis, line: int) -> ast.BlockDef | None:
    if analysis.module is None:
        return None
    return definition_at(analysis.module, line, len(analysis.lines))


# ---- after a dot --------------------------------------------------------------------------


def _after_dot(analysis: Analysis, chain: str, owner, line: int) -> list[Completion]:
    parts = chain.split(".")
    target = resolve_name(analysis, parts[0], None, owner, line, 10**6)
    if target is None:
        return []
    if target.kind == "module" and len(parts) == 1:
        return [_definition_item(name, value.definition) for name, value in sorted(target.value.scope.items())
                if isinstance(value, BlockRef)]
    if target.kind == "local" and target.binding.kind == "assign":
        members = analysis.shapes.members_at(target.binding.node.value.span)
        if members:
            return _member_items(members[0].item, parts[1:])
    if target.kind == "local":
        return _tensor_items()
    return []


def _member_items(member, path: list[str]) -> list[Completion]:
    for part in path:
        member = member.member(part)
        if member is None:
            return []
    return [Completion(name, "field", child.op) for name, child in member.own_members()]


def _tensor_items() -> list[Completion]:
    items = [Completion(name, "field", "tensor attribute") for name in TENSOR_ATTRIBUTES]
    for name, spec in sorted(ops.REGISTRY.items()):
        if spec.kind == "function" and spec.inputs:
            items.append(Completion(name, "function", op_signature(spec), op_doc(spec)))
    return items


# ---- inside a call ------------------------------------------------------------------------


def _open_call(lines: list[str], line: int, col: int) -> tuple[str, bool, set[str], int] | None:
    """The dotted name called by the innermost call open at the cursor, whether the cursor
    stands where an argument starts, the keywords the call already has and how many
    positional arguments come before the cursor."""
    text = "\n".join(lines[max(0, line - 20): line - 1] + [lines[line - 1][: col - 1]])
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        char = text[i]
        if char in ")]":
            depth += 1
        elif char in "([":
            if depth == 0:
                if char == "[":
                    return None
                callee = re.search(r"([A-Za-z_][A-Za-z0-9_.]*)\s*$", text[:i])
                if callee is None:
                    return None
                inside = text[i + 1:]
                at_argument = re.search(r"(^|,)\s*[A-Za-z_0-9]*$", inside) is not None
                arguments = _top_level_arguments(inside)[:-1]  # the last one is being typed
                named = {m.group(1) for a in arguments if (m := re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)", a))}
                positional = sum(1 for a in arguments if not re.match(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)", a))
                return callee.group(1), at_argument, named, positional
            depth -= 1
    return None


def _top_level_arguments(inside: str) -> list[str]:
    """A call's argument texts so far, split at the commas outside nested brackets."""
    parts, depth, current = [], 0, ""
    for char in inside:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current]


def _arguments(analysis: Analysis, callee: str, given: set[str], positional: int, owner, line: int) -> list[Completion]:
    parts = callee.split(".")
    target = resolve_name(analysis, parts[0], None, owner, line, 10**6)
    if target is not None and target.kind == "module" and len(parts) == 2:
        value = target.value.scope.get(parts[1])
        target = Target("definition", parts[1], None, owner, value.definition) if isinstance(value, BlockRef) else None
    if target is None:
        return []
    if target.kind == "op":
        spec = target.value
        if spec.kind == "function":  # a function's tensors come first
            positional -= len([name for name in spec.inputs if not name.startswith("*")])
        taken = given | {a.name for a in [a for a in spec.attrs if not a.kw_only][:max(positional, 0)]}
        return [Completion(f"{a.name}=", "argument", f"{a.type}" + ("" if a.required else f" = {value_text(a.default)}"),
                           op_signature(spec), f"{a.name}=")
                for a in spec.attrs if a.name not in taken]
    if target.kind == "definition":
        definition = target.definition
        taken = given | {p.name for p in definition.params[:positional]}
        return [Completion(f"{p.name}=", "argument", param_text(p), block_signature(definition), f"{p.name}=")
                for p in definition.params if p.name not in taken]
    return []


# ---- names in scope -----------------------------------------------------------------------


def _names(analysis: Analysis, owner, line: int, col: int, at_statement_start: bool) -> list[Completion]:
    items: list[Completion] = []
    seen: set[str] = set()

    def add(item: Completion) -> None:
        if item.label not in seen:
            seen.add(item.label)
            items.append(item)

    if owner is not None:  # a block's names are visible in all of it (members may be used before they are bound)
        for bound in bindings(owner, analysis.lines):
            add(Completion(bound.name, "variable", binding_detail(bound)))
    unit = analysis.unit
    if unit is not None:
        for name, value in unit.scope.items():
            if isinstance(value, BlockRef):
                add(_definition_item(name, value.definition))
            elif isinstance(value, ImportedModule):
                add(Completion(name, "module", f"module {value.name}"))
        for name, let in unit.lets.items():
            add(Completion(name, "constant", "let"))
    for name, spec in sorted(ops.REGISTRY.items()):
        add(Completion(name, "op" if spec.kind == "layer" else "function", op_signature(spec), op_doc(spec)))
    if unit is not None:
        for name in unit.builtins:
            add(Completion(name, "function", "builtin"))
    for word in CONSTANTS:
        add(Completion(word, "keyword"))
    if at_statement_start:
        for word in STATEMENT_KEYWORDS if owner is not None else TOP_KEYWORDS:
            add(Completion(word, "keyword"))
    return items


def _definition_item(name: str, definition: ast.BlockDef) -> Completion:
    return Completion(name, "definition", block_signature(definition), definition.doc or "")

