"""Loading a spec: its file and everything it imports, each file once, as ``Unit``s.

Imports: ``import "rel/path.arch" [as name]`` (relative to the importing file, never outside
the root file's folder), ``from "x.arch" import A, B``, and the standard library
``import std`` / ``from std import MLP`` (shipped in the package as archlang/std/*.arch), and
the model zoo ``import zoo.text.gpt2`` / ``from zoo.vision.resnet import Bottleneck`` (the
repository's specs/vision, specs/text and specs/spaces, shipped as archlang/zoo).  A zoo file
is loaded like any other file, with the zoo's folder as its root: its own imports stay inside
the zoo, as a spec's stay inside the spec's folder.

Files are keyed by their resolved path, so a file reached by several imports (a diamond, a
self-import, ``./a.arch`` and ``a.arch``) is read and parsed once, and an import cycle is a
located error.  Imports are followed depth first without recursion (each file's loading is a
generator that asks the loader for the files it imports), so a long chain of imports needs
no Python stack; a load reads at most ``LIMITS.max_files`` files.  Every file is read by
``archlang.syntax.source``: regular files only, bounded, UTF-8.

The loader is handed the language's builtins and the function that evaluates ``let``
constants (both the elaborator's), so this stage never imports the elaborator.
"""

from __future__ import annotations

import difflib
from importlib.util import find_spec
from pathlib import Path
from typing import Generator

from archlang.errors import ArchError, ArchImportError, LimitError, Span
from archlang.errors.limits import LIMITS, Budget
from archlang.errors.sources import register_source
from archlang.resolve.units import BlockRef, BuiltinTable, ImportedModule, LetEvaluator, Unit
from archlang.syntax import ast, parse
from archlang.syntax.source import read_source, spec_text

# What loading one file yields: (resolved path, span of the import) of a file it needs, and
# receives that file's Unit.
_Loading = Generator[tuple[Path, Span], Unit, None]

ZOO_SHELVES = ("vision", "text", "spaces")  # the zoo's folders: `zoo.<shelf>.<file>`


class Loader:
    """Loads a root file and everything it imports, each file once; detects cycles."""

    def __init__(self, root: Path | None, *, builtins: BuiltinTable, evaluate_let: LetEvaluator) -> None:
        self.root = root
        self.builtins = builtins
        self.evaluate_let = evaluate_let
        self.budget = Budget()  # the load is one run: its constants (and `check`) share it
        self.units: dict[str, Unit] = {}  # by resolved path ("std/x.arch", or the name of a text)
        self.loading: list[str] = []  # keys of the files being loaded, importer first
        self._std: ImportedModule | None = None
        self._std_units: dict[str, ImportedModule] = {}

    # ---- entry points
    def load_text(self, text: str, file: str, folder: Path | None = None, *, key: str | None = None) -> Unit:
        """A spec given as text, named ``file``; its imports are relative to ``folder``
        (default: the folder of ``file``, or the working folder for ``<string>``).  A text
        named like a file is keyed by that file's path, so importing it back is a cycle."""
        text = spec_text(text)
        register_source(file, text)
        named = not file.startswith("<")
        if folder is None:
            folder = Path(file).parent if named else Path.cwd()
        if key is None:
            key = str(Path(file).resolve()) if named else file
        return self._load(key, self._new_unit(file, text, folder))

    def load_file(self, path: Path, span: Span | None) -> Unit:
        """The file at resolved ``path``, and everything it imports."""
        key = str(path)
        if key in self.units:
            return self.units[key]
        return self._load(key, self._read(path, span))

    # ---- the depth-first walk, without recursion
    def _load(self, key: str, unit: Unit) -> Unit:
        frames = [self._begin(key, unit)]
        reply: Unit | None = None
        error: ArchError | None = None
        while frames:
            unit, loading = frames[-1]
            try:
                path, span = loading.throw(error) if error is not None else loading.send(reply)
            except StopIteration:
                self._end(frames)
                reply, error = unit, None
                continue
            except ArchError as failed:  # the file's own errors: the importer's import failed
                self._end(frames)
                if not frames:
                    raise
                reply, error = None, failed
                continue
            reply, error = None, None
            try:
                found = self._find(path, span)
            except ArchError as failed:
                error = failed
                continue
            if isinstance(found, Unit):
                reply = found
            else:
                frames.append(found)
        assert reply is not None
        return reply

    def _begin(self, key: str, unit: Unit) -> tuple[Unit, _Loading]:
        self.units[key] = unit
        self.loading.append(key)
        return unit, self._populate(unit)

    def _end(self, frames: list) -> None:
        frames.pop()
        self.loading.pop()

    def _find(self, path: Path, span: Span) -> Unit | tuple[Unit, _Loading]:
        """The Unit of an imported file already loaded, or the frame that will load it."""
        key = str(path)
        if key in self.loading:
            cycle = " → ".join(self._short(k) for k in self.loading[self.loading.index(key):] + [key])
            raise ArchImportError(f"import cycle: {cycle}", span)
        if key in self.units:
            return self.units[key]
        return self._begin(key, self._read(path, span))

    def _short(self, key: str) -> str:
        """A file in a message about several: relative to the spec's folder."""
        try:
            return str(Path(key).relative_to(self.root)) if self.root is not None else key
        except ValueError:
            return key

    def _read(self, path: Path, span: Span | None) -> Unit:
        if len(self.units) >= LIMITS.max_files:
            raise LimitError(f"the spec imports more than {LIMITS.max_files:,} files", span or Span(str(path), 1, 1))
        display = _display(path)
        text = read_source(path, display, span)
        zoo = _zoo_folder()
        root = zoo if path.is_relative_to(zoo) else self.root
        return self._new_unit(display, text, path.parent, root)

    def _new_unit(self, file: str, text: str, folder: Path, root: Path | None = None) -> Unit:
        return Unit(file, parse(text, file), root or self.root, builtins=self.builtins,
                    evaluate_let=self.evaluate_let, folder=folder, budget=self.budget)

    # ---- one file's top-level items
    def _populate(self, unit: Unit) -> _Loading:
        errors: list[ArchError] = []
        for item in unit.module.items:
            try:
                if isinstance(item, ast.Import):
                    yield from self._import(unit, item)
                elif isinstance(item, ast.Let):
                    unit.add_let(item)
                else:
                    unit.define(item.name, BlockRef(item, unit), item.span, "definition")
                    unit.definitions[item.name] = item
            except ArchError as error:
                errors.append(error)
        if errors:
            raise ArchError.collect(errors)

    def _import(self, unit: Unit, imp: ast.Import) -> _Loading:
        if imp.is_file:
            loaded = yield self._import_path(unit, imp)
            source = module_of(loaded)
        elif imp.path.split(".")[0] == "zoo":
            loaded = yield self._zoo_path(imp)
            source = module_of(loaded)
        else:
            source = self._library(imp)
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

    def _import_path(self, unit: Unit, imp: ast.Import) -> tuple[Path, Span]:
        """The resolved path an import names, after checking it stays in the spec's folder."""
        if "\0" in imp.path:
            raise ArchImportError(f"the import path {imp.path!r} contains a NUL byte", imp.span)
        base = unit.folder
        try:
            path = (base / imp.path).resolve()
            root = (unit.root or base).resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a name the system refuses
            raise ArchImportError(f"cannot resolve the import path '{imp.path}': {exc}", imp.span) from None
        if not path.is_relative_to(root):
            raise ArchImportError(f"import of '{imp.path}' leaves the spec's folder {root}", imp.span)
        if path.suffix != ".arch":
            raise ArchImportError(f"only .arch files can be imported, not '{imp.path}'", imp.span)
        return path, imp.span

    def _zoo_path(self, imp: ast.Import) -> tuple[Path, Span]:
        """The zoo file ``zoo.<shelf>.<name>`` names, as a resolved path inside the zoo."""
        parts = imp.path.split(".")
        zoo = _zoo_folder()
        if len(parts) != 3 or parts[1] not in ZOO_SHELVES:
            shelves = ", ".join(f"zoo.{s}" for s in ZOO_SHELVES)
            raise ArchImportError(f"'{imp.path}' is not a zoo file: name one as zoo.<shelf>.<file>, "
                                  f"with a shelf among {shelves} (e.g. zoo.vision.resnet)", imp.span)
        shelf = zoo / parts[1]
        path = (shelf / f"{parts[2]}.arch").resolve()
        if not path.is_relative_to(zoo) or not path.is_file():
            names = sorted(p.stem for p in shelf.glob("*.arch"))
            close = difflib.get_close_matches(parts[2], names, n=1)
            hint = f"did you mean 'zoo.{parts[1]}.{close[0]}'?" if close else "it has " + ", ".join(names)
            raise ArchImportError(f"the zoo has no '{imp.path}': {hint}", imp.span)
        return path, imp.span

    def _library(self, imp: ast.Import) -> ImportedModule:
        parts = imp.path.split(".")
        if parts[0] != "std":
            raise ArchImportError(
                f"unknown library '{parts[0]}': import files by path in quotes, the standard library 'std' "
                "or the model zoo 'zoo'",
                imp.span,
            )
        std = self._standard_library()
        if len(parts) == 1:
            return std
        if len(parts) == 2 and parts[1] in self._std_units:
            return self._std_units[parts[1]]
        raise ArchImportError(f"the standard library has no module '{'.'.join(parts[1:])}'", imp.span)

    def _standard_library(self) -> ImportedModule:
        """The library shipped in the package (``archlang/std``), loaded once per loader."""
        if self._std is None:
            merged = ImportedModule("std")
            folder = package_folder("archlang.std")
            for entry in sorted(folder.iterdir(), key=lambda e: e.name):
                if entry.name.endswith(".arch"):
                    unit = self.load_text(entry.read_text(encoding="utf-8"), f"std/{entry.name}", Path("std"),
                                          key=f"std/{entry.name}")
                    module = module_of(unit)
                    self._std_units[entry.name[:-5]] = module
                    merged.scope.update(module.scope)
            self._std = merged
        return self._std


def _zoo_folder() -> Path:
    """Where the installed zoo's files are (``archlang/zoo``, a folder on disk)."""
    return package_folder("archlang.zoo").resolve()


def package_folder(name: str) -> Path:
    """The folder of an installed data package (archlang is installed as folders on disk, never
    zipped).  Read off the import system's own record rather than ``importlib.resources``,
    whose import (zipfile, tempfile) every command would pay at start-up."""
    spec = find_spec(name)
    assert spec is not None and spec.submodule_search_locations, name
    return Path(next(iter(spec.submodule_search_locations)))


def _display(path: Path) -> str:
    """How messages name a file: relative to the working folder when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def module_of(unit: Unit) -> ImportedModule:
    """What an importer of ``unit`` sees: its own definitions, and its constants (each
    evaluated, and so checked, once here)."""
    module = ImportedModule(unit.file)
    module.scope = {n: v for n, v in unit.scope.items() if isinstance(v, BlockRef) and v.unit is unit}
    for name in unit.lets:
        module.scope[name] = unit.lookup(name)
    return module
