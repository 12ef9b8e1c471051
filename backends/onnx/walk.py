"""The IR walk: one ``Emitter`` turns an IR graph into nodes of a ``GraphBuilder``.

Nested bodies are walked in place (blocks and sequences inline, member paths prefixed),
``repeat`` runs are expanded (the member ``target`` and the ones declared after it), ``Parameter``
members are
their initializers, and every op or layer goes through the ``LOWERINGS`` dispatch table.
The tensor an IR node yields is named by its IR path (``layer1.0.out_2``; a layer call by
its member path, ``layer1.0.conv1``), as is the node that makes it, and gets a
``value_info`` with its IR type.  With a ``Library`` (``--functions``), calling a block
becomes one call of that block's local function instead.

Imports archlang.ir/errors and this package; never another backend.
"""

from __future__ import annotations

from typing import Callable

from archlang.errors import ArchError
from archlang.ir import Graph, Node
from archlang.ops import REGISTRY

from .call import Call
from .graph import GraphBuilder
from .lowerings import LOWERINGS
from .sizes import SizeError, located

ParamLookup = Callable[[str], str]  # full member path of a parameter -> tensor name


class Emitter:
    def __init__(self, g: GraphBuilder, param: ParamLookup, library=None) -> None:
        self.g = g
        self.param = param
        self.library = library

    # ---- graphs
    def run(self, graph: Graph, prefix: str, inputs: list) -> list:
        """Walk ``graph`` whose members live under ``prefix``; returns its output values."""
        env: dict = {}
        types = {n.name: n.type for n in graph.nodes}
        given = iter(inputs)
        outputs = []
        for node in graph.nodes:
            if node.kind == "input":
                env[node.name] = next(given)
                self.g.sizes.add_source(env[node.name], node.type.shape)
            elif node.kind == "output":
                outputs.append(env[node.inputs[0]])
            elif node.kind == "op":
                env[node.name] = self.lower(self._call(node, node.attrs, env, types, prefix), prefix + node.name)
            elif node.kind == "call":
                env[node.name] = self.call(graph, node, env, types, prefix)
            else:
                raise ArchError(f"ONNX export needs a concrete model; '{node.label}' is a free choice", node.span)
        return outputs

    def _call(self, node: Node, attrs: dict, env: dict, types: dict, prefix: str) -> Call:
        inputs = [env[i] if i else None for i in node.inputs]
        in_types = [types[i] if i else None for i in node.inputs]
        return Call(op=node.op, attrs=attrs, inputs=inputs, types=in_types, out=node.type, span=node.span,
                    path=prefix.rstrip("."))

    # ---- member calls
    def call(self, graph: Graph, node: Node, env: dict, types: dict, prefix: str):
        repeat = node.repeat
        if type(repeat) is not int:
            raise ArchError("ONNX export needs a concrete model; this run length is a free choice", node.span)
        value = None
        for i, target in enumerate(_run_targets(graph, node.target, repeat)):
            member = graph.find_member(target)
            if i == 0:
                call = self._call(node, {}, env, types, prefix)
            else:  # the next layer of a rolled run reads the previous one's result
                call = Call(op=node.op, attrs={}, inputs=[value], types=[node.type], out=node.type,
                            span=node.span, path=call.path)
            value = self.apply(member, node, prefix + target, call)
        return value

    def apply(self, member, node: Node, path: str, call: Call):
        if member.kind == "layer" and (member.op == "Parameter" or _persistent_buffer(member)):
            return self.param(path)
        if member.kind == "layer":
            call.op, call.attrs = member.op, member.attrs
            call.params = lambda name: self.param(f"{path}.{name}")
            return self.lower(call, path)
        if member.kind == "block" and self.library is not None:
            return self.library.call(self, member, node, path, call)
        outs = self.run(node.body, path + ".", call.inputs)
        return outs[0] if len(outs) == 1 else tuple(outs)

    # ---- one lowering
    def lower(self, call: Call, name: str):
        fn = LOWERINGS.get(call.op)
        if fn is None:
            raise ArchError(f"ONNX export: op '{call.op}' has no ONNX lowering", call.span)
        _pad_optional(call)
        g = self.g
        g.path = name
        start = len(g.nodes)
        try:
            result = fn(g, call)
        except SizeError as error:
            raise located(error, call.op, call.span) from None
        if isinstance(result, (tuple, list)):
            return tuple(self._name(r, start, f"{name}.{i}", t) for i, (r, t) in enumerate(zip(result, call.out)))
        return self._name(result, start, name, call.out)

    def _name(self, tensor: str, start: int, name: str, ir_type) -> str:
        """Rename a freshly made tensor (and its node) after the IR, and record its type."""
        g = self.g
        if not g.produced_since(tensor, start):
            return tensor  # an alias of an existing value (Identity, Dropout …)
        if g.is_shared(tensor):
            tensor = g.op("Identity", [tensor])
        final = g.unique(name)
        g.finish(tensor, start, final)
        g.annotate(final, ir_type)
        g.sizes.add_source(final, ir_type.shape)
        return final


def _run_targets(graph: Graph, target: str, repeat: int) -> list[str]:
    """The members a rolled run applies: ``target`` and the ones declared after it."""
    if repeat == 1:
        return [target]
    names = [name for name, _ in graph.members]
    start = names.index(target)
    return names[start:start + repeat]


def _pad_optional(call: Call) -> None:
    """One input (None when absent) per fixed input of the op, as the lowerings unpack them."""
    spec = REGISTRY.get(call.op)
    if spec is None or spec.variadic:
        return
    missing = len(spec.inputs) - len(call.inputs)
    if missing > 0:
        call.inputs = list(call.inputs) + [None] * missing
        call.types = list(call.types) + [None] * missing


def _persistent_buffer(member) -> bool:
    """A persistent buffer is a state-dict entry, so an initializer from the weights; any other
    buffer is a Constant holding the values computed while elaborating."""
    return member.op == "Buffer" and member.attrs["persistent"]
