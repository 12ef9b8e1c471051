"""Block instances shared between the entry points of one ``check``.

``archlang check`` elaborates every model and space of a file, each with a ``Context`` of its
own, and a file's variants elaborate mostly the same block instances (ResNet18 and ResNet34
both build ``BasicBlock(128, stride=2)`` on the same input type).  ``SharedBlocks`` lets a later
entry point reuse the Graph an earlier one built, so the check does that work once.

Only an instance that is a function of its block, arguments and input types alone is
shared: one that made no search choice (no ``ChoiceDecl`` to record, no label tied to its
path) and holds no constraint anywhere in it (nothing for the entry point to check after
elaborating).  Reusing it therefore leaves nothing in the entry point's Context undone, and
the model is the one elaborating it alone gives (the Graph objects are the same, as identical
instances inside one model already are).
"""

from __future__ import annotations

from typing import Any

from archlang.ir import Graph, Member, Node


class SharedBlocks:
    """Graphs of block instances by their cache key (block, arguments, input types)."""

    def __init__(self) -> None:
        self.graphs: dict[Any, Graph] = {}
        # id(graph) -> (graph, whether no constraint is anywhere in it); holding the graph keeps
        # its id from being reused while the answer is remembered
        self._free: dict[int, tuple[Graph, bool]] = {}

    def get(self, key) -> Graph | None:
        return self.graphs.get(key)

    def offer(self, key, graph: Graph) -> None:
        """Share ``graph`` (built under ``key`` without making a choice) if it holds no constraint."""
        if self._constraint_free(graph):
            self.graphs[key] = graph

    def _constraint_free(self, graph: Graph) -> bool:
        known = self._free.get(id(graph))
        if known is None:
            free = not graph.constraints and all(self._constraint_free(g) for g in _subgraphs(graph))
            known = self._free[id(graph)] = (graph, free)
        return known[1]


def _subgraphs(graph: Graph):
    for node in graph.nodes:
        yield from _node_graphs(node)
    for _, member in graph.members:
        yield from _member_graphs(member)


def _node_graphs(node: Node):
    if node.body is not None:
        yield node.body
    for branch in node.branches:
        yield from _node_graphs(branch)


def _member_graphs(member: Member):
    if member.graph is not None:
        yield member.graph
    for _, child in member.members:
        yield from _member_graphs(child)
