"""Analytic model summaries from the IR: a row per layer and block call with its output
shape, parameter count and MACs, and totals — no framework, no weights, no forward pass.

Parameters are counted per member (a layer applied twice has its weights once; a tied
parameter counts once); MACs per application (a shared layer applied twice costs twice).
Counts are exact symbolic expressions when input sizes are symbolic (MACs of ResNet as a
function of B, H, W) and plain ints when the inputs are concrete.  MACs follow
torchvision's convention (what it publishes as "GFLOPS").  Must not import a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archlang import ops
from archlang.ir import Graph, Model, Node, dims
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
        }


def _json_dim(d):
    return d if isinstance(d, int) else dims.to_str(d)


def summarize(model: Model) -> Summary:
    summary = Summary(model.name)
    summary.macs = _Walker(summary.rows).graph(model.graph, "", 0)
    summary.params = count_params(model.graph)
    return summary


class _Walker:
    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows

    def graph(self, graph: Graph, prefix: str, depth: int):
        types = {n.name: n.type for n in graph.nodes}
        total = 0
        for node in graph.nodes:
            total = total + self.node(node, graph, types, prefix, depth)
        return dims.simplify(total)

    def node(self, node: Node, graph: Graph, types: dict, prefix: str, depth: int):
        inputs = [types.get(i) if i else None for i in node.inputs]
        if node.kind == "op":
            macs = _macs(node.op, node.attrs, inputs, node.type)
            if macs != 0:
                self.rows.append(Row(_join(prefix, node.name), node.op, _shape(node.type), 0, macs, depth,
                                     name=node.name))
            return macs
        if node.kind != "call":
            return 0
        member = graph.find_member(node.target)
        path = _join(prefix, node.target)
        row = Row(path, node.op, _shape(node.type), 0, 0, depth, node.repeat, name=node.target)
        self.rows.append(row)
        if node.body is not None:
            row.macs = dims.simplify(self.graph(node.body, path, depth + 1) * node.repeat)
        else:
            row.macs = dims.simplify(_macs(node.op, member.attrs, inputs, node.type) * node.repeat)
        row.params = dims.simplify(member_params(member) * node.repeat) if member is not None else 0
        return row.macs


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
