"""Locating an op rule's error: an ``OpError`` raised by a shape or attribute rule of the op
registry (which knows no spans) becomes a located ``ShapeError`` or ``ArchTypeError`` at the
call, or at the argument to blame, with the chain of block calls as a note.
"""

from __future__ import annotations

from archlang.errors import ArchError, ArchTypeError, OpError, ShapeError, Span


def locate(error: OpError, span: Span, ctx, arg_spans: dict[str, Span] | None = None,
           member: str | None = None) -> ArchError:
    """An OpError from an op rule, located at the call (or at the argument to blame);
    ``ctx`` (the elaboration context) names the chain of block calls."""
    where = (arg_spans or {}).get(error.arg or "", span)
    kind = ShapeError if _is_shape_message(error.message) else ArchTypeError
    note = ctx.note(member)
    return kind(error.message, where, tuple(error.notes) + ((note,) if note else ()))


def _is_shape_message(message: str) -> bool:
    words = ("shape", "dim", "size", "channel", "broadcast", "rank", "expects", "element")
    return any(w in message for w in words)
