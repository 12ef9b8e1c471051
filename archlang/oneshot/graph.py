"""The supernet's modules for the parts of a space that hold decisions: block bodies and
sequences, run by a small interpreter of their IR graph.

A part of the space that depends on no decision is the torch backend's module (generated
code, torch's layers).  A part that does is a ``SuperGraph``: its members are submodules under
the spec's names (so the supernet's state dict reads like the space's), and its ``forward``
walks the graph's nodes: ops through the backend's function table, calls of members,
choices through their mixed modules, all with the forward pass's selections (``ctx``).
A ``SuperSequence`` is the body of a sequence whose length is searched: under one path it
runs the chosen number of items; under ``Soft`` it runs them all and mixes the outputs after
each possible length (a skippable path per optional item).

Every module here also lists its part of a fixed architecture's weights (``subnet``): keys
are the fixed model's state-dict keys, which are the space's member paths without the
option indices of its choices.  Imports torch and the torch backend; no other backend.
"""

from __future__ import annotations

import collections
import itertools

import torch
from torch import nn

from archlang.backends.torch.functions import FUNCTIONS, MAKES_TENSORS
from archlang.ir import Graph, Node, dims
from archlang.oneshot.selection import Gated, Soft, chosen, scale_of
from archlang.ops.rearrange import plan_rearrange


class SuperModule(nn.Module):
    """A supernet module: ``forward(*inputs, ctx=...)`` and ``subnet(walk, prefix)``."""

    def subnet(self, walk, prefix: str):
        raise NotImplementedError


def run_module(module: nn.Module, inputs, ctx):
    """Call a supernet module with the forward pass's selections, a backend module without."""
    if isinstance(module, SuperModule):
        return module(*inputs, ctx=ctx)
    return module(*inputs)


class SuperGraph(SuperModule):
    """A block body (or the space's root graph) that holds decisions, interpreted node by node.

    ``members``: the compiled member modules by name; ``bare``: bare parameters by name, with
    their IR shapes when they are searched; ``groups``: choice node -> the keys of the choices
    summed with it into one node (PC-DARTS normalises their edge weights); ``buffers``: bare
    buffers by name, with whether they are persistent."""

    def __init__(self, graph: Graph, members: dict[str, nn.Module], bare: dict | None = None,
                 groups: dict[str, tuple[str, tuple[str, ...]]] | None = None,
                 buffers: dict | None = None) -> None:
        super().__init__()
        self._graph = graph
        self._groups = groups or {}
        self._bare_shapes = {}
        for name, (parameter, shape) in (bare or {}).items():
            self.register_parameter(name, parameter)
            self._bare_shapes[name] = shape
        for name, (buffer, persistent) in (buffers or {}).items():
            self.register_buffer(name, buffer, persistent=persistent)
        for name, module in members.items():
            self.add_module(name, module)
        self._plans = {n.name: plan_rearrange(n.attrs["pattern"], _type_of(graph, n.inputs[0]).shape,
                                              n.attrs.get("axes") or {})
                       for n in graph.nodes if n.kind == "op" and n.op == "rearrange"}

    def forward(self, *inputs, ctx):
        return self.run(inputs, ctx)

    def run(self, inputs, ctx):
        env = _Runtime(ctx.env)
        values: dict = {}
        outputs = []
        position = 0
        for node in self._graph.nodes:
            kind = node.kind
            if kind == "input":
                value = inputs[position]
                position += 1
                env.bind(node.type, value)
            elif kind == "op":
                value = self._op(node, values, env)
            elif kind == "call":
                value = self._call(node, values, ctx, env)
            elif kind == "choice":
                value = self._choice(node, values, ctx)
            else:
                outputs.append(values[node.inputs[0]])
                continue
            values[node.name] = value
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    # ---- nodes
    def _op(self, node: Node, values: dict, env) -> object:
        args = [values[i] if i else None for i in node.inputs]
        if node.op == "rearrange":
            split, permutation, shape = self._plans[node.name]
            kwargs = {"split": env.resolve(split), "permutation": permutation, "shape": env.resolve(shape)}
        else:
            kwargs = {k: env.resolve(v) for k, v in node.attrs.items()}
        if node.op in MAKES_TENSORS and node.op != "const":
            kwargs["device"] = env.device
        return FUNCTIONS[node.op](*args, **kwargs)

    def _call(self, node: Node, values: dict, ctx, env) -> object:
        target = self.target(node.target)
        if isinstance(target, nn.Parameter) or isinstance(target, torch.Tensor):
            return self._bare(node.target, target, ctx)
        assert node.repeat == 1, "rolled runs only occur inside sequences"
        return run_module(target, [values[i] for i in node.inputs], ctx)

    def _bare(self, name: str, parameter, ctx):
        shape = self._bare_shapes.get(name)
        if shape is None:
            return parameter
        index = tuple(slice(0, dims.evaluate(d, ctx.env)) for d in shape)
        return parameter[index]

    def _choice(self, node: Node, values: dict, ctx) -> object:
        inputs = [values[i] for i in node.inputs]
        if node.op == "choose":
            return choose(node, inputs, ctx)
        value = run_module(self.target(node.target), inputs, ctx)
        group = self._groups.get(node.name)
        if group is not None:
            weights = ctx.edge_weights(group[1])
            if weights is not None:
                value = value * weights[group[1].index(group[0])]
        return value

    def target(self, path: str):
        found = self
        for part in path.split("."):
            found = getattr(found, part)
        return found

    # ---- a fixed architecture's weights
    def subnet(self, walk, prefix: str):
        for name, parameter in self.named_parameters(recurse=False):
            shape = self._bare_shapes.get(name)
            if shape is not None:
                parameter = parameter[tuple(slice(0, dims.evaluate(d, walk.env)) for d in shape)]
            yield prefix + name, parameter
        for name, buffer in self.named_buffers(recurse=False):  # after the parameters, as a state dict
            if name not in self._non_persistent_buffers_set:
                yield prefix + name, buffer
        yield from self.subnet_children(walk, prefix, self._children())

    def _children(self):
        return list(self._modules.items())

    @staticmethod
    def subnet_children(walk, prefix: str, children):
        for name, module in children:
            yield from walk.of(module, prefix + name + ".")


class SuperSequence(SuperGraph):
    """The body of a sequence whose length (``length``, a Dim over decisions) is searched.

    Its items are the members ``0``, ``1`` … applied in turn (a rolled run of ``repeat``
    items applies consecutive members)."""

    def __init__(self, graph: Graph, members: dict[str, nn.Module], length, labels: tuple[str, ...],
                 largest: dict) -> None:
        super().__init__(graph, members)
        self._length = length
        self._labels = labels
        self._largest = largest  # the length's decisions at their longest: every item is laid out

    def run(self, inputs, ctx):
        options, scale = ctx.joint(self._labels)
        if len(options) == 1:
            if len(self._labels) == 1:
                selection = ctx.select(self._labels[0])
                if isinstance(selection, Gated):
                    return self._gated(inputs[0], selection, ctx)
            states = self._items(inputs[0], ctx, dims.evaluate(self._length, options[0][1]), record=False)
            return states[-1] if scale is None else states[-1] * scale
        lengths = [dims.evaluate(self._length, env) for _, env in options]
        states = self._items(inputs[0], ctx, max(lengths), record=True)
        total = None
        for (weight, _), length in zip(options, lengths):
            term = states[length] * weight
            total = term if total is None else total + term
        return total

    def _gated(self, x, selection: Gated, ctx):
        """ProxylessNAS' two paths over lengths: the active length with gradients, the inactive
        one (computed without) for the gradient of its gate."""
        env_of = {}
        for index in (selection.active, selection.inactive):
            env = {}
            ctx_sizes = ctx.sizes[self._labels[0]]
            env[self._labels[0]], env[self._labels[0] + "#"] = ctx_sizes[index], index
            env_of[index] = dims.evaluate(self._length, env)
        active, inactive = env_of[selection.active], env_of[selection.inactive]
        states = self._items(x, ctx, max(active, inactive), record=True, grad_until=active)
        gates = selection.gates
        out = states[active]
        for index, length in ((selection.active, active), (selection.inactive, inactive)):
            out = out + (gates[index] - gates[index].detach()) * states[length].detach()
        return out

    def _items(self, x, ctx, length: int, record: bool, grad_until: int | None = None) -> list:
        states = [x]
        position = 0
        for node in self._graph.nodes:
            if node.kind not in ("call", "choice"):
                continue
            run = node.repeat if isinstance(node.repeat, int) else dims.evaluate(
                node.repeat, collections.ChainMap(self._largest, ctx.env))
            first = int(node.target)
            for offset in range(run):
                if position >= length:
                    return states
                module = self.target(str(first + offset))
                if grad_until is not None and position >= grad_until:
                    with torch.no_grad():
                        x = run_module(module, [x], ctx)
                else:
                    x = run_module(module, [x], ctx)
                position += 1
                if record:
                    states.append(x)
                else:
                    states[0] = x
        return states

    def subnet(self, walk, prefix: str):
        length = dims.evaluate(self._length, walk.env)
        yield from self.subnet_children(walk, prefix, self._children()[:length])


class SuperContainer(SuperModule):
    """A sequence whose items are called one by one from the enclosing graph (``experts.0``):
    only a holder of its compiled items."""

    def __init__(self, members: dict[str, nn.Module]) -> None:
        super().__init__()
        for name, module in members.items():
            self.add_module(name, module)

    def subnet(self, walk, prefix: str):
        yield from SuperGraph.subnet_children(walk, prefix, list(self._modules.items()))


def choose(node: Node, inputs: list, ctx) -> list:
    """A ``choose(k, candidates)`` node: the k picked inputs, in order.  Under ``Soft`` each
    picked place is the weighted sum, over the k-subsets, of the candidate it would hold."""
    n, k = len(inputs), node.attrs["k"]
    subsets = list(itertools.combinations(range(n), k))  # the space's order of k-subsets
    selection = ctx.select(node.label)
    index = chosen(selection)
    if index is not None:
        picked = [inputs[i] for i in subsets[index]]
        scale = scale_of(selection)
        return picked if scale is None else [x * scale for x in picked]
    assert isinstance(selection, Soft)
    places = [None] * k
    for index, subset in enumerate(subsets):
        for place, i in enumerate(subset):
            term = inputs[i] * selection.weights[index]
            places[place] = term if places[place] is None else places[place] + term
    return places


def _type_of(graph: Graph, name: str):
    return next(n.type for n in graph.nodes if n.name == name)


class _Runtime(dict):
    """Symbol values while a graph runs: sizes read from its inputs (``B``, ``H``), then the
    forward pass's searched sizes; compound input sizes (``(H + 1)//2``) by expression."""

    def __init__(self, sizes) -> None:
        super().__init__()
        self.sizes = sizes
        self.compound: dict = {}
        self.device = None

    def __missing__(self, name: str):
        return self.sizes[name]

    def bind(self, tensor_type, value) -> None:
        if self.device is None and isinstance(value, torch.Tensor):
            self.device = value.device
        shape = getattr(tensor_type, "shape", ())
        if not isinstance(value, torch.Tensor):
            return
        for axis, d in enumerate(shape):
            if not isinstance(d, dims.Expr):
                continue
            names = dims.free_symbols(d)
            if all(_searched(name, self.sizes) for name in names):
                continue
            if len(names) == 1 and d == dims.sym(next(iter(names)), dims.symbols(d)[next(iter(names))]):
                self.setdefault(next(iter(names)), value.shape[axis])
            else:
                self.compound.setdefault(d, value.shape[axis])

    def resolve(self, value):
        if isinstance(value, dims.Expr):
            try:
                return dims.evaluate(value, self)
            except KeyError:
                if value in self.compound:
                    return self.compound[value]
                raise
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        if isinstance(value, slice):
            return slice(self.resolve(value.start), self.resolve(value.stop), self.resolve(value.step))
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value


def _searched(name: str, sizes) -> bool:
    label = name[:-1] if name.endswith("#") else name
    return label in sizes.forward.sizes


