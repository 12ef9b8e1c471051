"""Search spaces on a diagram: how many places each decision governs (a decision used in
several places is *shared*), the label of a choice node listing its alternatives, and the
legend table of every decision of the space.

A *place* is the topmost call whose configuration mentions the decision: a choice node
with that label, or a layer/block whose arguments or repeat count use the decision's symbol
(``Stage(width, 2*width, kernel=kernel)`` is one place for ``width`` and for ``kernel``; the
layers inside it are not counted again).  Imports only archlang.ir/dims/summarize and this
backend's labels/style; never another backend.
"""

from __future__ import annotations

from collections import Counter

from archlang.ir import ChoiceDecl, Graph, Member, Model, Node, dims
from archlang.ir.params import member_params

from . import labels, style
from .labels import esc

MAX_LISTED = 10  # a choice node lists at most this many alternatives (then "… N more")


def places(model: Model) -> Counter:
    """Label → number of places it governs, for the decisions of ``model`` (a rolled run of
    N identical calls is N places; alternatives of one choice exclude each other, so a label
    inside several of them counts as often as in the one that has it most)."""
    known = frozenset(c.label for c in model.choices)
    return _Places(known).graph(model.graph, frozenset()) if known else Counter()


class _Places:
    def __init__(self, known: frozenset) -> None:
        self.known = known
        self.memo: dict[tuple, Counter] = {}  # identical block instances share one IR graph

    def graph(self, graph: Graph, above: frozenset) -> Counter:
        key = (id(graph), above)
        if key not in self.memo:
            total: Counter = Counter()
            for node in graph.nodes:
                total.update(self.node(node, graph.find_member(node.target) if node.target else None, above))
            self.memo[key] = total
        return self.memo[key]

    def node(self, node: Node, member: Member | None, above: frozenset) -> Counter:
        here = _labels_of(node, member, self.known)
        counts = Counter(dict.fromkeys(here - above, 1))
        below = above | here
        if node.body is not None:
            counts.update(self.graph(node.body, below))
        alternatives: Counter = Counter()
        for branch in node.branches:
            alternative = member.member(branch.target) if member is not None else None
            alternatives |= self.node(branch, alternative, below)
        counts.update(alternatives)
        copies = node.repeat if isinstance(node.repeat, int) else 1
        return counts if copies == 1 else Counter({k: v * copies for k, v in counts.items()})


def _labels_of(node: Node, member: Member | None, known: set) -> frozenset:
    found: set = set()
    _collect(node.attrs, found)
    _collect(node.repeat, found)
    if member is not None and node.kind == "call":
        _collect(member.attrs, found)
    if node.kind == "choice" and node.label:
        found.add(node.label)
    return frozenset(label for label in found if label in known)


def _collect(value, found: set) -> None:
    if isinstance(value, dims.Expr):
        found.update(name.rstrip("#") for name, domain in dims.symbols(value).items() if domain is not None)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)


# ---- labels ------------------------------------------------------------------------------


def choice_label(node: Node, member: Member | None, shared: int, repeat: str = "", params=member_params) -> str:
    """A table: the decision's label, its number of options, shared-ness, then one row per
    alternative (its op, key attributes and parameters)."""
    head = f"<b>choice</b> {esc(node.label or node.target or '')}"
    if repeat:
        head += f' <b><font color="{style.REPEAT_COLOR}">{esc(repeat)}</font></b>'
    rows = [_row(head), _row(_small(f"{len(node.branches)} options" + _shared(shared)))]
    alts = [member.member(b.target) if member is not None else None for b in node.branches]
    varying = _varying_args(alts)
    shown = len(alts) if len(alts) <= MAX_LISTED else MAX_LISTED - 2
    for index, (branch, alt) in enumerate(zip(node.branches[:shown], alts)):
        text = describe(branch, alt)
        if alt is not None and alt.kind == "block" and varying:
            text += " " + labels.clip(", ".join(f"{k}={labels.value(alt.attrs.get(k))}" for k in varying), 32)
        rows.append(_row(f"{index}: {esc(text)}", _small(labels.params_text(params(alt)) if alt is not None else "")))
    if shown < len(alts):
        rows.append(_row(_small(f"… {len(alts) - shown} more (of {len(alts)})")))
    return _table(rows)


def _varying_args(alternatives: list) -> list[str]:
    """The block arguments that tell alternatives of the same block apart (``inputs`` of
    ``DartsNode`` instances); empty when the alternatives are different ops."""
    blocks = [a for a in alternatives if a is not None and a.kind == "block"]
    if len(blocks) < 2 or len({b.op for b in blocks}) > 1:
        return []
    keys = list(dict.fromkeys(k for b in blocks for k in b.attrs))
    return [k for k in keys if len({repr(b.attrs.get(k)) for b in blocks}) > 1]


def choose_label(node: Node, shared: int) -> str:
    k = node.attrs.get("k", "?")
    head = f"<b>choose {esc(labels.value(k))} of {len(node.inputs)}</b>"
    rows = [_row(head), _row(_small(esc(node.label or "") + _shared(shared)))]
    return _table(rows)


def describe(branch: Node, member: Member | None) -> str:
    """One alternative in a few words: ``Conv2d 3×3, 16→16``, ``Residual``, ``Sequential(Conv2d, …)``."""
    if branch.kind == "choice":
        return f"choice {branch.label} ({len(branch.branches)} options)"
    if member is None:
        return branch.op
    if member.kind == "layer":
        detail = labels.key_attrs(member.op, member.attrs)
        return f"{member.op} {detail}".strip()
    if member.kind == "sequential":
        ops = [m.op for _, m in member.members]
        inner = ", ".join(ops[:3]) + (", …" if len(ops) > 3 else "")
        return f"Sequential({inner})"
    return member.op


def _shared(count: int) -> str:
    return f" · <b>shared ×{count}</b>" if count > 1 else ""


def legend_rows(decisions: tuple[ChoiceDecl, ...], counts: Counter) -> str:
    """Table rows (HTML) listing every decision of a space: label, kind, options, shared-ness.
    They go into the diagram's title, so the legend never disturbs the layout."""
    fill, border = style.COLORS["choice"]
    plural = "s" if len(decisions) != 1 else ""
    rows = [f'<tr><td colspan="5" align="left" bgcolor="{border}"><font color="white" point-size="10"><b>search space · '
            f'{len(decisions)} decision{plural}</b></font></td></tr>',
            "<tr>" + "".join(f'<td align="left">{_small(h)}</td>' for h in ("decision", "kind", "n", "options", "")) + "</tr>"]
    for c in decisions:
        options = labels.clip(", ".join(labels.value(o) for o in c.options), 48)
        kind = c.kind if c.k is None else f"choose {c.k} of"
        shared = f"<b>shared ×{counts[c.label]}</b>" if counts.get(c.label, 0) > 1 else ""
        cells = (f"<b>{esc(c.label)}</b>", esc(kind), str(len(c.options)), esc(options), shared)
        rows.append("<tr>" + "".join(f'<td align="left" bgcolor="{fill}">{_sized(cell)}</td>' for cell in cells) + "</tr>")
    return "".join(rows)


def _row(*cells: str) -> str:
    """One table row; a single cell spans both columns (alternative | its parameters)."""
    if len(cells) == 1:
        return f'<tr><td align="left" colspan="2">{cells[0]}</td></tr>'
    return "<tr>" + "".join(f'<td align="left">{c}</td>' for c in cells) + "</tr>"


def _sized(text: str) -> str:
    return f'<font point-size="10">{text}</font>' if text else ""  # dot rejects an empty <font>


def _small(text: str) -> str:
    return f'<font point-size="{style.SMALL}" color="{style.MUTED}">{text}</font>' if text else ""


def _table(rows: list[str]) -> str:
    return '<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">' + "".join(rows) + "</table>>"
