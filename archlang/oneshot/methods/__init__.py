"""The one-shot methods, by name: ``darts``, ``pcdarts``, ``gdas``, ``spos``, ``proxyless``.

Each is a dataclass of hyperparameters whose defaults are the papers' (``SOURCES`` names the
paper section or public code file of each) and the hooks a training loop needs
(``methods.base``).  ``method("pcdarts", k=2)`` makes one; an instance passes through.
Imports torch.
"""

from __future__ import annotations

from archlang.oneshot.methods.base import Method, Optimizers, StepResult
from archlang.oneshot.methods.darts import Darts, PCDarts
from archlang.oneshot.methods.gdas import GDAS
from archlang.oneshot.methods.proxyless import Proxyless
from archlang.oneshot.methods.spos import SPOS, recalibrate

METHODS: dict[str, type[Method]] = {cls.name: cls for cls in (Darts, PCDarts, GDAS, SPOS, Proxyless)}


def method(spec, **hyperparameters) -> Method:
    """A method from its name and hyperparameters, or a ``Method`` instance as it is."""
    if isinstance(spec, Method):
        if hyperparameters:
            raise TypeError("give the hyperparameters to the method's constructor, not beside an instance")
        return spec
    cls = METHODS.get(spec) if isinstance(spec, str) else None
    if cls is None:
        raise ValueError(f"unknown one-shot method {spec!r}; expected one of {', '.join(METHODS)}")
    return cls(**hyperparameters)


__all__ = ["METHODS", "Method", "Optimizers", "StepResult", "Darts", "PCDarts", "GDAS", "SPOS", "Proxyless",
           "method", "recalibrate"]
