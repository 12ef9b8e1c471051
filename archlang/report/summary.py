"""Analytic model summaries from the IR: a row per layer and block call with its output
shape, parameter count and MACs, and totals — no framework, no weights, no forward pass.

Parameters are counted per member (a layer applied twice has its weights once; a tied
parameter counts once); MACs per application (a shared layer applied twice costs twice).
Counts are exact symbolic expressions when input sizes are symbolic (MACs of ResNet as a
function of B, H, W) and plain ints when the inputs are concrete.  MACs follow
torchvision's convention (what it publishes as "GFLOPS").  Totals are computed on the shared
IR (each shared graph once); the rows are one per use, so a summary is refused when the
model written out would be too large (``archlang.ir.expanded``).  Must not import a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archlang import ops
from archlang.ir import Graph, Model, Node, dims
from archlang.ir.expanded import check_expanded
from archlang.ir.params import count_params, member_params
from archlang.ir.types import TensorType


@dataclass
class Row:
    path: str
    kind: str  # the op or block name
    output: str
    params: object  # Dim
    macs: object  # Dim
    depth: int
    repeat: object = 1
    name: str = ""  # the path below the row it is nested in: "conv1", or "blocks.0" for a member a loop applies


@dataclass
class Summary:
    name: str
    rows: list[Row] = field(default_factory=list)
    params: object = 0
    macs: object = 0
    buffers: int = 0  # elements of the model's Buffer members (constants it keeps, not parameters)

    def to_json(self) -> dict:
        return {
            "model": self.name,
            "params": _json_dim(self.params),
            "macs": _json_dim(self.macs),
            "layers": [
                {"name": r.path, "type": r.kind, "output": r.output, "params": _json_dim(r.params),
                 "macs": _json_dim(r.macs), "depth": r.depth, "repeat": _json_dim(r.repeat)}
                for r in self.rows
            ],
        } | ({"buffers": self.buffers} if self.buffers else {})


def _json_dim(d):
    return d if isinstance(d, int) else dims.to_str(d)


def summarize(model: Model) -> Summary:
    """A row per layer and block call: refused (a located LimitError) when the rows, one per
    use of every shared block, would be more than ``LIMITS.max_expanded``."""
    check_expanded(model, "summarize", repeats=False, modules=False)  # a rolled run is one row
    summary = Summary(model.name)
    counts = _Counts()
    _Walker(summary.rows, counts).graph(model.graph, "", 0)
    summary.macs = counts.graph_macs(model.graph)
    summary.params = count_params(model.graph, counts.params)
    summary.buffers = count_buffers(model.graph)
    return summary


def count_buffers(graph, _memo: dict | None = None) -> int:
    """Elements of the ``Buffer`` members of a graph and the graphs below it (each shared
    graph counted once per use by a member)."""
    memo = {} if _memo is None else _memo
    if id(graph) not in memo:
        memo[id(graph)] = sum(_member_buffers(m, memo) for _, m in graph.members)
    return memo[id(graph)]


def _member_buffers(member, memo: dict) -> int:
    if member.kind == "layer":
        return member.attrs["value"].numel() if member.op == "Buffer" else 0
    if member.kind == "block":
        return count_buffers(member.graph, memo)
    return sum(_member_buffers(m, memo) for _, m in member.members)


def model_macs(model: Model):
    """The MACs of one example through ``model``, computed on the shared IR (each shared
    graph once), so in time linear in its size."""
    return _Counts().graph_macs(model.graph)


class _Counts:
    """MACs and parameters of graphs and members, each computed once (by identity)."""

    def __init__(self) -> None:
        self.macs: dict[int, object] = {}
        self.params: dict = {}

    def graph_macs(self, graph: Graph):
        found = self.macs.get(id(graph))
        if found is None:
            types = {n.name: n.type for n in graph.nodes}
            total = sum((self.node_macs(node, graph, types) for node in graph.nodes), 0)
            self.macs[id(graph)] = found = dims.simplify(total)
        return found

    def node_macs(self, node: Node, graph: Graph, types: dict):
        if node.kind == "op":
            return _macs(node.op, node.attrs, _inputs(node, types), node.type)
        if node.kind != "call":
            return 0
        if node.body is not None:
            return dims.simplify(self.graph_macs(node.body) * node.repeat)
        member = graph.find_member(node.target)
        return dims.simplify(_macs(node.op, member.attrs, _inputs(node, types), node.type) * node.repeat)


def _inputs(node: Node, types: dict) -> list:
    return [types.get(i) if i else None for i in node.inputs]


class _Walker:
    def __init__(self, rows: list[Row], counts: _Counts) -> None:
        self.rows = rows
        self.counts = counts

    def graph(self, graph: Graph, prefix: str, depth: int) -> None:
        types = {n.name: n.type for n in graph.nodes}
        for node in graph.nodes:
            self.node(node, graph, types, prefix, depth)

    def node(self, node: Node, graph: Graph, types: dict, prefix: str, depth: int) -> None:
        if node.kind == "op":
            macs = self.counts.node_macs(node, graph, types)
            if macs != 0:
                self.rows.append(Row(_join(prefix, node.name), node.op, _shape(node.type), 0, macs, depth,
                                     name=node.name))
            return
        if node.kind != "call":
            return
        member = graph.find_member(node.target)
        path = _join(prefix, node.target)
        macs = self.counts.node_macs(node, graph, types)
        params = dims.simplify(member_params(member, self.counts.params) * node.repeat) if member is not None else 0
        self.rows.append(Row(path, node.op, _shape(node.type), params, macs, depth, node.repeat, name=node.target))
        if node.body is not None:
            self.graph(node.body, path, depth + 1)


def _macs(op: str, attrs: dict, inputs: list, output):
    spec = ops.get(op)
    if spec is None or spec.macs is None:
        return 0
    return spec.macs(attrs, inputs, output)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _shape(t) -> str:
    """``B×64×((H + 1)//2)``: a compound size is bracketed, so × never reads into it."""
    if isinstance(t, TensorType):
        return "×".join(dims.factor_str(d) for d in t.shape) or "scalar"
    return ", ".join(_shape(x) for x in t)


# ---- text --------------------------------------------------------------------------------


def format_summary(summary: Summary, depth: int | None = None) -> str:
    rows = [r for r in summary.rows if depth is None or r.depth <= depth]
    header = ("Layer", "Type", "Output", "Params", "MACs")
    table = [header] + [("  " * r.depth + _label(r), r.kind, r.output, _number(r.params), _number(r.macs)) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    rule = "─" * (sum(widths) + 8)
    lines = [f"{summary.name}", rule, _line(header, widths), rule]
    lines += [_line(row, widths) for row in table[1:]]
    lines += [rule, f"Total params: {_number(summary.params)}", f"Total MACs:   {_number(summary.macs)}{_giga(summary.macs)}"]
    if summary.buffers:  # shown for the models that keep constants (Buffer members)
        lines.append(f"Buffers:      {_number(summary.buffers)}")
    return "\n".join(lines) + "\n"


def _label(row: Row) -> str:
    """``layer1``; ``blocks.0`` for a member of ``blocks`` that a loop applies; a rolled run of
    three numbered layers is ``1..3 ×3``."""
    name = row.name or row.path.rsplit(".", 1)[-1]
    if row.repeat == 1:
        return name
    head, _, last = name.rpartition(".")
    if isinstance(row.repeat, int) and last.isdigit():
        return f"{head + '.' if head else ''}{last}..{int(last) + row.repeat - 1} ×{row.repeat}"
    return f"{name} ×{dims.to_str(row.repeat)}"


def _line(row, widths) -> str:
    left = [row[i].ljust(widths[i]) for i in range(3)]
    right = [row[i].rjust(widths[i]) for i in range(3, 5)]
    return "  ".join(left + right)


def _number(d) -> str:
    if isinstance(d, int):
        return f"{d:,}" if d else "—"
    return dims.to_str(d)


def _giga(d) -> str:
    return f"  ({d / 1e9:.3f} G)" if isinstance(d, int) and d >= 1e6 else ""
