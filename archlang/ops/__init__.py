"""The primitive op registry: every op archlang knows, by name.

``REGISTRY`` maps a name (``"Conv2d"``, ``"relu"``) to its ``OpSpec``: signature, shape
rule, parameters and MACs.  Backends map ops by name; they never re-derive shapes.  The
definitions live in one small module per family; this module only gathers them.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ops import (
    activation,
    attention,
    compare,
    conv,
    elementwise,
    indexing,
    join,
    linalg,
    linear,
    misc,
    movement,
    norm,
    pool,
    rearrange,
    reduce,
    resample,
    select,
    special,
    tensor,
)
from archlang.ops._spec import REQUIRED, Attr, OpSpec

__all__ = ["REGISTRY", "FAMILIES", "get", "OpSpec", "Attr", "REQUIRED"]

_FAMILIES = (
    conv, linear, norm, activation, pool, resample, tensor, join, indexing, select, movement, rearrange, reduce,
    elementwise, compare, linalg, attention, special, misc,
)


def _gather() -> dict[str, OpSpec]:
    registry: dict[str, OpSpec] = {}
    for family in _FAMILIES:
        for spec in family.OPS:
            assert spec.name not in registry, f"op {spec.name} defined twice"
            registry[spec.name] = spec
    return registry


REGISTRY: dict[str, OpSpec] = _gather()

# (title, ops) of each family, in registry order: the chapters of the op reference
FAMILIES: tuple[tuple[str, tuple[OpSpec, ...]], ...] = tuple((f.TITLE, tuple(f.OPS)) for f in _FAMILIES)


def get(name: str) -> OpSpec | None:
    return REGISTRY.get(name)
