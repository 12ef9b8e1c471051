"""``Assignment``: the values a space's active decisions take, and the hash of the space they
belong to; JSON in and out (how studies and ``sample`` files store architectures).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from archlang.errors import SpaceError, Span


@dataclass(frozen=True)
class Assignment:
    """Values of a space's active decisions, and the hash of the space they belong to."""

    values: dict = field(hash=False)
    space: str

    def __repr__(self) -> str:
        shown = ", ".join(f"{k!r}: {v!r}" for k, v in sorted(self.values.items()))
        return f"<Assignment {{{shown if len(shown) <= 200 else shown[:199] + '…'}}} of space {self.space[:12]}…>"

    def to_json(self) -> dict:
        return {"space": self.space, "choices": {k: _jsonable(v) for k, v in sorted(self.values.items())}}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def from_json(cls, data: dict) -> "Assignment":
        if not isinstance(data, dict) or "choices" not in data or "space" not in data \
                or not isinstance(data["choices"], dict) or not isinstance(data["space"], str):
            raise SpaceError("an assignment is a JSON object with 'space' (a string) and 'choices' (an object)",
                             Span("<assignment>", 1, 1))
        return cls({k: tuple(v) if isinstance(v, list) else v for k, v in data["choices"].items()}, data["space"])

    def key(self) -> tuple:
        return tuple(sorted((k, _jsonable(v) if not isinstance(v, list) else tuple(v)) for k, v in self.values.items()))


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value
