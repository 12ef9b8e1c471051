"""IR → ``torch.nn.Module``.

Members become submodules under the names the spec gave them (so state-dict keys are the
spec's paths, in declaration order); a ``Sequential`` member is an ``nn.Sequential``; every
block instance is a ``torch.fx.GraphModule`` whose ``forward`` is generated from the block's
IR graph, so no interpreter walks the IR at run time and ``torch.compile`` / ``torch.export``
see plain code.  Sizes that are symbolic in the IR (``B``, ``T``) are read from the inputs
at run time.  Imports archlang.ir/dims/errors and torch only; never another backend.
"""

from __future__ import annotations

import operator
from collections import OrderedDict

import torch
from torch import fx, nn

from archlang import dims
from archlang.errors import ArchError, SpaceError
from archlang.ir import Graph, Member, Model, Node

from .functions import FUNCTIONS, MAKES_TENSORS, rearrange_plan
from .layers import make_layer, make_parameter


def build_module(model: Model, seed: int | None = None) -> nn.Module:
    """The nn.Module of a concrete model; ``seed`` makes initialisation reproducible."""
    require_concrete(model)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        return _Builder().graph_module(model.graph, model.name)


def require_concrete(model: Model) -> None:
    if not model.choices:
        return
    labels = ", ".join(c.label for c in model.choices[:8]) + (" …" if len(model.choices) > 8 else "")
    raise SpaceError(
        f"{model.kind} {model.name} has {len(model.choices)} free choice"
        f"{'s' if len(model.choices) != 1 else ''} ({labels}); fix them before compiling "
        "(archlang sample, or an assignment)", model.choices[0].span,
    )


class _Builder:
    def graph_module(self, graph: Graph, class_name: str) -> fx.GraphModule:
        root = nn.Module()
        for name, member in graph.members:
            self.attach(root, name, member)
        module = fx.GraphModule(root, _ForwardBuilder(graph, root).build(), class_name=_identifier(class_name))
        _keep_declaration_order(module, root)
        _apply_ties(module, graph)
        return module

    def attach(self, parent: nn.Module, name: str, member: Member) -> None:
        try:
            if member.kind == "layer" and member.op == "Parameter":
                parent.register_parameter(name, make_parameter(member.attrs))
            else:
                parent.add_module(name, self.module(member))
        except KeyError as exc:  # torch refuses names like "forward", "training", "to"
            raise ArchError(f"member name '{name}' cannot be used in PyTorch: {exc.args[0]}", member.span) from None

    def module(self, member: Member) -> nn.Module:
        if member.kind == "layer":
            return make_layer(member.op, _concrete_attrs(member))
        if member.kind == "block":
            return self.graph_module(member.graph, member.op)
        if member.kind == "sequential":
            sequence = nn.Sequential()
            for name, child in member.members:
                self.attach(sequence, name, child)
            return sequence
        raise AssertionError(f"a concrete model has no {member.kind} member")


def _concrete_attrs(member: Member) -> dict:
    for value in _leaves(member.attrs):
        if isinstance(value, dims.Expr):
            raise ArchError(
                f"{member.op} needs a concrete size here, not {dims.to_str(value)}: give the input a "
                "concrete shape (--input) or make the size a parameter", member.span,
            )
    return member.attrs


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _keep_declaration_order(module: fx.GraphModule, root: nn.Module) -> None:
    """GraphModule copies only the attributes its code uses, in the order it uses them;
    the spec's order (and unused members) is what the state dict must show."""
    module._modules = OrderedDict(root._modules)
    module._parameters = OrderedDict(root._parameters)
    module._buffers = OrderedDict(root._buffers)


def _apply_ties(module: nn.Module, graph: Graph) -> None:
    for tie in graph.ties:
        try:
            source = module.get_parameter(tie.source)
            owner_path, _, leaf = tie.target.rpartition(".")
            owner = module.get_submodule(owner_path) if owner_path else module
            current = module.get_parameter(tie.target)
        except AttributeError as exc:
            raise ArchError(f"cannot tie {tie.target} to {tie.source}: {exc}", tie.span) from None
        if current.shape != source.shape:
            raise ArchError(
                f"cannot tie {tie.target} {tuple(current.shape)} to {tie.source} {tuple(source.shape)}: shapes differ",
                tie.span,
            )
        setattr(owner, leaf, source)


class _ForwardBuilder:
    """One block graph → one fx.Graph (the generated ``forward``)."""

    def __init__(self, graph: Graph, root: nn.Module) -> None:
        self.ir = graph
        self.root = root
        self.g = fx.Graph()
        self.env: dict[str, fx.Node] = {}
        self.sizes: dict[str, tuple[fx.Node, int]] = {}
        self.size_nodes: dict[str, fx.Node] = {}
        self.outputs: list[fx.Node] = []
        self.first_input: fx.Node | None = None

    def build(self) -> fx.Graph:
        for node in self.ir.nodes:
            getattr(self, "node_" + node.kind)(node)
        result = self.outputs[0] if len(self.outputs) == 1 else tuple(self.outputs)
        self.g.output(result)
        return self.g

    def node_input(self, node: Node) -> None:
        placeholder = self.g.placeholder(_identifier(node.target))
        self.env[node.name] = placeholder
        self.first_input = self.first_input or placeholder
        for axis, d in enumerate(node.type.shape):
            name = _bare_symbol(d)
            if name and name not in self.sizes:
                self.sizes[name] = (placeholder, axis)

    def node_output(self, node: Node) -> None:
        self.outputs.append(self.env[node.inputs[0]])

    def node_op(self, node: Node) -> None:
        fn = FUNCTIONS[node.op]
        args = tuple(self.env[i] if i else None for i in node.inputs)
        attrs = node.attrs
        if node.op == "rearrange":  # parse the pattern here, not at every call
            x_type = self._type_of(node.inputs[0])
            split, permutation, shape = rearrange_plan(attrs["pattern"], x_type.shape, attrs.get("axes") or {})
            attrs = {"split": split, "permutation": permutation, "shape": shape}
        kwargs = {k: self.runtime(v, node) for k, v in attrs.items()}
        if node.op in MAKES_TENSORS and node.op != "const" and self.first_input is not None:
            kwargs["device"] = self.g.call_function(getattr, (self.first_input, "device"))
        self.env[node.name] = self.g.call_function(fn, args, kwargs)

    def node_call(self, node: Node) -> None:
        assert node.repeat == 1, "rolled runs only occur inside sequences, which nn.Sequential runs"
        if isinstance(self._attribute(node.target), nn.Parameter):
            self.env[node.name] = self.g.get_attr(node.target)
            return
        args = tuple(self.env[i] for i in node.inputs)
        self.env[node.name] = self.g.call_module(node.target, args)

    def node_choice(self, node: Node) -> None:
        raise AssertionError("choices are refused before building")

    def _type_of(self, name: str):
        return next(n.type for n in self.ir.nodes if n.name == name)

    def _attribute(self, path: str):
        value = self.root
        for part in path.split("."):
            value = getattr(value, part)
        return value

    # ---- symbolic sizes at run time
    def runtime(self, value, node: Node):
        if isinstance(value, dims.Expr):
            return self.size_of(value, node)
        if isinstance(value, list):
            return [self.runtime(v, node) for v in value]
        if isinstance(value, tuple):
            return tuple(self.runtime(v, node) for v in value)
        if isinstance(value, slice):
            return slice(*(self.runtime(p, node) for p in (value.start, value.stop, value.step)))
        if isinstance(value, dict):
            return {k: self.runtime(v, node) for k, v in value.items()}
        return value

    def size_of(self, expr: dims.Expr, node: Node) -> fx.Node:
        names = sorted(dims.free_symbols(expr))
        missing = [n for n in names if n not in self.sizes]
        if missing:
            raise ArchError(
                f"{node.op} needs the size {', '.join(missing)} at run time, but no input of "
                f"{self.ir.name} has a dimension that is exactly {missing[0]}", node.span,
            )
        env = {n: self._size_node(n) for n in names}
        if len(names) == 1 and _bare_symbol(expr) == names[0]:
            return env[names[0]]
        return self.g.call_function(_evaluate, (expr, env))

    def _size_node(self, name: str) -> fx.Node:
        if name not in self.size_nodes:
            tensor, axis = self.sizes[name]
            shape = self.g.call_function(getattr, (tensor, "shape"))
            self.size_nodes[name] = self.g.call_function(operator.getitem, (shape, axis))
        return self.size_nodes[name]


def _evaluate(expr, env):
    return dims.evaluate(expr, env)


def _bare_symbol(d) -> str | None:
    if not isinstance(d, dims.Expr):
        return None
    names = dims.free_symbols(d)
    if len(names) != 1:
        return None
    name = next(iter(names))
    return name if d == dims.sym(name, dims.symbols(d)[name]) else None


def _identifier(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"_{cleaned}"
