"""The model's parameters: which state-dict keys the spec expects, how ties alias them, and
checking a given set of weights against them.

``ParamTable(model)`` walks the member tree (declaration order, so keys come out in the
torch backend's state-dict order), collecting every layer's ``ParamSpec`` under its full
path (``layer1.0.conv1.weight``) and every ``tie`` as an alias of one path to another.
``check(weights)`` returns the arrays cast to the spec's dtypes, or raises ONE ArchError
that lists every missing, unexpected and wrongly shaped tensor.  A tie's target may be
given (it must then have the source's shape) or left out; BatchNorm's
``num_batches_tracked`` may be left out (inference never reads it).

Imports numpy and archlang.ir/dims/errors only.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from archlang.errors import ArchError, ShapeError
from archlang.ir import Graph, Member, Model, dims

from .graph import NUMPY

OPTIONAL_BUFFERS = ("num_batches_tracked",)


class ParamTable:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.specs: dict = {}  # full path -> (ParamSpec, owning Member)
        self.alias: dict[str, str] = {}  # tie target -> tie source (full paths)
        self._walk_graph(model.graph, "")

    # ---- the member tree
    def _walk_graph(self, graph: Graph, prefix: str) -> None:
        self._walk_members(graph.members, prefix)
        for tie in graph.ties:
            self.alias[prefix + tie.target] = prefix + tie.source

    def _walk_members(self, members, prefix: str) -> None:
        for name, member in members:
            self._walk_member(member, prefix + name)

    def _walk_member(self, member: Member, path: str) -> None:
        if member.kind == "layer":
            for spec in (s for s in member.params if s.persistent):  # the others are constants of the graph
                self.specs[f"{path}.{spec.name}" if spec.name else path] = (spec, member)
        elif member.kind == "block" and member.graph is not None:
            self._walk_graph(member.graph, path + ".")
        else:
            self._walk_members(member.members, path + ".")

    def source(self, path: str) -> str:
        """The path whose tensor ``path`` really is (ties followed)."""
        seen = set()
        while path in self.alias and path not in seen:
            seen.add(path)
            path = self.alias[path]
        return path

    def require_concrete(self) -> None:
        """Every parameter shape is a number (checked before any weight is built)."""
        for path, (spec, member) in self.specs.items():
            _concrete(spec.shape, member, path)

    # ---- weights
    def check(self, weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        problems: list[str] = []
        arrays: dict[str, np.ndarray] = {}
        for path, (spec, member) in self.specs.items():
            shape = _concrete(spec.shape, member, path)
            if path not in weights:
                if not (path in self.alias or spec.name in OPTIONAL_BUFFERS):
                    problems.append(f"missing    {path} {list(shape)}")
                continue
            array = np.asarray(weights[path])
            if tuple(array.shape) != shape:
                problems.append(f"wrong shape {path}: expected {list(shape)}, got {list(array.shape)}")
                continue
            arrays[path] = np.ascontiguousarray(array.astype(NUMPY.get(spec.dtype, np.float32), copy=False))
        problems += [f"unexpected {key}" for key in weights if key not in self.specs]
        if problems:
            raise ArchError(
                f"the weights do not fit {self.model.name} ({len(problems)} problem"
                f"{'s' if len(problems) != 1 else ''}):\n  " + "\n  ".join(problems),
                self.model.graph.span,
            )
        return arrays


def _concrete(shape, member: Member, path: str) -> tuple:
    for d in shape:
        if type(d) is not int:
            raise ShapeError(f"parameter {path} has the symbolic size {dims.to_str(d)}; give the input a "
                             "concrete shape or make the size a parameter", member.span)
    return tuple(shape)
