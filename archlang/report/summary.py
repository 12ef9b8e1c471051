"""Analytic model summaries from the IR: a row per layer and block call with its output
shape, parameters, buffers, MACs and activation bytes, and totals — no framework, no
weights, no forward pass.

A search space is summarised as written: a searched layer is a row whose counts select
among its options, followed by a row per option; a searched size stays a symbol; a layer of
a sequence whose length is searched counts where the length reaches it.  Evaluated at an
assignment, every count is the fixed architecture's; the smallest and largest architectures
come from ``archlang.report.extremes``.  Activation bytes are the outputs of every layer and
op of a forward pass (what forward hooks on the leaf modules see).  No spec can mark a
parameter frozen, so all are trainable (``Summary.frozen`` is 0).

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

from archlang.ir import Graph, Model, Node, dims
from archlang.ir.expanded import check_expanded
from archlang.ir.types import TensorType
from archlang.report import html
from archlang.report.counts import Counts, applied, per_example_env, searched_length
from archlang.report.extremes import Extreme, extremes


@dataclass
class Row:
    path: str
    kind: str  # the op or block name; "choice" for a searched layer
    output: str
    params: object  # Dim: trainable parameters
    macs: object  # Dim
    depth: int
    repeat: object = 1
    name: str = ""  # the path below the row it is nested in: "conv1", or "blocks.0" for a member a loop applies
    buffers: object = 0  # Dim: buffer elements (batch-norm running statistics …)
    activations: object = 0  # Dim: bytes of the outputs its layers and ops compute


@dataclass
class Summary:
    name: str
    rows: list[Row] = field(default_factory=list)
    params: object = 0  # trainable: every parameter is (the language cannot freeze one)
    macs: object = 0
    buffers: object = 0
    activations: object = 0
    frozen: int = 0  # no spec can mark a parameter non-trainable: always 0, shown so
    largest: Extreme | None = None  # over a space's architectures: None for a model
    smallest: Extreme | None = None

    def to_json(self) -> dict:
        out = {
            "model": self.name,
            "params": _json_dim(self.params),
            "trainable": _json_dim(self.params),
            "frozen": self.frozen,
            "buffers": _json_dim(self.buffers),
            "macs": _json_dim(self.macs),
            "activation_bytes": _json_dim(self.activations),
            "layers": [
                {"name": r.path, "type": r.kind, "output": r.output, "params": _json_dim(r.params),
                 "buffers": _json_dim(r.buffers), "macs": _json_dim(r.macs),
                 "activation_bytes": _json_dim(r.activations), "depth": r.depth, "repeat": _json_dim(r.repeat)}
                for r in self.rows
            ],
        }
        if self.largest is not None:
            out["smallest"], out["largest"] = self.smallest.to_json(), self.largest.to_json()
        return out

    # ---- display: the rows formatted as they are computed, never recomputed ----

    def __str__(self) -> str:
        return format_summary(self)

    def __repr__(self) -> str:
        return f"<Summary {self.name}: {_number(self.params)} params, {_number(self.macs)} MACs, {len(self.rows)} rows>"

    def html(self, depth: int | None = None) -> str:
        """The table as HTML (what a notebook shows)."""
        return format_summary_html(self, depth)

    def _repr_html_(self) -> str:
        return self.html()


def _json_dim(d):
    return d if isinstance(d, int) else dims.to_str(d)


def summarize(model: Model) -> Summary:
    """A row per layer and block call, and per option of a searched layer: refused (a located
    LimitError) when the rows, one per use of every shared block, would be more than
    ``LIMITS.max_expanded``."""
    check_expanded(model, "summarize", repeats=False, modules=False)  # a rolled run is one row
    summary = Summary(model.name)
    counts = Counts()
    _Walker(summary.rows, counts).graph(model.graph, "", 0)
    summary.macs = counts.graph_macs(model.graph)
    summary.activations = counts.graph_activations(model.graph)
    summary.params = counts.graph_elements(model.graph, buffers=False)
    summary.buffers = counts.graph_elements(model.graph, buffers=True)
    if model.choices:
        summary.smallest, summary.largest = extremes(summary.params, summary.macs, per_example_env(model))
    return summary


class _Walker:
    def __init__(self, rows: list[Row], counts: Counts) -> None:
        self.rows = rows
        self.counts = counts

    def graph(self, graph: Graph, prefix: str, depth: int, count=None) -> None:
        types = {n.name: n.type for n in graph.nodes}
        for node in graph.nodes:
            if node.kind in ("op", "call", "choice"):
                self.node(node, graph, types, prefix, depth, applied(node, count))

    def node(self, node: Node, graph: Graph, types: dict, prefix: str, depth: int, repeat) -> None:
        counts = self.counts
        if node.kind == "op":
            macs = counts.node_macs(node, graph, types)
            if macs != 0:
                self.rows.append(Row(_join(prefix, node.name), node.op, _shape(node.type), 0, macs, depth,
                                     name=node.name, activations=counts.node_activations(node, graph, types)))
            return
        member = graph.find_member(node.target)
        self.call(node, member, graph, types, _join(prefix, node.target), node.target, depth, repeat)

    def call(self, node: Node, member, graph, types, path: str, name: str, depth: int, repeat) -> None:
        """The row of a call or a searched layer, then its body's rows, or one row per option."""
        counts = self.counts

        def times(d):
            return dims.simplify(d * repeat)

        kind = "choice" if node.kind == "choice" else node.op
        self.rows.append(Row(
            path, kind, _shape(node.type), times(counts.member_elements(member, False)),
            times(counts.node_macs(node, graph, types, member)), depth, repeat, name=name,
            buffers=times(counts.member_elements(member, True)),
            activations=times(counts.node_activations(node, graph, types, member))))
        if node.kind == "choice" and member is not None:
            for branch in node.branches:
                self.call(branch, member.member(branch.target), graph, types, f"{path}.{branch.target}",
                          f"[{branch.target}]", depth + 1, 1)
        elif node.body is not None:
            self.graph(node.body, path, depth + 1, searched_length(member))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _shape(t) -> str:
    """``B×64×((H + 1)//2)``: a compound size is bracketed, so × never reads into it."""
    if isinstance(t, TensorType):
        return "×".join(dims.factor_str(d) for d in t.shape) or "scalar"
    return ", ".join(_shape(x) for x in t)


# ---- text --------------------------------------------------------------------------------


HEADER = ("Layer", "Type", "Output", "Params", "Buffers", "MACs", "Activations")
NUMERIC = 3  # columns from here on are counts, right-aligned
WRAP = 40  # a cell longer than this (a symbolic formula) wraps onto further lines


def format_summary(summary: Summary, depth: int | None = None) -> str:
    """The table (rows nested deeper than ``depth`` hidden, as torchinfo's ``depth``), then the
    totals; a formula longer than ``WRAP`` characters wraps at its terms."""
    rows = [r for r in summary.rows if depth is None or r.depth <= depth]
    table = [[[cell] for cell in HEADER]]
    table += [[_wrap(cell) for cell in _cells(r)] for r in rows]
    widths = [max(len(line) for row in table for line in row[i]) for i in range(len(HEADER))]
    rule = "─" * (sum(widths) + 2 * (len(HEADER) - 1))
    lines = [f"{summary.name}", rule, *_lines(table[0], widths), rule]
    for row in table[1:]:
        lines += _lines(row, widths)
    return "\n".join(lines + [rule] + _totals(summary)) + "\n"


def _cells(r: Row) -> tuple:
    return ("  " * r.depth + _label(r), r.kind, r.output, _number(r.params), _number(r.buffers), _number(r.macs),
            _number(r.activations))


def _totals(summary: Summary) -> list[str]:
    lines = [("Total params:", _number(summary.params, "0")),
             ("Trainable params:", _number(summary.params, "0")),
             ("Frozen params:", "0 (a spec cannot mark a parameter frozen)"),
             ("Buffers:", _number(summary.buffers, "0")),
             ("Total MACs:", _number(summary.macs, "0") + _giga(summary.macs)),
             ("Activation bytes:", _number(summary.activations, "0") + _mega(summary.activations))]
    if summary.largest is not None:
        lines += [("Smallest:", _extreme(summary.smallest)), ("Largest:", _extreme(summary.largest)),
                  ("", "(over the space's architectures; each count minimised or maximised on its own)")]
    out = []
    for title, text in lines:
        wrapped = _wrap(text, WRAP * 2)
        out += [f"{title:<18}{wrapped[0]}".rstrip()] + [" " * 18 + line for line in wrapped[1:]]
    return out


def _extreme(e: Extreme) -> str:
    """One end of a space: its parameter and MAC counts (per example), each optimised alone."""
    params = "—" if e.params is None else f"{e.params:,}"
    macs = "—" if e.macs is None else f"{e.macs:,}"
    return f"{params} params, {macs} MACs per example"


def _lines(row: list[list[str]], widths: list[int]) -> list[str]:
    """A row of wrapped cells: as many lines as its tallest cell."""
    height = max(len(cell) for cell in row)
    out = []
    for k in range(height):
        parts = [(cell[k] if k < len(cell) else "") for cell in row]
        parts = [p.ljust(w) if i < NUMERIC or len(row[i]) > 1 else p.rjust(w)  # a wrapped formula reads left to right
                 for i, (p, w) in enumerate(zip(parts, widths))]
        out.append("  ".join(parts).rstrip())
    return out


def _wrap(text: str, width: int = WRAP) -> list[str]:
    """``text`` in lines of at most ``width`` where it can break: before `` + `` and `` - ``
    (the operator starts the next line), after ``, `` and ``×``."""
    if len(text) <= width:
        return [text]
    lines, line = [], ""
    for piece in _pieces(text):
        if line and len(line) + len(piece) > width:
            lines.append(line.rstrip())
            line = "  " + piece.lstrip()
        else:
            line += piece
    return lines + [line]


def _pieces(text: str) -> list[str]:
    """``text`` cut where a line may break: before + and - outside brackets, after ×
    outside brackets, and after ", " in or before a list of options."""
    pieces, start, open_ = [], 0, []
    for i, ch in enumerate(text):
        if ch in "([":
            open_.append(ch)
        elif ch in ")]" and open_:
            open_.pop()
        before_operator = ch == " " and not open_ and text[i + 1:i + 3] in ("+ ", "- ") and i > start
        in_list = ch == "," and text[i + 1:i + 2] == " " and (open_[-1:] == ["["] or text[i + 2:i + 3] == "[")
        if before_operator or in_list or (ch == "×" and not open_):
            cut = i if before_operator else i + 1
            pieces.append(text[start:cut])
            start = cut
    return pieces + [text[start:]]


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


def _number(d, zero: str = "—") -> str:
    if isinstance(d, int):
        return f"{d:,}" if d else zero
    return dims.to_str(d)


def _giga(d) -> str:
    return f"  ({d / 1e9:.3f} G)" if isinstance(d, int) and d >= 1e6 else ""


def _mega(d) -> str:
    return f" ({d / 2**20:.2f} MiB)" if isinstance(d, int) and d >= 2**20 else ""


def format_summary_html(summary: Summary, depth: int | None = None) -> str:
    """The text table's rows and totals as an HTML table (Layer, Type, Output, Params, MACs)."""
    rows = [r for r in summary.rows if depth is None or r.depth <= depth]
    cells = [("\u00a0\u00a0" * r.depth + _label(r), r.kind, r.output, _number(r.params), _number(r.macs)) for r in rows]
    cells.append(("Total", "", "", _number(summary.params), _number(summary.macs) + _giga(summary.macs)))
    return html.table(("Layer", "Type", "Output", "Params", "MACs"), cells, numeric=(3, 4), caption=summary.name)
