"""Lowerings of attention: ``scaled_dot_product_attention`` and ``MultiheadAttention``, both
decomposed into MatMul → Softmax → MatMul.

Masks become additive (-inf where a position may not attend): the causal mask is
``Trilu(upper, k=1)`` of a -inf matrix of the (possibly symbolic) size [L, S]; a boolean
sdpa mask keeps True positions, a boolean MultiheadAttention mask drops them (as in torch).
MultiheadAttention reads torch's parameters (``in_proj_weight`` packed [3E, E] or separate
q/k/v weights, ``out_proj.weight``): self-attention on one tensor projects q, k and v with
one MatMul and a Split.  Dropout is inference-time identity.

Imports onnx (tensor attributes) and this package's ``call``; never another backend.
"""

from __future__ import annotations

import math

from onnx import TensorProto, helper

from .call import Call, cast, expand_shape, float_scalar, reshape, squeeze, unsqueeze


def _swap_last(rank: int) -> list[int]:
    return list(range(rank - 2)) + [rank - 1, rank - 2]


def attend(g, q: str, k: str, v: str, rank: int, scale, dtype: str, mask: str | None = None,
           causal: tuple | None = None) -> str:
    """softmax(q·kᵀ·scale + mask) · v on tensors of equal rank; ``scale`` is a number or a
    scalar tensor computed in-graph."""
    factor = float_scalar(g, scale, dtype) if isinstance(scale, (int, float)) else scale
    scores = g.op("MatMul", [g.op("Mul", [q, factor]), g.op("Transpose", [k], perm=_swap_last(rank))])
    if causal is not None:
        scores = g.op("Add", [scores, causal_mask(g, *causal)])
    if mask is not None:
        scores = g.op("Add", [scores, mask])
    return g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])


def causal_mask(g, length, source) -> str:
    """[L, S]: 0 on and below the diagonal, -inf above it (torch's top-left causal mask)."""
    fill = helper.make_tensor("value", TensorProto.FLOAT, [1], [-math.inf])
    full = g.op("ConstantOfShape", [g.ints([length, source])], value=fill)
    return g.op("Trilu", [full, g.const(1)], upper=1)


def additive(g, mask: str, mask_dtype: str, dtype: str, keep_true: bool) -> str:
    """A boolean mask as 0 / -inf (True keeps when ``keep_true``); a float mask as is."""
    if mask_dtype != "bool":
        return cast(g, mask, mask_dtype, dtype)
    zero, minus = float_scalar(g, 0.0, dtype), float_scalar(g, -math.inf, dtype)
    return g.op("Where", [mask, zero, minus] if keep_true else [mask, minus, zero])


# ---------------------------------------------------------------------------- sdpa


def _default_scale(g, embedding, dtype: str):
    """1/√E: a number, or computed in-graph when E is symbolic."""
    if type(embedding) is int:
        return 1.0 / math.sqrt(embedding)
    size = cast(g, squeeze(g, g.sizes.dim(embedding), [0]), "int64", dtype if dtype != "bfloat16" else "float32")
    scale = g.op("Reciprocal", [g.op("Sqrt", [size])])
    return cast(g, scale, "float32", dtype) if dtype == "bfloat16" else scale


def _sdpa(g, c: Call) -> str:
    """MatMul(q·scale, kᵀ), Add of the mask (a bool mask becomes 0/−inf; is_causal a Trilu mask), Softmax, MatMul with v."""
    q, k, v, mask = c.inputs
    tq, tk, tv, tm = c.types
    if c.attrs["enable_gqa"] and tq.rank >= 3:
        k, v = _repeat_heads(g, k, tk, tq), _repeat_heads(g, v, tv, tq)
    scale = c.attrs["scale"]
    if scale is None:
        scale = _default_scale(g, tq.shape[-1], c.out.dtype)
    rank = max(tq.rank, tk.rank)
    extra = additive(g, mask, tm.dtype, c.out.dtype, keep_true=True) if mask is not None else None
    causal = (tq.shape[-2], tk.shape[-2]) if c.attrs["is_causal"] else None
    return attend(g, q, k, v, rank, scale, c.out.dtype, extra, causal)


def _repeat_heads(g, x: str, t, tq) -> str:
    """[..., Hk, S, E] -> [..., Hq, S, E], each head repeated Hq/Hk times (repeat_interleave)."""
    hq, hk = tq.shape[-3], t.shape[-3]
    if hq == hk:
        return x
    group = hq // hk
    nb = t.rank - 3
    with_axis = t.shape[:nb + 1] + (1,) + t.shape[nb + 1:]
    wide = t.shape[:nb + 1] + (group,) + t.shape[nb + 1:]
    y = unsqueeze(g, x, [nb + 1])
    y = g.op("Expand", [y, g.ints(expand_shape(with_axis, wide))])
    return reshape(g, y, wide, t.shape[:nb] + (hq,) + t.shape[nb + 1:])


# ---------------------------------------------------------------------------- MultiheadAttention


def _mha(g, c: Call) -> str:
    """the in-projections (MatMul, Add), heads split by Reshape/Transpose, attention as for scaled_dot_product_attention, the out-projection."""
    a = c.attrs
    query, key, value, padding, attn_mask = c.inputs
    tq = c.types[0]
    unbatched = tq.rank == 2
    seq_first = not unbatched and not a["batch_first"]
    q_in, k_in, v_in = (_to_batch_first(g, x, unbatched, seq_first) for x in (query, key, value))
    q, k, v = _project(g, c, q_in, k_in, v_in, query == key == value)
    E, heads = a["embed_dim"], a["num_heads"]
    head_dim = E // heads
    dtype = c.out.dtype
    mask = _mha_mask(g, c, padding, attn_mask, heads)
    if a["add_bias_kv"]:
        k, v = _append_bias_kv(g, c, k, v)
        mask = _pad_keys(g, mask, 4)
    q, k, v = (_split_heads(g, x, heads, head_dim) for x in (q, k, v))
    if a["add_zero_attn"]:
        k, v = (_append_zeros(g, c, x, heads, head_dim) for x in (k, v))
        mask = _pad_keys(g, mask, 4)
    out = attend(g, q, k, v, 4, 1.0 / math.sqrt(head_dim), dtype, mask)
    out = g.op("Reshape", [g.op("Transpose", [out], perm=[0, 2, 1, 3]), g.const([0, 0, E])])
    out = g.op("Add", [g.op("MatMul", [out, g.op("Transpose", [c.param("out_proj.weight")], perm=[1, 0])]),
                       c.param("out_proj.bias")]) if a["bias"] else \
        g.op("MatMul", [out, g.op("Transpose", [c.param("out_proj.weight")], perm=[1, 0])])
    if unbatched:
        return squeeze(g, out, [0])
    return g.op("Transpose", [out], perm=[1, 0, 2]) if seq_first else out


def _to_batch_first(g, x: str, unbatched: bool, seq_first: bool) -> str:
    if unbatched:
        return unsqueeze(g, x, [0])
    return g.op("Transpose", [x], perm=[1, 0, 2]) if seq_first else x


def _project(g, c: Call, q: str, k: str, v: str, same: bool) -> tuple[str, str, str]:
    a = c.attrs
    E = a["embed_dim"]
    bias = c.param("in_proj_bias") if a["bias"] else None
    packed = (a["kdim"] in (None, E)) and (a["vdim"] in (None, E))
    if packed and same:
        qkv = g.op("MatMul", [q, g.op("Transpose", [c.param("in_proj_weight")], perm=[1, 0])])
        if bias:
            qkv = g.op("Add", [qkv, bias])
        return tuple(g.op("Split", [qkv, g.const([E, E, E])], outputs=3, axis=-1))
    out = []
    for i, (x, name) in enumerate(((q, "q_proj_weight"), (k, "k_proj_weight"), (v, "v_proj_weight"))):
        if packed:
            weight = g.op("Slice", [c.param("in_proj_weight"), g.const([i * E]), g.const([(i + 1) * E]), g.const([0])])
        else:
            weight = c.param(name)
        y = g.op("MatMul", [x, g.op("Transpose", [weight], perm=[1, 0])])
        if bias:
            y = g.op("Add", [y, g.op("Slice", [bias, g.const([i * E]), g.const([(i + 1) * E]), g.const([0])])])
        out.append(y)
    return tuple(out)


def _split_heads(g, x: str, heads: int, head_dim: int) -> str:
    """[N, L, E] -> [N, heads, L, head_dim]."""
    return g.op("Transpose", [g.op("Reshape", [x, g.const([0, 0, heads, head_dim])])], perm=[0, 2, 1, 3])


def _mha_mask(g, c: Call, padding, attn_mask, heads: int):
    """One additive mask broadcastable to [N, heads, L, S] (torch: True means masked out)."""
    dtype = c.out.dtype
    mask = None
    if attn_mask is not None:
        tm = c.types[4]
        mask = additive(g, attn_mask, tm.dtype, dtype, keep_true=False)
        if tm.rank == 3:  # [N·heads, L, S]
            mask = g.op("Reshape", [mask, g.ints([-1, heads, tm.shape[1], tm.shape[2]])])
    if padding is not None:
        tp = c.types[3]
        pad = additive(g, padding, tp.dtype, dtype, keep_true=False)
        pad = unsqueeze(g, pad, [1, 2] if tp.rank == 2 else [0, 1])  # [N, 1, 1, S]
        mask = pad if mask is None else g.op("Add", [mask, pad])
    return mask


def _pad_keys(g, mask, rank: int):
    """One more key position (a bias or zero key), never masked."""
    if mask is None:
        return None
    return g.op("Pad", [mask, g.const([0] * (2 * rank - 1) + [1])])


def _append_bias_kv(g, c: Call, k: str, v: str) -> tuple[str, str]:
    tq = c.types[0]
    batch = 1 if tq.rank == 2 else tq.shape[0] if c.attrs["batch_first"] else tq.shape[1]
    E = c.attrs["embed_dim"]
    out = []
    for x, name in ((k, "bias_k"), (v, "bias_v")):
        row = g.op("Expand", [c.param(name), g.ints([batch, 1, E])])
        out.append(g.op("Concat", [x, row], axis=1))
    return out[0], out[1]


def _append_zeros(g, c: Call, x: str, heads: int, head_dim: int) -> str:
    zeros = g.op("Mul", [g.op("Slice", [x, g.const([0]), g.const([1]), g.const([2])]), float_scalar(g, 0.0, c.out.dtype)])
    return g.op("Concat", [x, zeros], axis=2)


def lowerings() -> dict:
    return {"scaled_dot_product_attention": _sdpa, "MultiheadAttention": _mha}
