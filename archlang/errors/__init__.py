"""User-facing errors: spans, diagnostics and the ArchError family.

Everything a user can cause (bad syntax, unknown names, wrong types, shape contradictions,
bad imports, exceeded limits) is an ``ArchError`` carrying one or more ``Diagnostic``s, each
with a ``Span``.  Broken internal invariants are assertions, never ArchErrors.

Must not import anything from archlang beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file: 1-based line and column of its start and end.

    A plain dataclass, not a pydantic model: the parser makes one per AST node, and IR
    models (pydantic) accept it as a field without copying it.
    """

    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


UNKNOWN_SPAN = Span(file="<unknown>", line=0, col=0)


@dataclass(frozen=True)
class Diagnostic:
    """One located message: ``file:line:col: error: message`` plus notes."""

    span: Span
    message: str
    notes: tuple[str, ...] = ()
    severity: str = "error"

    @property
    def file(self) -> str:
        return self.span.file

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col


class ArchError(Exception):
    """Base of every error a spec author can cause.  Holds one or more diagnostics."""

    kind = "error"

    def __init__(self, message: str, span: Span | None = None, notes: tuple[str, ...] | list[str] = ()):
        super().__init__(message)
        self.diagnostics: list[Diagnostic] = [
            Diagnostic(span or UNKNOWN_SPAN, message, tuple(notes))
        ]

    @property
    def span(self) -> Span:
        return self.diagnostics[0].span

    @property
    def message(self) -> str:
        return self.diagnostics[0].message

    def located_at(self, span: Span) -> "ArchError":
        """Diagnostics raised without a location (deep in the IR's arithmetic) put at ``span``."""
        self.diagnostics = [Diagnostic(span, d.message, d.notes, d.severity) if d.span is UNKNOWN_SPAN else d
                            for d in self.diagnostics]
        return self

    def with_note(self, note: str) -> "ArchError":
        first = self.diagnostics[0]
        self.diagnostics[0] = Diagnostic(first.span, first.message, first.notes + (note,))
        return self

    def __str__(self) -> str:
        return "\n".join(f"{d.span}: error: {d.message}" for d in self.diagnostics)

    @classmethod
    def collect(cls, errors: list["ArchError"]) -> "ArchError":
        """Merge several independent errors into one that reports them all."""
        assert errors
        errors = _distinct(errors)
        if len(errors) == 1:  # one error keeps its kind (ShapeError, LimitError …)
            return errors[0]
        merged = ArchErrors(errors[0].message, errors[0].span)
        merged.diagnostics = [d for e in errors for d in e.diagnostics]
        merged.errors = [leaf for e in errors for leaf in getattr(e, "errors", (e,))]
        return merged


def _distinct(errors: list[ArchError]) -> list[ArchError]:
    """Leaf errors with one diagnostic each, a repeat of an earlier one (same place, same
    message: a block used by nine models, a member applied twice) dropped; where it happened
    is kept as an ``also in …`` note of the first."""
    leaves = [leaf for e in errors for leaf in getattr(e, "errors", (e,))]
    first: dict[tuple, ArchError] = {}
    kept: list[ArchError] = []
    for leaf in leaves:
        if len(leaf.diagnostics) != 1:
            kept.append(leaf)
            continue
        d = leaf.diagnostics[0]
        earlier = first.get((d.span, d.message))
        if earlier is None:
            first[(d.span, d.message)] = leaf
            kept.append(leaf)
        else:
            _note_repeat(earlier, d)
    return kept


_MAX_ALSO = 3  # "also in" notes kept on one diagnostic; more are counted


def _note_repeat(error: ArchError, repeat: Diagnostic) -> None:
    first = error.diagnostics[0]
    notes = list(first.notes)
    places = [n for n in repeat.notes if n.startswith("in ") and n not in notes and "also " + n not in notes]
    for place in places:
        also = [n for n in notes if n.startswith("also in ") or n.startswith("and ")]
        if len(also) < _MAX_ALSO:
            notes.append("also " + place)
        elif also[-1].startswith("and "):
            count = int(also[-1].split()[1]) + 1
            notes[notes.index(also[-1])] = f"and {count} more"
        else:
            notes.append("and 1 more")
    error.diagnostics[0] = Diagnostic(first.span, first.message, tuple(notes), first.severity)


class ArchErrors(ArchError):
    """Several independent errors reported in one run; ``errors`` lists them, each of its own kind."""

    errors: list[ArchError]


class ParseError(ArchError):
    kind = "syntax"


class ArchNameError(ArchError):
    kind = "name"


class ArchTypeError(ArchError):
    kind = "type"


class ShapeError(ArchError):
    kind = "shape"


class ArchImportError(ArchError):
    kind = "import"


class LimitError(ArchError):
    kind = "limit"


class SpaceError(ArchError):
    """A free search choice where a concrete architecture is required, or a bad assignment."""

    kind = "space"


class ConstraintError(SpaceError):
    """An architecture, or every architecture of a space, breaks a ``constrain`` statement."""

    kind = "constraint"


@dataclass
class OpError(Exception):
    """Raised by op rules (shape inference, attribute binding) without a location.

    The elaborator catches it and re-raises an ArchError located at the call; ``arg`` names
    the offending argument when one is to blame so the caret can point at it.
    """

    message: str
    arg: str | None = None
    notes: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return self.message
