"""Spatial resampling: Upsample / interpolate (size or scale_factor) and
PixelShuffle / PixelUnshuffle.

A scale factor multiplies a size and floors, as torch does; on symbolic sizes the factor
must be an exact binary fraction (2.0, 0.5, 1.5, 0.75) so the floor is exact for every size.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

import math

from archlang.errors.limits import LIMITS
from archlang.ir import dims
from archlang.ops._shape import check_min_rank, check_positive, divide, fail, require_float, tensor
from archlang.ops._spec import Attr, OpSpec

TITLE = "Resampling"  # of this family in the op reference (docs/ops.md)

MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_MODE_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


def scaled_size(size, factor: float, op: str):
    """floor(size * factor) like torch, exact on symbolic sizes for simple fractions."""
    if type(size) is int:
        scaled = size * factor
        if not math.isfinite(scaled) or scaled > LIMITS.max_size:
            fail(f"{op}: scale_factor {factor} makes size {size} {scaled:.3g}, more than a tensor dimension "
                 f"can be ({LIMITS.max_size:,})", "scale_factor")
        return math.floor(scaled)
    # the float's exact value in lowest terms (as Fraction(factor), without importing fractions)
    numerator, denominator = float(factor).as_integer_ratio()
    if denominator > 1024:  # 1/3 is not exact in binary: torch's float product may round down
        fail(f"{op}: scale_factor {factor} is not an exact binary fraction, so the size of "
             f"symbolic dim {size} cannot be computed; pass size= instead", "scale_factor")
    return (size * numerator) // denominator


def _resize_infer(op: str):
    def infer(a: dict, inputs: list):
        x = inputs[0]
        check_min_rank(x, 3, op)
        require_float(x, op)
        n = x.rank - 2
        want = _MODE_RANK.get(a["mode"])
        if want is not None and x.rank != want:
            fail(f"{op}: mode '{a['mode']}' expects a {want}-D input, got {x}", "mode")
        out = _target(op, a, x.shape[2:])
        if len(out) != n:
            fail(f"{op}: {len(out)} output sizes given for {n} spatial dims of input {x}", "size")
        for o in out:
            check_positive(o, lambda: f"{op} output size {dims.to_str(o)} must be positive (input {x})", "size")
        return tensor(x.dtype, x.shape[:2] + tuple(out))

    return infer


def _target(op: str, a: dict, spatial: tuple) -> tuple:
    size, scale = a["size"], a["scale_factor"]
    if (size is None) == (scale is None):
        fail(f"{op} needs exactly one of size and scale_factor", "size" if size is not None else "scale_factor")
    if size is not None:
        return size if isinstance(size, tuple) else (size,) * len(spatial)
    scale = scale if isinstance(scale, tuple) else (scale,) * len(spatial)
    if len(scale) != len(spatial):
        fail(f"{op}: {len(scale)} scale factors given for {len(spatial)} spatial dims", "scale_factor")
    return tuple(scaled_size(h, f, op) for h, f in zip(spatial, scale))


# a single number applies to every spatial dim (kept scalar so backends pass it through as is)
_RESIZE_ATTRS = (
    Attr("size", "int|ints?", None), Attr("scale_factor", "float|floats?", None),
    Attr("mode", "str", "nearest", choices=MODES), Attr("align_corners", "bool?", None),
    Attr("recompute_scale_factor", "bool?", None),
)


def _shuffle_infer(op: str, up: bool):
    def infer(a: dict, inputs: list):
        x = inputs[0]
        check_min_rank(x, 3, op)
        r = a["upscale_factor" if up else "downscale_factor"]
        *batch, c, h, w = x.shape
        if up:
            c = divide(c, r * r, lambda: f"{op}: channels {dims.to_str(c)} of input {x} are not divisible by "
                       f"upscale_factor**2 = {dims.to_str(r * r)}", "x")
            return tensor(x.dtype, (*batch, c, h * r, w * r))
        msg = lambda: f"{op}: spatial size of input {x} is not divisible by downscale_factor {dims.to_str(r)}"  # noqa: E731
        return tensor(x.dtype, (*batch, c * r * r, divide(h, r, msg, "x"), divide(w, r, msg, "x")))

    return infer


_RESIZE_SHAPE = ("x is (N, C, *spatial) (float; linear: 3-D, bilinear/bicubic: 4-D, trilinear: 5-D); the spatial "
                 "sizes become size, or floor(size × scale_factor) (exact on symbolic sizes for binary fractions)")
_NO_MACS = "0 (resampling is not counted, as in torchvision's figures)"

OPS = [
    OpSpec("Upsample", "layer", _RESIZE_ATTRS, ("x",), _resize_infer("Upsample"), doc="torch.nn.Upsample",
           shape_rule=_RESIZE_SHAPE, macs_rule=_NO_MACS),
    OpSpec("interpolate", "function", _RESIZE_ATTRS + (Attr("antialias", "bool", False),), ("x",),
           _resize_infer("interpolate"), doc="torch.nn.functional.interpolate", shape_rule=_RESIZE_SHAPE,
           macs_rule=_NO_MACS),
    OpSpec("PixelShuffle", "layer", (Attr("upscale_factor", "int"),), ("x",), _shuffle_infer("PixelShuffle", True),
           doc="torch.nn.PixelShuffle", shape_rule="(…, C·r², H, W) → (…, C, H·r, W·r), r = upscale_factor",
           macs_rule="0 (data movement)"),
    OpSpec("PixelUnshuffle", "layer", (Attr("downscale_factor", "int"),), ("x",),
           _shuffle_infer("PixelUnshuffle", False), doc="torch.nn.PixelUnshuffle",
           shape_rule="(…, C, H·r, W·r) → (…, C·r², H, W), r = downscale_factor; H and W divisible by r",
           macs_rule="0 (data movement)"),
]
