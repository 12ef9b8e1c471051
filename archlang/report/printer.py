"""The IR as text: one line per node, bodies nested and indented (``archlang ir``, golden files).

Each distinct block body is printed once; a later call of an identical instance prints
``{ same as <path> }``, so the text of a repeated block stays as compact as the IR.
Layer attributes are shown when they differ from the op's defaults.  Must not import a
backend.
"""

from __future__ import annotations

from archlang import ops
from archlang.ir import BlockName, ChoiceRef, Graph, Member, Model, Node, dims
from archlang.ir.types import TensorType
from archlang.ops._spec import normalise_default


def format_model(model: Model) -> str:
    args = _args(model.params)
    head = f"{model.kind} {model.name}"
    if model.graph.name != model.name:
        head += f" = {model.graph.name}({args})"
    elif args:
        head += f"({args})"
    lines = [head + " {"]
    _Printer(lines).graph(model.graph, "", 1)
    lines.append("}")
    if model.choices:
        lines.append(f"choices ({len(model.choices)}):")
        for c in model.choices:
            options = ", ".join(map(_value, c.options))
            k = f" choose {c.k} of" if c.k is not None else ""
            lines.append(f"  {c.label}: {c.kind}{k} [{options}]")
    return "\n".join(lines) + "\n"


def _reads(env: dict) -> str:
    """`` where w = w, i1 = [v1.inputs]``: the values a constraint reads, decisions in brackets."""
    if not env:
        return ""
    return "  where " + ", ".join(f"{name} = {_read(value)}" for name, value in env.items())


def _read(value) -> str:
    if isinstance(value, ChoiceRef):
        return f"[{value.label}]"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_read, value)) + "]"
    return _value(value)


class _Printer:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.seen: dict[int, str] = {}

    def graph(self, graph: Graph, path: str, depth: int) -> None:
        for node in graph.nodes:
            self.node(node, graph, path, depth)
        for tie in graph.ties:
            self.lines.append("  " * depth + f"tie {tie.target} = {tie.source}")
        for c in graph.constraints:
            self.lines.append("  " * depth + f"constrain {c.text}{_reads(c.env)}")
        for g in graph.guards:  # checked on each new input shape (the condition as written, then as sizes)
            self.lines.append("  " * depth + f"assert {g.text}  # {_value(g.left)} {g.op} {_value(g.right)}")

    def node(self, node: Node, graph: Graph, path: str, depth: int) -> None:
        pad = "  " * depth
        if node.kind == "output":
            self.lines.append(f"{pad}return %{node.inputs[0]}")
            return
        head = f"{pad}%{node.name}: {_type(node.type)} = "
        if node.kind == "input":
            self.lines.append(head + f"input {node.target}")
        elif node.kind == "op":
            self.lines.append(head + f"{node.op}({_inputs(node)}{_attr_suffix(node.op, node.attrs, bool(node.inputs))})")
        elif node.kind == "choice" and node.op == "choose":
            self.lines.append(head + f"choose {node.attrs['k']} of ({_inputs(node)}) [{node.label}]")
        else:
            self.call(node, graph, path, depth, head)

    def call(self, node: Node, graph: Graph, path: str, depth: int, head: str) -> None:
        member = graph.member(node.target.split(".")[0]) if node.target else None
        member = _descend(member, node.target) if member else None
        full = f"{path}.{node.target}" if path else node.target
        count = dims.to_str(node.repeat)
        repeat = "" if node.repeat == 1 else f" ×({count})" if " " in count else f" ×{count}"
        if node.kind == "choice":
            self.lines.append(head + f"choice {node.target} [{node.label}] ({_inputs(node)}){repeat} {{")
            for branch in node.branches:
                alt = member.member(branch.target) if member else None
                self.alternative(branch, alt, full, depth + 1)
            self.lines.append("  " * depth + "}")
            return
        text = head + f"{node.target} {_describe_member(member, node)}({_inputs(node)}){repeat}"
        self.body(text, node.body, full, depth)

    def alternative(self, branch: Node, member: Member | None, path: str, depth: int) -> None:
        text = "  " * depth + f"[{branch.target}]: {_type(branch.type)} = {_describe_member(member, branch)}"
        if branch.kind == "choice":  # a choice among choices: its alternatives, nested
            self.lines.append(text + f" [{branch.label}] {{")
            for sub in branch.branches:
                alt = member.member(sub.target) if member else None
                self.alternative(sub, alt, f"{path}.{branch.target}", depth + 1)
            self.lines.append("  " * depth + "}")
            return
        self.body(text, branch.body, f"{path}.{branch.target}", depth)

    def body(self, text: str, body: Graph | None, path: str, depth: int) -> None:
        if body is None:
            self.lines.append(text)
        elif id(body) in self.seen:
            self.lines.append(text + f" {{ same as {self.seen[id(body)]} }}")
        else:
            self.seen[id(body)] = path
            self.lines.append(text + " {")
            self.graph(body, path, depth + 1)
            self.lines.append("  " * depth + "}")


def _descend(member: Member, target: str) -> Member | None:
    for part in target.split(".")[1:]:
        if member is None:
            return None
        member = member.member(part)
    return member


def _describe_member(member: Member | None, node: Node) -> str:
    if member is None:
        return node.op
    if member.kind == "layer":
        return f"{member.op}({_attr_suffix(member.op, member.attrs, False)})"
    if member.kind == "block":
        return f"{member.op}({_args(member.attrs)})"
    return member.op


def _attr_suffix(op: str, attrs: dict, after_inputs: bool) -> str:
    spec = ops.get(op)
    shown = []
    for name, value in attrs.items():
        attr = spec.attr(name) if spec else None
        if attr is not None and not attr.required and _same(value, attr.default, spec, attr):
            continue
        if isinstance(value, dict) and not value:
            continue
        shown.append(f"{name}={_value(value)}")
    text = ", ".join(shown)
    return (", " + text if after_inputs and text else text)


def _same(value, default, spec, attr) -> bool:
    if value == default:
        return True
    try:
        return value == normalise_default(spec, attr)
    except Exception:  # a default the op cannot normalise is simply shown
        return False


def _args(args: dict) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in args.items())


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, BlockName):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, slice):
        parts = ["" if p is None else _value(p) for p in (value.start, value.stop, value.step)]
        return ":".join(parts[:2] if value.step is None else parts)
    if value is Ellipsis:
        return "..."
    if isinstance(value, dims.Expr):
        return dims.to_str(value)
    return repr(value) if isinstance(value, float) else str(value)


def _inputs(node: Node) -> str:
    return ", ".join(f"%{i}" if i else "none" for i in node.inputs)


def _type(t) -> str:
    if isinstance(t, tuple):
        return "(" + ", ".join(_type(x) for x in t) + ")"
    assert isinstance(t, TensorType), t
    return str(t)
