"""Architectures in the formats of the published benchmarks, to and from Assignments.

* NAS-Bench-201 arch strings, ``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|…|``, for
  ``specs/spaces/nasbench201.arch`` (decisions ``1<-0`` … ``3<-2``), and the benchmark's own
  canonical form (``nb201_unique_str``, its ``to_unique_str(consider_zero=True)``).
* DARTS genotypes, ``Genotype(normal=[('sep_conv_3x3', 0), …], normal_concat=range(2, 6),
  reduce=[…], reduce_concat=[2, 3, 4, 5])``, for ``specs/spaces/darts.arch``.  The text is
  read by a small parser of exactly that form — never evaluated.
* NAS-Bench-101 cells, an upper-triangular adjacency matrix and a list of vertex ops, for
  ``specs/spaces/nasbench101.arch``.

Must not import a backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from archlang.errors import SpaceError, Span
from archlang.nas.assignment import Assignment
from archlang.nas.hashing import nb101_prune

_SPAN = Span("<format>", 1, 1)

# ---- NAS-Bench-201 ------------------------------------------------------------------------

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201_EDGES = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")


def nb201_to_assignment(space, text: str) -> Assignment:
    """The assignment of a NAS-Bench-201 arch string in the NAS-Bench-201 space."""
    values = {}
    nodes = text.strip().split("+")
    if len(nodes) != 3:
        raise SpaceError(f"a NAS-Bench-201 arch string has 3 nodes separated by '+', got {len(nodes)}", _SPAN)
    for i, node in enumerate(nodes, start=1):
        edges = [e for e in node.strip().strip("|").split("|")]
        if len(edges) != i:
            raise SpaceError(f"node {i} of a NAS-Bench-201 arch string has {i} edges, got '{node}'", _SPAN)
        for j, edge in enumerate(edges):
            op, sep, source = edge.partition("~")
            if op not in NB201_OPS or sep != "~" or source != str(j):
                raise SpaceError(f"'{edge}' is not an edge 'op~{j}' with op one of {', '.join(NB201_OPS)}", _SPAN)
            values[f"{i}<-{j}"] = NB201_OPS.index(op)
    return space.check(Assignment(values, space.hash))


def assignment_to_nb201(assignment: Assignment) -> str:
    """The NAS-Bench-201 arch string of an assignment of the NAS-Bench-201 space."""
    nodes = []
    for i in (1, 2, 3):
        edges = [f"{NB201_OPS[assignment.values[f'{i}<-{j}']]}~{j}" for j in range(i)]
        nodes.append("|" + "|".join(edges) + "|")
    return "+".join(nodes)


def nb201_unique_str(text: str) -> str:
    """NAS-Bench-201's canonical form of a cell (``CellStructure.to_unique_str(True)``): two
    arch strings with equal forms are the same architecture in the benchmark's count."""
    nodes = {0: "0"}
    for i, node in enumerate(text.strip().split("+"), start=1):
        terms = []
        for edge in node.strip().strip("|").split("|"):
            op, _, source = edge.partition("~")
            value = nodes[int(source)]
            if op == "none" or value == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(value)
            else:
                terms.append(f"({value})@{op}")
        nodes[i] = "+".join(sorted(terms))
    return nodes[len(nodes) - 1]


# ---- DARTS --------------------------------------------------------------------------------

DARTS_OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
             "dil_conv_3x3", "dil_conv_5x5")
DARTS_STEPS = 4  # intermediate nodes 2 … 5

DARTS_V1 = ("Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
            "('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
            "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])")
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
            "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
            "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
            "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


@dataclass
class Genotype:
    """A DARTS genotype: per cell kind, two (op, input node) pairs per intermediate node."""

    normal: list[tuple[str, int]] = field(default_factory=list)
    normal_concat: list[int] = field(default_factory=lambda: [2, 3, 4, 5])
    reduce: list[tuple[str, int]] = field(default_factory=list)
    reduce_concat: list[int] = field(default_factory=lambda: [2, 3, 4, 5])

    def __str__(self) -> str:
        def edges(pairs):
            return "[" + ", ".join(f"('{op}', {i})" for op, i in pairs) + "]"

        return (f"Genotype(normal={edges(self.normal)}, normal_concat={list(self.normal_concat)}, "
                f"reduce={edges(self.reduce)}, reduce_concat={list(self.reduce_concat)})")


def parse_genotype(text: str) -> Genotype:
    """A Genotype from its text (``Genotype(normal=[…], …)``), parsed as data."""
    return _GenotypeParser(text).genotype()


def genotype_to_assignment(space, genotype: Genotype | str) -> Assignment:
    """The assignment of a DARTS genotype in the DARTS space."""
    if isinstance(genotype, str):
        genotype = parse_genotype(genotype)
    values: dict = {}
    for kind in ("normal", "reduce"):
        pairs, concat = getattr(genotype, kind), list(getattr(genotype, f"{kind}_concat"))
        if len(pairs) != 2 * DARTS_STEPS:
            raise SpaceError(f"the {kind} cell needs {2 * DARTS_STEPS} (op, input) pairs, got {len(pairs)}", _SPAN)
        if concat != list(range(2, 2 + DARTS_STEPS)):
            raise SpaceError(f"the space concatenates nodes 2…5; {kind}_concat is {concat}", _SPAN)
        for step in range(DARTS_STEPS):
            node = step + 2
            (op_a, a), (op_b, b) = sorted(pairs[2 * step:2 * step + 2], key=lambda p: p[1])
            if a == b or not 0 <= a < node or not 0 <= b < node:
                raise SpaceError(f"{kind} node {node} takes two different earlier nodes, got {a} and {b}", _SPAN)
            values[f"{kind}.{node}.inputs"] = (a, b)
            values[f"{kind}.{node}.op0"] = _darts_op(op_a)
            values[f"{kind}.{node}.op1"] = _darts_op(op_b)
    return space.check(Assignment(values, space.hash))


def assignment_to_genotype(assignment: Assignment) -> Genotype:
    """The DARTS genotype of an assignment of the DARTS space (inputs in increasing order)."""
    genotype = Genotype()
    for kind in ("normal", "reduce"):
        pairs = getattr(genotype, kind)
        for node in range(2, 2 + DARTS_STEPS):
            a, b = assignment.values[f"{kind}.{node}.inputs"]
            pairs.append((DARTS_OPS[assignment.values[f"{kind}.{node}.op0"]], a))
            pairs.append((DARTS_OPS[assignment.values[f"{kind}.{node}.op1"]], b))
    return genotype


def _darts_op(name: str) -> int:
    if name not in DARTS_OPS:
        raise SpaceError(f"'{name}' is not one of the DARTS space's ops ({', '.join(DARTS_OPS)})", _SPAN)
    return DARTS_OPS.index(name)


class _GenotypeParser:
    """``Genotype(name=value, …)``; values: lists or tuples of strings and integers, range(a, b)."""

    TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_]\w*)|(?P<int>-?\d+)|(?P<str>'[^']*'|\"[^\"]*\")|(?P<punct>[()\[\],=]))")

    def __init__(self, text: str) -> None:
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        tokens, i, text = [], 0, text.strip()
        while i < len(text):
            match = self.TOKEN.match(text, i)
            if match is None or match.end() == i:
                raise SpaceError(f"cannot read a genotype at '{text[i:i + 20]}'", _SPAN)
            kind = match.lastgroup
            tokens.append((kind, match.group(kind)))
            i = match.end()
        return tokens

    def genotype(self) -> Genotype:
        self.expect("name", "Genotype")
        self.expect("punct", "(")
        fields: dict = {}
        while not self.peek("punct", ")"):
            key = self.expect("name")
            self.expect("punct", "=")
            fields[key] = self.value()
            if not self.peek("punct", ")"):
                self.expect("punct", ",")
        self.expect("punct", ")")
        if self.pos != len(self.tokens):
            raise SpaceError("unexpected text after the genotype", _SPAN)
        unknown = set(fields) - {"normal", "normal_concat", "reduce", "reduce_concat"}
        if unknown:
            raise SpaceError(f"a genotype has no field '{sorted(unknown)[0]}'", _SPAN)
        return Genotype(**{k: ([tuple(p) for p in v] if k in ("normal", "reduce") else list(v))
                           for k, v in fields.items()})

    def value(self):
        kind, text = self.next()
        if kind == "int":
            return int(text)
        if kind == "str":
            return text[1:-1]
        if kind == "name" and text == "range":
            self.expect("punct", "(")
            start = int(self.expect("int"))
            self.expect("punct", ",")
            stop = int(self.expect("int"))
            self.expect("punct", ")")
            return list(range(start, stop))
        if kind == "punct" and text in "[(":
            close = "]" if text == "[" else ")"
            items = []
            while not self.peek("punct", close):
                items.append(self.value())
                if not self.peek("punct", close):
                    self.expect("punct", ",")
            self.expect("punct", close)
            return items
        raise SpaceError(f"unexpected '{text}' in a genotype", _SPAN)

    def next(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise SpaceError("the genotype ends too early", _SPAN)
        self.pos += 1
        return self.tokens[self.pos - 1]

    def peek(self, kind: str, text: str) -> bool:
        return self.pos < len(self.tokens) and self.tokens[self.pos] == (kind, text)

    def expect(self, kind: str, text: str | None = None) -> str:
        got_kind, got = self.next()
        if got_kind != kind or (text is not None and got != text):
            raise SpaceError(f"expected {text or kind} in a genotype, got '{got}'", _SPAN)
        return got


# ---- NAS-Bench-101 ------------------------------------------------------------------------

NB101_OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
NB101_VERTICES = 7
NB101_EDGES = 9


def nb101_to_assignment(space, matrix, ops) -> Assignment:
    """The assignment of a NAS-Bench-101 cell (an upper-triangular adjacency matrix of at most 7
    vertices, vertex 0 the input and the last the output, and their ops) in the NAS-Bench-101
    space.  The cell is pruned first; a smaller cell fills the space's 7 vertices with unused
    ones (each reading the input, feeding nothing)."""
    pruned = nb101_prune([list(map(int, row)) for row in matrix], list(ops))
    if pruned is None:
        raise SpaceError("the cell's output is not reachable from its input", _SPAN)
    matrix, ops = pruned
    n = len(matrix)
    if n > NB101_VERTICES:
        raise SpaceError(f"a NAS-Bench-101 cell has at most {NB101_VERTICES} vertices, got {n}", _SPAN)
    edges = sum(map(sum, matrix))
    if edges > NB101_EDGES:
        raise SpaceError(f"a NAS-Bench-101 cell has at most {NB101_EDGES} edges, got {edges} after pruning", _SPAN)
    where = list(range(n - 1)) + [NB101_VERTICES - 1]  # vertex -> vertex of the space's cell
    values: dict = {}
    for v in range(1, NB101_VERTICES):
        original = where.index(v) if v in where else None
        inputs = [0] if original is None else [where[u] for u in range(n) if matrix[u][original]]
        name = "output" if v == NB101_VERTICES - 1 else f"v{v}"
        values[f"{name}.inputs"] = _subset_index(inputs)
        if v < NB101_VERTICES - 1:
            op = NB101_OPS[0] if original is None else ops[original]
            if op not in NB101_OPS:
                raise SpaceError(f"'{op}' is not a NAS-Bench-101 op ({', '.join(NB101_OPS)})", _SPAN)
            values[f"v{v}.op"] = NB101_OPS.index(op)
    return space.check(Assignment(values, space.hash))


def assignment_to_nb101(assignment: Assignment) -> tuple[list[list[int]], list[str]]:
    """The (matrix, ops) of an assignment of the NAS-Bench-101 space (7 vertices, unpruned)."""
    n = NB101_VERTICES
    matrix = [[0] * n for _ in range(n)]
    ops = ["input"]
    for v in range(1, n):
        name = "output" if v == n - 1 else f"v{v}"
        for u in _subset(assignment.values[f"{name}.inputs"]):
            matrix[u][v] = 1
        if v < n - 1:
            ops.append(NB101_OPS[assignment.values[f"v{v}.op"]])
    ops.append("output")
    return matrix, ops


def _subset_index(inputs: list[int]) -> int:
    """A vertex's inputs as the option index of its '…inputs' decision: the bitmask, minus one
    (the spec lists the non-empty subsets of 0…v-1 by bitmask)."""
    if not inputs:
        raise SpaceError("every vertex of the space's cell reads at least one earlier vertex", _SPAN)
    return sum(1 << u for u in set(inputs)) - 1


def _subset(index: int) -> list[int]:
    mask = index + 1
    return [u for u in range(mask.bit_length()) if mask >> u & 1]


# ---- a space's own notation ------------------------------------------------------------------


def notation(values: dict) -> str | None:
    """An assignment's choices written as its benchmark writes them, when they are the exact
    decisions of one of the spaces above: a NAS-Bench-201 arch string, a DARTS genotype or a
    NAS-Bench-101 cell (``ops; matrix rows``); None for any other space.  ``study show`` and
    notebooks use it so results read as the papers print them."""
    labels = set(values)
    try:
        if labels == set(NB201_EDGES) and all(0 <= values[e] < len(NB201_OPS) for e in NB201_EDGES):
            return assignment_to_nb201(Assignment(values, ""))
        if labels == _DARTS_LABELS:
            return str(assignment_to_genotype(Assignment({k: tuple(v) if isinstance(v, list) else v
                                                          for k, v in values.items()}, "")))
        if labels == _NB101_LABELS:
            matrix, ops = assignment_to_nb101(Assignment(values, ""))
            return f"{','.join(ops)}; {' '.join(''.join(map(str, row)) for row in matrix)}"
    except (IndexError, TypeError, ValueError):  # the same labels with other options: no notation
        return None
    return None


_DARTS_LABELS = {f"{kind}.{node}.{what}" for kind in ("normal", "reduce") for node in range(2, 2 + DARTS_STEPS)
                 for what in ("inputs", "op0", "op1")}
_NB101_LABELS = {f"v{v}.{what}" for v in range(1, NB101_VERTICES - 1) for what in ("op", "inputs")} | {"output.inputs"}
