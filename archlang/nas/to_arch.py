"""A concrete model's IR written back as a standalone ``.arch`` file.

Every distinct block instance becomes a parameterless ``block`` (named after its block, with
a numeric suffix when one block has several distinct instances), members keep their names
(so the compiled module has the same state-dict keys), and the entry point becomes a
``model``.  The text loads, checks and compiles to the same architecture; it is how a sampled
architecture leaves a search as readable code.  Must not import a backend.
"""

from __future__ import annotations

from archlang import ops
from archlang.elaborate.program import builtins
from archlang.errors import SpaceError
from archlang.ir import BlockName, Graph, Member, Model, Node, dims
from archlang.ir.types import ConstTensor, TensorType
from archlang.ops._spec import normalise_default
from archlang.syntax.fmt import format_source

_KEYWORDS = {"input", "if", "elif", "else", "for", "in", "return", "assert", "constrain", "tie", "let", "not",
             "and", "or", "true", "false", "none", "import", "from", "as", "block", "model", "space"}


def model_to_arch(model: Model, header: str = "", *, canonical: bool = True) -> str:
    """The .arch text of ``model``; ``canonical``: as ``archlang fmt`` writes it (what a user
    reads), else the same code without the line breaking (half the cost, for a program that is
    only loaded)."""
    if model.choices:
        raise SpaceError(f"{model.name} still has free choices; fix them first", model.choices[0].span)
    writer = _Writer()
    writer.entry(model)
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    text = "\n".join(lines + ([""] if lines else []) + writer.blocks) + "\n"
    return format_source(text) if canonical else text  # canonical: passes ``archlang fmt --check``


class _Writer:
    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.names: dict[int, str] = {}  # id(graph) -> block name
        self.texts: dict[tuple[str, str], str] = {}  # (block, body text) -> block name
        self.used: set[str] = set()

    def entry(self, model: Model) -> None:
        self.blocks.append(self.definition("model", _identifier(model.name), model.graph))

    def block_name(self, graph: Graph) -> str:
        if id(graph) not in self.names:
            body = self.body(graph)
            if (graph.name, body) in self.texts:  # the same block made at two places of a space
                self.names[id(graph)] = self.texts[(graph.name, body)]
            else:
                name = self._fresh(graph.name)
                self.names[id(graph)] = self.texts[(graph.name, body)] = name
                self.blocks.append(f"block {name}() {{\n{body}\n}}\n")
        return self.names[id(graph)]

    def _fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def definition(self, kind: str, name: str, graph: Graph) -> str:
        self.used.add(name)
        return f"{kind} {name}() {{\n{self.body(graph)}\n}}\n"

    def body(self, graph: Graph) -> str:
        doc = [f'    """{_doc(graph.doc)}"""'] if graph.doc else []
        return "\n".join(doc + _Body(self, graph).lines())


class _Body:
    """The statements of one block: inputs, members, dataflow, ties, return."""

    def __init__(self, writer: _Writer, graph: Graph) -> None:
        self.w = writer
        self.g = graph
        members = {name for name, _ in graph.members}
        self.values = {n.name: _variable(n.name, members) for n in graph.nodes}
        self.sizes: dict = {}  # compound input sizes ((H + 1)//2) -> the name declared for them
        self.items: dict[str, dict[int, str]] = {}  # a multi-output node -> its unpacked values
        for n in graph.nodes:
            if n.kind == "op" and n.op == "item":
                self.items.setdefault(n.inputs[0], {})[n.attrs["index"]] = self.values[n.name]

    def lines(self) -> list[str]:
        out = [f"    input {n.target}: {self.tensor_type(n.target, n.type)}" for n in self.g.input_nodes]
        out += [self.guard(g) for g in self.g.guards]  # asserts on sizes stay checked
        out += [f"    {name} = {self.member(m)}" for name, m in self.g.members]
        out += [line for n in self.g.nodes if n.kind not in ("input", "output") for line in [self.node(n)] if line]
        out += [f"    tie {t.target} = {t.source}" for t in self.g.ties]
        outputs = [self.values[n.inputs[0]] for n in self.g.nodes if n.kind == "output"]
        out.append(f"    return {', '.join(outputs)}")
        return out

    def guard(self, guard) -> str:
        message = "" if guard.message is None else f", {_literal(guard.message)}"
        return f"    assert {self.literal(guard.left)} {guard.op} {self.literal(guard.right)}{message}"

    def tensor_type(self, name: str, t: TensorType) -> str:
        dtype = "" if t.dtype == "float32" else t.dtype
        return f"{dtype}[{', '.join(self.dim(name, axis, d) for axis, d in enumerate(t.shape))}]"

    def dim(self, name: str, axis: int, d) -> str:
        """Sizes are ints or names in an input declaration; a compound size gets a name."""
        if isinstance(d, int) or dims.to_str(d).isidentifier():
            return dims.to_str(d)
        if d not in self.sizes:
            self.sizes[d] = f"{name}_size{axis}"
        return self.sizes[d]

    def literal(self, value) -> str:
        if isinstance(value, dims.Expr) and value in self.sizes:
            return self.sizes[value]
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(self.literal(v) for v in value) + "]"
        return _literal(value)

    def member(self, member: Member) -> str:
        if member.kind == "layer":
            return f"{member.op}({_attr_args(member.op, member.attrs, self.literal)})"
        if member.kind == "block":
            return f"{self.w.block_name(member.graph)}()"
        if member.kind == "sequential":
            return self.sequential(member)
        raise SpaceError("a choice is still free in this model", member.span)

    def sequential(self, member: Member) -> str:
        """Items named as the spec named them: ``(name, layer)`` pairs, or ``prefix=`` / ``start=``."""
        if member.attrs.get("named"):
            items = ", ".join(f"({_literal(name)}, {self.member(m)})" for name, m in member.members)
            return f"Sequential([{items}])"
        items = ", ".join(self.member(m) for _, m in member.members)
        options = "".join(f", {k}={_literal(member.attrs[k])}" for k in ("prefix", "start") if member.attrs.get(k))
        return f"Sequential({items}{options})"

    def node(self, node: Node) -> str:
        if node.kind == "op" and node.op == "item":
            return ""  # written as the unpacking of the node it reads
        target = self.values[node.name]
        if isinstance(node.type, tuple):
            unpacked = self.items.get(node.name, {})
            target = ", ".join(unpacked.get(i, f"{target}_{i}") for i in range(len(node.type)))
        if node.kind == "call":
            args = ", ".join(self.values[i] for i in node.inputs)
            return f"    {target} = {node.target}({args})"
        if node.kind == "op":
            return f"    {target} = {self.op(node)}"
        raise SpaceError("a choice is still free in this model", node.span)

    def op(self, node: Node) -> str:
        tensors = [self.values[i] if i else "none" for i in node.inputs]
        if node.op == "getitem":
            return f"{tensors[0]}[{', '.join(_index(i, self.literal) for i in node.attrs['index'])}]"
        spec = ops.get(node.op)
        if spec is not None and spec.variadic:
            fixed = len(spec.inputs) - 1
            tensors = tensors[:fixed] + [f"[{', '.join(tensors[fixed:])}]"]
        elif spec is not None:  # optional inputs by name, absent ones left out
            tensors = [t if not declared.endswith("?") else f"{declared[:-1]}={t}"
                       for declared, t, given in zip(spec.inputs, tensors, node.inputs) if given]
        attrs = dict(node.attrs)
        extra = attrs.pop(spec.extra_kwargs, None) if spec is not None and spec.extra_kwargs else None
        parts = tensors + [a for a in [_attr_args(node.op, attrs, self.literal)] if a]
        parts += [f"{k}={self.literal(v)}" for k, v in (extra or {}).items()]
        return f"{node.op}({', '.join(parts)})"


def _variable(name: str, members: set[str]) -> str:
    """A value's name in the text: its IR name, unless a member, keyword or builtin has it."""
    base = name if name.isidentifier() else f"v{name}"
    return f"{base}_" if base in members or base in _KEYWORDS or base in builtins() else base


def _attr_args(op: str, attrs: dict, literal) -> str:
    spec = ops.get(op)
    shown = []
    for name, value in attrs.items():
        attr = spec.attr(name) if spec is not None else None
        if attr is not None and not attr.required and _is_default(spec, attr, value):
            continue
        shown.append(f"{name}={literal(value)}")
    return ", ".join(shown)


def _is_default(spec, attr, value) -> bool:
    return value == attr.default or value == normalise_default(spec, attr)


def _literal(value) -> str:
    if isinstance(value, BlockName):
        return str(value)
    if isinstance(value, ConstTensor):  # a Buffer's or a Parameter's values, written out
        return f"tensor({_literal(value.nested())}, dtype={_literal(value.dtype)})"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dims.Expr):
        return dims.to_str(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _index(item, literal) -> str:
    if item is Ellipsis:
        return "..."
    if item is None:
        return "none"
    if isinstance(item, slice):
        parts = ["" if p is None else literal(p) for p in (item.start, item.stop, item.step)]
        return ":".join(parts if item.step is not None else parts[:2])
    return literal(item)


def _doc(text: str) -> str:
    return text.replace('"""', "'''")


def _identifier(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"M_{cleaned}"
