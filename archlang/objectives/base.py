"""The objective protocol of the built-ins: a picklable callable on a fixed ``ir.Model`` with a
name, a direction, whether it measures a cost of the model, and the packages it needs; and
``Combined``, several objectives as one (a tuple of values).  Imports no torch.
"""

from __future__ import annotations

import importlib.util


class ObjectiveError(ValueError):
    """An objective that cannot be used (an unknown name, a missing package) or cannot score
    this architecture (e.g. the data do not fit its input)."""


class MissingDependency(ObjectiveError):
    """An objective needs a package that is not installed (found before any trial runs)."""


class Objective:
    """Base class: ``objective(model) -> float``; ``direction`` is "minimize" or "maximize".

    ``cost``: the value measures the fixed model itself (parameters, MACs, time), so two
    architectures that compute the same function can score differently; a search then
    deduplicates by the exact model (docs/safety.md).  ``requires``: (module, pip
    requirement) pairs that ``check()`` looks for before a search starts."""

    name = ""
    direction = "maximize"
    takes = "model"
    cost = False
    requires: tuple[tuple[str, str], ...] = ()

    @property
    def directions(self) -> tuple[str, ...]:
        return (self.direction,)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    def check(self) -> None:
        """Raise MissingDependency, naming what to install, when a package it needs is missing."""
        missing = [(module, pip) for module, pip in self.requires if not _installed(module)]
        if missing:
            what = " and ".join(PACKAGES.get(module, module) for module, _ in missing)
            install = " ".join(dict.fromkeys(f"'{pip}'" for _, pip in missing))
            verb = "is" if len(missing) == 1 else "are"
            raise MissingDependency(f"the {self.name} objective needs {what}, which {verb} not installed: "
                                    f"pip install {install}")

    def __call__(self, model) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()) if not k.startswith("_"))
        return f"{type(self).__name__}({options})"


TORCH = ("torch", "archlang[torch]")
SKLEARN = ("sklearn", "archlang[search]")
PACKAGES = {"torch": "PyTorch", "sklearn": "scikit-learn"}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, or a broken package
        return False


class Combined(Objective):
    """Several objectives evaluated on the same input: a tuple of their values."""

    def __init__(self, parts: list) -> None:
        self.parts = list(parts)
        takes = {getattr(p, "takes", "program") for p in self.parts}
        if len(takes) > 1:
            raise ObjectiveError("objectives combined in one search must take the same input "
                                 f"(these take {', '.join(sorted(takes))})")
        self.takes = takes.pop()

    @property
    def name(self) -> str:
        return ",".join(self.names)

    @property
    def directions(self) -> tuple[str, ...]:
        return tuple(d for p in self.parts for d in _directions(p))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for p in self.parts for n in _names(p))

    @property
    def cost(self) -> bool:
        return any(getattr(p, "cost", False) for p in self.parts)

    def check(self) -> None:
        for part in self.parts:
            check = getattr(part, "check", None)
            if callable(check):
                check()

    def __call__(self, model) -> tuple:
        values: list = []
        for part in self.parts:
            value = part(model)
            values.extend(value if isinstance(value, (tuple, list)) else (value,))
        return tuple(values)


def _directions(objective) -> tuple:
    given = getattr(objective, "directions", None) or getattr(objective, "direction", None) or ("minimize",)
    return (given,) if isinstance(given, str) else tuple(given)


def _names(objective) -> tuple:
    names = getattr(objective, "names", None)
    count = len(_directions(objective))
    if names and len(names) == count:
        return tuple(names)
    name = getattr(objective, "name", None) or getattr(objective, "__name__", "objective")
    return (name,) if count == 1 else tuple(f"{name}[{i}]" for i in range(count))
