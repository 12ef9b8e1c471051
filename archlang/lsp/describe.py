"""How the editor writes the language's things: signatures of ops and blocks, parameter
counts, layer descriptions.  Text only, read off the op registry, the AST and the IR.

An API-layer module: must not import the elaborator's internals, the protocol libraries or
a backend.
"""

from __future__ import annotations

from archlang.ir import Member, dims
from archlang.ir.params import member_params
from archlang.ops import OpSpec
from archlang.syntax import ast
from archlang.syntax.printer import format_expr


def count_text(count) -> str:
    """``11,689,512`` for an int; the expression over search decisions otherwise."""
    if isinstance(count, int):
        return f"{count:,}"
    return dims.to_str(count)


def value_text(value) -> str:
    if isinstance(value, tuple):
        inner = ", ".join(value_text(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dims.Expr):
        return dims.to_str(value)
    return str(value)


def op_parameters(spec: OpSpec) -> list[str]:
    """``in_channels: int``, ``stride: ints = 1`` … in call order (keyword-only after ``*``)."""
    out, star = [], False
    for attr in spec.attrs:
        if attr.kw_only and not star:
            out.append("*")
            star = True
        default = "" if attr.required else f" = {value_text(attr.default)}"
        out.append(f"{attr.name}: {attr.type}{default}")
    return out


def op_signature(spec: OpSpec) -> str:
    """``Conv2d(in_channels: int, …)`` for a layer; a function's tensors come first."""
    params = op_parameters(spec)
    if spec.kind == "function":
        params = list(spec.inputs) + params
    return f"{spec.name}({', '.join(params)})"


def op_doc(spec: OpSpec) -> str:
    kind = "layer (bind it to a name, then apply it)" if spec.kind == "layer" else "function"
    inputs = ", ".join(spec.inputs) or "none"
    return f"{kind}; tensor inputs: {inputs}" + (f"; like `{spec.doc}`" if spec.doc else "")


def param_text(param: ast.Param) -> str:
    text = param.name
    if param.type is not None:
        text += f": {param.type}"
    if param.default is not None:
        text += f" = {format_expr(param.default)}"
    return text


def block_signature(definition: ast.BlockDef) -> str:
    """``block BasicBlock(inplanes: int, planes: int, stride: int = 1)`` or an alias."""
    if definition.alias is not None:
        params = f"({', '.join(param_text(p) for p in definition.params)})" if definition.has_params else ""
        return f"{definition.kind} {definition.name}{params} = {format_expr(definition.alias)}"
    params = ", ".join(param_text(p) for p in definition.params)
    return f"{definition.kind} {definition.name}({params})"


def inputs_text(definition: ast.BlockDef) -> list[str]:
    """``x: [B, 3, H, W]`` for each declared input."""
    out = []
    for stmt in definition.body or ():
        if isinstance(stmt, ast.Input):
            shape = ", ".join(format_expr(d) for d in stmt.dims)
            out.append(f"{stmt.name}: {stmt.dtype or ''}[{shape}]")
    return out


def member_text(member: Member) -> str:
    """``Conv2d(in_channels=3, out_channels=64, …)`` with the bound attributes, or a block."""
    if member.kind == "layer" or member.kind == "block":
        args = ", ".join(f"{k}={value_text(v)}" for k, v in member.attrs.items())
        return f"{member.op}({args})"
    if member.kind == "sequential":
        return f"Sequential of {len(member.members)}"
    return f"choice of {len(member.members)} (decision `{member.label}`)"


def member_params_text(member: Member) -> list[str]:
    """One line per parameter or buffer of a layer: ``weight  float32[64, 3, 7, 7]``."""
    if member.kind != "layer":
        return []
    lines = []
    for p in member.params:
        shape = ", ".join(dims.to_str(d) for d in p.shape)
        lines.append(f"{p.name or '(parameter)'}: {p.dtype}[{shape}]" + ("  (buffer)" if p.buffer else ""))
    return lines


def params_count_text(member: Member) -> str:
    return count_text(member_params(member))


def binding_detail(bound) -> str:
    """What a block's local is, in a word or an expression: a parameter's type, an input's
    declared shape, an assignment's value, a loop's list."""
    node = bound.node
    if bound.kind == "param":
        return str(node.type) if node.type is not None else "parameter"
    if bound.kind == "input":
        return f"input {node.dtype or ''}[{', '.join(format_expr(d) for d in node.dims)}]"
    if bound.kind == "for":
        return f"in {format_expr(node.iter)}"
    return format_expr(node.value)
