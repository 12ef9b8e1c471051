"""archlang: a declarative language for neural-network architectures and search spaces.

Public API (everything else is private):

    load(path) / loads(text, filename=...) -> Program   parse, resolve imports, check
    Program.elaborate(name, params=..., inputs=...)    -> ir.Model
    format_ir(model) -> str                             one line per node
    to_torch(source, model=None, *, seed=None, **params) -> torch.nn.Module
    to_onnx(source, model=None, *, weights=None, opset=None, path=None, **params) -> onnx.ModelProto
    summary(source, model=None, *, inputs=None, **params) -> archlang.report.summary.Summary
    render(source, model=None, *, path=None, depth=None, expand=False, direction="TB", …) -> DOT text
    space(source, name=None, *, inputs=None, **params) -> archlang.nas.Space
    search(space, objective, *, strategy=, budget=, …) -> archlang.nas.study.Study
    supernet(source, name=None, *, method="darts", inputs=None, **params) -> archlang.oneshot.Supernet
    ArchError                                           every user error; .diagnostics

Importing archlang never imports torch or onnx: backends load lazily.  Nor does it import the
API itself (pydantic, lark): each name above is imported when it is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from archlang._version import __version__
from archlang.errors import ArchError, Diagnostic, Span

if TYPE_CHECKING:  # what the names below are, for type checkers and editors
    from archlang.api import format_ir, load, loads, render, search, space, summary, supernet, to_onnx, to_torch
    from archlang.elaborate.program import Program

__all__ = [
    "ArchError", "Diagnostic", "Span", "Program", "load", "loads", "format_ir",
    "to_torch", "to_onnx", "summary", "space", "search", "supernet", "render", "__version__",
]

# The API is imported on first use (PEP 562), so ``import archlang`` costs milliseconds, and a
# command that never elaborates a spec (``archlang --version``, ``fmt``) never imports pydantic.
_FROM_API = frozenset({"load", "loads", "format_ir", "to_torch", "to_onnx", "summary", "space", "search",
                       "supernet", "render"})

_SUBPACKAGES = frozenset({"api", "elaborate", "ir", "nas", "objectives", "oneshot", "ops", "report", "resolve",
                          "syntax", "files", "errors", "lsp", "cli", "backends"})


def __getattr__(name: str):
    if name in _FROM_API:
        from archlang import api

        value = getattr(api, name)
    elif name == "Program":
        from archlang.elaborate.program import Program as value
    elif name in _SUBPACKAGES:  # ``archlang.objectives.get(…)`` after a bare ``import archlang``
        value = importlib.import_module(f"archlang.{name}")
    else:
        raise AttributeError(f"module 'archlang' has no attribute '{name}'")
    globals()[name] = value  # the next lookup does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
