"""archlang: a declarative language for neural-network architectures and search spaces.

Public API (everything else is private):

    load(path) / loads(text, filename=...) -> Program   parse, resolve imports, check
    Program.elaborate(name, params=..., inputs=...)    -> ir.Model
    format_ir(model) -> str                             one line per node
    to_torch(source, model=None, *, seed=None, **params) -> torch.nn.Module
    to_onnx(source, model=None, *, weights=None, opset=None, path=None, **params) -> onnx.ModelProto
    summary(source, model=None, *, inputs=None, **params) -> archlang.report.summary.Summary
    render(source, model=None, *, path=None, depth=None, expand=False, direction="TB", …) -> DOT text
                                                        (a str that Jupyter draws: ir.display.Diagram)
    space(source, name=None, *, inputs=None, **params) -> archlang.nas.Space
    search(space, objective, *, strategy=, budget=, …) -> archlang.nas.study.Study
    supernet(source, name=None, *, method="darts", inputs=None, **params) -> archlang.oneshot.Supernet
    ArchError                                           every user error; .diagnostics

Importing archlang never imports torch or onnx: backends load lazily.
"""

from __future__ import annotations

from archlang._version import __version__
from archlang.api import format_ir, load, loads, render, search, space, summary, supernet, to_onnx, to_torch
from archlang.elaborate.program import Program
from archlang.errors import ArchError, Diagnostic, Span

__all__ = [
    "ArchError", "Diagnostic", "Span", "Program", "load", "loads", "format_ir",
    "to_torch", "to_onnx", "summary", "space", "search", "supernet", "render", "__version__",
]
