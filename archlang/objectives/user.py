"""User objectives named on the command line: ``--objective file.py:function`` or
``--objective package.module:function`` (docs/cli.md, "User objectives").

The function is called like any objective of ``archlang.search`` (``archlang.nas.engine``):
with the fixed architecture — a checked ``archlang.Program`` by default, the ``ir.Model``
when the function has ``takes = "model"``, the ``Assignment`` with ``takes = "assignment"`` —
and returns a number, or a tuple of numbers for several directions.  Optional attributes:
``direction`` / ``directions`` ("minimize" by default), ``name`` / ``names``, ``cost = True``
(it measures the model itself: parameters, time …), ``check()`` (raise when it cannot run).

``UserObjective`` remembers where the function lives, not the function: it is picklable, and
each worker process imports the file again.  Importing a user's file runs its code; that is
what naming it on the command line asks for (a spec never does).  Imports no torch.
"""

from __future__ import annotations

from pathlib import Path

from archlang import userimport
from archlang.objectives.base import ObjectiveError


def is_user_objective(text: str) -> bool:
    """Whether an ``--objective`` item names a user function (``where:function``)."""
    return ":" in text


class UserObjective:
    """The function ``name`` of ``where`` (a .py file or an importable module)."""

    def __init__(self, spec: str) -> None:
        where, sep, name = spec.rpartition(":")
        if not sep or not where or not name.isidentifier():
            raise ObjectiveError(f"--objective {spec}: a user objective is FILE.py:FUNCTION or MODULE:FUNCTION")
        self.spec = spec
        self.file = _file(where)
        self.module = None if self.file else where
        self.function = name
        found = self._load()
        self.takes = getattr(found, "takes", "program")
        given = getattr(found, "directions", None) or getattr(found, "direction", None) or ("minimize",)
        self.directions = (given,) if isinstance(given, str) else tuple(given)
        names = getattr(found, "names", None)
        self.names = tuple(names) if names and len(names) == len(self.directions) else \
            (name,) if len(self.directions) == 1 else tuple(f"{name}[{i}]" for i in range(len(self.directions)))
        self.name = ",".join(self.names)
        self.direction = self.directions[0]
        self.cost = bool(getattr(found, "cost", False))
        self._found = found

    def check(self) -> None:
        check = getattr(self._get(), "check", None)
        if callable(check):
            check()

    def __call__(self, architecture):
        return self._get()(architecture)

    def _get(self):
        if self._found is None:
            self._found = self._load()
        return self._found

    def _load(self):
        module = _import_file(self.file, self.spec) if self.file else _import_module(self.module, self.spec)
        found = getattr(module, self.function, None)
        if found is None:
            raise ObjectiveError(f"--objective {self.spec}: {self.file or self.module} has no '{self.function}'")
        if not callable(found):
            raise ObjectiveError(f"--objective {self.spec}: '{self.function}' is a {type(found).__name__}, "
                                 "not a function")
        return found

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_found": None}  # a worker process imports the function again

    def __repr__(self) -> str:
        return f"UserObjective({self.spec!r})"


def _file(where: str) -> str | None:
    """The absolute path when ``where`` names a file, None when it names a module."""
    if not (where.endswith(".py") or "/" in where or "\\" in where):
        return None
    path = Path(where).expanduser()
    if not path.is_file():
        raise ObjectiveError(f"--objective {where}: no such file")
    return str(path.resolve())


def _import_file(file: str, spec: str):
    return userimport.import_file(file, spec, flag="--objective", error=ObjectiveError,
                                  prefix="archlang_user_objective_")


def _import_module(module: str, spec: str):
    return userimport.import_module(module, spec, flag="--objective", error=ObjectiveError)
