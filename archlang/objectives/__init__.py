"""Built-in objectives of a search, by name, handed to ``archlang.search`` as callables.

    static     params, macs            from the IR (archlang.report.summary): no torch
    measured   latency                 median forward time in milliseconds (torch)
    proxies    synflow, grad_norm,     training-free scores of the network at initialisation
               snip, naswot, gradsign  on a real batch of handwritten digits (torch)
    trained    accuracy                validation accuracy after a short training run on
                                       scikit-learn's handwritten digits (torch, CPU)

Accuracy and the proxies are maximised; params, macs and latency minimised.  Every built-in
objective takes the fixed ``ir.Model`` (``takes = "model"``), is picklable (so ``workers > 1``
can use it) and deterministic for its ``seed``.

    objective = archlang.objectives.get("accuracy", epochs=5)
    both = archlang.objectives.combine(["accuracy", "params"])   # a two-objective search
    mine = archlang.objectives.parse("score.py:accuracy_on_my_data,params")   # the CLI's --objective

``params``, ``macs`` and ``latency`` measure a cost of the model (``cost = True``): a search
scoring one deduplicates by the exact model.  ``check()`` says, before a search starts, what
to install when an objective needs a missing package.  User objectives (``user.py``) are
functions named ``file.py:function`` or ``package.module:function``.

Importing this package imports no torch: a module that needs it is loaded on first use.
"""

from __future__ import annotations

from importlib import import_module

from archlang.objectives.base import Combined, MissingDependency, Objective, ObjectiveError
from archlang.objectives.user import UserObjective, is_user_objective

REGISTRY: dict[str, tuple[str, str]] = {
    "params": ("archlang.objectives.static", "Params"),
    "macs": ("archlang.objectives.static", "MACs"),
    "latency": ("archlang.objectives.latency", "Latency"),
    "synflow": ("archlang.objectives.proxies", "SynFlow"),
    "grad_norm": ("archlang.objectives.proxies", "GradNorm"),
    "snip": ("archlang.objectives.proxies", "Snip"),
    "naswot": ("archlang.objectives.proxies", "NASWOT"),
    "gradsign": ("archlang.objectives.proxies", "GradSign"),
    "accuracy": ("archlang.objectives.accuracy", "Accuracy"),
}
PROXIES = ("synflow", "grad_norm", "snip", "naswot", "gradsign")


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str, **options) -> Objective:
    """The built-in objective ``name`` with ``options`` (e.g. ``epochs=5`` for accuracy)."""
    if not isinstance(name, str):
        raise TypeError(f"an objective is named by a str, not {type(name).__name__}")
    try:
        module, cls = REGISTRY[name]
    except KeyError:
        raise ObjectiveError(f"unknown objective '{name}' (one of: {', '.join(REGISTRY)})") from None
    return getattr(import_module(module), cls)(**options)


def combine(names_, options: dict | None = None) -> Objective:
    """One objective for one name; a ``Combined`` (a tuple of values) for several.
    ``options``: per-name keyword arguments, e.g. ``{"accuracy": {"epochs": 5}}``."""
    if isinstance(names_, str) or not isinstance(names_, (list, tuple)):
        raise TypeError(f"combine takes a list of objective names, not {type(names_).__name__}")
    options = options or {}
    parts = [get(n, **options.get(n, {})) for n in names_]
    if not parts:
        raise ObjectiveError("name at least one objective")
    return parts[0] if len(parts) == 1 else Combined(parts)


def parse(text: str):
    """The objective an ``--objective`` value names: built-in names and user functions
    (``file.py:function``, ``module:function``), comma-separated; several make one ``Combined``."""
    if not isinstance(text, str):
        raise TypeError(f"objectives are named by a str, not {type(text).__name__}")
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ObjectiveError("name at least one objective")
    parts = [UserObjective(item) if is_user_objective(item) else get(item) for item in items]
    return parts[0] if len(parts) == 1 else Combined(parts)


__all__ = ["Combined", "MissingDependency", "Objective", "ObjectiveError", "PROXIES", "REGISTRY", "UserObjective",
           "combine", "get", "names", "parse"]
