"""ONNX backend, op by op: every primitive of the registry, in small cases, through the torch
backend and onnxruntime with the same (random) weights; the outputs must agree.

Inputs keep the batch symbolic (``B``), so each case also checks that the export has a
dynamic batch: it runs at batch 2 from a file exported without an example size.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import archlang  # noqa: E402
from archlang.backends.onnx import missing  # noqa: E402
from archlang.errors import ArchError  # noqa: E402


def spec(inputs: str, *lines: str) -> str:
    """A model M with the given inputs (``x: [B, 4]; m: bool[B, 4]``) and body lines."""
    decls = [f"    input {d.strip()}" for d in inputs.split(";")]
    return "model M() {\n" + "\n".join(decls + [f"    {line}" for line in lines]) + "\n}\n"


def one(layer: str, inputs: str = "x: [B, 4, 9, 9]") -> str:
    return spec(inputs, f"l = {layer}", "return l(x)")


def fn(expr: str, inputs: str = "x: [B, 4, 9, 9]") -> str:
    return spec(inputs, f"return {expr}")


CASES = {
    # ---- convolutions
    "conv2d": one("Conv2d(4, 6, 3, stride=2, padding=1)"),
    "conv2d_same_even": one("Conv2d(4, 6, 4, padding=\"same\", dilation=2)"),
    "conv2d_valid_groups": one("Conv2d(4, 6, 3, padding=\"valid\", groups=2, bias=false)"),
    "conv2d_reflect": one("Conv2d(4, 6, 3, padding=2, padding_mode=\"reflect\")"),
    "conv2d_replicate": one("Conv2d(4, 6, 3, padding=1, padding_mode=\"replicate\")"),
    "conv1d_unbatched": one("Conv1d(4, 2, 3, padding=1)", "x: [4, 10]"),
    "conv3d": one("Conv3d(2, 3, 3, stride=2, padding=1)", "x: [B, 2, 5, 6, 7]"),
    "conv_transpose3d": one("ConvTranspose3d(2, 3, 2, stride=2)", "x: [B, 2, 3, 4, 5]"),
    "conv_transpose2d": one("ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1)"),
    "conv_transpose1d_groups": one("ConvTranspose1d(4, 6, 3, stride=2, groups=2, dilation=2)", "x: [B, 4, 7]"),
    # ---- dense
    "linear_2d": one("Linear(4, 3)", "x: [B, 4]"),
    "linear_3d_nobias": one("Linear(4, 3, bias=false)", "x: [B, 5, 4]"),
    "conv1d_gpt2_2d": one("Conv1D(3, 4)", "x: [B, 4]"),
    "conv1d_gpt2_3d": one("Conv1D(6, 4)", "x: [B, 5, 4]"),
    "embedding": one("Embedding(10, 4)", "x: int64[B, 5]"),
    "embedding_max_norm": one("Embedding(10, 4, max_norm=1.0)", "x: int64[B, 5]"),
    # ---- normalisation
    "batchnorm2d": one("BatchNorm2d(4)"),
    "batchnorm2d_no_affine": one("BatchNorm2d(4, affine=false)"),
    "batchnorm2d_batch_stats": one("BatchNorm2d(4, track_running_stats=false)"),
    "batchnorm1d_2d": one("BatchNorm1d(4)", "x: [B, 4]"),
    "batchnorm1d_3d": one("BatchNorm1d(4, eps=0.1)", "x: [B, 4, 6]"),
    "batchnorm3d": one("BatchNorm3d(2)", "x: [B, 2, 3, 4, 5]"),
    "layernorm": one("LayerNorm([9, 9], eps=1e-3)"),
    "layernorm_no_affine": one("LayerNorm(9, elementwise_affine=false)"),
    "layernorm_no_bias": one("LayerNorm(9, bias=false)"),
    "rmsnorm": one("RMSNorm(9)"),
    "rmsnorm_eps_no_affine": one("RMSNorm([9, 9], eps=1e-2, elementwise_affine=false)"),
    "groupnorm": one("GroupNorm(2, 4)"),
    "groupnorm_no_affine": one("GroupNorm(4, 4, affine=false)", "x: [B, 4, 7]"),
    # ---- activations (layers and functions share their lowering)
    "relu": one("ReLU()"), "relu6": one("ReLU6()"), "leaky_relu": one("LeakyReLU(0.2)"),
    "elu": one("ELU(0.5)"), "gelu": one("GELU()"), "gelu_tanh": one("GELU(approximate=\"tanh\")"),
    "silu": one("SiLU()"), "mish": one("Mish()"), "hardswish": one("Hardswish()"),
    "hardsigmoid": one("Hardsigmoid()"), "sigmoid": one("Sigmoid()"), "tanh": one("Tanh()"),
    "softplus": one("Softplus(beta=2.0, threshold=1.0)"), "softmax": one("Softmax(dim=1)"),
    "log_softmax": one("LogSoftmax()"),
    "fn_relu": fn("relu(x)"), "fn_gelu": fn("gelu(x, approximate=\"tanh\")"), "fn_softmax": fn("softmax(x, dim=2)"),
    "fn_leaky_relu": fn("leaky_relu(x, 0.3)"), "fn_elu": fn("elu(x)"), "fn_silu": fn("silu(x)"),
    "fn_mish": fn("mish(x)"), "fn_hardswish": fn("hardswish(x)"), "fn_hardsigmoid": fn("hardsigmoid(x)"),
    "fn_sigmoid": fn("sigmoid(x)"), "fn_tanh": fn("tanh(x)"), "fn_softplus": fn("softplus(x)"),
    "fn_log_softmax": fn("log_softmax(x, dim=1)"), "fn_relu6": fn("relu6(x)"), "fn_gelu_erf": fn("gelu(x)"),
    # ---- pooling
    "maxpool2d": one("MaxPool2d(3, stride=2, padding=1)"),
    "maxpool2d_ceil": one("MaxPool2d(2, ceil_mode=true)"),
    "maxpool2d_dilation": one("MaxPool2d(2, stride=1, dilation=2)"),
    "maxpool2d_indices": spec("x: [B, 4, 9, 9]", "p = MaxPool2d(2, return_indices=true)", "y, i = p(x)",
                              "return y + to(i, \"float32\")"),
    "maxpool1d": one("MaxPool1d(3)", "x: [B, 4, 10]"),
    "maxpool3d": one("MaxPool3d(2)", "x: [B, 2, 4, 5, 6]"),
    "avgpool2d": one("AvgPool2d(3, stride=2, padding=1)"),
    "avgpool2d_no_pad_count": one("AvgPool2d(3, stride=2, padding=1, count_include_pad=false)"),
    "avgpool2d_ceil": one("AvgPool2d(2, ceil_mode=true)"),
    "avgpool2d_divisor": one("AvgPool2d(3, stride=2, padding=1, divisor_override=5)"),
    "avgpool1d": one("AvgPool1d(2)", "x: [B, 4, 10]"),
    "avgpool3d": one("AvgPool3d(2)", "x: [B, 2, 4, 5, 6]"),
    "fn_max_pool2d": fn("max_pool2d(x, 3, stride=2)"), "fn_avg_pool2d": fn("avg_pool2d(x, 2)"),
    "fn_avg_pool1d": fn("avg_pool1d(x, 3, stride=2, padding=1)", "x: [B, 4, 10]"),
    "fn_max_pool3d": fn("max_pool3d(x, 2)", "x: [B, 2, 4, 5, 6]"), "fn_avg_pool3d": fn("avg_pool3d(x, 2)", "x: [B, 2, 4, 5, 6]"),
    "fn_max_pool1d": fn("max_pool1d(x, 2, ceil_mode=true)", "x: [B, 4, 9]"),
    "adaptive_avg_1": one("AdaptiveAvgPool2d(1)"),
    "adaptive_avg_uneven": one("AdaptiveAvgPool2d([4, 2])"),
    "adaptive_avg_none": one("AdaptiveAvgPool2d([none, 3])"),
    "adaptive_max_uneven": one("AdaptiveMaxPool2d([2, 4])", "x: [B, 4, 8, 7]"),
    "adaptive_avg_1d": one("AdaptiveAvgPool1d(5)", "x: [B, 4, 12]"),
    "adaptive_max_3d": one("AdaptiveMaxPool3d(2)", "x: [B, 2, 4, 5, 6]"),
    "fn_adaptive_avg_pool2d": fn("adaptive_avg_pool2d(x, [3, 3])"),
    "fn_adaptive_max_pool1d": fn("adaptive_max_pool1d(x, 4)", "x: [B, 4, 12]"),
    "fn_adaptive_avg_pool1d": fn("adaptive_avg_pool1d(x, 5)", "x: [B, 4, 12]"),
    "adaptive_max_1d": one("AdaptiveMaxPool1d(1)", "x: [B, 4, T]"),
    "fn_adaptive_max_pool2d": fn("adaptive_max_pool2d(x, 1)"),
    "adaptive_avg_3d": one("AdaptiveAvgPool3d([1, 2, 3])", "x: [B, 2, 4, 5, 6]"),
    "fn_adaptive_avg_pool3d": fn("adaptive_avg_pool3d(x, 1)", "x: [B, 2, 4, 5, 6]"),
    "fn_adaptive_max_pool3d": fn("adaptive_max_pool3d(x, [2, 2, 3])", "x: [B, 2, 4, 5, 6]"),
    # ---- resampling
    "upsample_nearest": one("Upsample(scale_factor=2.0)"),
    "upsample_nearest_size": one("Upsample(size=[5, 14])"),
    "upsample_nearest_exact": one("Upsample(size=[13, 5], mode=\"nearest-exact\")"),
    "upsample_bilinear": one("Upsample(scale_factor=2.0, mode=\"bilinear\")"),
    "upsample_bilinear_corners": one("Upsample(size=[12, 7], mode=\"bilinear\", align_corners=true)"),
    "upsample_bicubic": one("Upsample(scale_factor=1.5, mode=\"bicubic\")"),
    "upsample_linear": one("Upsample(scale_factor=2.0, mode=\"linear\")", "x: [B, 4, 9]"),
    "upsample_trilinear": one("Upsample(scale_factor=2.0, mode=\"trilinear\")", "x: [B, 2, 3, 4, 5]"),
    "interpolate_area": fn("interpolate(x, size=[3, 4], mode=\"area\")"),
    "interpolate_recompute": fn("interpolate(x, scale_factor=1.5, mode=\"bilinear\", recompute_scale_factor=true)"),
    "pixel_shuffle": one("PixelShuffle(2)", "x: [B, 8, 3, 5]"),
    "pixel_unshuffle": one("PixelUnshuffle(3)"),
    # ---- shapes
    "flatten_layer": one("Flatten()"), "flatten_mid": fn("flatten(x, 1, 2)"), "flatten_all": fn("flatten(x)"),
    "unflatten": one("Unflatten(1, [2, 2])"),
    "reshape": fn("x.reshape([B, -1, 3])"), "reshape_batch_merge": fn("x.reshape([-1, 9])"),
    "view": fn("x.view([B, 36, 9])"), "permute": fn("x.permute([0, 2, 3, 1])"),
    "transpose": fn("x.transpose(1, -1)"), "unsqueeze": fn("x.unsqueeze(-1)"),
    "squeeze": fn("x.squeeze()", "x: [2, 1, 4, 1]"), "squeeze_dim": fn("x.squeeze(1)", "x: [B, 1, 4, 1]"),
    "expand": fn("x.expand([B, 3, 4])", "x: [B, 1, 4]"), "expand_new": fn("x.expand([2, B, 5, 4])", "x: [B, 1, 4]"),
    "contiguous": fn("x.contiguous() + 1"), "clone": fn("clone(x) * 2"), "to_double": fn("to(x, \"float64\")"),
    "to_int": fn("to(x * 10, \"int64\")"),
    "cat": fn("cat([x, relu(x)], dim=1)"), "stack": fn("stack([x, x * 2], dim=-1)"),
    "split": spec("x: [B, 6, 5]", "a, b = x.split([2, 4], dim=1)", "return b.sum(dim=1) + a.sum(dim=1)"),
    "split_even": spec("x: [B, 6, 5]", "a, b, c = x.split(2, dim=1)", "return a * b + c"),
    "chunk": spec("x: [B, 6, 5]", "a, b = x.chunk(2, dim=1)", "return a - b"),
    "unbind": spec("x: [B, 3, 5]", "a, b, c = unbind(x, dim=1)", "return a + b * c"),
    "getitem": fn("x[:, 1, none, ..., 1:7:2]"),
    "getitem_negative": fn("x[..., -1, -3:]"),
    "getitem_symbolic": fn("x[:, :, 1:T]", "x: [B, 4, T]"),
    "rearrange_merge": fn("rearrange(x, \"b c h w -> b (h w) c\")"),
    "rearrange_split": fn("rearrange(x, \"b (h w) c -> b c h w\", h=3)", "x: [B, 12, 5]"),
    "rearrange_ellipsis": fn("rearrange(x, \"b ... c -> b c ...\")"),
    "rearrange_symbolic": fn("rearrange(x, \"b t (h d) -> b h t d\", h=2)", "x: [B, T, 8]"),
    # ---- reductions
    "mean": fn("x.mean(dim=[2, 3])"), "mean_keep": fn("x.mean(dim=1, keepdim=true)"),
    "sum_all": fn("x.sum()"), "amax": fn("amax(x, dim=-1)"), "amin": fn("amin(x, dim=[1, 2], keepdim=true)"),
    "sum_int": fn("sum(x, dim=1)", "x: int64[B, 4]"),
    # ---- elementwise
    "add_alpha": fn("add(x, relu(x), alpha=2)"), "sub_alpha": fn("sub(x, y, alpha=3)", "x: [B, 4]; y: [4]"),
    "mul_broadcast": fn("x * y", "x: [B, 4, 1]; y: [3]"), "div": fn("x / 3"),
    "div_floor": fn("div(x, y, rounding_mode=\"floor\")", "x: [B, 4]; y: [4]"), "div_trunc": fn("div(x, y, rounding_mode=\"trunc\")", "x: [B, 4]; y: [4]"),
    "div_int_floor": fn("div(x, y, rounding_mode=\"floor\")", "x: int64[B, 4]; y: int64[4]"),
    "div_int_true": fn("x / y", "x: int64[B, 4]; y: int64[4]"),
    "pow": fn("pow(abs(x), y)", "x: [B, 4]; y: [4]"), "maximum": fn("maximum(x, y)", "x: [B, 4]; y: [4]"), "minimum": fn("minimum(x, y)", "x: [B, 4]; y: [B, 4]"),
    "where": fn("where(m, x, y)", "x: [B, 4]; m: bool[B, 4]; y: [4]"),
    "exp": fn("exp(x)"), "log": fn("log(abs(x) + 1)"), "sqrt": fn("sqrt(abs(x))"), "rsqrt": fn("rsqrt(abs(x) + 1)"),
    "sin": fn("sin(x)"), "cos": fn("cos(x)"), "erf": fn("erf(x)"), "reciprocal": fn("reciprocal(x + 10)"),
    "neg": fn("-x"), "abs": fn("abs(x)"), "square": fn("square(x)"), "exp_int": fn("exp(x)", "x: int64[B, 3]"),
    # ---- products
    "matmul": fn("matmul(x, y)", "x: [B, 5, 4]; y: [4, 3]"), "matmul_vec": fn("matmul(x, y)", "x: [B, 5, 4]; y: [4]"),
    "mm": fn("mm(x, y)", "x: [B, 4]; y: [4, 3]"), "bmm": fn("bmm(x, y)", "x: [B, 5, 4]; y: [B, 4, 3]"),
    "einsum": fn("einsum(\"bij,jk->bik\", [x, y])", "x: [B, 5, 4]; y: [4, 3]"),
    # ---- creation
    "const": fn("x + const(2.5)", "x: [B, 4]"), "arange": fn("x + to(arange(T), \"float32\")", "x: [B, T]"),
    "arange_concrete": fn("x + to(arange(4), \"float32\")", "x: [B, 4]"),
    "zeros": fn("x + zeros([B, 4])", "x: [B, 4]"), "ones": fn("x * ones([4], dtype=\"float32\")", "x: [B, 4]"),
    # ---- movement, comparison, selection (issue 14)
    "roll": fn("x.roll(2, 1) + roll(x, [-1, 3], [2, 3])"), "roll_flat": fn("roll(x, 5)", "x: [B, 3, 4]"),
    "roll_symbolic": fn("x.roll(-2, 1)", "x: [B, T, 3]"), "flip": fn("x.flip([1, 3])"),
    "tril": fn("tril(x) + triu(x, 1) * 2 + tril(x, -1) * 3"), "triu_int": fn("triu(x, -1)", "x: int64[B, 4, 5]"),
    "cumsum": fn("x.cumsum(2)"), "cumsum_int": fn("cumsum(x, 1)", "x: int64[B, 4]"),
    "cumsum_bool": fn("cumsum(x > 0, 1, dtype=\"float32\")", "x: [B, 4]"),
    "compare_ops": fn("cat([x > y, x <= y, x == x, x != y, x < 0.5, 0 >= x], dim=1)", "x: [B, 4]; y: [4]"),
    "compare_fns": fn("cat([eq(x, y), not_equal(x, y), less(x, y), less_equal(x, y), greater(x, y), "
                      "greater_equal(x, y)], dim=1)", "x: int64[B, 4]; y: int64[B, 4]"),
    "compare_bool": fn("cat([m < n, m >= n, m == n], dim=1)", "m: bool[B, 4]; n: bool[B, 4]"),
    "logical": fn("logical_or(logical_and(m, x > 0), logical_not(m))", "x: [B, 4]; m: bool[B, 4]"),
    "masked_fill": fn("masked_fill(x, m, -2.5)", "x: [B, 4]; m: bool[4]"),
    "masked_fill_int": fn("x.masked_fill(x > 5, 0)", "x: int64[B, 4]"),
    "where_compare": fn("where(x > y, x, y)", "x: [B, 4]; y: [B, 4]"),
    "index_table": fn("table[idx]", "table: [12, 4]; idx: int64[B, 3]"),
    "index_axis": fn("x[:, :, idx]", "x: [B, 3, 12]; idx: int64[2, 2]"),
    "index_ellipsis_none": fn("x[none, ..., idx, :]", "x: [B, 12, 5]; idx: int64[3]"),
    "index_negative": fn("table[idx * -1]", "table: [12, 4]; idx: int64[B, 3]"),
    "index_tensor_fn": fn("index_tensor(x, idx, dim=1)", "x: [B, 12]; idx: int64[4]"),
    "gather": spec("x: [B, 5, 6]", "s, i = x.sort(dim=2)", "return x.gather(2, i[:, :, :3]) + s[:, :, :3]"),
    "index_select": fn("index_select(x, 1, arange(1, 9, 3)) + x.index_select(1, idx)", "x: [B, 12]; idx: int64[3]"),
    "topk": spec("x: [B, 5, 6]", "v, i = x.topk(3)", "return v * 2, i"),
    "topk_smallest_dim": spec("x: [B, 5, 6]", "v, i = topk(x, 2, dim=1, largest=false)", "return v + 1, i"),
    "topk_symbolic": spec("x: [B, T]", "v, i = x.topk(2)", "return v + 1, i"),
    "sort": spec("x: [B, 5, 6]", "v, i = x.sort()", "return v * 2, i"),
    "sort_descending": spec("x: [B, T, 3]", "v, i = x.sort(dim=1, descending=true)", "return v + 1, i"),
    "argmax": fn("cat([x.argmax(dim=1), argmin(x, dim=-1)], dim=1)", "x: [B, 5, 6]"),
    "argmax_flat": spec("x: [B, 5]", "a = x.argmax()", "b = x.argmin(keepdim=true)", "return a, b"),
    "argmax_keep": fn("x.argmax(dim=0, keepdim=true)", "x: [B, 5]"),
    "slice_reversed": fn("x[:, ::-1, 6:1:-2, ::-3]"), "slice_reversed_symbolic": fn("x[:, ::-1, -2::-2]", "x: [B, T, 4]"),
    "arange_step": fn("x + to(arange(2, 14, 3), \"float32\")", "x: [B, 4]"),
    "arange_symbolic_step": fn("x + to(arange(1, T * 2, 2), \"float32\")", "x: [B, T]"),
    "arange_negative_step": fn("x + to(arange(T, 0, -1), \"float32\")", "x: [B, T]"),
    # ---- attention
    "sdpa": fn("scaled_dot_product_attention(q, k, v)", "q: [B, 2, 5, 8]; k: [B, 2, 7, 8]; v: [B, 2, 7, 6]"),
    "sdpa_causal": fn("scaled_dot_product_attention(q, k, v, is_causal=true)", "q: [B, 2, T, 8]; k: [B, 2, T, 8]; v: [B, 2, T, 8]"),
    "sdpa_symbolic_embedding": fn("scaled_dot_product_attention(q, k, v)", "q: [B, 5, T]; k: [B, 7, T]; v: [B, 7, 4]"),
    "sdpa_bool_mask": fn("scaled_dot_product_attention(q, k, v, m)", "q: [B, 5, 8]; k: [B, 7, 8]; v: [B, 7, 8]; m: bool[5, 7]"),
    "sdpa_float_mask_scale": fn("scaled_dot_product_attention(q, k, v, m, scale=0.3)", "q: [B, 5, 8]; k: [B, 7, 8]; v: [B, 7, 8]; m: [B, 5, 7]"),
    "sdpa_gqa": fn("scaled_dot_product_attention(q, k, v, enable_gqa=true)", "q: [B, 4, 5, 8]; k: [B, 2, 5, 8]; v: [B, 2, 5, 8]"),
    "mha_self": spec("x: [B, T, 8]", "a = MultiheadAttention(8, 2)", "return a(x, x, x)"),
    "mha_cross_nobias": spec("x: [B, 5, 8]; y: [B, 7, 8]", "a = MultiheadAttention(8, 4, bias=false)", "return a(x, y, y)"),
    "mha_kdim_vdim": spec("x: [B, 5, 8]; k: [B, 7, 6]; v: [B, 7, 3]", "a = MultiheadAttention(8, 2, kdim=6, vdim=3)",
                          "return a(x, k, v)"),
    "mha_seq_first": spec("x: [5, B, 8]", "a = MultiheadAttention(8, 2, batch_first=false)", "return a(x, x, x)"),
    "mha_unbatched": spec("x: [5, 8]", "a = MultiheadAttention(8, 2)", "return a(x, x, x)"),
    "mha_masks": spec("x: [B, 5, 8]; pad: bool[B, 5]; drop: bool[5, 5]", "a = MultiheadAttention(8, 2)",
                      "return a(x, x, x, pad, drop)"),
    "mha_float_masks_3d": spec("x: [2, 5, 8]; p: [2, 5]; m: [4, 5, 5]", "a = MultiheadAttention(8, 2)", "return a(x, x, x, p, m)"),
    "mha_bias_kv_zero_attn": spec("x: [B, 5, 8]", "a = MultiheadAttention(8, 2, add_bias_kv=true, add_zero_attn=true)",
                                  "return a(x, x, x)"),
    # ---- state space, MoE, NAS, misc
    "selective_scan": spec(
        "u: [B, 4, T]; dt: [B, 4, T]; a: [4, 3]; bm: [B, 3, T]; cm: [B, 3, T]; d: [4]; z: [B, 4, T]; bias: [4]",
        "return selective_scan(u, dt, -exp(a), bm, cm, d, z, bias, delta_softplus=true)"),
    "selective_scan_plain": fn("selective_scan(u, abs(dt), -exp(a), bm, cm)",
                               "u: [B, 4, T]; dt: [B, 4, T]; a: [4, 3]; bm: [B, 3, T]; cm: [B, 3, T]"),
    "topk_gate": fn("topk_gate(x, k=2)", "x: [B, 5, 6]"),
    "mix": fn("mix(g, [x, x * 2, relu(x)])", "g: [B, 5, 3]; x: [B, 5, 4]"),
    "zero": one("Zero()"), "zero_stride": one("Zero(stride=2)"),
    "identity": spec("x: [B, 4]", "l = Identity()", "return l(x) + 1"),
    "dropout": spec("x: [B, 4]", "l = Dropout(0.3)", "return l(x) + 1"),
    "dropout2d": spec("x: [B, 4, 3, 3]", "l = Dropout2d(0.3)", "return l(x) + 1"),
    "fn_dropout": fn("dropout(x, 0.0) + 1", "x: [B, 4]"),
    "parameter": spec("x: [B, 3, 4]", "p = Parameter([3, 4])", "return x + p()"),
    "buffer": spec("x: [B, 3, 4]", "b = Buffer(tensor([[1.0, 2.0, 3.0, 4.0]]) * tensor([[1.0], [2.0], [3.0]]))",
                   "return x + b()"),
    "buffer_not_saved": spec("x: [B, 6]", "idx = Buffer(flip(tensor(range(6)), dims=[0]), persistent=false)",
                             "return x[:, idx()]"),
    "parameter_init": spec("x: [B, 2, 2]", "p = Parameter(init=tensor([[1.0, 2.0], [3.0, 4.0]]))", "return x * p()"),
}

# cases at other opsets: what changed across opsets (reduction axes, Resize axes, Gelu, Pad wrap)
OPSETS = {"conv2d_circular": 19, "opset17_resize_size": 17, "opset17_reductions": 17, "opset21_gelu": 21}
CASES["conv2d_circular"] = one("Conv2d(4, 6, 3, padding=1, padding_mode=\"circular\")")
CASES["opset17_resize_size"] = one("Upsample(size=[5, 14], mode=\"bilinear\")")
CASES["opset17_reductions"] = fn("amax(x, dim=1) + x.mean(dim=1) + amin(x, dim=1) + x.sum(dim=1)")
CASES["opset21_gelu"] = fn("gelu(x) + gelu(x, approximate=\"tanh\")")


def randomised_weights(module) -> dict:
    """Every float tensor random (variances positive), so no parameter hides behind a default."""
    gen = torch.Generator().manual_seed(0)
    state = {}
    for key, value in module.state_dict().items():
        if value.is_floating_point():
            value = torch.randn(value.shape, generator=gen)
            if key.endswith("running_var"):
                value = value.abs() + 0.5
        state[key] = value
    module.load_state_dict(state)
    return state


def example(graph, batch: int, length: int = 6) -> dict:
    rng = np.random.default_rng(1)
    feeds = {}
    for node in graph.input_nodes:
        sizes = {"B": batch, "T": length}
        shape = tuple(d if isinstance(d, int) else sizes[str(d)] for d in node.type.shape)
        if node.type.dtype == "int64":
            feeds[node.target] = rng.integers(1, 10, shape).astype(np.int64)
        elif node.type.dtype == "bool":  # never a fully masked row (softmax of nothing is NaN)
            drops = node.target in ("pad", "drop")  # MultiheadAttention: True masks out
            mask = rng.random(shape) > (0.7 if drops else 0.3)
            mask[..., 0] = not drops
            feeds[node.target] = mask
        else:
            feeds[node.target] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def run_both(text: str, opset: int | None = None, batch: int = 2):
    model = archlang.api.elaborate(text)
    module = archlang.to_torch(text, seed=0).eval()
    state = randomised_weights(module)
    proto = archlang.to_onnx(text, weights=state, opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    feeds = example(model.graph, batch)
    with torch.no_grad():
        expected = module(*(torch.from_numpy(feeds[n.target]) for n in model.graph.input_nodes))
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, feeds)
    expected = [expected] if isinstance(expected, torch.Tensor) else list(expected)
    return [e.numpy() for e in expected], got


def assert_close(expected: np.ndarray, got: np.ndarray) -> None:
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype or (got.dtype.kind == expected.dtype.kind)
    if expected.dtype.kind in "iub":
        np.testing.assert_array_equal(got, expected)
        return
    tolerance = 1e-4 * max(1.0, float(np.abs(expected).max()))
    assert float(np.abs(got - expected).max()) <= tolerance


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_matches_torch(case):
    expected, got = run_both(CASES[case], OPSETS.get(case))
    assert len(expected) == len(got)
    for e, g in zip(expected, got):
        assert_close(e, g)


def test_every_registry_op_has_a_lowering():
    assert missing() == []


def test_every_registry_op_is_exercised_by_a_case():
    from archlang.ops import REGISTRY

    text = "\n".join(CASES.values())
    unexercised = [op for op in REGISTRY if op + "(" not in text and f".{op}(" not in text
                   and not (op in ("getitem",) and "[" in text) and op not in ("item", "neg", "view")]
    assert unexercised == []


def test_circular_padding_before_opset_19_is_a_located_error():
    with pytest.raises(ArchError) as info:
        archlang.to_onnx(CASES["conv2d_circular"], seed=0, opset=18)
    assert "circular" in info.value.message and info.value.span.line == 4
