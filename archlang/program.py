"""Programs: loading .arch files and their imports, and elaborating their entry points.

A ``Unit`` is one parsed file with its top-level scope (definitions, imports, ``let``
constants).  A ``Program`` is a root unit plus everything it imports; it lists the blocks,
models and spaces the root defines and elaborates any of them into an ``ir.Model``.

Imports: ``import "rel/path.arch" [as name]`` (relative to the importing file, never outside
the root file's folder), ``from "x.arch" import A, B``, and the standard library
``import std`` / ``from std import MLP`` (shipped in the package as archlang/std/*.arch).

Must not import a backend.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path
from typing import Any

from archlang import ast, ops, syntax
from archlang.builtins import describe
from archlang.errors import (
    ArchError, ArchImportError, ArchNameError, ArchTypeError, Span,
)
from archlang.evaluate import NeedsConcrete, is_int, is_number
from archlang.ir import Model
from archlang.sources import register_source
from archlang.values import BlockRef, ChoiceValue, ImportedModule, Layer, OpRef, Poison

_BUILTINS: dict[str, Any] | None = None


def builtins() -> dict[str, Any]:
    global _BUILTINS
    if _BUILTINS is None:
        from archlang.elaborate import special_builtins

        table: dict[str, Any] = {name: OpRef(spec) for name, spec in ops.REGISTRY.items()}
        table.update(special_builtins())
        _BUILTINS = table
    return _BUILTINS


# ---- units -------------------------------------------------------------------------------


class Unit:
    """One parsed file and its top-level names."""

    def __init__(self, file: str, module: ast.Module, root: Path | None) -> None:
        self.file = file
        self.module = module
        self.root = root
        self.scope: dict[str, Any] = {}
        self.definitions: dict[str, ast.BlockDef] = {}
        self._lets: dict[str, ast.Let] = {}
        self._evaluating: set[str] = set()

    def lookup(self, name: str):
        if name in self._lets and name not in self.scope:
            self._evaluate_let(name)
        if name in self.scope:
            return self.scope[name]
        return builtins().get(name)

    def visible_names(self) -> list[str]:
        return list(self.scope) + list(self._lets) + list(builtins())

    def define(self, name: str, value, span: Span, what: str) -> None:
        if name in self.scope or name in self._lets:
            raise ArchNameError(f"'{name}' is defined twice in this file", span)
        if name in builtins() and what != "import":
            raise ArchNameError(f"'{name}' is a builtin of the language; choose another name", span)
        self.scope[name] = value

    def add_let(self, let: ast.Let) -> None:
        if let.name in self.scope or let.name in self._lets:
            raise ArchNameError(f"'{let.name}' is defined twice in this file", let.span)
        self._lets[let.name] = let

    def _evaluate_let(self, name: str) -> None:
        from archlang.elaborate import Body, Context

        let = self._lets[name]
        if name in self._evaluating:
            raise ArchNameError(f"'{name}' is defined in terms of itself", let.span)
        self._evaluating.add(name)
        try:
            holder = ast.BlockDef("block", f"let {name}", (), None, (), None, let.span)
            value = Body(Context(), BlockRef(holder, self), {}).eval(let.value)
        except NeedsConcrete as need:
            raise need.error() from None
        finally:
            self._evaluating.discard(name)
        if isinstance(value, Layer) or type(value).__name__ == "TensorVal":
            raise ArchTypeError("let defines constants; layers belong in blocks", let.span)
        self.scope[name] = value


# ---- loading -----------------------------------------------------------------------------


class Loader:
    """Loads a root file and everything it imports, each file once; detects cycles."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.units: dict[str, Unit] = {}
        self.loading: list[str] = []
        self._std: ImportedModule | None = None

    def load_text(self, text: str, file: str) -> Unit:
        register_source(file, text)
        module = syntax.parse(text, file)
        unit = Unit(file, module, self.root)
        self.units[file] = unit
        self.loading.append(file)
        try:
            self._populate(unit)
        finally:
            self.loading.pop()
        return unit

    def load_file(self, path: Path, span: Span | None) -> Unit:
        key = str(path)
        if key in self.loading:
            cycle = " → ".join(Path(p).name for p in self.loading[self.loading.index(key):] + [key])
            raise ArchImportError(f"import cycle: {cycle}", span)
        if key in self.units:
            return self.units[key]
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ArchImportError(f"no such file: {path}", span) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ArchImportError(f"cannot read {path}: {exc}", span) from None
        return self.load_text(text, self._display(path))

    def _display(self, path: Path) -> str:
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def _populate(self, unit: Unit) -> None:
        errors: list[ArchError] = []
        for item in unit.module.items:
            try:
                self._add_item(unit, item)
            except ArchError as error:
                errors.append(error)
        if errors:
            raise ArchError.collect(errors)

    def _add_item(self, unit: Unit, item) -> None:
        if isinstance(item, ast.Import):
            self._import(unit, item)
        elif isinstance(item, ast.Let):
            unit.add_let(item)
        else:
            unit.define(item.name, BlockRef(item, unit), item.span, "definition")
            unit.definitions[item.name] = item

    # ---- imports
    def _import(self, unit: Unit, imp: ast.Import) -> None:
        source = self._file_module(unit, imp) if imp.is_file else self._library(imp)
        if imp.names is not None:
            for name in imp.names:
                unit.define(name, self._pick(source, name, imp), imp.span, "import")
        elif imp.alias is not None or not imp.is_file:
            unit.define(imp.alias or imp.path.split(".")[-1], source, imp.span, "import")
        else:
            for name, value in source.scope.items():
                if isinstance(value, BlockRef) and value.unit.file == source.name:
                    unit.define(name, value, imp.span, "import")

    def _pick(self, source: ImportedModule, name: str, imp: ast.Import):
        if name in source.scope:
            return source.scope[name]
        close = difflib.get_close_matches(name, list(source.scope), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ArchImportError(f"'{imp.path}' defines no '{name}'{hint}", imp.span)

    def _file_module(self, unit: Unit, imp: ast.Import) -> ImportedModule:
        base = Path(unit.file).parent if unit.file != "<string>" else Path.cwd()
        path = (base / imp.path).resolve()
        root = (self.root or base).resolve()
        if not path.is_relative_to(root):
            raise ArchImportError(f"import of '{imp.path}' leaves the spec's folder {root}", imp.span)
        if path.suffix != ".arch":
            raise ArchImportError(f"only .arch files can be imported, not '{imp.path}'", imp.span)
        loaded = self.load_file(path, imp.span)
        return _module_of(loaded)

    def _library(self, imp: ast.Import) -> ImportedModule:
        parts = imp.path.split(".")
        if parts[0] != "std":
            raise ArchImportError(
                f"unknown library '{parts[0]}': import files by path in quotes, or the standard library 'std'",
                imp.span,
            )
        std = self._standard_library(imp.span)
        if len(parts) == 1:
            return std
        if len(parts) == 2 and parts[1] in self._std_units:
            return self._std_units[parts[1]]
        raise ArchImportError(f"the standard library has no module '{'.'.join(parts[1:])}'", imp.span)

    def _standard_library(self, span: Span) -> ImportedModule:
        if self._std is None:
            self._std_units: dict[str, ImportedModule] = {}
            merged = ImportedModule("std")
            folder = resources.files("archlang.std")
            for entry in sorted(folder.iterdir(), key=lambda e: e.name):
                if entry.name.endswith(".arch"):
                    unit = self.load_text(entry.read_text(encoding="utf-8"), f"std/{entry.name}")
                    module = _module_of(unit)
                    self._std_units[entry.name[:-5]] = module
                    merged.scope.update(module.scope)
            self._std = merged
        return self._std


def _module_of(unit: Unit) -> ImportedModule:
    module = ImportedModule(unit.file)
    module.scope = {n: v for n, v in unit.scope.items() if isinstance(v, BlockRef) and v.unit is unit}
    for name in unit._lets:  # an importer sees constants, evaluated (and checked) once here
        module.scope[name] = unit.lookup(name)
    return module


# ---- parameters --------------------------------------------------------------------------


def bind_params(ref: BlockRef, args: list, kwargs: dict, span: Span, arg_spans: dict[str, Span] | None = None) -> dict:
    """Arguments of a block call → {param: value}, defaults filled in and types checked."""
    definition = ref.definition
    params = definition.params
    if len(args) > len(params):
        raise ArchTypeError(f"{definition.name} takes {len(params)} argument{'s' if len(params) != 1 else ''}, got {len(args)}", span)
    given = {p.name: a for p, a in zip(params, args)}
    names = [p.name for p in params]
    for key, value in kwargs.items():
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (its parameters: {', '.join(names) or 'none'})"
            raise ArchTypeError(f"{definition.name} has no parameter '{key}'{hint}", (arg_spans or {}).get(key, span))
        if key in given:
            raise ArchTypeError(f"{definition.name} got two values for '{key}'", (arg_spans or {}).get(key, span))
        given[key] = value
    return _complete(ref, given, span, arg_spans or {})


def _complete(ref: BlockRef, given: dict, span: Span, arg_spans) -> dict:
    from archlang.elaborate import Body, Context

    bound: dict[str, Any] = {}
    for param in ref.definition.params:
        where = arg_spans.get(param.name, span)
        if param.name in given:
            value = given[param.name]
        elif param.default is not None:
            value = Body(Context(), ref, dict(bound)).eval(param.default)
            where = param.default.span  # a default of the wrong type is the definition's fault
        else:
            raise ArchTypeError(f"{ref.definition.name} is missing argument '{param.name}'", span)
        check_type(param, value, ref.definition.name, where)
        bound[param.name] = value
    return bound


def check_type(param: ast.Param, value, owner: str, span: Span) -> None:
    if param.type is None or isinstance(value, Poison):
        return
    options = value.options if isinstance(value, ChoiceValue) else (value,)
    for option in options:
        if not _fits(param.type, option):
            raise ArchTypeError(
                f"{owner}: parameter '{param.name}' is {param.type}, got {describe(option)}", span
            )


def _fits(t: ast.TypeRef, value) -> bool:
    name = t.name
    if name == "any":
        return True
    if name in ("int", "dim"):
        return is_int(value)
    if name == "float":
        return is_number(value) and not isinstance(value, bool)
    if name == "bool":
        return isinstance(value, bool)
    if name == "str":
        return isinstance(value, str)
    if name == "block":
        return isinstance(value, BlockRef)
    if name == "layer":
        return isinstance(value, Layer)
    if name == "shape":
        return isinstance(value, (list, tuple)) and all(is_int(v) for v in value)
    if name in ("list", "tuple"):
        return _fits_sequence(t, value)
    return False


def _fits_sequence(t: ast.TypeRef, value) -> bool:
    if not isinstance(value, (list, tuple)):
        return False
    if not t.args:
        return True
    if t.name == "tuple" and len(t.args) > 1:
        return len(value) == len(t.args) and all(_fits(a, v) for a, v in zip(t.args, value))
    return all(_fits(t.args[0], v) for v in value)


KNOWN_TYPES = ("int", "float", "bool", "str", "dim", "shape", "block", "layer", "list", "tuple", "any")


# ---- programs ----------------------------------------------------------------------------


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
        found = self.unit.definitions.get(name)
        if found is None:
            entries = self.models + self.spaces + self.blocks
            close = difflib.get_close_matches(name, entries, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (it defines: {', '.join(entries) or 'nothing'})"
            raise ArchNameError(f"{self.file} defines no '{name}'{hint}", Span(self.file, 1, 1))
        return found

    def elaborate(self, name: str, params: dict | None = None, inputs: dict | None = None,
                  assignment: dict | None = None) -> Model:
        """The IR of entry point ``name`` (a model, space or block with defaults)."""
        from archlang.entry import elaborate_entry

        return elaborate_entry(self, name, params or {}, inputs or {}, assignment)

    def check(self) -> list[Model]:
        """Elaborate every model and space with its defaults; all errors reported together."""
        from archlang.entry import check_program

        return check_program(self)

    def __repr__(self) -> str:
        return f"<Program {self.file}: models={self.models} spaces={self.spaces} blocks={self.blocks}>"

    def _repr_svg_(self) -> str | None:
        """Jupyter shows a loaded program as the diagram of its first model or space (None,
        so the text repr is shown instead, when it has none or Graphviz's `dot` is missing)."""
        from archlang.api import render_svg
        from archlang.backends.graphviz import RenderError

        entries = [name for name, d in self.unit.definitions.items() if d.kind in ("model", "space")]
        if not entries:
            return None
        try:
            return render_svg(self, entries[0])
        except RenderError:
            return None


def _root_of(path: Path | None) -> Path | None:
    return path.parent.resolve() if path is not None else None


def load_program(path: str | Path, *, check: bool = True) -> Program:
    path = Path(path)
    loader = Loader(_root_of(path))
    if not path.exists():
        raise ArchImportError(f"no such file: {path}", Span(str(path), 1, 1))
    if path.is_dir():
        raise ArchImportError(f"{path} is a folder, not an .arch file", Span(str(path), 1, 1))
    unit = loader.load_file(path.resolve(), None)
    return _finish(loader, unit, check)


def loads_program(text: str, filename: str = "<string>", *, check: bool = True) -> Program:
    root = Path(filename).parent.resolve() if filename != "<string>" else Path.cwd()
    loader = Loader(root)
    unit = loader.load_text(text, filename)
    return _finish(loader, unit, check)


def _finish(loader: Loader, unit: Unit, check: bool) -> Program:
    from archlang.resolve import resolve_units

    resolve_units(list(loader.units.values()))
    program = Program(loader, unit)
    if check:
        program.check()
    return program


def block_input_count(definition: ast.BlockDef) -> int:
    return sum(isinstance(s, ast.Input) for s in definition.body or ())

