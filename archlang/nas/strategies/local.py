"""Local search: first-improvement hill climbing with random restarts.

The walk stands on one architecture (at the start: the best evaluated one, or a random one)
and proposes its not-yet-evaluated neighbours (one active decision changed, newly active
decisions drawn at random) in random order.  As soon as an evaluated neighbour is better
(several objectives: dominates), the walk moves there.  When every neighbour is evaluated and
none is better, it is a local optimum: the walk restarts from a random architecture.
Never imports torch.
"""

from __future__ import annotations

from archlang.nas.assignment import Assignment
from archlang.nas.space import _subtree_labels
from archlang.nas.strategies.base import Context, Proposal, Strategy
from archlang.nas.study import best_of, better


class LocalSearch(Strategy):
    name = "local"

    def __init__(self, space) -> None:
        super().__init__(space)
        self.current: Assignment | None = None
        self.neighbours: list[Assignment] = []
        self.tried: list[Assignment] = []  # neighbours of ``current`` proposed (or found evaluated)

    def propose(self, ctx: Context) -> Proposal:
        if self.current is None:
            best = best_of(ctx.history.complete(), ctx.history.sign, ctx.rng)
            if best is None:
                return self._restart(ctx)
            self._stand_on(best.assignment(), ctx)
        known = ctx.history.known()
        here = known.get(ctx.hash_of(self.current))
        if here is None:  # the walk's own point is not evaluated yet (a restart)
            return Proposal(self.current)
        if here.state == "FAIL":
            return self._restart(ctx)
        improving = [r for r in (known.get(ctx.hash_of(n)) for n in self.tried)
                     if r is not None and r.ok and better(r, here, ctx.history.sign)]
        if improving:
            self._stand_on(best_of(improving, ctx.history.sign, ctx.rng).assignment(), ctx)
        while self.neighbours:
            candidate = self.neighbours.pop()
            self.tried.append(candidate)
            if ctx.hash_of(candidate) not in known:
                return Proposal(candidate)
        return self._restart(ctx)  # every neighbour evaluated, none better: a local optimum

    def _stand_on(self, assignment: Assignment, ctx: Context) -> None:
        self.current = assignment
        self.neighbours = neighbours(ctx.space, assignment, ctx.rng)
        self.tried = []

    def _restart(self, ctx: Context) -> Proposal:
        self._stand_on(ctx.space.sample(ctx.rng), ctx)
        return Proposal(self.current)


MAX_PER_DECISION = 64  # a decision with more options (a large choose(k, …)) offers a random few


def _some_others(arity: int, current: int, rng) -> list[int]:
    picked: set[int] = set()
    while len(picked) < MAX_PER_DECISION:
        index = rng.randrange(arity)
        if index != current:
            picked.add(index)
    return sorted(picked)


def neighbours(space, assignment: Assignment, rng) -> list[Assignment]:
    """Every one-decision change of ``assignment`` (newly active decisions drawn) that meets the
    spec's constraints, shuffled."""
    found = []
    values = assignment.values
    for decision in space.tree.active(values):
        current = decision.index(values[decision.label])
        others = [i for i in range(decision.arity) if i != current] if decision.arity <= MAX_PER_DECISION + 1 \
            else _some_others(decision.arity, current, rng)
        for index in others:
            changed = dict(values)
            for stale in _subtree_labels(decision, current):
                changed.pop(stale, None)
            changed[decision.label] = decision.value(index)
            for child in decision.under(index):
                space.tree._sample(child, rng, changed)
            neighbour = Assignment(changed, assignment.space)
            if space.feasible(neighbour):
                found.append(neighbour)
    rng.shuffle(found)
    return found
