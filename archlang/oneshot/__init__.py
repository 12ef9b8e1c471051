"""One-shot NAS: any archlang search space compiled into a weight-sharing supernet.

    net = archlang.supernet(spec, "DARTS", method="darts", C=16, layers=8)   # -> Supernet

``Supernet`` (``supernet.py``) is the ``torch.nn.Module``; the space is compiled from its IR
(``compile.py``: mixed choices ``choice.py``, weight-entangled sizes ``elastic.py``, block
bodies and sequences ``graph.py``), trained by a method (``methods/``: DARTS, PC-DARTS, GDAS,
SPOS, ProxylessNAS) and read back as architectures (``derive.py``, ``subnet.py``).

This package is in the API layer (beside ``archlang.objectives``): it imports the core and the
torch backend, and torch; ``import archlang`` does not import it.
"""

from __future__ import annotations

from archlang.oneshot.methods import GDAS, METHODS, SPOS, Darts, Method, PCDarts, Proxyless, method
from archlang.oneshot.supernet import Supernet


def build_supernet(space, method_spec="darts", *, seed: int | None = None, **hyperparameters) -> Supernet:
    """The supernet of ``space`` (an ``archlang.nas.Space``) for a method (a name or a ``Method``)."""
    return Supernet(space, method(method_spec, **hyperparameters), seed=seed)


__all__ = ["Supernet", "build_supernet", "Method", "METHODS", "Darts", "PCDarts", "GDAS", "SPOS", "Proxyless",
           "method"]
