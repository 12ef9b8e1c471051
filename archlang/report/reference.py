"""The op reference (``docs/ops.md``, ``archlang ops [NAME]``), generated from the registry.

Each op's entry is its signature with defaults, what it is (``OpSpec.doc``), its shape rule
and MAC count in words (``shape_rule``, ``macs_rule``) and how the ONNX backend lowers it.
The core knows no backend, so the lowering texts are handed in (``onnx``: op name → text);
the CLI gathers them from the ONNX backend.

Must not import a backend, torch or onnx.
"""

from __future__ import annotations

from typing import Mapping

from archlang.ops import FAMILIES, OpSpec
from archlang.ops._spec import Attr

REGENERATE = "archlang ops > docs/ops.md"

_TYPES = {
    "int": "int", "float": "float", "number": "number", "bool": "bool", "str": "str", "dtype": "dtype",
    "ints": "int | list[int]", "sizes": "int | list[int | none]", "floats": "float | list[float]",
    "dims": "list[int]", "index": "index", "any": "any",
}


def reference(onnx: Mapping[str, str]) -> str:
    """The whole reference, in Markdown: a contents table, then every family's entries."""
    count = sum(len(specs) for _, specs in FAMILIES)
    lines = [
        "# Op reference",
        "",
        f"Every primitive op archlang knows ({count}), family by family: its signature with the",
        "defaults, what it is, how its output shape and its MACs follow from its inputs, and how the",
        "ONNX backend lowers it. **Layer** ops are constructed with their arguments, then applied to",
        "tensors (`Conv2d(3, 64, 3)(x)`); **function** ops take their tensors first (`reshape(x, [B, -1])`,",
        "or `x.reshape([B, -1])`). Sizes may be symbolic everywhere a size is taken. MACs follow",
        "torchvision's convention (what it publishes as GFLOPS); a summary adds them up per layer.",
        "",
        f"This file is generated from the op registry (`archlang/ops`): `{REGENERATE}`.",
        "`archlang ops NAME` prints one entry.",
        "",
        "| family | ops |",
        "|---|---|",
    ]
    anchors = _anchors()
    for title, specs in FAMILIES:
        names = " ".join(f"[`{s.name}`](#{anchors[s.name]})" for s in specs)
        lines.append(f"| {title} | {names} |")
    for title, specs in FAMILIES:
        lines += ["", f"## {title}"]
        for spec in specs:
            lines += ["", entry(spec, onnx.get(spec.name, ""))]
    return "\n".join(lines) + "\n"


def entry(spec: OpSpec, onnx: str) -> str:
    """One op's entry (its ``###`` section of the reference)."""
    assert spec.doc and spec.shape_rule and spec.macs_rule, f"op {spec.name} lacks its reference text"
    return "\n".join([
        f"### {spec.name}",
        "",
        f"{'Layer' if spec.kind == 'layer' else 'Function'} · {spec.doc}",
        "",
        "```text",
        signature(spec),
        "```",
        "",
        f"- **Shape:** {spec.shape_rule}",
        f"- **MACs:** {spec.macs_rule}",
        f"- **ONNX:** {onnx or 'no lowering'}",
    ])


def signature(spec: OpSpec) -> str:
    """``Conv2d(in_channels: int, …, bias: bool = true)(x)``; ``cat([tensors…], dim: int = 0)``."""
    tensors = [_tensor(name) for name in spec.inputs]
    attrs, keyword_only = [], False
    for a in spec.attrs:
        if a.kw_only and not keyword_only:
            attrs.append("*")
            keyword_only = True
        attrs.append(_attr(a))
    if spec.extra_kwargs:
        attrs.append(f"**{spec.extra_kwargs}: int")
    if spec.kind == "layer":
        return f"{spec.name}({', '.join(attrs)})({', '.join(tensors)})"
    return f"{spec.name}({', '.join(tensors + attrs)})"


def _tensor(name: str) -> str:
    if name.startswith("*"):
        return f"[{name[1:]}…]"
    if name.endswith("?"):
        return f"{name[:-1]}=none"
    return name


def _attr(a: Attr) -> str:
    kinds = a.type.rstrip("?").split("|")
    if a.choices:
        kinds = [k for k in kinds if k != "str"] + [_literal(c) for c in a.choices]
    parts = [part for k in kinds for part in _TYPES.get(k, k).split(" | ")]
    text = " | ".join(dict.fromkeys(parts))
    if a.type.endswith("?"):
        text += " | none"
    return f"{a.name}: {text}" if a.required else f"{a.name}: {text} = {_literal(a.default)}"


def _literal(value) -> str:
    """A default as the language writes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return repr(value)


def _anchors() -> dict[str, str]:
    """Each op's heading anchor as GitHub makes it: the heading lowercased, punctuation dropped,
    spaces as dashes, and ``-1``, ``-2`` … after a repeat (``ReLU`` is #relu, ``relu`` #relu-1)."""
    seen: dict[str, int] = {}
    anchors = {}

    def slug(heading: str) -> str:
        base = "".join(c for c in heading.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")
        count = seen.get(base, 0)
        seen[base] = count + 1
        return base if count == 0 else f"{base}-{count}"

    slug("Op reference")
    for title, specs in FAMILIES:
        slug(title)
        for spec in specs:
            anchors[spec.name] = slug(spec.name)
    return anchors


def section(document: str, name: str) -> str | None:
    """The entry of op ``name`` as it stands in a generated reference (None if absent)."""
    start = document.find(f"\n### {name}\n")
    if start < 0:
        return None
    start += 1
    ends = [i for i in (document.find("\n### ", start), document.find("\n## ", start)) if i >= 0]
    return document[start:min(ends) if ends else len(document)].rstrip("\n")
