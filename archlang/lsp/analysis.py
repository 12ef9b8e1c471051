"""Checking one open document: every diagnostic of the file, and the IR of its entry points,
reusing what an edit did not change.

``Analyzer.analyze(path, text)`` parses, resolves and elaborates as ``archlang check`` does,
with three differences an editor needs:

* errors do not stop the check: a syntax error ends it (there is no AST), but a name error
  in one definition does not keep the entry points that never reach it from being
  elaborated, and each entry point's errors are kept beside the others';
* imported files that are open in the editor are read from their unsaved text (``overlay``);
* an entry point is elaborated again only when the text of a definition it reaches (its
  closure: the items it names, transitively), a constant, an import or an imported file
  changed.  The parser already keeps the ASTs of unchanged texts, so an edit inside one
  block re-elaborates only the entry points that use that block; lines added above a
  definition only move it, and the reused IR's spans are read through a ``LineShift``.

Blocks that no entry point reaches and whose parameters all have defaults are elaborated on
their own, quietly, so hover and inlay hints can show their shapes.

An API-layer module: it imports the front end (syntax, resolve, elaborate) and the IR, never
a backend nor the protocol libraries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from archlang.elaborate.program import Program, builtins, evaluate_let
from archlang.errors import ArchError, Diagnostic, ParseError, Span
from archlang.ir import Model
from archlang.lsp.shapes import ShapeIndex
from archlang.lsp.walk import item_lines, used_names
from archlang.resolve.loader import Loader
from archlang.resolve.names import resolve_units
from archlang.resolve.units import Unit
from archlang.syntax import ast


class OverlayLoader(Loader):
    """A loader that reads the files open in the editor from their current, unsaved text.

    Files are named by absolute path (as the editor addresses them), not relative to the
    server's working folder."""

    def __init__(self, root: Path, overlay: Mapping[str, str]) -> None:
        super().__init__(root, builtins=builtins, evaluate_let=evaluate_let)
        self.overlay = overlay

    def load_file(self, path: Path, span):
        key = str(path)
        text = self.overlay.get(key)
        if text is None or key in self.loading or key in self.units:
            return super().load_file(path, span)
        return self.load_text(text, key)

    def _display(self, path: Path) -> str:
        return str(path)


@dataclass
class Outcome:
    """One entry point elaborated: its IR, or the error that stopped it, and the line ranges
    its items had then (an edit above them moves them; the IR's spans stay where they were)."""

    model: Model | None
    error: ArchError | None
    ranges: tuple[tuple[int, int], ...] = ()  # (first, last) line of each item, in key order
    keep: tuple = ()  # the ASTs its key names by identity, kept alive so no id is reused


@dataclass(frozen=True)
class LineShift:
    """Where the lines of a reused outcome's items are now: ``(first, last, delta)`` per item."""

    file: str
    moves: tuple[tuple[int, int, int], ...]

    @classmethod
    def between(cls, file: str, then: tuple, now: tuple) -> "LineShift | None":
        moves = tuple((first, last, new_first - first) for (first, last), (new_first, _) in zip(then, now))
        return cls(file, moves) if any(delta for _, _, delta in moves) else None

    def line(self, line: int) -> int:
        for first, last, delta in self.moves:
            if first <= line <= last:
                return line + delta
        return line

    def span(self, span: Span) -> Span:
        if span.file != self.file:
            return span
        return Span(span.file, self.line(span.line), span.col, self.line(span.end_line) if span.end_line else 0,
                    span.end_col)

    def diagnostic(self, found: Diagnostic) -> Diagnostic:
        return Diagnostic(self.span(found.span), found.message, found.notes, found.severity)


@dataclass
class Analysis:
    """What the checker knows about one version of a document."""

    file: str
    text: str
    lines: list[str]
    module: ast.Module | None  # None when the text does not parse
    program: Program | None
    diagnostics: list[Diagnostic]
    models: dict[str, Model] = field(default_factory=dict)  # entry points (and lone blocks) that elaborated
    entries: tuple[str, ...] = ()  # the names in `models` that `archlang check` elaborates
    reused: int = 0  # entry points answered from the cache
    elaborated: int = 0  # entry points elaborated for this version
    shifts: dict[str, LineShift] = field(default_factory=dict)  # reused models whose lines moved
    _shapes: ShapeIndex | None = None

    @property
    def shapes(self) -> ShapeIndex:
        """The IR of every elaborated entry point, filed by span (built on first use)."""
        if self._shapes is None:
            self._shapes = ShapeIndex.of(self.models, {name: shift.span for name, shift in self.shifts.items()})
        return self._shapes

    @property
    def ok(self) -> bool:
        return self.module is not None

    @property
    def unit(self) -> Unit | None:
        return self.program.unit if self.program is not None else None


class Analyzer:
    """Checks documents; remembers each entry point's outcome under the text it depends on."""

    def __init__(self, cache_size: int = 256) -> None:
        self.cache: dict[tuple, Outcome] = {}
        self.cache_size = cache_size

    def analyze(self, path: str | Path, text: str, overlay: Mapping[str, str] | None = None) -> Analysis:
        path = Path(path).resolve()
        file = str(path)
        overlay = dict(overlay or {})
        overlay[file] = text
        lines = text.splitlines()
        loader = OverlayLoader(path.parent, overlay)
        diagnostics: list[Diagnostic] = []
        try:
            loader.load_text(text, file)
        except ArchError as error:
            diagnostics += error.diagnostics
            if isinstance(error, ParseError) or file not in loader.units:
                return Analysis(file, text, lines, None, None, _unique(diagnostics))
        unit = loader.units[file]
        program = Program(loader, unit)
        broken_lines = self._resolve(loader, diagnostics)
        analysis = Analysis(file, text, lines, unit.module, program, diagnostics)
        self._constants(unit, diagnostics)
        self._elaborate(analysis, broken_lines)
        analysis.diagnostics = _unique(analysis.diagnostics)
        return analysis

    # ---- stages
    def _resolve(self, loader: Loader, diagnostics: list[Diagnostic]) -> set[tuple[str, int]]:
        """Static name checks; returns the (file, line)s of their errors."""
        try:
            resolve_units(list(loader.units.values()))
        except ArchError as error:
            diagnostics += error.diagnostics
            return {(d.span.file, d.span.line) for d in error.diagnostics}
        return set()

    def _constants(self, unit: Unit, diagnostics: list[Diagnostic]) -> None:
        for name in list(unit.lets):
            try:
                unit.lookup(name)
            except ArchError as error:
                diagnostics += error.diagnostics

    def _elaborate(self, analysis: Analysis, broken_lines: set[tuple[str, int]]) -> None:
        unit, module = analysis.unit, analysis.module
        ranges = {id(item): (first, last) for item, first, last in item_lines(module, len(analysis.lines))}
        foreign = _foreign_fingerprint(analysis.program.loader, analysis.file)
        reached: set[str] = set()
        entries = []
        for definition in unit.definitions.values():
            if definition.kind == "block" or any(p.default is None for p in definition.params):
                continue
            closure = _closure(unit, definition)
            entries.append(definition.name)
            reached |= {item.name for item in closure if isinstance(item, ast.BlockDef)}
            if _touches(closure, ranges, analysis.file, broken_lines) or _foreign_broken(broken_lines, analysis.file):
                continue  # its names are not all resolved: elaborating it would only add noise
            outcome, shift = self._outcome(analysis, definition, closure, ranges, foreign)
            if outcome.error is not None:
                found = outcome.error.diagnostics
                analysis.diagnostics += [shift.diagnostic(d) for d in found] if shift else found
            if outcome.model is not None:
                analysis.models[definition.name] = outcome.model
                if shift is not None:
                    analysis.shifts[definition.name] = shift
        analysis.entries = tuple(entries)
        for definition in unit.definitions.values():
            if definition.kind == "block" and definition.name not in reached and _standalone(definition):
                closure = _closure(unit, definition)
                if not _touches(closure, ranges, analysis.file, broken_lines):
                    outcome, shift = self._outcome(analysis, definition, closure, ranges, foreign)
                    if outcome.model is not None:  # a lone block's errors are not the file's
                        analysis.models[definition.name] = outcome.model
                        if shift is not None:
                            analysis.shifts[definition.name] = shift

    def _outcome(self, analysis: Analysis, definition: ast.BlockDef, closure, ranges, foreign):
        """The entry point's outcome, and how its lines moved if it was reused (or None).

        The key is the text of every item it reaches, not where they stand: lines added or
        removed above a definition move it without changing what it elaborates to."""
        texts = sorted((_item_text(item, ranges, analysis.lines), ranges[id(item)]) for item in closure)
        key = (analysis.file, definition.name, tuple(text for text, _ in texts), foreign[0])
        now = tuple(where for _, where in texts)
        found = self.cache.get(key)
        if found is not None:
            analysis.reused += 1
            return found, LineShift.between(analysis.file, found.ranges, now)
        analysis.elaborated += 1
        try:
            outcome = Outcome(analysis.program.elaborate(definition.name), None, now, foreign[1])
        except ArchError as error:
            outcome = Outcome(None, error, now, foreign[1])
        if len(self.cache) >= self.cache_size:
            self.cache.pop(next(iter(self.cache)))
        self.cache[key] = outcome
        return outcome, None


def _closure(unit: Unit, definition: ast.BlockDef) -> list:
    """The top-level items of ``unit`` that ``definition`` reaches through the names it uses,
    itself and its imports included."""
    local = {item.name: item for item in unit.module.items if isinstance(item, (ast.BlockDef, ast.Let))}
    imports = [item for item in unit.module.items if isinstance(item, ast.Import)]
    seen: dict[str, object] = {definition.name: definition}
    pending = [definition]
    while pending:
        for name in used_names(pending.pop()):
            item = local.get(name)
            if item is not None and name not in seen:
                seen[name] = item
                pending.append(item)
    return list(seen.values()) + imports


def _item_text(item, ranges, lines: list[str]) -> str:
    first, last = ranges[id(item)]
    return "\n".join(lines[first - 1:last])


def _touches(closure, ranges, file: str, broken_lines: set[tuple[str, int]]) -> bool:
    spans = [ranges[id(item)] for item in closure]
    return any(f == file and any(first <= line <= last for first, last in spans) for f, line in broken_lines)


def _foreign_broken(broken_lines: set[tuple[str, int]], file: str) -> bool:
    return any(f != file for f, _ in broken_lines)


def _foreign_fingerprint(loader: Loader, file: str) -> tuple[tuple, tuple]:
    """Identifies the other files loaded (the parser returns the same AST for the same text):
    the ids for the cache key, and the ASTs themselves so those ids stay theirs."""
    others = sorted((name, unit.module) for name, unit in loader.units.items() if name != file)
    return tuple((name, id(module)) for name, module in others), tuple(module for _, module in others)


def _standalone(definition: ast.BlockDef) -> bool:
    has_input = any(isinstance(s, ast.Input) for s in definition.body or ())
    return has_input and all(p.default is not None for p in definition.params)


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """One diagnostic per (place, message): entry points sharing a block report its error once."""
    seen, kept = set(), []
    for d in diagnostics:
        key = (d.span.file, d.span.line, d.span.col, d.message)
        if key not in seen:
            seen.add(key)
            kept.append(d)
    return kept
