"""Instantiating layers: a layer value plus input types becomes a Member, an output type and,
for blocks and sequences, the callee's Graph.

Identical instantiations are shared (the same Member and Graph objects), which is what keeps
repeated blocks rolled in the IR.  Must not import a backend.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from archlang.elaborate.choices import count_condition
from archlang.elaborate.evaluate import NeedsConcrete
from archlang.elaborate.located import locate
from archlang.elaborate.values import (
    BlockLayer,
    BlockRef,
    ChoiceLayer,
    ChoiceValue,
    FixedChoice,
    Layer,
    MemberRef,
    OpLayer,
    SeqLayer,
    TensorVal,
)
from archlang.errors import ArchTypeError, OpError, ShapeError, SpaceError, Span
from archlang.errors.limits import block_call
from archlang.ir import Graph, Member, Node, dims
from archlang.ir.types import TensorType


@dataclass
class Instance:
    """What applying a layer produced: the member it adds to the graph and the node's output and parts."""

    member: Member
    out: Any  # TensorType or tuple of them
    op: str
    kind: str = "call"
    body: Graph | None = None
    branches: tuple[Node, ...] = ()
    label: str | None = None
    extra: dict = field(default_factory=dict)


# ---- entry points used by archlang.elaborate.body.Body --------------------------------------------


def apply_member(body, ref: MemberRef, tensors: list[TensorVal], span: Span) -> TensorVal:
    types = [t.type for t in tensors]
    inst = instantiate(body.ctx, ref.layer, types, span, ref.path)
    root = body.b.slots.get(ref.path)
    if root is not None and root.member is None:
        root.member = inst.member
    elif root is None:  # `layers[i](x)`: the sequence is built from its applied items
        body.applied.setdefault(ref.path, inst.member)
    node = Node(
        kind=inst.kind, name=body.b.fresh(body.target or ref.path.replace(".", "_")), op=inst.op,
        target=ref.path, inputs=tuple(t.ref for t in tensors), type=inst.out, body=inst.body,
        branches=inst.branches, label=inst.label, span=span,
    )
    body.b.add(body.ctx, node)
    return TensorVal(node.name, inst.out)


def child_layer(body, ref: MemberRef, key, span: Span) -> MemberRef:
    layer = ref.layer
    if isinstance(layer, SeqLayer):
        index = _child_index(layer, key, span)
        return MemberRef(f"{ref.path}.{layer.item_name(index)}", layer.items[index], span)
    if isinstance(layer, BlockLayer):
        raise ArchTypeError(
            f"members of block instance '{ref.path}' are not reachable from outside; use its outputs",
            span,
        )
    raise ArchTypeError(f"'{ref.path}' is a {type(layer).__name__.replace('Layer', '').lower()} layer and has no member '{key}'", span)


def _child_index(layer: SeqLayer, key, span: Span) -> int:
    if isinstance(key, str):
        found = _named_index(layer, key)
        if found is not None:
            return found
        if layer.names and not key.isdigit():
            raise ArchTypeError(f"the sequence has no item named '{key}' (it has {', '.join(layer.names)})", span)
    try:
        index = int(key)
    except (TypeError, ValueError):
        raise ArchTypeError(f"a sequence's members are numbered; got '{key}'", span) from None
    if not 0 <= index < len(layer.items):
        raise ArchTypeError(f"index {index} is out of range for a sequence of {len(layer.items)}", span)
    return index


def declare_only(body, layer: Layer, name: str) -> Member:
    """The Member of a layer that was declared but never applied (its inputs stay symbolic)."""
    if isinstance(layer, OpLayer):
        return _op_member(body.ctx, layer)
    if isinstance(layer, BlockLayer):
        graph = elaborate_block(body.ctx, layer.ref, layer.args, None, layer.span, name)
        return _block_member(body.ctx, layer, graph)
    if isinstance(layer, SeqLayer):
        members = tuple((layer.item_name(i), _declared_item(body, item, f"{name}.{layer.item_name(i)}"))
                        for i, item in enumerate(layer.items))
        return Member(kind="sequential", op="Sequential", members=members, count=layer.count,
                      attrs=_seq_attrs(layer), span=layer.span)
    if isinstance(layer, ChoiceLayer):
        members = tuple((str(i), declare_only(body, o, f"{name}.{i}")) for i, o in enumerate(layer.options))
        return Member(kind="choice", op="choice", members=members, label=layer.label, span=layer.span)
    if isinstance(layer, FixedChoice):
        return declare_only(body, layer.layer, f"{name}.{layer.index}")
    assert isinstance(layer, MemberRef), layer
    return declare_only(body, layer.layer, name)


def _declared_item(body, item: Layer, path: str) -> Member:
    applied = body.applied.get(path)
    return applied if applied is not None else declare_only(body, item, path)


# ---- instantiation -----------------------------------------------------------------------------


def instantiate(ctx, layer: Layer, types: list[TensorType], span: Span, name: str) -> Instance:
    if isinstance(layer, MemberRef):
        layer = layer.layer
    if isinstance(layer, FixedChoice):
        return instantiate(ctx, layer.layer, types, span, f"{name}.{layer.index}")
    if isinstance(layer, OpLayer):
        return _instantiate_op(ctx, layer, types, span, name)
    if isinstance(layer, BlockLayer):
        return _instantiate_block(ctx, layer, types, span, name)
    if isinstance(layer, SeqLayer):
        return _instantiate_seq(ctx, layer, types, span, name)
    assert isinstance(layer, ChoiceLayer), layer
    return _instantiate_choice(ctx, layer, types, span, name)


def _instantiate_op(ctx, layer: OpLayer, types, span, name) -> Instance:
    try:
        out = layer.spec.infer(layer.attrs, list(types))
    except OpError as error:
        raise locate(error, span, ctx, member=name) from None
    return Instance(_op_member(ctx, layer), out, layer.spec.name)


def _op_member(ctx, layer: OpLayer) -> Member:
    key = ("op", layer.spec.name, _key(layer.attrs))
    cached = ctx.cache.get(key) if key[2] is not None else None
    if cached is not None:
        return cached
    try:
        params = tuple(layer.spec.params(layer.attrs)) if layer.spec.params else ()
    except OpError as error:
            raise locate(error, layer.span, ctx) from None
    member = Member(kind="layer", op=layer.spec.name, attrs=layer.attrs, params=params, span=layer.span)
    if key[2] is not None:
        ctx.cache[key] = member
    return member


def _instantiate_block(ctx, layer: BlockLayer, types, span, name) -> Instance:
    try:
        graph = elaborate_block(ctx, layer.ref, layer.args, types, span, name)
    except NeedsConcrete as need:
        lifted = _lift_block(layer, need)
        return _instantiate_choice(ctx, lifted, types, span, name)
    outs = graph.output_types
    out = outs[0] if len(outs) == 1 else tuple(outs)
    return Instance(_block_member(ctx, layer, graph), out, layer.ref.definition.name, body=graph)


def _block_member(ctx, layer: BlockLayer, graph: Graph) -> Member:
    key = ("member", id(graph))
    cached = ctx.cache.get(key)
    if cached is None:
        cached = Member(kind="block", op=graph.name, attrs=graph.args, graph=graph, span=layer.span)
        ctx.cache[key] = cached
        ctx.keep.append(graph)  # id() keys stay valid while the graph lives
    return cached


def _lift_block(layer: BlockLayer, need: NeedsConcrete) -> ChoiceLayer:
    """A block whose body branches on a choice passed in becomes a choice among instances."""
    domain = _domain_in_args(layer.args, need.label)
    if domain is None:
        raise SpaceError(
            f"this depends on the search choice '{need.label}' made in the same block; "
            "express the alternatives with choice(...) over layers or blocks",
            need.span,
        )
    options = tuple(
        BlockLayer(layer.ref, _substitute(layer.args, need.label, v), layer.span) for v in domain
    )
    return ChoiceLayer(need.label, options, layer.span, lifted=True)


def _domain_in_args(args, label):
    for value in _walk(args):
        if isinstance(value, dims.Expr):
            domain = dims.symbols(value).get(label)
            if domain is not None:
                return domain
    return None


def _walk(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _walk(v)
    else:
        yield value


def _substitute(value, label, chosen):
    if isinstance(value, dict):
        return {k: _substitute(v, label, chosen) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, label, chosen) for v in value]
    if isinstance(value, tuple):
        return tuple(_substitute(v, label, chosen) for v in value)
    if isinstance(value, dims.Expr):
        return dims.subs(value, {label: chosen})
    return value


def elaborate_block(ctx, ref: BlockRef, args: dict, types, span: Span, name: str) -> Graph:
    base_key = _block_key(ref, args, types)
    if base_key is not None:
        for key in (base_key, base_key + (ctx.path, name)):
            if key in ctx.cache:
                return ctx.cache[key]
        shared = ctx.shared.get(base_key) if ctx.shared is not None else None
        if shared is not None:  # built by an earlier entry point of this check
            ctx.cache[base_key] = shared
            return shared
    with block_call(span, f" (is {ref.definition.name} recursive without end?)"):
        ctx.budget.charge_block(ref.definition.name, span)
        choices_before = len(ctx.choices)
        ctx.chain.append((ref.definition.name, name))
        try:
            graph = ctx.run_body(ref, args, list(types) if types is not None else None, span)
        finally:
            ctx.chain.pop()
    if base_key is not None:
        # A body that made search choices has labels tied to its path: share it no further.
        key = base_key if len(ctx.choices) == choices_before else base_key + (ctx.path, name)
        ctx.cache[key] = graph
        if key is base_key and ctx.shared is not None:
            ctx.shared.offer(base_key, graph)
    return graph


def _block_key(ref: BlockRef, args, types):
    key = (id(ref.definition), _key(args), tuple(types) if types is not None else None)
    if key[1] is None:
        return None
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _key(value):
    """A hashable stand-in for an argument value, or None when there is none."""
    if isinstance(value, dict):
        items = tuple((k, _key(v)) for k, v in value.items())
        return None if any(v is None and value[k] is not None for k, v in items) else ("d",) + items
    if isinstance(value, (list, tuple)):
        items = tuple(_key(v) for v in value)
        return None if any(i is None and v is not None for i, v in zip(items, value)) else (type(value).__name__,) + items
    if isinstance(value, BlockRef):
        return ("block", id(value.definition))
    if isinstance(value, (Layer, ChoiceValue)):
        return None
    if isinstance(value, (int, float, str, bool, type(None), dims.Expr)) or value is Ellipsis:
        return (type(value).__name__, value)
    if isinstance(value, slice):
        return ("slice", _key(value.start), _key(value.stop), _key(value.step))
    return None


# ---- sequences ---------------------------------------------------------------------------------


def _instantiate_seq(ctx, layer: SeqLayer, types, span, name) -> Instance:
    if len(types) != 1:
        raise ArchTypeError(f"a Sequential is applied to one tensor, got {len(types)}", span)
    nodes = [Node(kind="input", name="x", target="x", type=types[0], span=layer.span)]
    members: list[tuple[str, Member]] = []
    current = types[0]
    insts = []
    for i, item in enumerate(layer.items):
        child = layer.item_name(i)
        with _item_condition(ctx, layer.count, i):
            inst = instantiate(ctx, item, [current], item.span, f"{name}.{child}")
        members.append((child, inst.member))
        insts.append((i, inst, current))
        current = inst.out
    body_nodes = _rolled_nodes(ctx, layer, insts, nodes[0], span)
    out_type = _seq_output(layer, insts, types[0], span)
    last = body_nodes[-1].name if body_nodes else nodes[0].name  # an empty Sequential is the identity
    output = Node(kind="output", name="output", inputs=(last,), type=out_type, span=layer.span)
    graph = Graph(name="Sequential", members=tuple(members), nodes=tuple(nodes + body_nodes + [output]),
                  outputs=("output",), span=layer.span)
    member = Member(kind="sequential", op="Sequential", members=tuple(members), count=layer.count,
                    attrs=_seq_attrs(layer), span=layer.span)
    return Instance(member, out_type, "Sequential", body=graph)


def _seq_attrs(layer: SeqLayer) -> dict:
    """How the items were named, so that a spec written back names them the same way."""
    if layer.names:
        return {"named": True}
    return {k: v for k, v in (("prefix", layer.prefix), ("start", layer.start)) if v}


def _named_index(layer: SeqLayer, key: str) -> int | None:
    """The position of the item called ``key`` (``denselayer1``, ``conv0``), if one is."""
    if layer.names:
        return layer.names.index(key) if key in layer.names else None
    number = key[len(layer.prefix):] if key.startswith(layer.prefix) else None
    if number is None or not number.isdigit() or not layer.start <= int(number) < layer.start + len(layer.items):
        return None
    return int(number) - layer.start


def _item_condition(ctx, count, index: int):
    """Item ``index`` of a sequence whose length is searched exists only for long enough lengths."""
    condition = count_condition(ctx, count, index) if count is not None else None
    return ctx.condition(*condition) if condition else contextlib.nullcontext()


def _rolled_nodes(ctx, layer: SeqLayer, insts, first: Node, span) -> list[Node]:
    """One call node per run of identical, shape-preserving items: repetition stays rolled."""
    nodes: list[Node] = []
    previous = first.name
    i = 0
    while i < len(insts):
        start, inst, in_type = insts[i]
        j = i + 1
        while j < len(insts) and not layer.names and _same_item(inst, insts[j][1], in_type):
            j += 1
        ctx.count_node(span)
        node = Node(kind=inst.kind, name=layer.item_name(start), op=inst.op, target=layer.item_name(start),
                    inputs=(previous,), type=inst.out, body=inst.body, branches=inst.branches,
                    label=inst.label, repeat=_run_length(layer, i, j, len(insts)), span=inst.member.span)
        nodes.append(node)
        previous = node.name
        i = j
    return nodes


def _same_item(a: Instance, b: Instance, in_type) -> bool:
    return a.member is b.member and a.out == in_type and b.out == in_type and not a.branches


def _run_length(layer: SeqLayer, i: int, j: int, total: int):
    if layer.count is not None and j == total:
        return dims.simplify(layer.count - i)
    return j - i


def _seq_output(layer: SeqLayer, insts, in_type, span):
    if not insts:
        return in_type
    out = insts[-1][1].out
    if layer.count is None:
        return out
    lowest = min(dims.symbols(layer.count).get(next(iter(dims.free_symbols(layer.count))), (len(insts),)))
    for _, inst, in_type in insts[max(lowest - 1, 0):]:
        if inst.out != out:
            raise ShapeError(
                "the layers repeated a searched number of times must keep the shape: "
                f"{in_type} becomes {inst.out}", inst.member.span,
            )
    return out


# ---- choices among layers ----------------------------------------------------------------------


def _instantiate_choice(ctx, layer: ChoiceLayer, types, span, name) -> Instance:
    insts = []
    for i, option in enumerate(layer.options):
        # a written choice's options live at name.i; a lifted one's at name, as when fixed
        where = name if layer.lifted else f"{name}.{i}"
        with ctx.condition(layer.label, (i,)):
            insts.append(instantiate(ctx, option, types, option.span, where))
    branches = tuple(
        Node(kind=inst.kind, name=str(i), op=inst.op, target=str(i), type=inst.out, body=inst.body,
             branches=inst.branches, label=inst.label, span=inst.member.span)
        for i, inst in enumerate(insts)
    )
    out = _unify([inst.out for inst in insts], layer, span)
    member = Member(kind="choice", op="choice", label=layer.label,
                    members=tuple((str(i), inst.member) for i, inst in enumerate(insts)), span=layer.span)
    return Instance(member, out, "choice", kind="choice", branches=branches, label=layer.label)


def _unify(outs, layer: ChoiceLayer, span):
    first = outs[0]
    if all(o == first for o in outs):
        return first
    if any(isinstance(o, tuple) for o in outs) or len({o.rank for o in outs}) != 1:
        shapes = "; ".join(f"{i}: {o}" for i, o in enumerate(outs))
        raise ShapeError(f"the alternatives of choice '{layer.label}' produce different ranks ({shapes})", span)
    if len({o.dtype for o in outs}) != 1:
        raise ShapeError(f"the alternatives of choice '{layer.label}' produce different dtypes", span)
    shape = tuple(dims.select(layer.label + "#", [o.shape[d] for o in outs]) for d in range(first.rank))
    return TensorType(dtype=first.dtype, shape=shape)
