"""Pooling: Max/Avg/AdaptiveAvg/AdaptiveMax pools as torch.nn layers (1d/2d/3d) and the
functional forms max_pool*d, avg_pool*d, adaptive_avg_pool*d, adaptive_max_pool*d.

Output sizes follow torch's ``pooling_output_shape`` including ceil_mode's rule that the
last window must start inside the input plus left padding.  Pools have no MACs.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ops._shape import check_positive, check_rank, fail, require_float, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Pooling"  # of this family in the op reference (docs/ops.md)

_LAYOUTS = {1: "([N,] C, L)", 2: "([N,] C, H, W)", 3: "([N,] C, D, H, W)"}

_K = Attr("kernel_size", "ints")
_STRIDE = Attr("stride", "ints?", None)
_PAD = Attr("padding", "ints", 0)
_DIL = Attr("dilation", "ints", 1)
_CEIL = Attr("ceil_mode", "bool", False)
_INDICES = Attr("return_indices", "bool", False)
_COUNT_PAD = Attr("count_include_pad", "bool", True)
_DIVISOR = Attr("divisor_override", "int?", None)
_OUT = Attr("output_size", "sizes")


def pool_size(size, k, s, p, d, ceil: bool):
    """torch's pooling_output_shape for one spatial dim."""
    span = dims.simplify(size + 2 * p - d * (k - 1) - 1)  # fold choice-only parts before dividing
    if not ceil:
        return span // s + 1
    out = (span + (s - 1)) // s + 1
    # the last window must start inside input + left padding: (out - 1) * s < size + p
    return dims.dmin(out, dims.simplify(size + p - 1) // s + 1)


def _check_padding(op: str, k, p) -> None:
    """torch: padding must be at most half the (undilated) kernel size, k // 2."""
    if type(k) is int and type(p) is int and p > k // 2:
        fail(f"{op}: padding {p} must be at most half of the kernel size {k}", "padding")


def _window_infer(op: str, n: int, with_dilation: bool):
    def infer(a: dict, inputs: list):
        x = inputs[0]
        check_rank(x, (n + 1, n + 2), op, _LAYOUTS[n])
        require_float(x, op)
        ks = a["kernel_size"]
        strides = a["stride"] if a["stride"] else ks  # torch: stride defaults to the kernel
        dil = a["dilation"] if with_dilation else (1,) * n
        spatial = x.shape[x.rank - n:]
        out = []
        for i, (h, k, s, p, d) in enumerate(zip(spatial, ks, strides, a["padding"], dil)):
            _check_padding(op, k, p)
            size = pool_size(h, k, s, p, d, a["ceil_mode"])
            check_positive(
                size,
                lambda: f"{op} output would have size {dims.to_str(size)} in spatial dim {i}: "
                f"input {x} is too small for kernel {dims.to_str(k)}",
                arg="x",
            )
            out.append(size)
        y = tensor(x.dtype, x.shape[: x.rank - n] + tuple(out))
        return (y, tensor("int64", y.shape)) if a.get("return_indices") else y

    return infer


def _adaptive_infer(op: str, n: int):
    def infer(a: dict, inputs: list):
        x = inputs[0]
        check_rank(x, (n + 1, n + 2), op, _LAYOUTS[n])
        require_float(x, op)
        spatial = x.shape[x.rank - n:]
        out = tuple(h if o is None else o for h, o in zip(spatial, a["output_size"]))
        for o in out:
            check_positive(o, lambda: f"{op}: output_size {a['output_size']} must be positive", "output_size")
        y = tensor(x.dtype, x.shape[: x.rank - n] + out)
        return (y, tensor("int64", y.shape)) if a.get("return_indices") else y

    return infer


def _avg_attrs(n: int) -> tuple:
    base = (_K, _STRIDE, _PAD, _CEIL, _COUNT_PAD)
    return base if n == 1 else base + (_DIVISOR,)


_WINDOW_SHAPE = ("x is {layout} (float); each spatial size floor((size + 2·padding − dilation·(kernel − 1) − 1) / "
                 "stride) + 1 (stride defaults to the kernel; ceil_mode rounds up, the last window starting inside "
                 "the input); padding at most kernel // 2{indices}")
_ADAPTIVE_SHAPE = "x is {layout} (float); the spatial sizes become output_size (none keeps a size){indices}"
_WITH_INDICES = "; with return_indices, a pair (values, int64 indices)"
_MACS = "0 (pooling is not counted, as in torchvision's figures)"


def _torch_name(name: str) -> str:
    return f"torch.nn.{name}" if name[0].isupper() else f"torch.nn.functional.{name}"


def _make(n: int) -> list[OpSpec]:
    d = f"{n}d"
    window = lambda name, attrs, dil: OpSpec(  # noqa: E731
        name, "function" if name.islower() else "layer", attrs, ("x",),
        _window_infer(name, n, dil), doc=_torch_name(name), spatial=n, macs_rule=_MACS,
        shape_rule=_WINDOW_SHAPE.format(layout=_LAYOUTS[n], indices=_WITH_INDICES if dil else ""),
    )
    adaptive = lambda name, attrs: OpSpec(  # noqa: E731
        name, "function" if name.islower() else "layer", attrs, ("x",),
        _adaptive_infer(name, n), doc=_torch_name(name), spatial=n, macs_rule=_MACS,
        shape_rule=_ADAPTIVE_SHAPE.format(layout=_LAYOUTS[n], indices=_WITH_INDICES if "Max" in name or "max" in name else ""),
    )
    return [
        window(f"MaxPool{d}", (_K, _STRIDE, _PAD, _DIL, _INDICES, _CEIL), True),
        window(f"max_pool{d}", (_K, _STRIDE, _PAD, _DIL, _CEIL, _INDICES), True),
        window(f"AvgPool{d}", _avg_attrs(n), False),
        window(f"avg_pool{d}", _avg_attrs(n), False),
        adaptive(f"AdaptiveAvgPool{d}", (_OUT,)),
        adaptive(f"adaptive_avg_pool{d}", (_OUT,)),
        adaptive(f"AdaptiveMaxPool{d}", (_OUT, _INDICES)),
        adaptive(f"adaptive_max_pool{d}", (_OUT, _INDICES)),
    ]


OPS = [spec for n in (1, 2, 3) for spec in _make(n)]
