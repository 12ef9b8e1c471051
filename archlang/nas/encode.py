"""Feature vectors of architectures for predictors and surrogate models (numpy arrays).

``encode(space, assignment, kind)``, also ``Space.encode``; every vector has a fixed length
for its space:

* ``onehot``: per decision (in the space's order) a one-hot over its options (a multi-hot
  over the candidates for a ``choose``), all zeros when the decision is inactive, followed
  by the activity mask (one entry per decision).
* ``adjacency``: the space's *cell* — the first block, from the top, that makes layer choices —
  as a DAG over fixed vertex slots: the cell's inputs, one vertex per layer decision made in
  it (nested in structural choices such as a DARTS node's inputs), and the output.  Edges come
  from the fixed IR's dataflow (sums, concatenations and other layers are see-through; a
  ``Zero`` op has no edges); each op vertex carries a one-hot of its chosen option.  The
  vector is the flattened adjacency matrix followed by the flattened op one-hots;
  ``adjacency(space, a)`` gives them as arrays with the vertex names.
* ``path``: the path encoding of White et al. (2021): one entry per sequence of ops, set when
  a path from an input to the output goes through exactly those op vertices (paths of up to
  ``max_length`` ops).

Must not import a backend (numpy only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archlang.errors import SpaceError
from archlang.ir import Graph, Node

KINDS = ("onehot", "adjacency", "path")


def encode(space, assignment, kind: str = "onehot", **options) -> np.ndarray:
    if kind == "onehot":
        return onehot(space, assignment)
    if kind == "adjacency":
        matrix, ops, _ = adjacency(space, assignment)
        return np.concatenate([matrix.ravel(), ops.ravel()]).astype(np.float32)
    if kind == "path":
        return path_encoding(space, assignment, **options)
    raise SpaceError(f"unknown encoding '{kind}' (one of: {', '.join(KINDS)})", space.model.graph.span)


# ---- one-hot --------------------------------------------------------------------------------


def onehot(space, assignment) -> np.ndarray:
    space.check(assignment)
    blocks, mask = [], []
    for decl in space.decisions:
        width = len(decl.options)
        block = np.zeros(width, dtype=np.float32)
        value = assignment.values.get(decl.label)
        if value is not None:
            block[list(value) if decl.kind == "subset" else value] = 1.0
        blocks.append(block)
        mask.append(1.0 if value is not None else 0.0)
    return np.concatenate(blocks + [np.array(mask, dtype=np.float32)])


# ---- adjacency -------------------------------------------------------------------------------


@dataclass
class _Cell:
    path: list[str]  # call targets from the entry point's graph to the cell
    graph: Graph  # the cell in the space's IR
    slots: dict[str, str]  # member path in the cell -> label of the layer decision made there
    inputs: int
    vocabulary: list[str]  # op names (option descriptions, duplicates numbered)
    options: dict[str, list[str]]  # label -> vocabulary entry of each option


def cell_of(space) -> _Cell:
    """The space's cell (computed once per space)."""
    found = getattr(space, "_cell", None)
    if found is None:
        found = space._cell = _find_cell(space)
    return found


def _find_cell(space) -> _Cell:
    layer = {d.label for d in space.decisions if d.kind == "layer"}
    pending = [([], space.model.graph)]
    while pending:
        path, graph = pending.pop(0)
        if any(n.kind == "choice" for n in graph.nodes):
            slots = _slots(graph, "", layer)
            options = {label: _names(space.tree.by_label[label].decl.options) for label in dict.fromkeys(slots.values())}
            vocabulary = list(dict.fromkeys(name for names in options.values() for name in names))
            return _Cell(path, graph, slots, len(graph.input_nodes), vocabulary, options)
        for node in graph.nodes:
            if node.kind == "call" and node.body is not None:
                pending.append((path + [node.target], node.body))
    raise SpaceError(f"{space.name} makes no layer choices: it has no cell to encode", space.model.graph.span)


def _slots(graph: Graph, prefix: str, layer: set) -> dict[str, str]:
    """Member path -> layer decision, for the op decisions made in a cell (through structural
    choices such as a node's inputs, whose branches make the op decisions)."""
    slots: dict[str, str] = {}
    for node in graph.nodes:
        if node.kind == "call" and node.body is not None and _makes_choices(node.body):
            slots.update(_slots(node.body, prefix + node.target + ".", layer))
        if node.kind != "choice" or node.op == "choose":
            continue
        where = prefix + node.target
        if node.label in layer:
            slots[where] = node.label
            continue
        for branch in node.branches:
            if branch.body is not None:
                slots.update(_slots(branch.body, where + ".", layer))
    return slots


def _makes_choices(graph: Graph) -> bool:
    return any(n.kind == "choice" or (n.body is not None and _makes_choices(n.body)) for n in graph.nodes)


def _names(options) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for option in options:
        text = str(option)
        seen[text] = seen.get(text, 0) + 1
        names.append(text if seen[text] == 1 else f"{text}#{seen[text]}")
    return names


def adjacency(space, assignment):
    """(adjacency matrix, op one-hots, vertex names) of the assignment's cell."""
    cell = cell_of(space)
    graph = space.fix_model(assignment).graph
    for target in cell.path:
        graph = next(n.body for n in graph.nodes if n.kind == "call" and n.target == target)
    slots = list(cell.slots)
    names = [f"input{i}" for i in range(cell.inputs)] + slots + ["output"]
    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)), dtype=np.float32)
    ops = np.zeros((len(names), len(cell.vocabulary) + 2), dtype=np.float32)
    for i in range(cell.inputs):
        ops[i, -2] = 1.0
    ops[-1, -1] = 1.0
    tracer = _Tracer(cell, assignment.values, matrix, ops, index)
    sources = [{f"input{i}"} for i in range(cell.inputs)]
    for out in tracer.graph(graph, "", sources):
        for source in out:
            matrix[index[source], -1] = 1.0
    return matrix, ops, names


class _Tracer:
    """Which vertices each value of the fixed cell depends on, adding the slots' edges."""

    def __init__(self, cell: _Cell, values: dict, matrix, ops, index) -> None:
        self.cell, self.values, self.matrix, self.ops, self.index = cell, values, matrix, ops, index
        self.structural = {path[:i] for path in cell.slots for i, c in enumerate(path) if c == "."}

    def graph(self, graph: Graph, prefix: str, sources: list[set]) -> list[set]:
        env: dict[str, set] = {}
        inputs = iter(sources)
        for node in graph.nodes:
            if node.kind == "input":
                env[node.name] = next(inputs, set())
            elif node.kind == "output":
                env[node.name] = env.get(node.inputs[0], set())
            else:
                env[node.name] = self.node(node, prefix, [env.get(i, set()) for i in node.inputs if i])
        return [env[o] for o in graph.outputs]

    def node(self, node: Node, prefix: str, inputs: list[set]):
        where = prefix + (node.target or "")
        if node.kind == "call" and where in self.cell.slots:
            return self.slot(node, where, inputs)
        if node.kind == "call" and where in self.structural and node.body is not None:
            outs = self.graph(node.body, where + ".", inputs)
            return outs[0] if len(outs) == 1 else set().union(*outs)
        return set().union(*inputs) if inputs else set()

    def slot(self, node: Node, where: str, inputs: list[set]) -> set:
        label = self.cell.slots[where]
        option = self.cell.options[label][self.values[label]]
        vertex = self.index[where]
        self.ops[vertex, self.cell.vocabulary.index(option)] = 1.0
        if node.op == "Zero":
            return set()
        for source in set().union(*inputs) if inputs else set():
            self.matrix[self.index[source], vertex] = 1.0
        return {where}


# ---- path encoding -----------------------------------------------------------------------------


def path_encoding(space, assignment, max_length: int = 5) -> np.ndarray:
    """One entry per sequence of up to ``max_length`` ops: 1 when an input→output path goes
    through exactly those op vertices (in order)."""
    matrix, ops, names = adjacency(space, assignment)
    cell = cell_of(space)
    v = len(cell.vocabulary)
    offsets = [sum(v ** k for k in range(length)) for length in range(max_length + 2)]
    vector = np.zeros(offsets[max_length + 1], dtype=np.float32)
    op_of = [int(np.argmax(row[:v])) if row[:v].any() else -1 for row in ops]
    n = len(names)

    def walk(vertex: int, path: list[int]) -> None:
        if len(path) > max_length:
            return
        for nxt in np.nonzero(matrix[vertex])[0]:
            if nxt == n - 1:
                code = 0
                for op in path:
                    code = code * v + op
                vector[offsets[len(path)] + code] = 1.0
            else:
                walk(int(nxt), path + [op_of[nxt]])

    for i in range(cell.inputs):
        walk(i, [])
    return vector
