"""How diagrams look: one colour per op family, fonts, spacing, and the DOT attributes of every
kind of node, cluster and edge.  Nothing here knows the IR beyond op names.

An op's family comes from the op registry module that defines it (``archlang.ops.conv`` …),
so a new op is coloured like its siblings without touching this file.  Imports only
archlang.ops; never another backend.
"""

from __future__ import annotations

from archlang.ops import (
    activation,
    attention,
    conv,
    elementwise,
    indexing,
    join,
    linalg,
    linear,
    misc,
    norm,
    pool,
    rearrange,
    reduce,
    resample,
    special,
    tensor,
)

FONT = "Helvetica,Arial,sans-serif"
FONT_SIZE = "11"
SMALL = 9  # point size of the detail lines inside labels and of edge labels
INK = "#1E293B"  # text
MUTED = "#475569"  # secondary text: names, counts, shapes
EDGE = "#64748B"

# registry module -> family; families -> (fill, border)
_MODULE_FAMILY = (
    (conv, "conv"), (linear, "linear"), (attention, "linear"), (linalg, "linear"),
    (norm, "norm"), (activation, "activation"), (pool, "pooling"), (resample, "pooling"),
    (tensor, "tensor"), (join, "tensor"), (indexing, "tensor"), (rearrange, "tensor"),
    (reduce, "tensor"), (elementwise, "math"), (special, "special"), (misc, "misc"),
)
FAMILY: dict[str, str] = {spec.name: family for module, family in _MODULE_FAMILY for spec in module.OPS}

COLORS: dict[str, tuple[str, str]] = {
    "conv": ("#DBEAFE", "#2563EB"),  # blue
    "linear": ("#EDE9FE", "#7C3AED"),  # violet: linear, embedding, attention, matmul
    "norm": ("#FEF9C3", "#A16207"),  # yellow
    "activation": ("#DCFCE7", "#15803D"),  # green
    "pooling": ("#CCFBF1", "#0F766E"),  # teal: pooling and resampling
    "tensor": ("#F1F5F9", "#64748B"),  # slate: reshape, rearrange, cat, index, reduce
    "math": ("#FFFFFF", "#64748B"),  # elementwise arithmetic
    "special": ("#FCE7F3", "#BE185D"),  # pink: selective scan, MoE routing
    "misc": ("#F8FAFC", "#94A3B8"),  # dropout, identity, parameters, constants
    "choice": ("#FFEDD5", "#C2410C"),  # orange, always dashed
    "block": ("#E2E8F0", "#475569"),  # a collapsed block
    "io": ("#334155", "#1E293B"),  # inputs and outputs
}

# Elementwise merges drawn as a small circle with their symbol.
MERGE_SYMBOLS = {"add": "+", "sub": "−", "mul": "×", "div": "÷"}

SKIP_COLOR = "#E11D48"  # residual / skip connections
REPEAT_COLOR = "#4338CA"  # the ×N of a rolled run
IO_MUTED = "#CBD5E1"  # detail text on the dark input/output nodes
TIE_COLOR = "#7C3AED"
CLUSTER_FILLS = ("#F8FAFC", "#EEF2F7", "#E5EAF1", "#DCE3EC")  # by nesting depth
CLUSTER_BORDER = "#94A3B8"


def family(op: str) -> str:
    return FAMILY.get(op, "misc")


def graph_attrs(direction: str) -> dict[str, str]:
    return {
        "rankdir": direction, "newrank": "true", "compound": "true",
        "ranksep": "0.28", "nodesep": "0.3", "pad": "0.3",
        "fontname": FONT, "fontsize": "13", "fontcolor": INK,
        "labelloc": "t", "labeljust": "l", "bgcolor": "white",
    }


def node_defaults() -> dict[str, str]:
    return {
        "shape": "box", "style": "rounded,filled", "fontname": FONT, "fontsize": FONT_SIZE,
        "fontcolor": INK, "penwidth": "1.2", "margin": "0.12,0.05", "height": "0.3",
    }


def edge_defaults() -> dict[str, str]:
    return {
        "fontname": FONT, "fontsize": str(SMALL), "fontcolor": MUTED, "color": EDGE,
        "arrowsize": "0.6", "penwidth": "1.0",
    }


def op_node(op: str) -> dict[str, str]:
    fill, border = COLORS[family(op)]
    return {"fillcolor": fill, "color": border}


def merge_node() -> dict[str, str]:
    fill, border = COLORS["math"]
    return {"shape": "circle", "fillcolor": fill, "color": border, "width": "0.3", "height": "0.3",
            "fixedsize": "true", "fontsize": "14", "margin": "0"}


def source_node() -> dict[str, str]:
    """Constants and scalars: small and quiet."""
    fill, border = COLORS["misc"]
    return {"shape": "box", "fillcolor": fill, "color": border, "fontsize": str(SMALL), "height": "0.2"}


def collapsed_block() -> dict[str, str]:
    fill, border = COLORS["block"]
    return {"fillcolor": fill, "color": border, "peripheries": "2", "penwidth": "1.0"}


def choice_node() -> dict[str, str]:
    fill, border = COLORS["choice"]
    return {"shape": "box", "style": "rounded,filled,dashed", "fillcolor": fill, "color": border,
            "penwidth": "1.5", "margin": "0.06,0.04"}


def io_node() -> dict[str, str]:
    fill, border = COLORS["io"]
    return {"fillcolor": fill, "color": border, "fontcolor": "white", "shape": "box"}


def cluster(level: int, sequential: bool) -> dict[str, str]:
    fill = CLUSTER_FILLS[min(level - 1, len(CLUSTER_FILLS) - 1)]
    return {
        "style": "rounded,filled,dashed" if sequential else "rounded,filled",
        "fillcolor": fill, "color": CLUSTER_BORDER, "penwidth": "1.0",
        "fontname": FONT, "fontsize": "11", "fontcolor": INK, "labeljust": "l", "margin": "10",
    }


def edge(kind: str) -> dict[str, str]:
    """``main`` dataflow, ``skip`` (a residual bypass), ``candidate`` (an input a ``choose``
    may pick), ``side`` (a constant or parameter joining the flow) or ``tie``."""
    return dict(_EDGES[kind])


_EDGES: dict[str, dict[str, str]] = {
    "main": {},
    "skip": {"color": SKIP_COLOR, "fontcolor": SKIP_COLOR, "style": "dashed", "penwidth": "1.4",
             "constraint": "false"},
    "candidate": {"style": "dashed", "color": COLORS["choice"][1]},
    "side": {"color": "#94A3B8"},
    "tie": {"color": TIE_COLOR, "style": "dotted", "dir": "none", "constraint": "false",
            "fontcolor": TIE_COLOR, "label": "tied"},
}
