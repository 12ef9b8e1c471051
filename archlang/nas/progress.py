"""Live progress of a search: evaluations out of the budget, failures, best so far and ETA.

``Progress(budget, …)`` draws one live rich line on a terminal and, elsewhere (CI logs, a file),
a plain line every tenth of the budget or, when trials are slow, at least every
``LINE_SECONDS`` once a trial has ended since the last; ``quiet=True`` prints nothing.  The engine calls
``update(history)`` after each trial (or, with several workers, as the storage changes).
``spinner(label)`` is the same idea for one long step without a count (counting a large space,
a large export): a transient spinner on a terminal once the step has lasted half a second,
nothing in a log.  Never imports torch.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time

LINE_SECONDS = 60.0  # in a log, the longest silence while trials keep ending


class Progress:
    """A progress display; use as a context manager around ``archlang.search``."""

    def __init__(self, budget: int, *, label: str = "search", objectives=(), directions=(), quiet: bool = False,
                 stream=None) -> None:
        self.budget = budget
        self.label = label
        self.objectives = list(objectives)
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.rich = None
        self.task = None
        self.start_count: int | None = None
        self.start_time = time.monotonic()
        self.next_line = 0
        self.last_line = (time.monotonic(), -1)  # when the last plain line was printed, at which count

    def __enter__(self) -> "Progress":
        if not self.quiet and _is_terminal(self.stream):
            self.rich = _rich_progress(self.stream)
            if self.rich is not None:
                self.rich.start()
                self.task = self.rich.add_task(self.label, total=self.budget, best="–", failed=0)
        return self

    def __exit__(self, *exc) -> None:
        if self.rich is not None:
            self.rich.stop()

    def update(self, history) -> None:
        if self.quiet:
            return
        done = sum(1 for r in history.records.values() if r.evaluated)
        failed = sum(1 for r in history.records.values() if r.evaluated and r.state == "FAIL")
        best = history.best()
        text = format_values(best.values, self.objectives) if best is not None else "–"
        if self.start_count is None:
            self.start_count, self.start_time = done, time.monotonic()
        if self.rich is not None:
            self.rich.update(self.task, completed=min(done, self.budget), best=text, failed=failed)
        elif done > self.last_line[1] and (done >= self.next_line or done >= self.budget or self._overdue()):
            self._line(done, failed, text)

    def _overdue(self) -> bool:
        return time.monotonic() - self.last_line[0] >= LINE_SECONDS

    def _line(self, done: int, failed: int, best: str) -> None:
        self.next_line = done + max(1, self.budget // 10)
        self.last_line = (time.monotonic(), done)
        print(f"{self.label}: {done}/{self.budget} evaluated, {failed} failed, best {best}, "
              f"ETA {self.eta(done)}", file=self.stream, flush=True)

    def eta(self, done: int) -> str:
        """Remaining time at the rate of this run (a resumed run's earlier trials excluded)."""
        fresh = done - (self.start_count or 0)
        if fresh <= 0 or done >= self.budget:
            return "–" if done < self.budget else "0s"
        seconds = (time.monotonic() - self.start_time) / fresh * (self.budget - done)
        return format_seconds(seconds)


def format_values(values, names=()) -> str:
    names = list(names) if len(names) == len(values) else [""] * len(values)
    return ", ".join(f"{n}={_num(v)}" if n else _num(v) for n, v in zip(names, values))


def _num(value: float) -> str:
    if float(value).is_integer() and 10 <= abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.4g}"


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _rich_progress(stream):
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress
    except ImportError:
        return None
    return RichProgress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"), TextColumn("best [cyan]{task.fields[best]}"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=Console(file=stream), transient=False,
    )


@contextlib.contextmanager
def spinner(label: str, *, quiet: bool = False, stream=None, delay: float = 0.5):
    """A spinner with ``label`` on a terminal while the block runs, shown only if the block
    lasts longer than ``delay`` seconds (a fast step does not flicker) and erased at its end."""
    stream = stream or sys.stderr
    status = None if quiet or not _is_terminal(stream) else _rich_status(label, stream)
    if status is None:
        yield
        return
    lock, state = threading.Lock(), {"done": False}

    def show() -> None:
        with lock:
            if not state["done"]:
                status.start()

    timer = threading.Timer(delay, show) if delay > 0 else None
    if timer is None:
        show()
    else:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
        with lock:
            state["done"] = True
            status.stop()


def _rich_status(label: str, stream):
    try:
        from rich.console import Console
        from rich.status import Status
    except ImportError:
        return None
    return Status(label, console=Console(file=stream), spinner="dots")
