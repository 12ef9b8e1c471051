"""Constraints given from outside a spec (API, ``archlang sample --max-params``): bounds on
parameters and MACs.  A spec states its own with ``constrain`` statements (archlang.elaborate.constrain);
a space honours both.

    constraints = [Constraint("params", "<=", 5e6), parse_constraint("macs <= 300e6")]
    space.sample(seed=0, constraints=constraints)     # uniform over the feasible architectures
    metrics(space, assignment)                          # {"params": …, "macs": …}

Both are computed from the fixed IR by ``archlang.report.summary`` (no weights, no forward pass).
Parameters are a number; MACs are per example: the batch size (the first dimension of the
entry point's inputs) is set to 1, and any other symbolic size must be given to the space
(``archlang.space(path, inputs={"ids": [1, 128]})``).  Must not import a backend.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

from archlang.elaborate.satisfy import measure
from archlang.errors import SpaceError, Span
from archlang.errors.arguments import need_number, shown

METRICS = ("params", "macs")
_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
_SPAN = Span("<constraint>", 1, 1)


@dataclass(frozen=True)
class Constraint:
    """``metric op bound``, e.g. params <= 5e6."""

    metric: str
    op: str
    bound: float

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise SpaceError(f"a constraint bounds one of {', '.join(METRICS)}, not '{self.metric}'", _SPAN)
        if self.op not in _OPS:
            raise SpaceError(f"a constraint compares with one of {', '.join(_OPS)}, not '{self.op}'", _SPAN)

    def holds(self, values: dict) -> bool:
        return _OPS[self.op](values[self.metric], self.bound)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


def parse_constraint(text: str) -> Constraint:
    """``"params <= 5e6"`` → Constraint("params", "<=", 5e6)."""
    match = re.fullmatch(r"\s*(\w+)\s*(<=|>=|<|>)\s*([0-9.eE+_]+)\s*", text)
    if match is None:
        raise SpaceError(f"cannot read the constraint '{text}' (write e.g. 'params <= 5e6')", _SPAN)
    try:
        bound = float(match.group(3).replace("_", ""))
    except ValueError:
        raise SpaceError(f"'{match.group(3)}' is not a number", _SPAN) from None
    return Constraint(match.group(1), match.group(2), bound)


def metrics(space, assignment, which=METRICS) -> dict:
    """The parameters and per-example MACs of the architecture ``assignment`` fixes."""
    return measure(space._fixed(assignment), which)


def normalise(constraints) -> list[Constraint]:
    """Constraints from Constraint objects, their text, or a {"max_params": …, "max_macs": …} dict."""
    if constraints is None:
        return []
    if isinstance(constraints, dict):
        out = []
        for key, bound in constraints.items():
            kind, _, metric = key.partition("_")
            if kind not in ("max", "min") or metric not in METRICS:
                raise SpaceError(f"unknown constraint '{key}' (max_params, max_macs, min_params, min_macs)", _SPAN)
            if bound is not None:
                need_number(bound, f"constraints[{key!r}]")
                out.append(Constraint(metric, "<=" if kind == "max" else ">=", float(bound)))
        return out
    if isinstance(constraints, (str, Constraint)):
        constraints = [constraints]
    if not isinstance(constraints, (list, tuple)):
        raise TypeError(f"constraints must be a dict such as {{'max_params': 1e6}}, a list of texts such as "
                        f"['params <= 1e6'], or None, not {shown(constraints)}")
    for item in constraints:
        if not isinstance(item, (str, Constraint)):
            raise TypeError(f"a constraint is a text such as 'params <= 1e6', not {shown(item)}")
    return [parse_constraint(c) if isinstance(c, str) else c for c in constraints]
