"""Which edges of a graph are skip (residual) connections, so they can be drawn as such.

An edge ``u → v`` into a node with several distinct inputs is a skip when ``v`` is also
reached from a fork point ``p`` along a much longer path: ``p`` is ``u`` itself when ``u``
feeds other nodes too (``relu(x + f(x))``: the edge from ``x``), or the fork found by
walking back from ``u`` through a chain of single-input nodes (a projection shortcut:
``x → downsample → add`` next to ``x → conv1 → … → bn2 → add``).  "Much longer" means the
bypassed path weighs at least two more than the shortcut: each drawn op weighs 1, a block
call 2 and an ``item`` (never drawn) 0, so ``x * sigmoid(x)`` and two parallel branches of
similar length (experts next to a router) are not skips.

Works on one IR graph at a time (edges never leave their graph).  Imports only archlang.ir.
"""

from __future__ import annotations

from archlang.ir import Graph, Node

MIN_BYPASS = 2  # the bypassed path must weigh at least this much more than the shortcut
MAX_CHAIN = 6  # how far back a shortcut chain is followed


def skip_edges(graph: Graph) -> frozenset[tuple[str, str]]:
    """``(input name, consumer name)`` of every skip edge of ``graph``."""
    return _Analysis(graph).skips()


def _weight(node: Node) -> int:
    if node.kind == "op" and node.op == "item":
        return 0
    return 2 if node.body is not None else 1


class _Analysis:
    def __init__(self, graph: Graph) -> None:
        self.nodes = {n.name: n for n in graph.nodes}
        self.order = {n.name: i for i, n in enumerate(graph.nodes)}
        self.preds = {n.name: tuple(dict.fromkeys(i for i in n.inputs if i in self.nodes)) for n in graph.nodes}
        self.consumers: dict[str, int] = {}
        for name, preds in self.preds.items():
            for p in preds:
                self.consumers[p] = self.consumers.get(p, 0) + 1

    def skips(self) -> frozenset[tuple[str, str]]:
        found = set()
        for name, preds in self.preds.items():
            if len(preds) < 2 or self.nodes[name].kind == "output":
                continue
            for u in preds:
                if self._is_skip(u, name):
                    found.add((u, name))
        return frozenset(found)

    def _is_skip(self, u: str, v: str) -> bool:
        fork, chain = self._fork(u)
        if fork is None:
            return False
        longest = self._longest(fork, v)
        return longest is not None and longest - chain >= MIN_BYPASS

    def _fork(self, u: str) -> tuple[str | None, int]:
        """The nearest node at or above ``u`` that feeds more than one node, and the weight
        of the chain from it down to ``u`` (inclusive of ``u``, exclusive of the fork)."""
        current, chain = u, 0
        for _ in range(MAX_CHAIN):
            if self.consumers.get(current, 0) > 1:
                return current, chain
            preds = self.preds[current]
            if len(preds) != 1:
                return None, 0
            chain += _weight(self.nodes[current])
            current = preds[0]
        return None, 0

    def _longest(self, source: str, target: str) -> int | None:
        """The heaviest path strictly between ``source`` and ``target`` (None: unreachable)."""
        best: dict[str, int] = {source: 0}
        start, stop = self.order[source], self.order[target]
        for name in list(self.nodes)[start + 1: stop + 1]:
            reached = [best[p] for p in self.preds[name] if p in best]
            if reached:
                best[name] = max(reached) + (0 if name == target else _weight(self.nodes[name]))
        return best.get(target)
