"""``Space``: a space entry point of a spec, as a set of free decisions.

    space = archlang.space("specs/spaces/nb201.arch", "NB201")
    space.size()                          # exact, as a Python int
    a = space.sample(seed=0)              # an Assignment: label -> option index, + the space's hash
    model = space.fix_model(a)            # the concrete ir.Model
    text = space.to_arch(a)               # a standalone .arch file of that architecture
    b = space.mutate(a, rng)              # one active decision changed

Assignments map a decision's label (the member path where it is made, or the label the
author gave) to an option index; a ``choose(k, …)`` decision maps to k sorted candidate
indices.  Only *active* decisions appear: a decision inside an option not taken has no value.
Must not import a backend.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace
from typing import Iterator

from archlang.elaborate.program import Program, loads_program
from archlang.elaborate.satisfy import broken, collect, violation
from archlang.errors import ArchError, SpaceError
from archlang.errors.arguments import need_bool, need_int, need_mapping, need_rng, need_str, shown
from archlang.ir import ChoiceDecl, Model
from archlang.nas.assignment import Assignment
from archlang.nas.constraints import metrics, normalise
from archlang.nas.describe import space_html
from archlang.nas.fixing import Selector
from archlang.nas.hashing import ENUMERATION_LIMIT, canonical_hash, unique_size
from archlang.nas.to_arch import model_to_arch
from archlang.nas.tree import Decision, Tree


class Space:
    """The free decisions of one space entry point, with counting, sampling and fixing."""

    def __init__(self, program, name: str, params: dict | None = None, inputs: dict | None = None) -> None:
        if not isinstance(program, Program):
            raise TypeError(f"program must be an archlang.Program (archlang.load gives one), not {shown(program)}")
        need_str(name, "name"), need_mapping(params, "params", keys="parameter names")
        self.program = program
        self.name = name
        self.params = dict(params or {})
        self.inputs = dict(inputs or {})
        self.model: Model = program.elaborate(name, params=self.params, inputs=self.inputs)
        self.decisions: tuple[ChoiceDecl, ...] = self.model.choices
        self.tree = Tree(self.decisions)
        self.hash = _space_hash(name, self.decisions)
        self._selector = None  # fixes assignments by selection in the space's IR (made on first use)
        self.constraints = collect(self.model.graph)  # the spec's `constrain` statements
        self._feasible: dict[tuple, bool] = {}  # assignment key -> whether they hold (recent ones)

    # ---- counting and drawing
    def size(self, unique: bool = False, *, feasible: bool = False) -> int:
        """The exact number of configurations, computed over the decision tree.  ``unique``:
        distinct architectures (canonical hashes) among the feasible ones; ``feasible``: the
        configurations that meet the spec's constraints.  Both enumerate the space, so they
        are only tractable for small ones (search.hashing.ENUMERATION_LIMIT)."""
        need_bool(unique, "unique"), need_bool(feasible, "feasible")
        if unique:
            return unique_size(self)
        if feasible and self.constraints:
            size = self.tree.size()
            if size > ENUMERATION_LIMIT:
                raise SpaceError(
                    f"counting the configurations of {self.name} that meet its constraints means checking all "
                    f"{size:,}, more than the {ENUMERATION_LIMIT:,} that is tractable", self.model.graph.span,
                )
            return sum(1 for _ in self.enumerate())
        return self.tree.size()

    def sample(self, rng: random.Random | int | None = None, *, seed: int | None = None,
               constraints=None, max_tries: int = 10_000) -> Assignment:
        """A configuration drawn uniformly: every configuration has probability 1 / size().
        With constraints (the spec's ``constrain`` statements, and ``constraints``: see
        search.constraints), uniformly among the feasible ones, by rejection."""
        need_int(max_tries, "max_tries", low=1)
        rng, constraints = _rng(rng, seed), normalise(constraints)
        for _ in range(max_tries if constraints or self.constraints else 1):
            assignment = Assignment(self.tree.sample(rng), self.hash)
            if self.feasible(assignment, constraints):
                return assignment
        wanted = [c.text for c in self.constraints] + [str(c) for c in constraints]
        raise SpaceError(f"no architecture of {self.name} satisfying {', '.join(wanted)} "
                         f"was found in {max_tries:,} draws", self.model.graph.span)

    def enumerate(self, constraints=None) -> Iterator[Assignment]:
        """Every feasible configuration once, lazily, in a stable order (constraints as in sample)."""
        constraints = normalise(constraints)
        for values in self.tree.enumerate():
            assignment = Assignment(values, self.hash)
            if self.feasible(assignment, constraints):
                yield assignment

    def feasible(self, assignment: Assignment, constraints=None) -> bool:
        """Whether the architecture meets the spec's constraints (and ``constraints``)."""
        need_assignment(assignment)
        constraints = normalise(constraints)
        if self.constraints and not self._meets_spec(assignment):
            return False
        if not constraints:
            return True
        values = metrics(self, assignment, {c.metric for c in constraints})
        return all(c.holds(values) for c in constraints)

    def _meets_spec(self, assignment: Assignment) -> bool:
        """Whether the spec's constraints hold, remembered for recent assignments: a search
        asks again about what it has just drawn or mutated."""
        key = (assignment.space, assignment.key())
        known = self._feasible.get(key)
        if known is None:
            known = self._feasible[key] = not self.broken(self._fixed(assignment), assignment)
            if len(self._feasible) > 4096:
                del self._feasible[next(iter(self._feasible))]
        return known

    def violations(self, assignment: Assignment) -> list[str]:
        """The spec constraints the architecture breaks, as text (``params <= 5e6 (params =
        6,012,000)``); empty when it is feasible."""
        need_assignment(assignment)
        if not self.constraints:
            return []
        found = self.broken(self._fixed(assignment), assignment)
        return [c.text + (" (" + ", ".join(f"{k} = {v:,}" for k, v in read.items()) + ")" if read else "")
                for c, read in found]

    def broken(self, model: Model, assignment: Assignment) -> list:
        """The spec constraints the fixed ``model`` of ``assignment`` breaks, with the metrics they read."""
        if not self.constraints:
            return []
        def choose(label: str):
            decision = self.tree.by_label[label]
            index = decision.index(assignment.values[label])
            return index, decision.decl.options[index]

        return broken(model, self.program.unit, collect(model.graph), choose)

    # ---- checking and fixing
    def check(self, assignment: Assignment) -> Assignment:
        """The assignment, if it is this space's and gives every active decision a valid value."""
        need_assignment(assignment)
        if assignment.space != self.hash:
            raise SpaceError(
                f"this assignment was made for another version of space {self.name} "
                f"(space hash {assignment.space[:12]}…, now {self.hash[:12]}…)", self.model.graph.span,
            )
        active = self.tree.active(assignment.values)
        for decision in active:
            self._check_value(decision, assignment.values.get(decision.label))
        unknown = set(assignment.values) - {d.label for d in active}
        if unknown:
            raise SpaceError(f"the assignment sets decisions that are not active: {', '.join(sorted(unknown))}",
                             self.model.graph.span)
        return assignment

    def _check_value(self, decision: Decision, value) -> None:
        if value is None:
            raise SpaceError(f"the assignment gives no value to decision '{decision.label}'", decision.decl.span)
        try:
            index = decision.index(value)
        except (TypeError, ValueError):
            index = -1
        if not (isinstance(index, int) and 0 <= index < decision.arity) or decision.value(index) != value:
            raise SpaceError(f"'{value}' is not an option of decision '{decision.label}'", decision.decl.span)

    def fix_model(self, assignment: Assignment, *, elaborate: bool = False) -> Model:
        """The concrete ir.Model the assignment selects: picked out of the space's IR, where
        every alternative is already elaborated (search.fixing), or elaborated anew.  An
        architecture that breaks a constraint of the spec is a ConstraintError."""
        need_bool(elaborate, "elaborate")
        model = self._fixed(assignment, elaborate=elaborate)
        failures = self.broken(model, assignment) if not elaborate else []
        if failures:
            raise ArchError.collect([violation(model, c, values) for c, values in failures])
        return model

    def _fixed(self, assignment: Assignment, *, elaborate: bool = False) -> Model:
        self.check(assignment)
        if elaborate:
            model = self.program.elaborate(self.name, params=self.params, inputs=self.inputs,
                                           assignment=dict(assignment.values))
            # decisions inside options not taken are recorded too: they are not free, only inactive
            return replace(model, choices=())
        return self.selector.fix(assignment.values)

    @property
    def selector(self):
        """The space's ``fixing.Selector`` (it keeps the resolved parts of the IR it made)."""
        if self._selector is None:
            self._selector = Selector(self.model, self.tree)
        return self._selector

    def encode(self, assignment: Assignment, kind: str = "onehot"):
        """A numpy feature vector of the architecture: "onehot", "adjacency" or "path"
        (archlang.nas.encode)."""
        from archlang.nas.encode import encode  # imports numpy

        self.check(assignment), need_str(kind, "kind")
        return encode(self, assignment, kind)

    def canonical_hash(self, assignment: Assignment) -> str:
        """Equal for functionally identical architectures (archlang.nas.hashing)."""
        return canonical_hash(self, assignment)

    def to_arch(self, assignment: Assignment, *, canonical: bool = True) -> str:
        """A standalone .arch file of the architecture: it loads, checks and compiles alone."""
        self.check(assignment)
        header = (f"{self.name} from {self.program.file}, fixed by archlang\n"
                  f"assignment: {assignment.dumps()}")
        return model_to_arch(self.fix_model(assignment), header, canonical=canonical)

    def fix(self, assignment: Assignment):
        """An ordinary checked Program holding the architecture (from its .arch text: the code
        ``to_arch`` writes, not laid out, since no one reads this copy)."""
        return loads_program(self.to_arch(assignment, canonical=False), filename=f"{self.name}.fixed.arch")

    # ---- local moves
    def mutate(self, assignment: Assignment, rng: random.Random | int | None = None, tries: int = 200) -> Assignment:
        """Change exactly one active decision to another of its options (its subtree resampled);
        with constraints, a feasible such neighbour (the assignment itself if ``tries`` find none)."""
        self.check(assignment), need_int(tries, "tries", low=1)
        rng = _rng(rng, None)
        for _ in range(tries if self.constraints else 1):
            moved = self._mutate(assignment, rng)
            if self.feasible(moved):
                return moved
        return assignment

    def _mutate(self, assignment: Assignment, rng: random.Random) -> Assignment:
        values = dict(self.check(assignment).values)
        movable = [d for d in self.tree.active(values) if d.arity > 1]
        if not movable:
            return assignment
        decision = rng.choice(movable)
        current = decision.index(values[decision.label])
        index = rng.choice([i for i in range(decision.arity) if i != current])
        for stale in _subtree_labels(decision, current):
            values.pop(stale, None)
        values[decision.label] = decision.value(index)
        for child in decision.under(index):
            self.tree._sample(child, rng, values)
        return Assignment(values, self.hash)

    def crossover(self, a: Assignment, b: Assignment, rng: random.Random | int | None = None,
                  tries: int = 200) -> Assignment:
        """Each root decision (with everything under it) from one parent or the other; with
        constraints, a feasible such child (parent ``a`` if ``tries`` find none)."""
        self.check(a), self.check(b), need_int(tries, "tries", low=1)
        rng = _rng(rng, None)
        for _ in range(tries if self.constraints else 1):
            child = self._crossover(a, b, rng)
            if self.feasible(child):
                return child
        return a

    def _crossover(self, a: Assignment, b: Assignment, rng: random.Random) -> Assignment:
        self.check(a), self.check(b)
        values: dict = {}
        for root in self.tree.roots:
            parent = a if rng.random() < 0.5 else b
            for decision in self.tree.active(parent.values):
                if decision.label == root.label or decision.label in _subtree_labels(root, None):
                    values[decision.label] = parent.values[decision.label]
        return Assignment(values, self.hash)

    def __repr__(self) -> str:
        return f"<Space {self.name}: {len(self.decisions)} decisions, {self.size():,} configurations>"

    def _repr_html_(self) -> str:
        """Jupyter shows a space as its size, distinct count and decision table."""
        return space_html(self)


def _subtree_labels(decision: Decision, index: int | None) -> set[str]:
    """Labels of the decisions under ``decision`` (under one option, or under all)."""
    found: set[str] = set()
    groups = [decision.under(index)] if index is not None else list(decision.children.values())
    for group in groups:
        for child in group:
            found.add(child.label)
            found |= _subtree_labels(child, None)
    return found


def _rng(rng, seed) -> random.Random:
    need_rng(rng), need_rng(seed, "seed")
    if isinstance(rng, random.Random):
        return rng
    return random.Random(seed if seed is not None else rng)


def need_assignment(assignment, name: str = "assignment") -> Assignment:
    if not isinstance(assignment, Assignment):
        hint = " (make one with Assignment(values, space.hash), or take space.sample())" \
            if isinstance(assignment, dict) else ""
        raise TypeError(f"{name} must be an archlang.nas.Assignment, not {shown(assignment)}{hint}")
    return assignment


def _space_hash(name: str, decisions) -> str:
    description = [name] + [
        (d.label, d.kind, [str(o) for o in d.options], d.k, [[list(c) for c in conj] for conj in d.when])
        for d in decisions
    ]
    return hashlib.sha256(json.dumps(description, default=str).encode()).hexdigest()
