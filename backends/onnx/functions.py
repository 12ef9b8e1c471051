"""``--functions``: every block becomes an ONNX local function (domain ``archlang.blocks``).

One ``FunctionProto`` per distinct block instance (identical instances share one IR graph,
so a repeated block is one function called N times).  A function's inputs are the block's
tensor inputs followed by the weights its body reads, named by their paths inside the block
(``conv1.weight``, ``downsample.0.weight``); each call passes the caller's tensors for them
(initializers at the top, or the caller's own weight inputs), so ties are resolved at the
call site.  A size the body cannot compute from its own tensors (a block parameter made
from the caller's sizes) is one more input, ``size.T``, an int64[1] the caller computes.
Sequences are not functions: their members are walked in the caller.

Imports onnx and this package; never another backend.
"""

from __future__ import annotations

from onnx import helper

from archlang.ir import Graph, dims

from .graph import GraphBuilder
from .walk import Emitter

DOMAIN = "archlang.blocks"


class _Function:
    def __init__(self, name: str, weights: list[str], outputs: int, sizes: list[str]) -> None:
        self.name, self.weights, self.outputs, self.sizes = name, weights, outputs, sizes


class Library:
    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.built: dict[int, _Function] = {}
        self.protos = []
        self._names: set[str] = set()

    def call(self, emitter, member, node, path: str, call):
        """One call of the block ``member`` at ``path``; returns its output value(s)."""
        fn = self.built.get(id(node.body)) or self._build(node.body, member.op)
        g = emitter.g
        weights = [emitter.param(f"{path}.{local}") for local in fn.weights]
        g.path = path
        sizes = [g.sizes.dim(dims.sym(name)) for name in fn.sizes]
        start = len(g.nodes)
        outs = g.op(fn.name, list(call.inputs) + weights + sizes, outputs=fn.outputs, domain=DOMAIN)
        if fn.outputs == 1:
            return emitter._name(outs, start, path, node.type)
        return tuple(emitter._name(o, start, f"{path}.{i}", t) for i, (o, t) in enumerate(zip(outs, node.type)))

    def _build(self, graph: Graph, block: str) -> _Function:
        name = _unique(self._names, block)
        fg = GraphBuilder(self.opset)
        fg.sizes.may_ask = True
        inputs = [n.target for n in graph.input_nodes]
        fg.names.update(inputs)
        fg.names.update(local_paths(graph))
        weights: list[str] = []

        def param(path: str) -> str:
            if path not in weights:
                weights.append(path)
            return path

        outs = Emitter(fg, param, self).run(graph, "", inputs)
        outputs = _distinct_outputs(fg, outs, set(inputs) | set(weights))
        proto = helper.make_function(
            DOMAIN, name, inputs + weights + fg.sizes.size_inputs, outputs, fg.nodes,
            opset_imports=[helper.make_opsetid("", self.opset), helper.make_opsetid(DOMAIN, 1)],
            doc_string=graph.doc,
        )
        self.protos.append(proto)
        fn = _Function(name, weights, len(outputs), fg.sizes.asked)
        self.built[id(graph)] = fn
        return fn


def _distinct_outputs(fg: GraphBuilder, outs: list, taken: set) -> list[str]:
    """Function outputs must be made inside the body, once each: copy inputs and repeats."""
    result = []
    for out in outs:
        if out in taken or out in result or fg.is_shared(out):
            fg.path = "output"
            out = fg.op("Identity", [out])
        result.append(out)
    return result


def local_paths(graph: Graph) -> list[str]:
    """Every parameter path inside a block, relative to it."""
    found: list[str] = []

    def walk(members, prefix: str) -> None:
        for name, member in members:
            path = prefix + name
            if member.kind == "layer":
                found.extend(f"{path}.{p.name}" if p.name else path for p in member.params)
            else:
                walk(member.own_members(), path + ".")

    walk(graph.members, "")
    return found


def _unique(names: set, base: str) -> str:
    name, k = base, 2
    while name in names:
        name = f"{base}_{k}"
        k += 1
    names.add(name)
    return name
