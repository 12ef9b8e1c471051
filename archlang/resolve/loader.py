"""Loading a spec: its file and everything it imports, each file once, as ``Unit``s.

Imports: ``import "rel/path.arch" [as name]`` (relative to the importing file, never outside
the root file's folder), ``from "x.arch" import A, B``, and the standard library
``import std`` / ``from std import MLP`` (shipped in the package as archlang/std/*.arch).
An import cycle is a located error.

The loader is handed the language's builtins and the function that evaluates ``let``
constants (both the elaborator's), so this stage never imports the elaborator.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from archlang.errors import ArchError, ArchImportError, Span
from archlang.errors.sources import register_source
from archlang.resolve.units import BlockRef, BuiltinTable, ImportedModule, LetEvaluator, Unit
from archlang.syntax import ast, parse


class Loader:
    """Loads a root file and everything it imports, each file once; detects cycles."""

    def __init__(self, root: Path | None, *, builtins: BuiltinTable, evaluate_let: LetEvaluator) -> None:
        self.root = root
        self.builtins = builtins
        self.evaluate_let = evaluate_let
        self.units: dict[str, Unit] = {}
        self.loading: list[str] = []
        self._std: ImportedModule | None = None
        self._std_units: dict[str, ImportedModule] = {}

    def load_text(self, text: str, file: str) -> Unit:
        register_source(file, text)
        module = parse(text, file)
        unit = Unit(file, module, self.root, builtins=self.builtins, evaluate_let=self.evaluate_let)
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
        return module_of(loaded)

    def _library(self, imp: ast.Import) -> ImportedModule:
        parts = imp.path.split(".")
        if parts[0] != "std":
            raise ArchImportError(
                f"unknown library '{parts[0]}': import files by path in quotes, or the standard library 'std'",
                imp.span,
            )
        std = self._standard_library()
        if len(parts) == 1:
            return std
        if len(parts) == 2 and parts[1] in self._std_units:
            return self._std_units[parts[1]]
        raise ArchImportError(f"the standard library has no module '{'.'.join(parts[1:])}'", imp.span)

    def _standard_library(self) -> ImportedModule:
        if self._std is None:
            merged = ImportedModule("std")
            folder = resources.files("archlang.std")
            for entry in sorted(folder.iterdir(), key=lambda e: e.name):
                if entry.name.endswith(".arch"):
                    unit = self.load_text(entry.read_text(encoding="utf-8"), f"std/{entry.name}")
                    module = module_of(unit)
                    self._std_units[entry.name[:-5]] = module
                    merged.scope.update(module.scope)
            self._std = merged
        return self._std


def module_of(unit: Unit) -> ImportedModule:
    """What an importer of ``unit`` sees: its own definitions, and its constants (each
    evaluated, and so checked, once here)."""
    module = ImportedModule(unit.file)
    module.scope = {n: v for n, v in unit.scope.items() if isinstance(v, BlockRef) and v.unit is unit}
    for name in unit.lets:
        module.scope[name] = unit.lookup(name)
    return module
