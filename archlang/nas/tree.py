"""The decision tree of a search space: exact size, uniform sampling and enumeration.

A space's decisions (``ir.ChoiceDecl``) nest: a choice made inside option 2 of choice ``op``
only matters when ``op`` takes option 2; one inside the 4th layer of a searched-length
sequence only when the length is at least 4.  Each decision's ``when`` names the conditions;
here they become a forest (each decision hangs under the decision of its innermost condition)
and configurations are counted as products and sums over it — exactly, as Python ints, never
by enumeration.  An inactive decision takes no value, so it does not multiply the count.

Sampling is uniform over configurations: an option is drawn with probability proportional to
the number of configurations under it.  Must not import a backend.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from archlang.errors import SpaceError
from archlang.ir import ChoiceDecl


@dataclass
class Decision:
    decl: ChoiceDecl
    # children[o]: decisions active only when this one takes option index o
    children: dict[int, list["Decision"]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.decl.label

    @property
    def arity(self) -> int:
        if self.decl.kind == "subset":
            return math.comb(len(self.decl.options), self.decl.k)
        return len(self.decl.options)

    def value(self, index: int):
        """The assignment value of option ``index``: an option index, or k candidate indices."""
        if self.decl.kind == "subset":
            return _nth_combination(len(self.decl.options), self.decl.k, index)
        return index

    def index(self, value) -> int:
        if self.decl.kind == "subset":
            return _combination_index(len(self.decl.options), self.decl.k, tuple(value))
        return value

    def under(self, index: int) -> list["Decision"]:
        return self.children.get(index, [])


class Tree:
    """The forest of a space's decisions."""

    def __init__(self, decls: tuple[ChoiceDecl, ...]) -> None:
        self.by_label = {d.label: Decision(d) for d in decls}
        self.roots: list[Decision] = []
        for decision in self.by_label.values():
            self._attach(decision)
        self._weights: dict[tuple[str, int], int] = {}

    def _attach(self, decision: Decision) -> None:
        when = decision.decl.when
        if () in when:
            self.roots.append(decision)
            return
        if len(when) != 1:
            raise SpaceError(
                f"choice '{decision.label}' is shared by places that exist under different conditions; "
                "give the places their own labels", decision.decl.span,
            )
        parent_label, allowed = when[0][-1]
        parent = self.by_label.get(parent_label)
        if parent is None:  # the enclosing decision is fixed (assigned): always active here
            self.roots.append(decision)
            return
        for index in allowed:
            parent.children.setdefault(index, []).append(decision)

    # ---- counting
    def size(self) -> int:
        return _product(self.weight(d) for d in self.roots)

    def weight(self, decision: Decision) -> int:
        return sum(self.option_weight(decision, i) for i in range(decision.arity))

    def option_weight(self, decision: Decision, index: int) -> int:
        key = (decision.label, index)
        if key not in self._weights:
            self._weights[key] = _product(self.weight(c) for c in decision.under(index))
        return self._weights[key]

    # ---- sampling and enumeration
    def sample(self, rng: random.Random) -> dict:
        values: dict = {}
        for decision in self.roots:
            self._sample(decision, rng, values)
        return values

    def _sample(self, decision: Decision, rng: random.Random, values: dict) -> None:
        ticket = rng.randrange(self.weight(decision))
        for index in range(decision.arity):
            ticket -= self.option_weight(decision, index)
            if ticket < 0:
                break
        values[decision.label] = decision.value(index)
        for child in decision.under(index):
            self._sample(child, rng, values)

    def enumerate(self):
        """Every configuration once, in a stable order (roots in declaration order)."""
        yield from self._enumerate(list(self.roots), {})

    def _enumerate(self, pending: list[Decision], values: dict):
        if not pending:
            yield dict(values)
            return
        decision, rest = pending[0], pending[1:]
        for index in range(decision.arity):
            values[decision.label] = decision.value(index)
            yield from self._enumerate(decision.under(index) + rest, values)
        del values[decision.label]

    def active(self, values: dict) -> list[Decision]:
        """The decisions that matter under ``values`` (which must give each of them a value)."""
        found: list[Decision] = []
        pending = list(self.roots)
        while pending:
            decision = pending.pop(0)
            found.append(decision)
            if decision.label in values:
                pending = decision.under(decision.index(values[decision.label])) + pending
        return found


def _product(numbers) -> int:
    result = 1
    for n in numbers:
        result *= n
    return result


def _nth_combination(n: int, k: int, index: int) -> tuple[int, ...]:
    """The index-th k-subset of range(n) in lexicographic order (what itertools yields)."""
    result, start = [], 0
    for remaining in range(k, 0, -1):
        for candidate in range(start, n):
            block = math.comb(n - candidate - 1, remaining - 1)
            if index < block:
                result.append(candidate)
                start = candidate + 1
                break
            index -= block
    return tuple(result)


def _combination_index(n: int, k: int, subset: tuple[int, ...]) -> int:
    index, start = 0, 0
    for position, chosen in enumerate(sorted(subset)):
        remaining = k - position
        for candidate in range(start, chosen):
            index += math.comb(n - candidate - 1, remaining - 1)
        start = chosen + 1
    return index

