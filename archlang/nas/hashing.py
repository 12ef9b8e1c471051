"""Canonical hashes of architectures: equal for functionally identical ones.

``model_hash(model)`` hashes a concrete IR; ``canonical_hash(space, a)`` the IR the assignment
fixes (``space.fix_model(a)``); ``unique_size(space)`` counts distinct hashes.  Every value of
a graph gets a canonical *term*, bottom up, as NAS-Bench-201's ``to_unique_str`` does:

* a graph's inputs are ``0``, ``1``, … (by position); an op or layer applied to terms
  ``a, b`` is ``(a,b)@label``, the label being the op and its attributes (``inplace`` aside);
* ``Identity`` is a wire (its input's term); a ``Zero`` layer is the zero term ``#``, and any
  op whose inputs are all ``#`` is ``#`` (NAS-Bench-201's convention);
* a sum, a chain of ``+`` (``add`` nodes feeding ``add`` nodes directly, ``sum([...])``), is
  the sorted ``+``-join of its terms: summed inputs are unordered; a sum reached through a
  wire joins as one term, and ``#`` terms stay in sums — both as in NAS-Bench-201, which is
  how its 15,625 cells give 6,466 distinct ones;
* a call of a block with one input is ``(arg)@`` the hash of its body's terms, so blocks are
  compared by what they compute, not by name; a ``Sequential``, or a block with several
  inputs, is its body's terms with the arguments' terms in place of the inputs (inlined): a
  sequence is the chain of its layers, and a node that reads some of the earlier nodes is the
  same whatever their numbering, so isomorphic cells get one hash.  A body that returns an input is a wire, one that returns ``#`` is ``#``; a
  rolled run of n identical layers is n applications;
* values nothing reads (dead nodes) never enter a term: only what reaches an output counts.

Terms compare computations as expressions: a value reused by two edges and two separate
equal computations get the same term (again as NAS-Bench-201).  ``nb101_hash`` is
NAS-Bench-101's own graph hash (iterated neighbourhood hashing over the cell's adjacency
matrix), for its (matrix, ops) cells.  Must not import a backend.
"""

from __future__ import annotations

import gc
import hashlib
import re
from typing import Sequence

from archlang.errors import SpaceError
from archlang.ir import Graph, Model, Node, dims
from archlang.nas.assignment import Assignment
from archlang.nas.fixing import environment, find_member

ZERO = "#"
LONG = 240  # longer terms are replaced by a digest when nested inside another term
ENUMERATION_LIMIT = 200_000


def canonical_hash(space, assignment) -> str:
    """The canonical hash of the architecture ``assignment`` fixes in ``space``: the hash of
    ``space.fix_model(assignment)``, computed on the space's IR with the decisions resolved
    on the way (the same terms, without building the fixed IR)."""
    space.check(assignment)
    return space_hasher(space).assignment_hash(assignment.values)


def model_hash(model: Model | Graph, hasher: "Hasher | None" = None) -> str:
    """The canonical hash of a concrete model (or graph), as a hex string."""
    graph = model.graph if isinstance(model, Model) else model
    return (hasher or Hasher()).graph_hash(graph)


def space_hasher(space) -> "Hasher":
    """The space's hasher (kept on the space: it remembers the terms of unchanged blocks)."""
    hasher = getattr(space, "_hasher", None)
    if hasher is None:
        hasher = space._hasher = Hasher(space.selector)
    return hasher


def unique_size(space, limit: int = ENUMERATION_LIMIT) -> int:
    """How many distinct architectures (canonical hashes) the space holds, among those that
    meet its constraints: exact, by enumerating it, when it has at most ``limit`` configurations."""
    size = space.size()
    if size > limit:
        raise SpaceError(
            f"counting the distinct architectures of {space.name} means hashing all {size:,} of its "
            f"configurations, more than the {limit:,} that is tractable; sample and hash instead",
            space.model.graph.span,
        )
    hasher = space_hasher(space)
    seen = set()
    paused = gc.isenabled()
    gc.disable()  # many short-lived immutable objects, no cycles: collection would only slow it
    try:
        for values in space.tree.enumerate():
            if not space.constraints or space.feasible(Assignment(values, space.hash)):
                seen.add(hasher.assignment_hash(values))
    finally:
        if paused:
            gc.enable()
    return len(seen)


def digest(text: str, n: int = 16) -> str:
    return hashlib.blake2b(text.encode(), digest_size=n).hexdigest()


class Hasher:
    """Canonical terms of graphs: of a concrete IR, or of a space's IR under an assignment
    (``selector``: the space's ``fixing.Selector``).  Terms of a graph are kept for as long as
    the graph lives (and, in a space, for the values of the decisions it depends on)."""

    def __init__(self, selector=None, limit: int = 100_000) -> None:
        self.selector = selector
        self.values: dict = {}
        self.env: dict = {}
        self._bodies: dict = {}  # key -> (graph, output terms, call label)
        self._labels: dict[int, tuple[object, tuple]] = {}  # id(member) -> (member, label)
        self._shapes: dict[int, tuple] = {}  # id(graph) -> (graph, nodes by name, input terms)
        self._members: dict[tuple, tuple] = {}  # (id(graph), path) -> (graph, member) when no choice decides it
        self._same: dict[int, int] = {}  # id(graph of the space) -> id of the first equal graph
        self._signatures: dict[tuple, list] = {}
        self.limit = limit

    def assignment_hash(self, values: dict) -> str:
        self.values, self.env = values, environment(self.selector.decisions, values)
        return self.graph_hash(self.selector.model.graph)

    def graph_hash(self, graph: Graph) -> str:
        return digest("|".join(text for _, text in self.body(graph)[0]), 32)

    def body(self, graph: Graph, length: int | None = None) -> tuple:
        """The terms of a graph's outputs, its inputs being 0, 1, … (and its call label);
        ``length``: the chosen length when the graph is a searched-length sequence's body."""
        key = id(graph)
        if self.selector is not None:
            get = self.values.get
            key = (self.same(graph), length, *[get(label) for label in self.selector.deps(graph)])
        found = self._bodies.get(key)
        if found is not None and (found[0] is graph or self.selector is not None):
            return found[1], found[2]
        terms = _GraphTerms(self, graph, length).outputs()
        label = (_base_name(graph.name) + ":" + digest("|".join(k for k, _ in terms)),
                 "@" + digest("|".join(t for _, t in terms)))
        if len(self._bodies) >= self.limit:
            self._bodies.clear()
        self._bodies[key] = (graph, terms, label)
        return terms, label

    def inline(self, graph: Graph, args: list, length: int | None = None) -> tuple:
        """The terms of a graph's outputs with ``args`` as its inputs' terms (a call of a block
        with several inputs: its terms do not depend on the order it takes them in)."""
        key = ("inline", id(graph), length, *args)
        if self.selector is not None:
            get = self.values.get
            key = ("inline", self.same(graph), length, *args, *[get(label) for label in self.selector.deps(graph)])
        found = self._bodies.get(key)
        if found is not None and (found[0] is graph or self.selector is not None):
            return found[1]
        terms = _GraphTerms(self, graph, length, args).outputs()
        if len(self._bodies) >= self.limit:
            self._bodies.clear()
        self._bodies[key] = (graph, terms, None)
        return terms

    def shape(self, graph: Graph) -> tuple:
        """A graph's nodes by name and the terms of its inputs (0, 1, …)."""
        found = self._shapes.get(id(graph))
        if found is None or found[0] is not graph:
            inputs = {n.name: (str(i), str(i)) for i, n in enumerate(graph.input_nodes)}
            found = self._shapes[id(graph)] = (graph, {n.name: n for n in graph.nodes}, inputs)
        return found

    def layer_label(self, member, node: Node) -> tuple:
        if member is None:
            return _label(node.op, self.sizes(node.attrs))
        if self.selector is not None and self.selector.deps(member):
            return _label(member.op, self.sizes(member.attrs))
        found = self._labels.get(id(member))
        if found is None or found[0] is not member:
            found = self._labels[id(member)] = (member, _label(member.op, member.attrs))
        return found[1]

    # ---- a space's decisions, resolved
    def index(self, label: str) -> int:
        return self.selector.decisions[label].index(self.values[label])

    def sizes(self, value):
        """``value`` with the chosen sizes substituted (a space's searched sizes)."""
        if not self.env:
            return value
        if isinstance(value, dims.Expr):
            return dims.simplify(dims.subs(value, self.env))
        if isinstance(value, dict):
            return {k: self.sizes(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.sizes(v) for v in value)
        return value

    def member(self, graph: Graph, path: str):
        """The member at ``path``, through the chosen option of every choice on the way."""
        key = (id(graph), path)
        found = self._members.get(key)
        if found is not None and found[0] is graph:
            return found[1]
        if self.selector is None:
            member, fixed = graph.find_member(path), True
        else:
            member, fixed = find_member(graph, path, self.index), not _through_choice(graph, path)
        if fixed:
            self._members[key] = (graph, member)
        return member

    def same(self, graph: Graph) -> int:
        """One id for equal graphs of a space's IR (the first cell of a stage and the rolled
        rest are equal graphs elaborated apart): their terms are computed once."""
        found = self._same.get(id(graph))
        if found is None:
            signature = (graph.name, len(graph.nodes), len(graph.members))
            for other in self._signatures.setdefault(signature, []):
                if other == graph:
                    found = id(other)
                    break
            else:
                self._signatures[signature].append(graph)
                found = id(graph)
            self._same[id(graph)] = found
        return found


# A term is a pair (key, text): ``text`` is the canonical expression, whose digest is the hash;
# ``key`` orders summands: the same expression with lower-case op and block names first and
# without sizes (channel counts, features), so a cell sorts its sums the same way at every
# width of the network, and in NAS-Bench-201's order (avg_pool < nor_conv_1x1 < nor_conv_3x3).


class _GraphTerms:
    def __init__(self, hasher: Hasher, graph: Graph, length: int | None = None, args: list | None = None) -> None:
        self.h = hasher
        self.g = graph
        _, self.nodes, inputs = hasher.shape(graph)
        if args is not None:  # inlined: the inputs are the caller's terms
            inputs = {n.name: arg for n, arg in zip(graph.input_nodes, args)}
        self.terms: dict[str, object] = dict(inputs)  # node name -> term (or tuple of terms)
        self.repeats = self._run_lengths(length) if length is not None else {}

    def _run_lengths(self, length: int) -> dict:
        """In a searched-length sequence's body: how many of each run's items are there."""
        repeats, position = {}, 0
        for node in self.g.nodes:
            if node.kind in ("call", "choice"):
                full = node.repeat if isinstance(node.repeat, int) else dims.evaluate(node.repeat, self.h.env)
                repeats[node.name] = max(0, min(position + full, length) - position)
                position += max(full, 0)
        return repeats

    def outputs(self) -> tuple:
        return tuple(self.term(self.nodes[o].inputs[0]) for o in self.g.outputs)

    def term(self, name: str):
        if not name:
            return ("_", "_")
        found = self.terms.get(name)
        if found is None:
            found = self.terms[name] = self._term(self.nodes[name])
        return found

    def _term(self, node: Node):
        if node.kind == "choice" and self.h.selector is None:
            raise SpaceError("a choice is still free in this model; fix the assignment first", node.span)
        if node.kind == "op":
            return self._op(node)
        if node.kind == "call" or (node.kind == "choice" and node.op != "choose"):
            return self._call(node)
        if node.kind == "choice" and self.h.selector is not None:  # choose: the picked candidates
            return tuple(self.term(node.inputs[i]) for i in sorted(self.h.values[node.label]))
        raise SpaceError("a choice is still free in this model; fix the assignment first", node.span)

    def _op(self, node: Node):
        if node.op == "item":
            return self.term(node.inputs[0])[node.attrs["index"]]
        if _is_sum(node):
            terms = sorted(self._summands(node))
            return ("+".join(k for k, _ in terms), "+".join(t for _, t in terms))
        args = [self.term(i) for i in node.inputs]
        label = _label(node.op, self.h.sizes(node.attrs))
        if isinstance(node.type, tuple):  # a multi-output op (chunk, split …): one term per output
            return tuple(_apply(args, (label[0] + f"[{i}]", label[1] + f"[{i}]")) for i in range(len(node.type)))
        return _apply(args, label)

    def _summands(self, node: Node) -> list:
        out: list = []
        for name in node.inputs:
            source = self.nodes.get(name)
            if source is not None and source.kind == "op" and _is_sum(source):
                out.extend(self._summands(source))
            else:
                out.append(self.term(name))
        return out

    def _call(self, node: Node):
        value = [self.term(i) for i in node.inputs]
        repeat = self.repeats.get(node.name)
        if repeat is None:
            repeat = node.repeat if isinstance(node.repeat, int) else dims.evaluate(node.repeat, self.h.env)
        if repeat <= 0:  # a run of a searched-length sequence that is not there
            return value[0]
        target = node.target
        while node.kind == "choice":  # a space's layer choice: its chosen branch
            node = node.branches[self.h.index(node.label)]
        member = None
        if target and (node.body is None or (node.body.name == "Sequential" and self.h.selector is not None
                                             and self.h.selector.deps(node.body))):
            member = self.h.member(self.g, target)
        for _ in range(repeat):
            value = self._apply_once(node, member, value)
        return value[0] if not isinstance(node.type, tuple) else tuple(value)

    def _apply_once(self, node: Node, member, args: list) -> list:
        if node.body is None:  # a primitive layer
            if node.op == "Identity":
                return [args[0]]
            if node.op == "Zero":
                return [(ZERO, ZERO)]
            return [_apply(args, self.h.layer_label(member, node))]
        length = None
        if member is not None and member.kind == "sequential" and member.count is not None:
            length = dims.evaluate(member.count, self.h.env)
        if len(args) > 1 or node.body.name == "Sequential":  # inlined: the body's terms in terms of the args
            return list(self.h.inline(node.body, args, length))
        outputs, label = self.h.body(node.body, length)
        result = []
        for i, (_, out) in enumerate(outputs):
            if out.isdigit() and int(out) < len(args):  # the body returns an input: a wire
                result.append(args[int(out)])
            elif out == ZERO:
                result.append((ZERO, ZERO))
            else:
                suffix = f"[{i}]" if len(outputs) > 1 else ""
                result.append(_apply(args, (label[0] + suffix, label[1] + suffix)))
        return result


def _through_choice(graph: Graph, path: str) -> bool:
    """Whether a choice member lies on the way to ``path`` (so the member found depends on it)."""
    found = None
    for i, part in enumerate(path.split(".")):
        found = graph.member(part) if i == 0 else (found.member(part) if found is not None else None)
        if found is None or found.kind == "choice":
            return True
    return False


def _is_sum(node: Node) -> bool:
    return node.op == "add" and node.attrs.get("alpha", 1) == 1


def _apply(args: list, label: tuple) -> tuple:
    if len(args) == 1:
        key, text = args[0]
        if text == ZERO:
            return args[0]
        return (f"({_short(key)})@{label[0]}", f"({_short(text)})@{label[1]}")
    if args and all(t == ZERO for _, t in args):
        return (ZERO, ZERO)
    return (f"({','.join(_short(k) for k, _ in args)})@{label[0]}",
            f"({','.join(_short(t) for _, t in args)})@{label[1]}")


def _short(text: str) -> str:
    return text if len(text) <= LONG else f"<{digest(text)}>"


def _label(op: str, attrs: dict) -> tuple:
    """(key, text) labels of an op with its attributes; the key leaves out integer sizes."""
    shown = {k: v for k, v in attrs.items() if k != "inplace"}
    sizeless = {k: v for k, v in shown.items() if not _is_size(v)}
    return op.lower() + _attrs_text(sizeless), op + _attrs_text(shown)


def _base_name(name: str) -> str:
    """A block's name for ordering summands: lower case, without the ``_2`` … suffixes that
    .arch text of a fixed space gives a block's distinct instances."""
    return re.sub(r"(_\d+)+$", "", name).lower()


def _is_size(value) -> bool:
    return isinstance(value, dims.Expr) or (isinstance(value, int) and not isinstance(value, bool))


def _attrs_text(attrs: dict) -> str:
    if not attrs:
        return ""
    text = ",".join(f"{k}={_value_text(v)}" for k, v in sorted(attrs.items()))
    return "{" + (text if len(text) <= 48 else digest(text, 8)) + "}"


def _value_text(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_value_text(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, dims.Expr):
        return dims.to_str(value)
    return repr(value)


# ---- NAS-Bench-101 ------------------------------------------------------------------------


def nb101_hash(matrix: Sequence[Sequence[int]], ops: Sequence) -> str:
    """NAS-Bench-101's graph hash (``graph_util.hash_module``) of a cell: its upper-triangular
    adjacency ``matrix`` and one label per vertex (NAS-Bench-101 uses -1 for the input, -2 for
    the output and the op's index for the others).  Equal for isomorphic labelled DAGs; like
    the benchmark, prune the cell first (``nb101_prune``)."""
    n = len(matrix)
    in_edges = [sum(matrix[i][j] for i in range(n)) for j in range(n)]
    out_edges = [sum(matrix[i]) for i in range(n)]
    hashes = [hashlib.md5(str(h).encode("utf-8")).hexdigest() for h in zip(out_edges, in_edges, ops)]
    for _ in range(n):
        hashes = [
            hashlib.md5(("".join(sorted(hashes[w] for w in range(n) if matrix[w][v])) + "|"
                         + "".join(sorted(hashes[w] for w in range(n) if matrix[v][w])) + "|"
                         + hashes[v]).encode("utf-8")).hexdigest()
            for v in range(n)
        ]
    return hashlib.md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


def nb101_prune(matrix: Sequence[Sequence[int]], ops: Sequence):
    """NAS-Bench-101's ``ModelSpec`` pruning: drop the vertices not on a path from the input
    (vertex 0) to the output (the last vertex).  Returns (matrix, ops), or None when the
    output is not reachable from the input (an invalid cell)."""
    n = len(matrix)
    forward = _reach(n, 0, lambda v: (w for w in range(n) if matrix[v][w]))
    backward = _reach(n, n - 1, lambda v: (w for w in range(n) if matrix[w][v]))
    keep = [v for v in range(n) if v in forward and v in backward]
    if 0 not in keep or n - 1 not in keep:
        return None
    return [[matrix[i][j] for j in keep] for i in keep], [ops[v] for v in keep]


def _reach(n: int, start: int, step) -> set:
    seen, pending = {start}, [start]
    while pending:
        for w in step(pending.pop()):
            if w not in seen:
                seen.add(w)
                pending.append(w)
    return seen
