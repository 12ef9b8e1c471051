"""The dispatch table: registry op name → lowering function, gathered from the families.

``LOWERINGS`` covers every op of ``archlang.ops.REGISTRY`` except ``Parameter`` (an
initializer, handled by the walker); ``missing()`` lists any op without a lowering, which
the test-suite keeps empty.  ``describe(op)`` says how an op is lowered, from its lowering's
docstring (the op reference shows it).

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


def describe(op: str) -> str:
    """How ``op`` is lowered, in words: the first paragraph of its lowering's docstring (the op
    reference, docs/ops.md, shows it); '' when it has none."""
    if op in WALKER_OPS:
        return "an initializer named by the parameter's path (a tied one: the initializer it is tied to)"
    fn = LOWERINGS.get(op)
    text = (fn.__doc__ or "").strip().split("\n\n")[0] if fn is not None else ""
    return " ".join(text.split()).rstrip(".")


def missing() -> list[str]:
    """Registry ops with no lowering (should be none)."""
    return sorted(op for op in REGISTRY if op not in LOWERINGS and op not in WALKER_OPS)
