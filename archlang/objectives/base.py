"""The objective protocol of the built-ins: a picklable callable on a fixed ``ir.Model`` with a
name and a direction, and ``Combined``, several objectives as one (a tuple of values).
Imports no torch.
"""

from __future__ import annotations


class ObjectiveError(Exception):
    """An objective that cannot score this architecture (e.g. the data do not fit its input)."""


class Objective:
    """Base class: ``objective(model) -> float``; ``direction`` is "minimize" or "maximize"."""

    name = ""
    direction = "maximize"
    takes = "model"

    @property
    def directions(self) -> tuple[str, ...]:
        return (self.direction,)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    def __call__(self, model) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()) if not k.startswith("_"))
        return f"{type(self).__name__}({options})"


class Combined(Objective):
    """Several objectives evaluated on the same model: a tuple of their values."""

    takes = "model"

    def __init__(self, parts: list[Objective]) -> None:
        self.parts = list(parts)

    @property
    def name(self) -> str:
        return ",".join(p.name for p in self.parts)

    @property
    def directions(self) -> tuple[str, ...]:
        return tuple(p.direction for p in self.parts)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parts)

    def __call__(self, model) -> tuple:
        return tuple(part(model) for part in self.parts)
