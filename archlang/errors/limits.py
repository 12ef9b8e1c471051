"""Resource limits that keep a hostile or mistaken spec from hanging or exhausting archlang.

One place to configure them all (``LIMITS``; ``docs/safety.md`` lists each, its default and
what trips it).  Exceeding any of them is a located ``LimitError``.

Two kinds:

* **Sizes** of one thing (a file, a literal, a list, an integer, nesting): checked where the
  thing is made, before it is made when it can be counted first.
* **Work** of one run (statements executed, IR nodes and block bodies built, list and string
  elements built): counted in one ``Budget`` per run, so limits of nested loops and lists do
  not multiply.  A run is one load of a spec (its constants and, for ``check``, every entry
  point) or one later elaboration of an entry point.

It also holds the nesting of block calls (``block_call``) and the room Python's stack needs
for it (``stack_room``), since those limits are only real if the interpreter can hold them.

Must not import anything from archlang beyond ``archlang.errors``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from dataclasses import dataclass

from archlang.errors import LimitError, Span


@dataclass
class Limits:
    """The bounds every spec is held to (``LIMITS``); tests and the API may lower them."""

    # ---- sizes
    max_file_bytes: int = 8 * 2**20  # bytes of one spec file (the 20,000-line benchmark spec is 0.7 MB)
    max_files: int = 1_000  # files one load reads, imports included
    max_nesting: int = 64  # brackets inside brackets
    max_expr_depth: int = 150  # operators/calls nested inside one expression
    max_repeat: int = 10_000  # elements of one range/comprehension/list (a 10k-layer spec checks in ~1 s)
    max_int_bits: int = 64  # magnitude of any integer a spec computes
    max_size: int = 2**63 - 1  # a tensor dimension (what int64 holds: torch and ONNX store sizes so)
    max_call_depth: int = 48  # block calls nested inside block calls (recursion included)
    max_str_len: int = 10_000  # length of any string a spec builds or writes as a literal
    max_terms: int = 1_000  # products of terms in one multiplication of symbolic sizes (the zoo needs 6)
    max_expanded: int = 200_000  # nodes and modules of a model written out (torch builds 100k in ~6 s)
    # ---- work of one run (a Budget)
    max_loop_steps: int = 250_000  # statements (and comprehension items) run
    max_evaluations: int = 1_000_000  # expressions evaluated (the 10k-layer spec evaluates 70k)
    max_nodes: int = 200_000  # dataflow nodes built (a node costs ~30 µs and ~2 KB; the 10k-layer spec has 20k)
    max_blocks: int = 10_000  # block bodies elaborated (a shared instance counts once)
    max_elements: int = 2_000_000  # list items, range elements and string characters built


LIMITS = Limits()


class Budget:
    """The work one run has done so far, against ``LIMITS``.  Each ``charge_*`` raises a
    LimitError located at ``span`` once its total passes the limit."""

    __slots__ = ("steps", "evaluations", "nodes", "blocks", "elements")

    def __init__(self) -> None:
        self.steps = 0
        self.evaluations = 0  # counted by the evaluator itself, which calls too_many_evaluations
        self.nodes = 0
        self.blocks = 0
        self.elements = 0

    def charge_step(self, span: Span) -> None:
        self.steps += 1
        if self.steps > LIMITS.max_loop_steps:
            raise LimitError(f"elaboration ran more than {LIMITS.max_loop_steps:,} statements", span)

    def too_many_evaluations(self, span: Span) -> LimitError:
        return LimitError(f"elaboration evaluated more than {LIMITS.max_evaluations:,} expressions", span)

    def charge_node(self, span: Span) -> None:
        self.nodes += 1
        if self.nodes > LIMITS.max_nodes:
            raise LimitError(f"the model elaborates to more than {LIMITS.max_nodes:,} nodes", span)

    def charge_block(self, name: str, span: Span) -> None:
        self.blocks += 1
        if self.blocks > LIMITS.max_blocks:
            raise LimitError(
                f"elaboration built more than {LIMITS.max_blocks:,} distinct block instances"
                f" (is {name} recursive with ever-new arguments?)", span,
            )

    def charge_elements(self, count: int, span: Span) -> None:
        """``count`` list items, range elements or string characters are about to be built."""
        self.elements += count
        if self.elements > LIMITS.max_elements:
            raise LimitError(
                f"elaboration built more than {LIMITS.max_elements:,} list elements and string characters", span
            )


# ---- nesting: what Python's stack must hold ----------------------------------------------
#
# Elaboration recurses: a block call runs the callee's body inside the caller's expression.
# Block calls on this thread are counted across every context (a default argument or a
# constant evaluated on the way is one more level, not a fresh start), and the interpreter's
# recursion limit is raised, while the front end runs, to what the limits allow: each nested
# call takes about 18 Python frames and each level of an expression at most 5 (measured;
# tests/test_hardening.py elaborates the deepest nesting the limits allow).  Python 3.11 keeps
# these frames off the C stack, so a raised limit is safe.

FRAMES_PER_CALL = 24
FRAMES_PER_EXPRESSION_LEVEL = 6


class _Nesting(threading.local):
    calls = 0  # block calls being elaborated on this thread


_NESTING = _Nesting()
_ROOM_LOCK = threading.Lock()
_ROOM_USERS = 0
_ROOM_SAVED = 0


@contextlib.contextmanager
def block_call(span: Span, hint: str = ""):
    """One more block call nested in the ones being elaborated; past ``max_call_depth`` a
    LimitError at ``span`` (``hint`` is appended to the message)."""
    if _NESTING.calls >= LIMITS.max_call_depth:
        raise LimitError(f"block calls nested more than {LIMITS.max_call_depth} deep{hint}", span)
    _NESTING.calls += 1
    try:
        yield
    finally:
        _NESTING.calls -= 1


def frames_needed() -> int:
    """Python frames the deepest nesting the limits allow takes: every block call with, in its
    caller, an argument default and a constant each as deep as an expression may be."""
    per_call = FRAMES_PER_CALL + 2 * LIMITS.max_expr_depth * FRAMES_PER_EXPRESSION_LEVEL
    return (LIMITS.max_call_depth + 1) * per_call + 2_000


@contextlib.contextmanager
def stack_room():
    """Python's recursion limit raised to ``frames_needed()`` above the current depth while
    the block runs (nested and concurrent uses share one raise; the last one out restores)."""
    global _ROOM_USERS, _ROOM_SAVED
    with _ROOM_LOCK:
        if _ROOM_USERS == 0:
            _ROOM_SAVED = sys.getrecursionlimit()
        _ROOM_USERS += 1
        need = _depth() + frames_needed()
        if sys.getrecursionlimit() < need:
            sys.setrecursionlimit(need)
    try:
        yield
    finally:
        with _ROOM_LOCK:
            _ROOM_USERS -= 1
            if _ROOM_USERS == 0:
                sys.setrecursionlimit(_ROOM_SAVED)


def _depth() -> int:
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth
