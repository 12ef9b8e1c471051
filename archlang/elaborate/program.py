"""Programs: a loaded, checked spec file and the elaboration of its entry points.

``load_program``/``loads_program`` load a file and its imports (``archlang.resolve.loader``),
run the static checks (``archlang.resolve.names``) and, unless told not to, elaborate every
model and space with its defaults (``archlang.elaborate.entry.check_program``).  This is
where the front end's stages meet: the loader is handed the language's builtins and the
evaluator of ``let`` constants from here.  Must not import a backend.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from archlang import ops
from archlang.elaborate.arguments import check_elaborate
from archlang.elaborate.body import Body, Context
from archlang.elaborate.builtin_calls import special_builtins
from archlang.elaborate.entry import check_program, elaborate_entry
from archlang.elaborate.evaluate import NeedsConcrete
from archlang.elaborate.values import BlockRef, Layer, OpRef, TensorVal
from archlang.errors import ArchError, ArchImportError, ArchNameError, ArchTypeError, Span
from archlang.errors.arguments import need_str
from archlang.errors.limits import stack_room
from archlang.errors.sources import register_source
from archlang.ir import Model, display
from archlang.resolve.loader import Loader
from archlang.resolve.names import resolve_units
from archlang.resolve.units import Unit
from archlang.syntax import ast, parse

_BUILTINS: dict[str, Any] | None = None


def builtins() -> dict[str, Any]:
    """Every builtin name of the language: the op registry and the builtin functions."""
    global _BUILTINS
    if _BUILTINS is None:
        table: dict[str, Any] = {name: OpRef(spec) for name, spec in ops.REGISTRY.items()}
        table.update(special_builtins())
        _BUILTINS = table
    return _BUILTINS


def evaluate_let(unit: Unit, let: ast.Let):
    """The value of ``let NAME = expr`` at the top of ``unit``: a constant, never a layer."""
    value = _evaluate_in(unit, let, f"let {let.name}")
    if isinstance(value, (Layer, TensorVal)):
        raise ArchTypeError("let defines constants; layers belong in blocks", let.span)
    return value


def _evaluate_in(unit: Unit, let: ast.Let, what: str):
    holder = ast.BlockDef("block", what, (), None, (), None, let.span)
    try:
        return Body(Context(budget=unit.budget), BlockRef(holder, unit), {}).eval(let.value)
    except NeedsConcrete as need:
        raise need.error() from None
    except ArchError as error:
        raise error.located_at(let.span) from None


def new_loader(root: Path | None) -> Loader:
    return Loader(root, builtins=builtins, evaluate_let=evaluate_let)


class Program:
    """A loaded, checked .arch file: its definitions, and elaboration of its entry points."""

    def __init__(self, loader: Loader, root: Unit) -> None:
        self.loader = loader
        self.unit = root
        self.file = root.file

    @property
    def definitions(self) -> dict[str, ast.BlockDef]:
        return dict(self.unit.definitions)

    def names(self, kind: str) -> list[str]:
        return [n for n, d in self.unit.definitions.items() if d.kind == kind]

    @property
    def blocks(self) -> list[str]:
        return self.names("block")

    @property
    def models(self) -> list[str]:
        return self.names("model")

    @property
    def spaces(self) -> list[str]:
        return self.names("space")

    def definition(self, name: str) -> ast.BlockDef:
        found = self.unit.definitions.get(need_str(name, "name"))
        if found is None:
            entries = self.models + self.spaces + self.blocks
            close = difflib.get_close_matches(name, entries, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (it defines: {', '.join(entries) or 'nothing'})"
            raise ArchNameError(f"{self.file} defines no '{name}'{hint}", Span(self.file, 1, 1))
        return found

    def elaborate(self, name: str, params: dict | None = None, inputs: dict | None = None,
                  assignment: dict | None = None) -> Model:
        """The IR of entry point ``name`` (a model, space or block with defaults)."""
        params, inputs, assignment = check_elaborate(name, params, inputs, assignment)
        with stack_room():
            return elaborate_entry(self.unit, self.definition(name), params, inputs, assignment)

    def argument(self, name: str, expression: str) -> Any:
        """``expression``, in the language, evaluated in this file's scope: the value of the
        command line's ``--param name=expression`` (errors are located in ``<--param name>``)."""
        need_str(name, "name"), need_str(expression, "expression")
        file = f"<--param {name}>"
        text = f"let {name} = {expression}"
        register_source(file, text)
        with stack_room():
            return _evaluate_in(self.unit, parse(text, file).items[0], f"--param {name}")

    def check(self) -> list[Model]:
        """Elaborate every model and space with its defaults; all errors reported together."""
        with stack_room():
            return check_program(self.unit)

    def __repr__(self) -> str:
        return f"<Program {self.file}: models={self.models} spaces={self.spaces} blocks={self.blocks}>"

    def _repr_svg_(self) -> str | None:
        """Jupyter shows a loaded program as the diagram of its first model or space (None,
        so the text repr is shown instead, when it has none or Graphviz's `dot` is missing)."""
        return display.show("program.svg", self)


def load_program(path: str | Path, *, check: bool = True) -> Program:
    where = Span(str(path), 1, 1)
    if "\0" in str(path):
        raise ArchImportError(f"the file name {str(path)!r} contains a NUL byte", where)
    path = Path(path)
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ArchImportError(f"cannot read {path}: {exc}", where) from None
    loader = new_loader(resolved.parent)
    with stack_room():
        unit = loader.load_file(resolved, None)
        return _finish(loader, unit, check)


def loads_program(text: str, filename: str = "<string>", *, check: bool = True) -> Program:
    root = Path(filename).parent.resolve() if filename != "<string>" else Path.cwd()
    loader = new_loader(root)
    with stack_room():
        unit = loader.load_text(text, filename)
        return _finish(loader, unit, check)


def _finish(loader: Loader, unit: Unit, check: bool) -> Program:
    resolve_units(list(loader.units.values()))
    program = Program(loader, unit)
    if check:
        program.check()
    return program
