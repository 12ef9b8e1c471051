"""The smallest and the largest architecture of a search space, by parameters and by MACs.

A space's summary totals are exact expressions over its choice symbols (each with a finite
domain: a searched size's values, a searched layer's option indices).  Their minimum and
maximum over every combination are found by branch and bound: symbols are fixed one at a
time, and a branch is dropped when the interval ``dims.bounds`` gives for what is left cannot
beat the best architecture found so far.  The result is exact; a space where the bounds prune
too little for ``BUDGET`` visits gets None (shown as "—") rather than a guess.  The space's
``constrain`` statements are not applied: the extremes are over every architecture it can
write.  Must not import a stage or a backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from archlang.ir import dims

BUDGET = 5_000  # branch-and-bound visits per total


@dataclass(frozen=True)
class Extreme:
    """The smallest (or largest) parameter count and MAC count over a space's architectures;
    each is its own optimum, so the two may come from different architectures.  None: not
    known (a size other than the batch is symbolic, or the search ran out of budget)."""

    params: int | None
    macs: int | None

    def to_json(self) -> dict:
        return {"params": self.params, "macs": self.macs}


def extremes(params, macs, env: dict) -> tuple[Extreme, Extreme]:
    """(smallest, largest) of the totals ``params`` and ``macs`` with the sizes in ``env`` set."""
    return (Extreme(optimum(params, env, -1), optimum(macs, env, -1)),
            Extreme(optimum(params, env, 1), optimum(macs, env, 1)))


def optimum(d, env: dict, sign: int) -> int | None:
    """The maximum (``sign`` 1) or minimum (-1) of ``d`` over its choice symbols."""
    d = dims.simplify(dims.subs(d, env))
    if any(domain is None for domain in dims.symbols(d).values()):
        return None
    search = _Search(sign)
    search.visit(d)
    return None if search.exhausted else search.best


class _Search:
    def __init__(self, sign: int) -> None:
        self.sign, self.best, self.visits, self.exhausted = sign, None, 0, False

    def visit(self, d) -> None:
        self.visits += 1
        if self.visits > BUDGET:
            self.exhausted = True
            return
        if isinstance(d, int):
            if self.best is None or self.sign * d > self.sign * self.best:
                self.best = d
            return
        name, domain = min(dims.symbols(d).items())
        children = [dims.simplify(dims.subs(d, {name: v})) for v in domain]
        for child in sorted(children, key=self.promise, reverse=True):  # the likeliest optimum first
            if self.exhausted or (self.best is not None and self.promise(child) <= self.sign * self.best):
                continue
            self.visit(child)

    def promise(self, d) -> float:
        """The best value ``d`` could still reach, in the search's direction."""
        lo, hi = dims.bounds(d)
        return hi if self.sign > 0 else -lo
