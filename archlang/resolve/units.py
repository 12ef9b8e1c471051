"""Units: one parsed file and its top-level names.

A ``Unit`` holds a file's AST and the names it defines or imports: block, model and space
definitions (as ``BlockRef``s), imported modules and names, and ``let`` constants.  A
``let`` is evaluated on first use, once, by the function the loader was given (the
elaborator's: constants may call builtins), so this stage never imports the elaborator.
Names that are neither fall back to the language's builtins, also handed in by the loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from archlang.errors import ArchNameError, Span
from archlang.syntax import ast


@dataclass(frozen=True)
class BlockRef:
    """A block (or model/space) definition used as a value, e.g. ``block=Bottleneck``."""

    definition: ast.BlockDef
    unit: Any  # the Unit (file) it was defined in

    def __repr__(self) -> str:
        return self.definition.name


@dataclass
class ImportedModule:
    """``import "x.arch" as x`` or ``import std``: names reached as ``x.Name``."""

    name: str
    scope: dict[str, Any] = field(default_factory=dict)


# evaluate_let(unit, let) -> value: how a `let` constant is computed (the elaborator's)
LetEvaluator = Callable[["Unit", ast.Let], Any]
# builtins() -> {name: value}: the language's builtins.  Both are module-level functions, so a
# unit pickles (a search's worker processes receive the space, and with it its units).
BuiltinTable = Callable[[], Mapping[str, Any]]


class Unit:
    """One parsed file and its top-level names."""

    def __init__(self, file: str, module: ast.Module, root: Path | None, *,
                 builtins: BuiltinTable, evaluate_let: LetEvaluator) -> None:
        self.file = file
        self.module = module
        self.root = root
        self._builtins = builtins
        self.scope: dict[str, Any] = {}
        self.definitions: dict[str, ast.BlockDef] = {}
        self.lets: dict[str, ast.Let] = {}
        self._evaluate_let = evaluate_let
        self._evaluating: set[str] = set()

    @property
    def builtins(self) -> Mapping[str, Any]:
        return self._builtins()

    def lookup(self, name: str):
        """The value of a top-level name (a `let` is evaluated here, once), a builtin, or None."""
        if name in self.lets and name not in self.scope:
            self._evaluate(name)
        if name in self.scope:
            return self.scope[name]
        return self.builtins.get(name)

    def visible_names(self) -> list[str]:
        return list(self.scope) + list(self.lets) + list(self.builtins)

    def define(self, name: str, value, span: Span, what: str) -> None:
        if name in self.scope or name in self.lets:
            raise ArchNameError(f"'{name}' is defined twice in this file", span)
        if name in self.builtins and what != "import":
            raise ArchNameError(f"'{name}' is a builtin of the language; choose another name", span)
        self.scope[name] = value

    def add_let(self, let: ast.Let) -> None:
        if let.name in self.scope or let.name in self.lets:
            raise ArchNameError(f"'{let.name}' is defined twice in this file", let.span)
        self.lets[let.name] = let

    def _evaluate(self, name: str) -> None:
        let = self.lets[name]
        if name in self._evaluating:
            raise ArchNameError(f"'{name}' is defined in terms of itself", let.span)
        self._evaluating.add(name)
        try:
            value = self._evaluate_let(self, let)
        finally:
            self._evaluating.discard(name)
        self.scope[name] = value
