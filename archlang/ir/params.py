"""Parameters of an IR graph, read off its members: counts (exact symbolic expressions over
search decisions and sizes) and state-dict entries in PyTorch's order.

Parameters are counted per member (a layer applied twice has its weights once; a tied
parameter counts once); a choice counts the option taken (``dims.select`` over its
options); a member of a sequence whose length is searched counts where the length reaches
it.  Buffers are not parameters (``buffers=True`` counts their elements instead); persistent
ones are state-dict entries.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ir.graph import Graph, Member


def count_params(graph: Graph, _memo: dict | None = None):
    """Parameters of a block instance (see ``count_elements``)."""
    return count_elements(graph, buffers=False, memo=_memo)


def member_params(member: Member, _memo: dict | None = None):
    """Parameters of one member (see ``member_elements``)."""
    return member_elements(member, buffers=False, memo=_memo)


def count_elements(graph: Graph, *, buffers: bool = False, memo: dict | None = None):
    """Parameters (or, with ``buffers``, buffer elements) of a block instance: every member
    once, tied parameters once.  A graph shared by several members is counted once and reused
    (``memo``, by identity), so the count takes time linear in the shared IR however often its
    blocks are used."""
    memo = {} if memo is None else memo
    key = (id(graph), buffers)
    found = memo.get(key)
    if found is not None:
        return found
    total = sum((member_elements(m, buffers=buffers, memo=memo) for _, m in graph.members), 0)
    for tie in graph.ties if not buffers else ():  # a tie shares a parameter, never a buffer
        spec = param_at(graph, tie.target)
        if spec is not None:
            total = total - spec.numel()
    memo[key] = found = dims.simplify(total)
    return found


def member_elements(member: Member | None, *, buffers: bool = False, memo: dict | None = None):
    """Parameters (or buffer elements) of one member; 0 for none.  A member of a sequence whose
    length is searched counts where the length reaches it."""
    memo = {} if memo is None else memo
    if member is None:
        return 0
    if member.kind == "layer":
        return dims.simplify(sum((p.numel() for p in member.params if p.buffer == buffers), 0))
    if member.kind == "block":
        return count_elements(member.graph, buffers=buffers, memo=memo)
    if member.kind == "sequential":
        return dims.simplify(sum((member_elements(m, buffers=buffers, memo=memo) * reached(member.count, name, 1)
                                  for name, m in member.members), 0))
    options = [member_elements(m, buffers=buffers, memo=memo) for _, m in member.members]  # a choice
    return dims.select(member.label + "#", options) if options else 0


def reached(count, name: str, run):
    """Items ``name`` … ``name + run - 1`` of a sequence that runs ``count`` items: how many run
    (all of them when the length is not searched, or the item is not numbered)."""
    if count is None or not name.isdigit():
        return run
    index = int(name)
    if not isinstance(run, int):  # the elaborator's last run: count - index items
        return dims.dmax(0, run)
    return dims.dmax(0, dims.dmin(dims.simplify(count - index), run))


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


def param_at(graph: Graph, path: str):
    """The ParamSpec a tie names (``conv.weight``), or None."""
    owner_path, _, leaf = path.rpartition(".")
    member = graph.find_member(owner_path) if owner_path else None
    if member is None or member.kind != "layer":
        return None
    return next((p for p in member.params if p.name == leaf), None)
