"""Time bounds that hold on a busy machine.

A test never asserts wall-clock time: with other processes on the same cores, wall time
grows without the code being slower.  It bounds the CPU time of the process doing the work
(``time.process_time``: every thread of this process, nothing of the others) with a margin of
at least 5× over the target, which lives in ``benchmarks/`` and ``docs/benchmarks.md``.

    with cpu_budget(5 * 2.0) as spent:   # target: 2 s
        do_the_work()
    # on leaving the block: AssertionError if the work used more CPU than the budget
"""

from __future__ import annotations

import contextlib
import time


class Spent:
    """CPU seconds spent inside a ``cpu_budget`` block (set when the block ends)."""

    seconds: float = 0.0


@contextlib.contextmanager
def cpu_budget(limit: float, what: str = "the work"):
    spent = Spent()
    start = time.process_time()
    yield spent
    spent.seconds = time.process_time() - start
    assert spent.seconds < limit, f"{what} used {spent.seconds:.2f} s of CPU (budget {limit:.2f} s)"
