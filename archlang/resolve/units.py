"""Units: one parsed file and its top-level names.

A ``Unit`` holds a file's AST and the names it defines or imports: block, model and space
definitions (as ``BlockRef``s), imported modules and names, and ``let`` constants.  A
``let`` is evaluated on first use, once, by the function the loader was given (the
elaborator's: constants may call builtins), so this stage never imports the elaborator.
The constants it reads are evaluated first, in dependency order and without recursion, so a
long chain of ``let``s needs no Python stack; a ``let`` that reads itself through others is
a located error.  Names that are neither fall back to the language's builtins, also handed
in by the loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from archlang.errors import ArchNameError, Span
from archlang.errors.limits import Budget
from archlang.resolve.names import free_names
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
                 builtins: BuiltinTable, evaluate_let: LetEvaluator, folder: Path | None = None,
                 budget: Budget | None = None) -> None:
        self.file = file
        self.module = module
        self.root = root
        self.folder = folder if folder is not None else Path.cwd()  # where its imports are found
        self.budget = budget if budget is not None else Budget()  # the load's run: its constants are charged here
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
        if name in self._evaluating:  # reached again through a block's default while being evaluated
            raise ArchNameError(f"'{name}' is defined in terms of itself", self.lets[name].span)
        for each in self._evaluation_order(name):
            self._evaluating.add(each)
            try:
                self.scope[each] = self._evaluate_let(self, self.lets[each])
            finally:
                self._evaluating.discard(each)

    def _evaluation_order(self, name: str) -> list[str]:
        """The constants not yet evaluated that ``name`` reads, directly or not, then ``name``:
        each after those it reads (a depth-first walk with an explicit stack)."""
        order: list[str] = []
        placed: set[str] = set()
        path = [name]  # the walk's current chain of constants, each reading the next
        pending = [iter(self._reads(name))]
        while pending:
            nxt = next(pending[-1], None)
            if nxt is None:
                pending.pop()
                done = path.pop()
                placed.add(done)
                order.append(done)
            elif nxt in path:
                raise ArchNameError(f"'{nxt}' is defined in terms of itself", self.lets[nxt].span)
            elif nxt not in placed:
                path.append(nxt)
                pending.append(iter(self._reads(nxt)))
        return order

    def _reads(self, name: str) -> list[str]:
        """The constants of this file not yet evaluated that ``let name`` reads."""
        return [n for n in free_names(self.lets[name].value) if n in self.lets and n not in self.scope]
