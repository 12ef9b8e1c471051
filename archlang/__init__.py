"""archlang: a declarative language for neural-network architectures and search spaces.

Public API (everything else is private):

    load(path) / loads(text, filename=...) -> Program   parse, resolve imports, check
    Program.elaborate(name, params=..., inputs=...)    -> ir.Model
    format_ir(model) -> str                             one line per node
    to_torch(source, model=None, *, seed=None, **params) -> torch.nn.Module
    to_onnx(source, model=None, *, weights=None, opset=None, path=None, **params) -> onnx.ModelProto
    summary(source, model=None, *, inputs=None, **params) -> archlang.summarize.Summary
    render(source, model=None, *, path=None, depth=None, expand=False, direction="TB", …) -> DOT text
    space(source, name=None, *, inputs=None, **params) -> archlang.search.Space
    search(space, objective, *, strategy=, budget=, …) -> archlang.search.study.Study
    ArchError                                           every user error; .diagnostics

Importing archlang never imports torch or onnx: backends load lazily.
"""

from __future__ import annotations

from archlang import api
from archlang.api import render, space, to_onnx, to_torch
from archlang.errors import ArchError, Diagnostic, Span
from archlang.program import Program, load_program as load, loads_program as loads
from archlang import search  # the package archlang.search, callable as archlang.search(space, objective, …)

search.__class__ = api.SearchPackage

__version__ = "0.1.0"


def format_ir(model) -> str:
    """The IR of an elaborated model as text, one line per node (the golden-file format)."""
    from archlang.printer import format_model

    return format_model(model)


def summary(source, model: str | None = None, *, inputs: dict | None = None, **params):
    """Per-layer output shapes, parameters and MACs, computed analytically from the IR."""
    from archlang.summarize import summarize

    return summarize(api.elaborate(source, model, inputs=inputs, **params))


__all__ = [
    "ArchError", "Diagnostic", "Span", "Program", "load", "loads", "format_ir",
    "to_torch", "to_onnx", "summary", "space", "search", "render", "__version__",
]
