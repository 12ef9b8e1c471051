"""The dispatch table: registry op name → lowering function, gathered from the families.

``LOWERINGS`` covers every op of ``archlang.ops.REGISTRY`` except ``Parameter`` (an
initializer, handled by the walker); ``missing()`` lists any op without a lowering, which
the test-suite keeps empty.

Imports the lowering families and archlang.ops; never another backend.
"""

from __future__ import annotations

from archlang.ops import REGISTRY

from . import lower_attention, lower_math, lower_movement, lower_nn, lower_select, lower_special, lower_tensor

_FAMILIES = (lower_math, lower_tensor, lower_select, lower_movement, lower_nn, lower_attention, lower_special)

# ops the walker handles itself rather than through a lowering
WALKER_OPS = frozenset({"Parameter"})


def _gather() -> dict:
    table: dict = {}
    for family in _FAMILIES:
        for name, fn in family.lowerings().items():
            assert name not in table, f"op {name} lowered twice"
            assert name in REGISTRY, f"lowering for unknown op {name}"
            table[name] = fn
    return table


LOWERINGS = _gather()


def missing() -> list[str]:
    """Registry ops with no lowering (should be none)."""
    return sorted(op for op in REGISTRY if op not in LOWERINGS and op not in WALKER_OPS)
