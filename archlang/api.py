"""The small Python API shared by every backend entry point: turning "a spec" (a path, spec
text or a loaded Program) and a model name into an elaborated, checked ``ir.Model``, and the
lazily imported backend calls (``to_torch``).  Importing this module imports no backend.
"""

from __future__ import annotations

from pathlib import Path

from archlang.errors import ArchNameError, Span
from archlang.ir import Model
from archlang.program import Program, load_program, loads_program


def as_program(source) -> Program:
    """A Program from a Program, a path to an .arch file, or spec text.

    Only the static checks run here; the entry point used is checked when it is elaborated
    (so compiling one model of a zoo file does not elaborate all the others)."""
    if isinstance(source, Program):
        return source
    if isinstance(source, Path):
        return load_program(source, check=False)
    if isinstance(source, str) and "\n" not in source and (source.endswith(".arch") or Path(source).is_file()):
        return load_program(source, check=False)
    if isinstance(source, str):
        return loads_program(source, check=False)
    raise TypeError(f"a spec is a path, spec text or a Program, not {type(source).__name__}")


def elaborate(source, model: str | None = None, *, inputs: dict | None = None,
              assignment: dict | None = None, **params) -> Model:
    """The IR of ``model`` (default: the file's only model) with ``params`` applied."""
    program = as_program(source)
    name = model or default_model(program)
    return program.elaborate(name, params=params, inputs=inputs or {}, assignment=assignment)


def default_model(program: Program) -> str:
    entries = program.models + program.spaces
    if len(entries) == 1:
        return entries[0]
    listing = ", ".join(entries) or "none"
    raise ArchNameError(f"{program.file} defines several entry points ({listing}); name one", Span(program.file, 1, 1))


def to_torch(source, model: str | None = None, *, seed: int | None = None, inputs: dict | None = None, **params):
    """An ``nn.Module`` for ``model``; parameter names come from the spec."""
    from archlang.backends.torch import build_module

    return build_module(elaborate(source, model, inputs=inputs, **params), seed=seed)
