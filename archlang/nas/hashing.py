"""Hashes of architectures for deduplication: the *functional* hash (equal only when the
outputs are provably identical for all weights) and the *exact* hash (equal only for the
identical fixed model).  docs/safety.md says how a search uses them.

``canonical_hash(space, a)`` is the functional hash of the architecture the assignment fixes
(computed on the space's IR with the decisions resolved on the way, without building the
fixed IR), ``model_hash(model)`` that of a concrete model, ``unique_size(space)`` counts
distinct functional hashes; ``exact_hash`` / ``model_exact_hash`` digest the fixed IR as
printed (every node, attribute, type and member, dead ones included).

Every value of a graph gets a canonical *term*, bottom up:

* a graph's inputs are ``0``, ``1``, … (by position); an op or layer applied to terms
  ``a, b`` is ``(a,b)@label``, the label being the op and its attributes (``inplace`` aside);
* ``Identity`` is a wire (its input's term); a ``Zero`` layer is the zero term ``#``;
* **the zero rule**: an op whose inputs are all ``#`` is ``#`` only when it maps zeros to
  zeros whatever its attributes and weights (``ZERO_LAYERS``, ``ZERO_FUNCTIONS``: ReLU,
  pooling, reshaping …; a Conv/Linear without bias; a norm without affine shift).
  ``Linear`` or ``BatchNorm2d`` applied to zeros gives its bias, so it is not ``#``; a block
  applied to zeros is ``#`` when its body, run on zeros, is;
* a sum, a chain of ``+`` (``add`` nodes feeding ``add`` nodes directly, ``sum([...])``), is
  the sorted ``+``-join of its terms: summed inputs are unordered; ``#`` terms stay in sums;
* a call of a block with one input is ``(arg)@`` the hash of its body's terms, so blocks are
  compared by what they compute, not by name; a ``Sequential``, or a block with several
  inputs, is its body's terms with the arguments' terms in place of the inputs (inlined): a
  sequence is the chain of its layers, and a node that reads some of the earlier nodes is the
  same whatever their numbering, so isomorphic cells get one hash.  A body that returns an
  input is a wire, one that returns ``#`` is ``#``; a rolled run of n identical layers is n
  applications;
* values nothing reads (dead nodes) never enter a term: only what reaches an output counts.

**Twins.**  A term says what is computed, not by which weights: one convolution whose output
is read twice and two convolutions of the same input have equal terms, yet compute different
functions once their weights differ.  So every application of a layer (or block) holding
parameters is an *instance*; when two instances of one architecture have equal terms, the
terms cannot tell the architecture from the one where they are shared, and the hash is
computed again in *strict* mode, where each instance's label carries its place in the graph
(node name and repetition).  Strict hashes never equal non-strict ones.  This is where the
hash departs from NAS-Bench-201's ``to_unique_str`` (``formats.nb201_unique_str``), which
merges such cells, and applies the zero rule to every op: its 15,625 cells make 6,466 classes
under its own convention and more functionally distinct ones here (docs/safety.md).

``nb101_hash`` is NAS-Bench-101's own graph hash (iterated neighbourhood hashing over the
cell's adjacency matrix), for its (matrix, ops) cells.  Must not import a backend.
"""

from __future__ import annotations

import gc
import hashlib
import re
from typing import Sequence

from archlang import ops
from archlang.errors import SpaceError
from archlang.ir import Graph, Model, Node, dims
from archlang.nas.assignment import Assignment
from archlang.nas.fixing import environment, find_member
from archlang.report.printer import format_model

ZERO = "#"
LONG = 240  # longer terms are replaced by a digest when nested inside another term
ENUMERATION_LIMIT = 200_000

# Ops that map all-zero inputs to zero whatever their attributes and weights (eval mode).
ZERO_LAYERS = frozenset({
    "Identity", "Zero", "Dropout", "Dropout2d", "ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Mish",
    "Hardswish", "Tanh", "Flatten", "Unflatten", "PixelShuffle", "PixelUnshuffle", "Upsample", "RMSNorm",
    "AvgPool1d", "AvgPool2d", "AvgPool3d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
})
ZERO_FUNCTIONS = frozenset({
    "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "mish", "hardswish", "tanh", "neg", "abs", "sin", "erf",
    "square", "sqrt", "dropout", "flatten", "reshape", "view", "permute", "transpose", "squeeze", "unsqueeze",
    "expand", "contiguous", "clone", "getitem", "chunk", "split", "unbind", "cat", "stack", "rearrange",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "max_pool1d", "max_pool2d", "max_pool3d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool3d", "interpolate", "mean", "sum", "amax", "amin", "maximum", "minimum", "mul", "matmul",
    "mm", "bmm", "einsum", "add", "sub",
})
# Layers that map zeros to zeros unless an attribute adds a learned shift (bias, affine β).
ZERO_UNLESS = {
    **{f"Conv{d}d": "bias" for d in (1, 2, 3)}, **{f"ConvTranspose{d}d": "bias" for d in (1, 2, 3)},
    "Linear": "bias", **{f"BatchNorm{d}d": "affine" for d in (1, 2, 3)}, "GroupNorm": "affine",
    "LayerNorm": "bias",
}


def zero_preserving(op: str, attrs: dict, function: bool = False) -> bool:
    """Whether ``op`` with ``attrs`` maps all-zero inputs to zeros for every weight."""
    if function:
        return op in ZERO_FUNCTIONS
    if op in ZERO_LAYERS:
        return True
    shift = ZERO_UNLESS.get(op)
    if shift is None:
        return False
    if op == "LayerNorm" and attrs.get("elementwise_affine") is False:
        return True
    return attrs.get(shift) is False


def canonical_hash(space, assignment) -> str:
    """The functional hash of the architecture ``assignment`` fixes in ``space``: the hash of
    ``space.fix_model(assignment)``, computed on the space's IR with the decisions resolved
    on the way (the same terms, without building the fixed IR)."""
    space.check(assignment)
    return functional_hash(space, assignment.values)


def functional_hash(space, values: dict) -> str:
    """``canonical_hash`` of checked decision ``values`` (strict when the terms have twins)."""
    found, twins = space_hasher(space).assignment_hash(values)
    if not twins:
        return found
    return space_hasher(space, strict=True).assignment_hash(values)[0]


def model_hash(model: Model | Graph, hasher: "Hasher | None" = None) -> str:
    """The functional hash of a concrete model (or graph), as a hex string."""
    graph = model.graph if isinstance(model, Model) else model
    found, twins = (hasher or Hasher()).graph_hash(graph)
    return Hasher(strict=True).graph_hash(graph)[0] if twins else found


def exact_hash(space, assignment) -> str:
    """Equal only for assignments that fix the identical model (``model_exact_hash``)."""
    space.check(assignment)
    return model_exact_hash(space.selector.fix(assignment.values))


def model_exact_hash(model: Model) -> str:
    """A digest of the concrete model's IR as printed: every node, attribute, type and member."""
    return digest("exact|" + format_model(model), 32)


def instance_keys(model: Model) -> tuple[str, dict[str, str]]:
    """The functional hash of a concrete model and, for each member path holding parameters
    that the outputs read, the key of its instance: equal keys in two models with one hash
    are corresponding layers (tests give them equal weights to check that the outputs agree)."""
    hasher = Hasher(recording=True)
    found, twins = hasher.graph_hash(model.graph)
    if twins:
        hasher = Hasher(strict=True, recording=True)
        found = hasher.graph_hash(model.graph)[0]
    keys: dict[str, set] = {}
    for path, key in hasher.body(model.graph)[2].records:  # a layer applied at several places: all its terms
        keys.setdefault(path, set()).add(key)
    return found, {path: "&".join(sorted(found_keys)) for path, found_keys in keys.items()}


def space_hasher(space, strict: bool = False) -> "Hasher":
    """The space's hasher (kept on the space: it remembers the terms of unchanged blocks)."""
    attribute = "_strict_hasher" if strict else "_hasher"
    hasher = getattr(space, attribute, None)
    if hasher is None:
        hasher = Hasher(space.selector, strict=strict)
        setattr(space, attribute, hasher)
    return hasher


def unique_size(space, limit: int = ENUMERATION_LIMIT) -> int:
    """How many functionally distinct architectures (functional hashes) the space holds, among
    those that meet its constraints: exact, by enumerating it, when it has at most ``limit``
    configurations."""
    size = space.size()
    if size > limit:
        raise SpaceError(
            f"counting the distinct architectures of {space.name} means hashing all {size:,} of its "
            f"configurations, more than the {limit:,} that is tractable; sample and hash instead",
            space.model.graph.span,
        )
    seen = set()
    paused = gc.isenabled()
    gc.disable()  # many short-lived immutable objects, no cycles: collection would only slow it
    try:
        for values in space.tree.enumerate():
            if not space.constraints or space.feasible(Assignment(values, space.hash)):
                seen.add(functional_hash(space, values))
    finally:
        if paused:
            gc.enable()
    return len(seen)


def digest(text: str, n: int = 16) -> str:
    return hashlib.blake2b(text.encode(), digest_size=n).hexdigest()


class Hasher:
    """Canonical terms of graphs: of a concrete IR, or of a space's IR under an assignment
    (``selector``: the space's ``fixing.Selector``).  Terms of a graph are kept for as long as
    the graph lives (and, in a space, for the values of the decisions it depends on).
    ``strict``: instances carry their place in the graph (module docstring, "Twins").
    ``recording``: levels also record the member path and instance key of each live layer
    (``instance_keys``; nothing is cached)."""

    def __init__(self, selector=None, limit: int = 100_000, strict: bool = False, recording: bool = False) -> None:
        self.selector = selector
        self.strict = strict
        self.recording = recording
        self.values: dict = {}
        self.env: dict = {}
        self._bodies: dict = {}  # key -> (graph, output terms, call label, Level)
        self._labels: dict[int, tuple[object, tuple]] = {}  # id(member) -> (member, label)
        self._shapes: dict[int, tuple] = {}  # id(graph) -> (graph, nodes by name, input terms)
        self._members: dict[tuple, tuple] = {}  # (id(graph), path) -> (graph, member) when no choice decides it
        self._same: dict[int, int] = {}  # id(graph of the space) -> id of the first equal graph
        self._signatures: dict[tuple, list] = {}
        self.limit = limit

    def assignment_hash(self, values: dict) -> tuple[str, bool]:
        """(hash, whether its terms have twins) of the space's architecture for ``values``."""
        self.values, self.env = values, environment(self.selector.decisions, values)
        return self.graph_hash(self.selector.model.graph)

    def graph_hash(self, graph: Graph) -> tuple[str, bool]:
        """(hash, whether its terms have twins: then only a strict hasher's hash is sound)."""
        terms, _, level = self.body(graph)
        text = "|".join(text for _, text in terms)
        return digest(("strict|" if self.strict else "") + text, 32), level.twins

    def _cached(self, key, graph: Graph):
        if self.recording:
            return None
        found = self._bodies.get(key)
        if found is not None and (found[0] is graph or self.selector is not None):
            return found
        return None

    def _keep(self, key, entry: tuple) -> None:
        if self.recording:
            return
        if len(self._bodies) >= self.limit:
            self._bodies.clear()
        self._bodies[key] = entry

    def body(self, graph: Graph, length: int | None = None, path: str = "", owner: str = "") -> tuple:
        """The terms of a graph's outputs, its inputs being 0, 1, …, its call label and its
        ``Level``; ``length``: the chosen length when the graph is a searched-length
        sequence's body (``path``, ``owner``: where it sits, when recording)."""
        key = id(graph)
        if self.selector is not None:
            get = self.values.get
            key = (self.same(graph), length, *[get(label) for label in self.selector.deps(graph)])
        found = self._cached(key, graph)
        if found is not None:
            return found[1], found[2], found[3]
        walk = _GraphTerms(self, graph, length, path=path, owner=owner)
        terms = walk.outputs()
        label = (_base_name(graph.name) + ":" + digest("|".join(k for k, _ in terms)),
                 "@" + digest("|".join(t for _, t in terms)))
        level = walk.level()
        self._keep(key, (graph, terms, label, level))
        return terms, label, level

    def inline(self, graph: Graph, args: list, length: int | None = None, tags: dict | None = None,
               path: str = "", owner: str = "") -> tuple:
        """The terms of a graph's outputs with ``args`` as its inputs' terms (a call of a block
        with several inputs: its terms do not depend on the order it takes them in), and the
        ``Level`` of the body (its instances are the caller's, so are its twins: ``tags`` are
        the caller's tags of its members, strict mode)."""
        tags = tags or {}
        key = ("inline", id(graph), length, *sorted(tags.items()), *args)
        if self.selector is not None:
            get = self.values.get
            key = ("inline", self.same(graph), length, *sorted(tags.items()), *args,
                   *[get(label) for label in self.selector.deps(graph)])
        found = self._cached(key, graph)
        if found is not None:
            return found[1], found[3]
        walk = _GraphTerms(self, graph, length, args, tags=tags, path=path, owner=owner)
        terms = walk.outputs()
        level = walk.level()
        self._keep(key, (graph, terms, None, level))
        return terms, level

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


class Level:
    """What a body's terms hold beyond the terms: its live instances (applications of layers
    or blocks holding parameters whose values reach an output, as (term text, member path
    relative to the body) pairs), whether two different members anywhere inside compute
    equal terms (twins), and which of its inputs reach an output (by position)."""

    __slots__ = ("instances", "twins", "live_inputs", "records")

    def __init__(self, instances: tuple, twins: bool, live_inputs: tuple, records: tuple = ()) -> None:
        self.instances, self.twins, self.live_inputs = instances, twins, live_inputs
        self.records = records  # recording: (member path, instance key) of the live layers inside


def _has_twins(instances) -> bool:
    members: dict[str, str] = {}
    for text, member in instances:
        if members.setdefault(text, member) != member:
            return True
    return False


def _twin_groups(instances) -> list[list[str]]:
    """The members that share a term with another member, by term."""
    by_text: dict[str, set] = {}
    for text, member in instances:
        by_text.setdefault(text, set()).add(member)
    return [sorted(members) for _, members in sorted(by_text.items()) if len(members) > 1]


# A term is a pair (key, text): ``text`` is the canonical expression, whose digest is the hash;
# ``key`` orders summands: the same expression with lower-case op and block names first and
# without sizes (channel counts, features), so a cell sorts its sums the same way at every
# width of the network, and in NAS-Bench-201's order (avg_pool < nor_conv_1x1 < nor_conv_3x3).


class _GraphTerms:
    """The terms of one graph's values (a body, or a body inlined into its caller: a level)."""

    def __init__(self, hasher: Hasher, graph: Graph, length: int | None = None, args: list | None = None,
                 tags: dict | None = None, path: str = "", owner: str = "") -> None:
        self.h = hasher
        self.g = graph
        _, self.nodes, inputs = hasher.shape(graph)
        if args is not None:  # inlined: the inputs are the caller's terms
            inputs = {n.name: arg for n, arg in zip(graph.input_nodes, args)}
        self.inputs = inputs
        self.repeats = self._run_lengths(length) if length is not None else {}
        self.given = tags or {}  # strict: the caller's tags of members of this body (twins across levels)
        self.own: dict = {}  # strict: tags of the twins this level resolves itself
        self.path = path  # recording: the member path of this graph's owner ("" or "a.b.")
        self.owner = owner  # recording: the instance key of the enclosing block call
        self._reset()

    def _reset(self) -> None:
        self.terms = dict(self.inputs)  # node name -> term (or tuple of terms)
        self.instances: list[tuple[str, str, str]] = []  # (term text, member path, node applying it)
        self.used: dict[str, tuple] = {}  # node calling an inlined body -> the arguments it uses
        self.nested: set[str] = set()  # nodes calling a body that holds twins
        self.records: list[tuple[str, str, str]] = []  # recording: (node, member path, instance key)
        self._live: set | None = None

    def level(self) -> Level:
        live = self.live()
        instances = self.live_instances()
        inputs = tuple(i for i, n in enumerate(self.g.input_nodes) if n.name in live)
        records = tuple((path, key) for name, path, key in self.records if name in live)
        return Level(instances, bool(live & self.nested) or _has_twins(instances), inputs, records)

    def live(self) -> set:
        """The nodes whose values reach an output: through the arguments an inlined body uses,
        the candidates a ``choose`` picks, and never through a value that is ``#``."""
        if self._live is None:
            live: set[str] = set()
            pending = [self.nodes[o].inputs[0] for o in self.g.outputs]
            while pending:
                name = pending.pop()
                if not name or name in live or name not in self.nodes:
                    continue
                live.add(name)
                term = self.terms.get(name)
                if term is not None and not isinstance(term[0], tuple) and term[1] == ZERO:
                    continue
                pending.extend(self._reads(self.nodes[name]))
            self._live = live
        return self._live

    def _reads(self, node: Node):
        if node.kind == "choice" and node.op == "choose" and self.h.selector is not None:
            return [node.inputs[i] for i in self.h.values[node.label]]
        used = self.used.get(node.name)
        return node.inputs if used is None else [node.inputs[i] for i in used]

    def live_instances(self) -> tuple:
        live = self.live()
        return tuple((text, member) for text, member, name in self.instances if name in live)

    def outputs(self) -> tuple:
        terms = self._outputs()
        if not self.h.strict:
            return terms
        groups = _twin_groups(self.live_instances())  # twins inside inlined bodies came resolved
        if not groups:
            return terms
        tags = {}
        for members in groups:  # number twins by where their values go: canonical unless that ties
            marked = {m: "|".join(t for _, t in self._tagged_outputs({m: "'*"})) for m in members}
            ranked = sorted(members, key=lambda m: (marked[m], m))
            tags.update((member, f"'{i}") for i, member in enumerate(ranked))
        return self._tagged_outputs(tags)

    def _outputs(self) -> tuple:
        return tuple(self.term(self.nodes[o].inputs[0]) for o in self.g.outputs)

    def _tagged_outputs(self, tags: dict) -> tuple:
        """The outputs' terms again, with ``tags`` on the labels of those members."""
        self.own = tags
        self._reset()
        return self._outputs()

    def _run_lengths(self, length: int) -> dict:
        """In a searched-length sequence's body: how many of each run's items are there."""
        repeats, position = {}, 0
        for node in self.g.nodes:
            if node.kind in ("call", "choice"):
                full = node.repeat if isinstance(node.repeat, int) else dims.evaluate(node.repeat, self.h.env)
                repeats[node.name] = max(0, min(position + full, length) - position)
                position += max(full, 0)
        return repeats

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
        keeps_zero = zero_preserving(node.op, node.attrs, function=True)
        if isinstance(node.type, tuple):  # a multi-output op (chunk, split …): one term per output
            return tuple(_apply(args, (label[0] + f"[{i}]", label[1] + f"[{i}]"), keeps_zero)
                         for i in range(len(node.type)))
        return _apply(args, label, keeps_zero)

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
        name = node.name
        while node.kind == "choice":  # a space's layer choice: its chosen branch
            node = node.branches[self.h.index(node.label)]
        member = None
        if target and (node.body is None or (node.body.name == "Sequential" and self.h.selector is not None
                                             and self.h.selector.deps(node.body))):
            member = self.h.member(self.g, target)
        for i in range(repeat):
            value = self._apply_once(node, member, value, _nth(target or name, i), name, first=i == 0)
        return value[0] if not isinstance(node.type, tuple) else tuple(value)

    def _apply_once(self, node: Node, member, args: list, target: str, name: str, first: bool = True) -> list:
        """``node`` (the graph's node ``name``) applied once to ``args``; ``target`` is the
        member applied (a rolled run's item): the identity of its weights.  ``first``: the
        arguments are the node's own (not an earlier item's outputs)."""
        if node.body is None:  # a primitive layer
            if node.op == "Identity":
                return [args[0]]
            if node.op == "Zero":
                return [(ZERO, ZERO)]
            label = self._tagged(self.h.layer_label(member, node), target)
            op, attrs = (member.op, member.attrs) if member is not None else (node.op, node.attrs)
            out = _apply(args, label, zero_preserving(op, attrs))
            if out[1] != ZERO and _has_params(member, node):
                self._instance(out[1], target, name)
            return [out]
        length = None
        if member is not None and member.kind == "sequential" and member.count is not None:
            length = dims.evaluate(member.count, self.h.env)
        inner = f"{self.path}{target}." if self.h.recording else ""
        if len(args) > 1 or node.body.name == "Sequential":  # inlined: the body's terms in terms of the args
            prefix = f"{target}/"
            tags = {m[len(prefix):]: t for m, t in self._tags_below(prefix)}
            terms, level = self.h.inline(node.body, args, length, tags, inner, self.owner)
            for text, path in level.instances:
                self._instance(text, prefix + path, name, record=False)
            self.records.extend((name, path, key) for path, key in level.records)
            if first:
                self.used[name] = level.live_inputs
            if level.twins:
                self.nested.add(name)
            return list(terms)
        outputs, label, level = self.h.body(node.body, length)
        if level.twins:
            self.nested.add(name)
        on_zero = self.h.inline(node.body, args, length)[0] if all(t == ZERO for _, t in args) else None
        label = self._tagged(label, target)
        result = []
        for i, (_, out) in enumerate(outputs):
            if out.isdigit() and int(out) < len(args):  # the body returns an input: a wire
                result.append(args[int(out)])
            elif out == ZERO or (on_zero is not None and on_zero[i][1] == ZERO):
                result.append((ZERO, ZERO))
            else:
                suffix = f"[{i}]" if len(outputs) > 1 else ""
                result.append(_apply(args, (label[0] + suffix, label[1] + suffix), False))
        if level.instances and any(t != ZERO for _, t in result):  # a block holding weights: one instance
            key = ";".join(t for _, t in result)
            self._instance(key, target, name, record=False)
            if self.h.recording:  # its own layers, under the call's key
                walk = _GraphTerms(self.h, node.body, length, path=inner, owner=f"{self.owner}/{key}")
                walk.outputs()
                self.records.extend((name, path, key) for path, key in walk.level().records)
        return result

    def _tagged(self, label: tuple, member: str) -> tuple:
        tag = self.given.get(member, "") + self.own.get(member, "")
        return (label[0], label[1] + tag) if tag else label

    def _tags_below(self, prefix: str):
        """The tags of members inside the inlined body at ``prefix`` (given and own)."""
        found = {}
        for tags in (self.given, self.own):
            for member, tag in tags.items():
                if member.startswith(prefix):
                    found[member] = found.get(member, "") + tag
        return found.items()

    def _instance(self, text: str, member: str, name: str, record: bool = True) -> None:
        self.instances.append((text, member, name))
        if record and self.h.recording:
            self.records.append((name, f"{self.path}{member}", f"{self.owner}/{text}"))


def _has_params(member, node: Node) -> bool:
    """Whether the layer applied holds parameters (buffers are not weights)."""
    if member is not None:
        return any(not p.buffer for p in member.params)
    spec = ops.get(node.op)
    return spec is None or spec.params is not None


def _nth(target: str, i: int) -> str:
    """The member a rolled run applies ``i`` items after ``target`` (``layers.3`` → ``layers.5``;
    generated names keep their prefix: ``stage.block2-0`` → ``stage.block2-2``)."""
    if not i:
        return target
    head, dot, last = target.rpartition(".")
    found = re.fullmatch(r"(.*?)(\d+)", last)
    assert found is not None, f"a rolled run's item {target!r} does not end in its number"
    return f"{head}{dot}{found.group(1)}{int(found.group(2)) + i}"


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


def _apply(args: list, label: tuple, keeps_zero: bool) -> tuple:
    """The term of ``label`` applied to ``args``; ``#`` when every argument is ``#`` and the op
    maps zeros to zeros (``keeps_zero``)."""
    if keeps_zero and args and all(t == ZERO for _, t in args):
        return (ZERO, ZERO)
    if len(args) == 1:
        key, text = args[0]
        return (f"({_short(key)})@{label[0]}", f"({_short(text)})@{label[1]}")
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
