"""The IR, the one data structure every backend reads.

Modules, lowest first: ``dims`` (symbolic sizes: integer expressions over named sizes and
search decisions), ``types`` (dtypes, tensor and parameter types), ``graph`` (members,
nodes, graphs, models: frozen dataclasses with a closed set of node kinds; ``schema``
validates them with pydantic at the boundary).

A leaf of the package: imports only ``archlang.errors`` (never the op registry, the front
end, the search core or a backend).  The graph classes are re-exported here.
"""

from archlang.ir.graph import (
    BlockName,
    ChoiceDecl,
    ChoiceRef,
    Constraint,
    Graph,
    Guard,
    IRModel,
    Member,
    Model,
    Node,
    Tie,
)

__all__ = ["BlockName", "ChoiceDecl", "ChoiceRef", "Constraint", "Graph", "Guard", "IRModel", "Member", "Model", "Node", "Tie"]
