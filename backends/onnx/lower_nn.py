"""Lowerings of the torch.nn-style layers and their functional forms: convolutions, Linear,
Embedding, normalisations (eval semantics), pooling (fixed, adaptive), resampling and
pixel (un)shuffle.

Parameters are read with ``Call.param`` in torch's layout (state-dict keys, torch shapes):
Linear is ``Gemm(transB=1)`` on matrices and ``MatMul`` with a transposed weight otherwise;
BatchNorm is ``BatchNormalization`` with the running statistics; LayerNorm is
``LayerNormalization``; GroupNorm and RMSNorm are decomposed.  Adaptive pooling is done
axis by axis (a window mean or max is separable): one pool when the windows are uniform,
else one Slice and reduction per output cell, with window bounds computed in-graph when the
input size is symbolic (VGG's 7×7 pool of an H//32 map); the output size must be a number.

Imports numpy, archlang.ir.dims and this package; never another backend.
"""

from __future__ import annotations

import numpy as np

from archlang.ir import dims

from .call import Call, float_scalar, is_one, reduce, reshape, squeeze, transpose, unsqueeze

# ---------------------------------------------------------------------------- helpers


def _batched(g, c: Call, spatial: int) -> tuple[str, bool]:
    """The input with a batch axis (added for an unbatched ``[C, *spatial]`` input)."""
    x = c.inputs[0]
    if c.types[0].rank == spatial + 1:
        return unsqueeze(g, x, [0]), True
    return x, False


def _unbatch(g, y, added: bool):
    if not added:
        return y
    if isinstance(y, list):
        return [squeeze(g, v, [0]) for v in y]
    return squeeze(g, y, [0])


def _ones(g, c: Call, shape, value: float = 1.0) -> str:
    return g.const(np.full(tuple(shape), value), c.out.dtype)


# ---------------------------------------------------------------------------- convolutions

_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _conv(g, c: Call) -> str:
    """Conv (reflect, replicate or circular padding: a Pad first; circular needs opset 19); an unbatched input gets a batch dim."""
    a = c.attrs
    n = len(a["kernel_size"])
    x, added = _batched(g, c, n)
    begin, end = _conv_padding(a, n)
    if a["padding_mode"] != "zeros" and any(begin + end):
        if a["padding_mode"] == "circular" and g.opset < 19:
            raise c.fail("padding_mode='circular' needs opset 19 or later (Pad mode 'wrap')")
        pads = g.const([0, 0, *begin, 0, 0, *end])
        x = g.op("Pad", [x, pads], mode=_PAD_MODES[a["padding_mode"]])
        begin, end = [0] * n, [0] * n
    inputs = [x, c.param("weight")] + ([c.param("bias")] if a["bias"] else [])
    y = g.op("Conv", inputs, kernel_shape=list(a["kernel_size"]), strides=list(a["stride"]),
             pads=begin + end, dilations=list(a["dilation"]), group=a["groups"])
    return _unbatch(g, y, added)


def _conv_padding(a: dict, n: int) -> tuple[list, list]:
    pad = a["padding"]
    if pad == "valid":
        return [0] * n, [0] * n
    if pad == "same":  # torch puts the odd pixel on the right
        total = [d * (k - 1) for d, k in zip(a["dilation"], a["kernel_size"])]
        return [t // 2 for t in total], [t - t // 2 for t in total]
    return list(pad), list(pad)


def _conv_transpose(g, c: Call) -> str:
    """ConvTranspose with pads and output_padding."""
    a = c.attrs
    n = len(a["kernel_size"])
    x, added = _batched(g, c, n)
    inputs = [x, c.param("weight")] + ([c.param("bias")] if a["bias"] else [])
    y = g.op("ConvTranspose", inputs, kernel_shape=list(a["kernel_size"]), strides=list(a["stride"]),
             pads=list(a["padding"]) * 2, output_padding=list(a["output_padding"]),
             dilations=list(a["dilation"]), group=a["groups"])
    return _unbatch(g, y, added)


# ---------------------------------------------------------------------------- dense


def _linear(g, c: Call) -> str:
    """Gemm(transB=1) on a matrix input, else MatMul with the transposed weight and Add."""
    x, rank = c.inputs[0], c.types[0].rank
    weight = c.param("weight")
    bias = c.param("bias") if c.attrs["bias"] else None
    if rank == 2:
        return g.op("Gemm", [x, weight] + ([bias] if bias else []), transB=1)
    y = g.op("MatMul", [x, g.op("Transpose", [weight], perm=[1, 0])])
    return g.op("Add", [y, bias]) if bias else y


def _conv1d(g, c: Call) -> str:
    """Gemm (its weight is already [in, out]) on a matrix input, else MatMul and Add."""
    x, weight, bias = c.inputs[0], c.param("weight"), c.param("bias")
    if c.types[0].rank == 2:
        return g.op("Gemm", [x, weight, bias])
    return g.op("Add", [g.op("MatMul", [x, weight]), bias])


def _embedding(g, c: Call) -> str:
    """Gather of weight rows; max_norm rescales the rows read (ReduceSum of |row|^p, Where)."""
    rows = g.op("Gather", [c.param("weight"), c.inputs[0]], axis=0)
    max_norm = c.attrs["max_norm"]
    if max_norm is None:
        return rows
    # torch renormalises the looked-up rows whose p-norm exceeds max_norm (inference view)
    p = c.attrs["norm_type"]
    if p in (1.0, 2.0):
        norm = reduce(g, "ReduceL2" if p == 2.0 else "ReduceL1", rows, [-1], True)
    else:
        powered = g.op("Pow", [g.op("Abs", [rows]), float_scalar(g, p)])
        norm = g.op("Pow", [reduce(g, "ReduceSum", powered, [-1], True), float_scalar(g, 1.0 / p)])
    limit = float_scalar(g, max_norm)
    scale = g.op("Div", [limit, g.op("Add", [norm, float_scalar(g, 1e-7)])])
    scale = g.op("Where", [g.op("Greater", [norm, limit]), scale, float_scalar(g, 1.0)])
    return g.op("Mul", [rows, scale])


# ---------------------------------------------------------------------------- normalisation


def _batchnorm(g, c: Call) -> str:
    """BatchNormalization with the running statistics (folded into the Conv before it at export); without them, the batch's own mean and variance."""
    a, x = c.attrs, c.inputs[0]
    channels = (a["num_features"],)
    scale = c.param("weight") if a["affine"] else _ones(g, c, channels)
    bias = c.param("bias") if a["affine"] else _ones(g, c, channels, 0.0)
    if a["track_running_stats"]:
        return g.op("BatchNormalization", [x, scale, bias, c.param("running_mean"), c.param("running_var")],
                    epsilon=float(a["eps"]))
    # no running statistics: torch normalises with the batch's own, in eval mode too
    rank = c.types[0].rank
    axes = [0] + list(range(2, rank))
    mean = reduce(g, "ReduceMean", x, axes, True)
    centred = g.op("Sub", [x, mean])
    var = reduce(g, "ReduceMean", g.op("Mul", [centred, centred]), axes, True)
    normed = g.op("Div", [centred, g.op("Sqrt", [g.op("Add", [var, float_scalar(g, a["eps"], c.out.dtype)])])])
    per_channel = [1] * (rank - 2)
    w = reshape(g, scale, channels, channels + tuple(per_channel))
    b = reshape(g, bias, channels, channels + tuple(per_channel))
    return g.op("Add", [g.op("Mul", [normed, w]), b])


def _layernorm(g, c: Call) -> str:
    """LayerNormalization over the normalized_shape axes."""
    a = c.attrs
    shape = tuple(a["normalized_shape"])
    affine = a["elementwise_affine"]
    scale = c.param("weight") if affine else _ones(g, c, shape)
    inputs = [c.inputs[0], scale] + ([c.param("bias")] if affine and a["bias"] else [])
    return g.op("LayerNormalization", inputs, axis=-len(shape), epsilon=float(a["eps"]))


def _rmsnorm(g, c: Call) -> str:
    """x · Reciprocal(Sqrt(ReduceMean(x²) + eps)) · weight."""
    a, x = c.attrs, c.inputs[0]
    k = len(a["normalized_shape"])
    eps = a["eps"] if a["eps"] is not None else float(np.finfo(np.dtype(c.out.dtype if c.out.dtype != "bfloat16" else "float32")).eps)
    mean_square = reduce(g, "ReduceMean", g.op("Mul", [x, x]), list(range(-k, 0)), True)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [mean_square, float_scalar(g, eps, c.out.dtype)])])])
    y = g.op("Mul", [x, inv])
    return g.op("Mul", [y, c.param("weight")]) if a["elementwise_affine"] else y


def _groupnorm(g, c: Call) -> str:
    """Per-group statistics with InstanceNormalization on [N, G, -1], then the per-channel affine."""
    a, x, t = c.attrs, c.inputs[0], c.types[0]
    groups = a["num_groups"]
    grouped = g.op("Reshape", [x, g.const([0, groups, -1])])
    normed = g.op("InstanceNormalization", [grouped, _ones(g, c, (groups,)), _ones(g, c, (groups,), 0.0)],
                  epsilon=float(a["eps"]))
    y = g.op("Reshape", [normed, g.op("Shape", [x])])
    if not a["affine"]:
        return y
    channels = (a["num_channels"],)
    trailing = channels + (1,) * (t.rank - 2)
    w = reshape(g, c.param("weight"), channels, trailing)
    b = reshape(g, c.param("bias"), channels, trailing)
    return g.op("Add", [g.op("Mul", [y, w]), b])


# ---------------------------------------------------------------------------- pooling


def _window_pool(kind: str):
    def lower(g, c: Call):
        a = c.attrs
        n = len(a["kernel_size"])
        x, added = _batched(g, c, n)
        if kind == "avg" and a.get("divisor_override"):
            return _unbatch(g, _sum_pool(g, c, x, n), added)
        common = dict(kernel_shape=list(a["kernel_size"]), strides=list(a["stride"] or a["kernel_size"]),
                      pads=list(a["padding"]) * 2, ceil_mode=int(a["ceil_mode"]))
        if kind == "avg":
            return _unbatch(g, g.op("AveragePool", [x], count_include_pad=int(a["count_include_pad"]), **common), added)
        if not a["return_indices"]:
            return _unbatch(g, g.op("MaxPool", [x], dilations=list(a["dilation"]), **common), added)
        y, flat = g.op("MaxPool", [x], outputs=2, dilations=list(a["dilation"]), **common)
        # ONNX counts indices over the whole tensor, torch within each (n, c) plane
        plane = 1
        for d in c.types[0].shape[-n:]:
            plane = plane * d
        indices = g.op("Mod", [flat, g.sizes.dim(dims.simplify(plane))], fmod=0)
        return tuple(_unbatch(g, [y, indices], added))

    lower.__doc__ = ("AveragePool (divisor_override: a depthwise Conv with ones, then Div)" if kind == "avg" else
                     "MaxPool; return_indices takes its indices modulo the plane size, as torch counts them")
    return lower


def _sum_pool(g, c: Call, x: str, n: int) -> str:
    """avg_pool with divisor_override: a depthwise convolution with ones, divided by the divisor."""
    a, t = c.attrs, c.types[0]
    channels = t.shape[-n - 1]
    if type(channels) is not int:
        raise c.needs_concrete("avg_pool with divisor_override needs a concrete channel count")
    kernel, strides = list(a["kernel_size"]), list(a["stride"] or a["kernel_size"])
    begin, end = list(a["padding"]), list(a["padding"])
    if a["ceil_mode"]:  # extend the right padding to reach the IR's (ceil) output size
        for i, (size, out, k, s) in enumerate(zip(t.shape[-n:], c.out.shape[-n:], kernel, strides)):
            if type(size) is not int:
                raise c.needs_concrete("avg_pool with divisor_override and ceil_mode needs concrete sizes")
            end[i] += max(0, (out - 1) * s + k - (size + 2 * begin[i]))
    weight = _ones(g, c, (channels, 1, *kernel))
    summed = g.op("Conv", [x, weight], kernel_shape=kernel, strides=strides, pads=begin + end, group=channels)
    return g.op("Div", [summed, float_scalar(g, a["divisor_override"], c.out.dtype)])


def _adaptive_pool(kind: str):
    def lower(g, c: Call):
        if c.attrs.get("return_indices"):
            raise c.fail(f"{c.op} with return_indices=True has no ONNX lowering")
        n = len(c.attrs["output_size"])
        x, added = _batched(g, c, n)
        rank = n + 2
        sizes = c.types[0].shape[-n:]
        targets = [size if o is None else o for size, o in zip(sizes, c.attrs["output_size"])]
        return _unbatch(g, adaptive(g, c, kind, x, rank, sizes, targets), added)

    pool = "Average" if kind == "avg" else "Max"
    lower.__doc__ = (f"axis by axis: Global{pool}Pool to 1, one {pool}Pool for uniform windows, else a Slice and "
                     f"Reduce{'Mean' if kind == 'avg' else 'Max'} per output cell (window bounds in-graph for a symbolic "
                     "size); return_indices has no lowering")
    return lower


def adaptive(g, c: Call, kind: str, x: str, rank: int, sizes, targets) -> str:
    """Adaptive pooling of the last len(sizes) axes of x to ``targets``, axis by axis."""
    n = len(sizes)
    axes = list(range(rank - n, rank))
    whole = [ax for ax, size, o in zip(axes, sizes, targets) if is_one(o) and not is_one(size)]
    reducer = "ReduceMean" if kind == "avg" else "ReduceMax"
    if len(whole) == n and n in (1, 2, 3):
        x = g.op("GlobalAveragePool" if kind == "avg" else "GlobalMaxPool", [x])
    elif whole:
        x = reduce(g, reducer, x, whole, True)
    for ax, size, o in zip(axes, sizes, targets):
        if ax in whole or size == o:
            continue
        x = _adaptive_axis(g, c, kind, x, rank, ax, size, o)
    return x


def _adaptive_axis(g, c: Call, kind: str, x: str, rank: int, axis: int, size, o) -> str:
    if type(o) is not int:
        raise c.needs_concrete(f"{c.op}: adaptive pooling to the symbolic size {dims.to_str(o)} needs a "
                               "number of windows known at export")
    if type(size) is int and size % o == 0:  # uniform windows: a pool with the kernel on this axis only
        kernel = [1] * (rank - 2)
        kernel[axis - 2] = size // o
        op_type = "AveragePool" if kind == "avg" else "MaxPool"
        return g.op(op_type, [x], kernel_shape=kernel, strides=kernel)
    reducer = "ReduceMean" if kind == "avg" else "ReduceMax"
    parts = []
    for i in range(o):  # torch's windows: [floor(i·size/o), ceil((i+1)·size/o)), computed in-graph when symbolic
        start, end = (i * size) // o, ((i + 1) * size + o - 1) // o
        window = g.op("Slice", [x, g.ints([start]), g.ints([end]), g.const([axis])])
        parts.append(reduce(g, reducer, window, [axis], True))
    return g.op("Concat", parts, axis=axis)


# ---------------------------------------------------------------------------- resampling

_RESIZE_MODES = {"nearest": "nearest", "nearest-exact": "nearest", "linear": "linear", "bilinear": "linear",
                 "trilinear": "linear", "bicubic": "cubic"}


def _resize(g, c: Call) -> str:
    """Resize (nearest, linear or cubic with torch's coordinate transforms and sizes, computed in-graph when symbolic); mode="area" is adaptive average pooling."""
    a, t = c.attrs, c.types[0]
    n = t.rank - 2
    mode = a["mode"]
    if mode == "area":
        return adaptive(g, c, "avg", c.inputs[0], t.rank, t.shape[2:], c.out.shape[2:])
    attrs = {"mode": _RESIZE_MODES[mode]}
    if mode == "nearest":
        attrs.update(coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    elif mode == "nearest-exact":
        attrs.update(coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_ceil")
    else:
        attrs["coordinate_transformation_mode"] = "align_corners" if a["align_corners"] else "pytorch_half_pixel"
        if mode == "bicubic":
            attrs["cubic_coeff_a"] = -0.75
        if a.get("antialias"):
            attrs["antialias"] = 1
    scale = a["scale_factor"]
    if scale is not None and not a["recompute_scale_factor"]:
        factors = list(scale) if isinstance(scale, tuple) else [scale] * n
        scales = g.const([1.0, 1.0] + [float(f) for f in factors], "float32")
        return g.op("Resize", [c.inputs[0], "", scales], **attrs)
    if g.opset < 18:  # no `axes` yet: sizes for every axis, the batch read at run time
        return g.op("Resize", [c.inputs[0], "", "", g.ints(list(c.out.shape))], **attrs)
    sizes = g.ints(list(c.out.shape[2:]))
    return g.op("Resize", [c.inputs[0], "", "", sizes], axes=list(range(2, t.rank)), **attrs)


def _pixel_shuffle(up: bool):
    def lower(g, c: Call) -> str:
        t, out = c.types[0], c.out
        r = c.attrs["upscale_factor" if up else "downscale_factor"]
        nb = t.rank - 3
        batch = t.shape[:nb]
        if up:  # [*, C·r·r, H, W] -> [*, C, r, r, H, W] -> [*, C, H, r, W, r]
            channels, h, w = out.shape[nb], t.shape[nb + 1], t.shape[nb + 2]
            split = batch + (channels, r, r, h, w)
            perm = list(range(nb)) + [nb, nb + 3, nb + 1, nb + 4, nb + 2]
        else:  # [*, C, H·r, W·r] -> [*, C, H, r, W, r] -> [*, C, r, r, H, W]
            channels, h, w = t.shape[nb], out.shape[nb + 1], out.shape[nb + 2]
            split = batch + (channels, h, r, w, r)
            perm = list(range(nb)) + [nb, nb + 2, nb + 4, nb + 1, nb + 3]
        y = reshape(g, c.inputs[0], t.shape, split)
        y = transpose(g, y, perm)
        return reshape(g, y, tuple(split[i] for i in perm), out.shape)

    lower.__doc__ = "Reshape, Transpose, Reshape (the blocks of r×r channels moved into space)" if up else \
        "Reshape, Transpose, Reshape (r×r blocks of space moved into channels)"
    return lower


# ---------------------------------------------------------------------------- NAS


def _zero(g, c: Call) -> str:
    """Slice with step s on the spatial dims, then Mul by 0 (a product, so NaN and inf propagate as in torch)."""
    x, s = c.inputs[0], c.attrs["stride"]
    if s != 1:
        x = g.op("Slice", [x, g.const([0, 0]), g.const([2**63 - 1] * 2), g.const([-2, -1]), g.const([s, s])])
    return g.op("Mul", [x, float_scalar(g, 0.0, c.out.dtype)])


def lowerings() -> dict:
    table = {
        "Linear": _linear, "Conv1D": _conv1d, "Embedding": _embedding, "LayerNorm": _layernorm, "RMSNorm": _rmsnorm,
        "GroupNorm": _groupnorm, "Upsample": _resize, "interpolate": _resize,
        "PixelShuffle": _pixel_shuffle(True), "PixelUnshuffle": _pixel_shuffle(False), "Zero": _zero,
    }
    for n in (1, 2, 3):
        table.update({
            f"Conv{n}d": _conv, f"ConvTranspose{n}d": _conv_transpose, f"BatchNorm{n}d": _batchnorm,
            f"MaxPool{n}d": _window_pool("max"), f"max_pool{n}d": _window_pool("max"),
            f"AvgPool{n}d": _window_pool("avg"), f"avg_pool{n}d": _window_pool("avg"),
            f"AdaptiveAvgPool{n}d": _adaptive_pool("avg"), f"adaptive_avg_pool{n}d": _adaptive_pool("avg"),
            f"AdaptiveMaxPool{n}d": _adaptive_pool("max"), f"adaptive_max_pool{n}d": _adaptive_pool("max"),
        })
    return table
