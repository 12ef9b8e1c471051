"""The text on a diagram: parameter counts, shapes and the key attributes of each op
(``Conv2d 3×3 /2, 64→128``), as Graphviz HTML-like labels.

``key_attrs(op, attrs)`` picks the few attributes worth printing through a dispatch table
keyed by op name, with a generic fallback (attributes that differ from the op's defaults).
Imports only archlang.ir.dims/ops/types/ir; never another backend.
"""

from __future__ import annotations

import html

from archlang import ops
from archlang.ir import BlockName, dims
from archlang.ir.types import TensorType
from archlang.ops._spec import normalise_default

from . import style

MAX_TEXT = 40  # a detail longer than this is cut with an ellipsis


# ---- numbers and shapes ------------------------------------------------------------------


def number(n) -> str:
    """``9,408``; ``73.7K``; ``11.7M``; a symbolic count as its range (``1.2K–9.4K``)."""
    if isinstance(n, int):
        return _compact(n)
    lo, hi = dims.bounds(n)
    if isinstance(lo, int) and isinstance(hi, int):
        return _compact(lo) if lo == hi else f"{_compact(lo)}–{_compact(hi)}"
    return clip(dims.to_str(n))


def _compact(n: int) -> str:
    if abs(n) < 10_000:
        return f"{n:,}"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            text = f"{n / scale:.3g}"
            return f"{text}{suffix}"
    return str(n)


def params_text(n) -> str:
    """``73.7K params``, or '' for none."""
    if isinstance(n, int) and n == 0:
        return ""
    return f"{number(n)} params"


def shape(t) -> str:
    """``B×64×(H+1)//2×(W+1)//2``: the short form without the spaces inside sizes."""
    if isinstance(t, TensorType):
        return t.short().replace(" ", "")
    if isinstance(t, tuple):
        return ", ".join(shape(x) for x in t)
    return str(t)


def repeat_text(count) -> str:
    """``×3``; a searched count ``×(depth1 - 1)``."""
    text = dims.to_str(count)
    return f"×({text})" if " " in text else f"×{text}"


def clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- HTML-like labels --------------------------------------------------------------------


def esc(text: str) -> str:
    return html.escape(str(text), quote=False)


def html_label(title: str, *details: str, align: str = "", color: str = style.MUTED) -> str:
    """A title line and smaller muted detail lines (already escaped HTML); ``align="left"``
    left-justifies every line (cluster and graph labels)."""
    lines = [title] + [f'<font point-size="{style.SMALL}" color="{color}">{d}</font>' for d in details if d]
    if not align:
        return "<" + "<br/>".join(lines) + ">"
    brk = f'<br align="{align}"/>'
    return "<" + brk.join(lines) + brk + ">"


def title(op: str, attrs: str = "", suffix: str = "") -> str:
    text = f"<b>{esc(display_name(op))}</b>"
    if attrs:
        text += " " + esc(attrs)
    if suffix:
        text += f' <b>{esc(suffix)}</b>'
    return text


def dot_points(*parts: str) -> str:
    """Detail fragments joined with a middle dot, empties dropped (escaped)."""
    return " · ".join(esc(p) for p in parts if p)


_DISPLAY = {"scaled_dot_product_attention": "attention"}  # long names shortened on nodes


def display_name(op: str) -> str:
    return _DISPLAY.get(op, op)


# ---- key attributes ----------------------------------------------------------------------


def key_attrs(op: str, attrs: dict) -> str:
    """The attributes that identify this use of ``op``, compactly."""
    rule = _RULES.get(op)
    if rule is None:
        rule = _FAMILY_RULES.get(style.family(op), _generic)
    try:
        return clip(rule(op, attrs))
    except (KeyError, TypeError, ValueError, IndexError):  # an attribute of an unexpected form
        return clip(_generic(op, attrs))


def value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, BlockName):
        return str(v)
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(value(x) for x in v) + ")"
    if isinstance(v, dict):
        return ", ".join(f"{k}={value(x)}" for k, x in v.items())
    if isinstance(v, slice):
        parts = ["" if p is None else value(p) for p in (v.start, v.stop, v.step)]
        return ":".join(parts[:2] if v.step is None else parts)
    if v is Ellipsis:
        return "…"
    if isinstance(v, dims.Expr):
        return dims.to_str(v)
    return str(v)


def _sizes(v) -> str:
    """``(3, 3)`` → ``3×3``; equal sizes in 1-d stay a plain number."""
    if isinstance(v, (list, tuple)):
        return "×".join(value(x) for x in v)
    return value(v)


def _uniform(v):
    """``(2, 2)`` → ``2``; anything not uniform unchanged."""
    if isinstance(v, (list, tuple)) and v and all(x == v[0] for x in v):
        return v[0]
    return v


def _conv(op: str, a: dict) -> str:
    text = _sizes(a["kernel_size"])
    stride = _uniform(a.get("stride", 1))
    if stride != 1:
        text += (" ↑" if "Transpose" in op else " /") + _sizes(stride)
    if _uniform(a.get("dilation", 1)) != 1:
        text += f" d{_sizes(_uniform(a['dilation']))}"
    cin, cout, groups = a["in_channels"], a["out_channels"], a.get("groups", 1)
    if groups != 1:
        text += " depthwise" if groups == cin == cout else f" g{value(groups)}"
    return f"{text}, {value(cin)}→{value(cout)}"


def _linear(op: str, a: dict) -> str:
    return f"{value(a['in_features'])}→{value(a['out_features'])}"


def _embedding(op: str, a: dict) -> str:
    return f"{value(a['num_embeddings'])}→{value(a['embedding_dim'])}"


def _norm(op: str, a: dict) -> str:
    if "num_features" in a:
        return value(a["num_features"])
    if "num_groups" in a:
        return f"{value(a['num_groups'])} groups, {value(a['num_channels'])}"
    return _sizes(a.get("normalized_shape", ()))


def _pool(op: str, a: dict) -> str:
    if "output_size" in a:
        return "→" + _sizes(a["output_size"])
    stride = _uniform(a.get("stride"))  # None: the kernel size, as in torch
    stride = _uniform(a["kernel_size"]) if stride is None else stride
    text = _sizes(a["kernel_size"])
    return text if stride == 1 else f"{text} /{_sizes(stride)}"


def _resample(op: str, a: dict) -> str:
    if "upscale_factor" in a:
        return f"×{value(a['upscale_factor'])}"
    if "downscale_factor" in a:
        return f"/{value(a['downscale_factor'])}"
    size = a.get("size")
    scale = _uniform(a.get("scale_factor"))
    where = f"→{_sizes(size)}" if size is not None else f"×{value(scale)}" if scale is not None else ""
    mode = a.get("mode")
    return f"{where} {mode}".strip() if mode and mode != "nearest" else where


def _activation(op: str, a: dict) -> str:
    if a.get("approximate") not in (None, "none"):
        return value(a["approximate"])
    if "negative_slope" in a and a["negative_slope"] != 0.01:
        return value(a["negative_slope"])
    if op.lower() in ("softmax", "log_softmax", "logsoftmax"):
        return f"dim={value(a.get('dim', -1))}"
    return ""


def _dropout(op: str, a: dict) -> str:
    return f"p={value(a.get('p'))}"


def _mha(op: str, a: dict) -> str:
    return f"{value(a['embed_dim'])}, {value(a['num_heads'])} heads"


def _sdpa(op: str, a: dict) -> str:
    return "causal" if a.get("is_causal") else ""


def _rearrange(op: str, a: dict) -> str:
    return str(a["pattern"]).replace("->", "→")


def _shape_attr(name: str):
    return lambda op, a: _sizes(a[name])


def _dim_attr(name: str):
    return lambda op, a: "" if a.get(name) is None else f"dim={value(_single(a[name]))}"


def _tuple_attr(name: str):
    return lambda op, a: value(a[name])


def _single(v):
    """``(-1,)`` → ``-1``: a one-element tuple of dims reads as the dim."""
    return v[0] if isinstance(v, (list, tuple)) and len(v) == 1 else v


def _flatten(op: str, a: dict) -> str:
    start, end = a.get("start_dim", 0), a.get("end_dim", -1)
    return f"{value(start)}:" if end == -1 else f"{value(start)}:{value(end)}"


def _transpose(op: str, a: dict) -> str:
    return f"{value(a['dim0'])}↔{value(a['dim1'])}"


def _index(op: str, a: dict) -> str:
    index = a["index"]
    inner = ", ".join(value(i) for i in index) if isinstance(index, tuple) else value(index)
    return f"[{inner}]"


def _split(op: str, a: dict) -> str:
    size = a.get("split_size_or_sections", a.get("chunks"))
    return f"{value(size)}, dim={value(a.get('dim', 0))}"


def _parameter(op: str, a: dict) -> str:
    return _sizes(a["shape"])


def _const(op: str, a: dict) -> str:
    return value(a["value"])


def _buffer(op: str, a: dict) -> str:
    """``constant int64[2401]`` (``, not saved`` for a non-persistent buffer)."""
    t = a["value"]
    return f"constant {t.dtype}[{', '.join(map(str, t.shape))}]" + ("" if a["persistent"] else ", not saved")


def _parameter_init(op: str, a: dict) -> str:
    init = a.get("init")
    return _sizes(a["shape"]) + (", initialised" if not isinstance(init, str) else "")


def _generic(op: str, a: dict) -> str:
    """The attributes that differ from the op's defaults, ``name=value``."""
    spec = ops.get(op)
    shown = []
    for name, v in a.items():
        attr = spec.attr(name) if spec else None
        if attr is not None and not attr.required and _is_default(spec, attr, v):
            continue
        if isinstance(v, dict) and not v:
            continue
        shown.append(f"{name}={value(v)}")
    return ", ".join(shown)


def _is_default(spec, attr, v) -> bool:
    if v == attr.default:
        return True
    try:
        return v == normalise_default(spec, attr)  # stride=(1, 1) is the default 1
    except Exception:  # a default the op cannot normalise is simply shown
        return False


def tooltip(path: str, op: str, attrs: dict, out) -> str:
    """Everything about a node, shown on hover in SVG: ``layer2.0.conv1 = Conv2d(…) → B×128×…``."""
    return clip(f"{path} = {op}({_generic(op, attrs)}) → {shape(out)}", 400)


_RULES = {
    "Embedding": _embedding, "Linear": _linear, "MultiheadAttention": _mha,
    "scaled_dot_product_attention": _sdpa, "rearrange": _rearrange,
    "reshape": _shape_attr("shape"), "view": _shape_attr("shape"), "permute": _tuple_attr("dims"),
    "expand": _tuple_attr("sizes"), "flatten": _flatten, "Flatten": _flatten, "transpose": _transpose,
    "unsqueeze": _dim_attr("dim"), "squeeze": _dim_attr("dim"), "cat": _dim_attr("dim"),
    "stack": _dim_attr("dim"), "unbind": _dim_attr("dim"), "mean": _dim_attr("dim"),
    "sum": _dim_attr("dim"), "amax": _dim_attr("dim"), "amin": _dim_attr("dim"),
    "getitem": _index, "item": _index, "split": _split, "chunk": _split,
    "Dropout": _dropout, "Dropout2d": _dropout, "dropout": _dropout,
    "Parameter": _parameter_init, "Buffer": _buffer, "const": _const, "arange": _shape_attr("end"),
    "zeros": _shape_attr("size"), "ones": _shape_attr("size"),
    "Identity": lambda op, a: "", "contiguous": lambda op, a: "", "clone": lambda op, a: "",
    "topk_gate": lambda op, a: f"top-{value(a['k'])}",
    "selective_scan": lambda op, a: "", "mix": lambda op, a: "", "einsum": lambda op, a: a["equation"],
}
_FAMILY_RULES = {
    "conv": _conv, "norm": _norm, "pooling": _pool, "activation": _activation,
}
for _name in ("Upsample", "interpolate", "PixelShuffle", "PixelUnshuffle"):
    _RULES[_name] = _resample
