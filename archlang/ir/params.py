"""Parameters of an IR graph, read off its members: counts (exact symbolic expressions over
search decisions and sizes) and state-dict entries in PyTorch's order.

Parameters are counted per member (a layer applied twice has its weights once; a tied
parameter counts once); a choice counts the option taken (``dims.select`` over its
options).  Buffers are not parameters; persistent ones are state-dict entries.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ir.graph import Graph, Member


def count_params(graph: Graph, _memo: dict | None = None):
    """Parameters of a block instance: every member once, tied parameters once.  A graph
    shared by several members is counted once and reused (``_memo``, by identity), so the
    count takes time linear in the shared IR however often its blocks are used."""
    memo = {} if _memo is None else _memo
    found = memo.get(id(graph))
    if found is not None:
        return found
    total = sum((member_params(m, memo) for _, m in graph.members), 0)
    for tie in graph.ties:
        spec = param_at(graph, tie.target)
        if spec is not None:
            total = total - spec.numel()
    memo[id(graph)] = found = dims.simplify(total)
    return found


def state_dict_entries(graph: Graph, prefix: str = "") -> list[tuple[str, object]]:
    """``[(key, ParamSpec)]`` as PyTorch orders a state dict: a module's own parameters (bare
    ``Parameter`` members) first, then its persistent buffers (bare ``Buffer`` members), then
    each child in declaration order."""
    bare = [(name, m.params[0]) for name, m in graph.members if _is_bare_parameter(m)]
    entries = [(prefix + name, p) for name, p in bare if not p.buffer]
    entries += [(prefix + name, p) for name, p in bare if p.buffer and p.persistent]
    for name, member in graph.members:
        if not _is_bare_parameter(member):
            entries += _member_entries(member, prefix + name)
    return entries


def member_entries(member: Member, path: str = "") -> list[tuple[str, object]]:
    """``[(key, ParamSpec)]`` of one member's own state dict, under ``path``."""
    return _member_entries(member, path)


def _member_entries(member: Member, path: str) -> list:
    if member.kind == "layer":
        return [(f"{path}.{p.name}" if p.name else path, p) for p in member.params if p.persistent]
    if member.kind == "block":
        return state_dict_entries(member.graph, path + ".")
    return [e for name, child in member.members for e in _member_entries(child, f"{path}.{name}")]


def _is_bare_parameter(member: Member) -> bool:
    return member.kind == "layer" and len(member.params) == 1 and member.params[0].name == ""


def member_params(member: Member, _memo: dict | None = None):
    memo = {} if _memo is None else _memo
    if member.kind == "layer":
        return sum((p.numel() for p in member.params if not p.buffer), 0)
    if member.kind == "block":
        return count_params(member.graph, memo)
    if member.kind == "sequential":
        return sum((member_params(m, memo) for _, m in member.members), 0)
    options = [member_params(m, memo) for _, m in member.members]  # a choice: per option
    return dims.select(member.label + "#", options) if options else 0


def param_at(graph: Graph, path: str):
    """The ParamSpec at the dotted ``path`` of a layer of ``graph`` (a tie's target), or None."""
    owner_path, _, leaf = path.rpartition(".")
    member = graph.find_member(owner_path) if owner_path else None
    if member is None or member.kind != "layer":
        return None
    return next((p for p in member.params if p.name == leaf), None)
