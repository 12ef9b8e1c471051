"""Attention: scaled_dot_product_attention (function) and MultiheadAttention (layer).

sdpa maps ``[..., L, E] x [..., S, E] x [..., S, Ev] -> [..., L, Ev]`` at a cost of
``batch * L * S * (E + Ev)`` MACs (QK^T plus AV).  MultiheadAttention returns only the
attention output; its parameters follow torch's state dict (in_proj_weight, in_proj_bias,
out_proj.weight, out_proj.bias).  Unlike torch, ``batch_first`` defaults to True here.

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ir.types import ParamSpec
from archlang.ops._shape import (
    broadcast,
    check_min_rank,
    check_rank,
    divide,
    expect_equal,
    fail,
    numel,
    require_float,
    shape_str,
    tensor,
)
from archlang.ops._spec import Attr, OpSpec

TITLE = "Attention"  # of this family in the op reference (docs/ops.md)

# --------------------------------------------------------------------------- sdpa


def _sdpa_parts(a: dict, q, k, v):
    """(batch, L, S, E, Ev) after checking q/k/v agree."""
    for name, t in (("query", q), ("key", k), ("value", v)):
        check_min_rank(t, 2, "scaled_dot_product_attention", name)
        require_float(t, "scaled_dot_product_attention", name)
    (L, E), (S, Ek), (Sv, Ev) = q.shape[-2:], k.shape[-2:], v.shape[-2:]
    expect_equal(Ek, E, lambda: f"scaled_dot_product_attention: query {q} and key {k} differ in embedding size", "key")
    expect_equal(Sv, S, lambda: f"scaled_dot_product_attention: key {k} and value {v} differ in length", "value")
    kb, vb = _gqa_batch(a, q, k), _gqa_batch(a, q, v)
    batch = broadcast(broadcast(q.shape[:-2], kb, "key"), vb, "value")
    return batch, L, S, E, Ev


def _gqa_batch(a: dict, q, t) -> tuple:
    """Batch dims of key/value; with enable_gqa their head count only has to divide q's."""
    if not a.get("enable_gqa") or q.rank < 3 or t.rank < 3:
        return t.shape[:-2]
    hq, ht = q.shape[-3], t.shape[-3]
    divide(hq, ht, lambda: f"scaled_dot_product_attention: {dims.to_str(hq)} query heads are not a "
           f"multiple of {dims.to_str(ht)} key/value heads", "key")
    return t.shape[:-3] + (hq,)


def _sdpa_infer(a: dict, inputs: list):
    q, k, v, mask = inputs
    batch, L, S, _, Ev = _sdpa_parts(a, q, k, v)
    if mask is not None:
        if a["is_causal"]:
            fail("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both", "attn_mask")
        _check_mask(mask, batch + (L, S))
    return tensor(q.dtype, batch + (L, Ev))


def _check_mask(mask, scores: tuple) -> None:
    """attn_mask must broadcast to the attention scores [..., L, S] without growing them."""
    message = lambda: (f"scaled_dot_product_attention: attn_mask {mask} does not broadcast to the "  # noqa: E731
                       f"scores {shape_str(scores)}")
    if mask.rank > len(scores):
        fail(message(), "attn_mask")
    for m, want in zip(reversed(mask.shape), reversed(scores)):
        if m != 1:
            expect_equal(m, want, message, "attn_mask")


def _sdpa_macs(a: dict, inputs: list, output):
    batch, L, S, E, Ev = _sdpa_parts(a, *inputs[:3])
    return numel(batch) * L * S * (E + Ev)


# --------------------------------------------------------------------------- MultiheadAttention


def _mha_dims(a: dict, inputs: list):
    """Check shapes; return (N, L, S) with N == 1 for unbatched inputs."""
    q, k, v = inputs[:3]
    _mha_features(a, q, k, v)
    return _mha_lengths(a, q, k, v)


def _mha_features(a: dict, q, k, v) -> None:
    """Ranks agree and the last dims are embed_dim, kdim and vdim."""
    E = a["embed_dim"]
    divide(E, a["num_heads"], lambda: f"MultiheadAttention: embed_dim {dims.to_str(E)} is not divisible "
           f"by num_heads {dims.to_str(a['num_heads'])}", "num_heads")
    check_rank(q, (2, 3), "MultiheadAttention", "(L, E) or batched (N, L, E)", "query")
    for name, t in (("key", k), ("value", v)):
        if t.rank != q.rank:
            fail(f"MultiheadAttention: {name} {t} and query {q} must have the same rank", name)
    for name, t, want in (("query", q, E), ("key", k, _kdim(a)), ("value", v, _vdim(a))):
        require_float(t, "MultiheadAttention", name)
        expect_equal(t.shape[-1], want, lambda: f"MultiheadAttention expects {name} size "
                     f"{dims.to_str(want)} in the last dim, got {name} {t}", name)


def _mha_lengths(a: dict, q, k, v) -> tuple:
    """(N, L, S): batch from the batch axis (batch_first picks it), lengths from the other."""
    if q.rank == 2:
        N, b, s = 1, None, 0
    else:
        b, s = (0, 1) if a["batch_first"] else (1, 0)
        N = q.shape[b]
    for name, t in (("key", k), ("value", v)):
        if b is not None:
            expect_equal(t.shape[b], N, lambda: f"MultiheadAttention: {name} {t} and query {q} differ in batch size",
                         name)
    S = k.shape[s]
    expect_equal(v.shape[s], S, lambda: f"MultiheadAttention: key {k} and value {v} differ in length", "value")
    return N, q.shape[s], S


def _kdim(a: dict):
    return a["embed_dim"] if a["kdim"] is None else a["kdim"]


def _vdim(a: dict):
    return a["embed_dim"] if a["vdim"] is None else a["vdim"]


def _mha_infer(a: dict, inputs: list):
    _mha_dims(a, inputs)
    q = inputs[0]
    return tensor(q.dtype, q.shape)


def _mha_params(a: dict) -> list[ParamSpec]:
    E, kd, vd = a["embed_dim"], _kdim(a), _vdim(a)
    if kd == E and vd == E:
        out = [ParamSpec(name="in_proj_weight", shape=(3 * E, E))]
    else:
        out = [ParamSpec(name=n, shape=(E, d)) for n, d in (("q_proj_weight", E), ("k_proj_weight", kd), ("v_proj_weight", vd))]
    if a["bias"]:
        out.append(ParamSpec(name="in_proj_bias", shape=(3 * E,)))
    if a["add_bias_kv"]:
        out += [ParamSpec(name="bias_k", shape=(1, 1, E)), ParamSpec(name="bias_v", shape=(1, 1, E))]
    out.append(ParamSpec(name="out_proj.weight", shape=(E, E)))
    if a["bias"]:
        out.append(ParamSpec(name="out_proj.bias", shape=(E,)))
    return out


def _mha_macs(a: dict, inputs: list, output):
    N, L, S = _mha_dims(a, inputs)
    E = a["embed_dim"]
    projections = N * L * E * E + N * S * E * (_kdim(a) + _vdim(a)) + N * L * E * E
    S_att = S + int(a["add_bias_kv"]) + int(a["add_zero_attn"])
    return projections + N * L * S_att * 2 * E  # QK^T and AV over all heads


_MHA_ATTRS = (
    Attr("embed_dim", "int"), Attr("num_heads", "int"), Attr("dropout", "float", 0.0),
    Attr("bias", "bool", True), Attr("add_bias_kv", "bool", False), Attr("add_zero_attn", "bool", False),
    Attr("kdim", "int?", None), Attr("vdim", "int?", None), Attr("batch_first", "bool", True),
)

_SDPA_ATTRS = (
    Attr("dropout_p", "float", 0.0), Attr("is_causal", "bool", False), Attr("scale", "float?", None),
    Attr("enable_gqa", "bool", False),
)

OPS = [
    OpSpec("scaled_dot_product_attention", "function", _SDPA_ATTRS, ("query", "key", "value", "attn_mask?"),
           _sdpa_infer, macs=_sdpa_macs, doc="torch.nn.functional.scaled_dot_product_attention",
           shape_rule="query [..., L, E], key [..., S, E], value [..., S, Ev] (batch dims broadcast; with enable_gqa "
                      "the query heads a multiple of the key heads); out: [..., L, Ev]; attn_mask broadcasts to "
                      "[..., L, S]",
           macs_rule="batch × L × S × (E + Ev): QKᵀ and the weighted sum of values"),
    OpSpec("MultiheadAttention", "layer", _MHA_ATTRS, ("query", "key", "value", "key_padding_mask?", "attn_mask?"),
           _mha_infer, _mha_params, _mha_macs, doc="torch.nn.MultiheadAttention (batch_first defaults to True; "
                                                   "returns the attention output only)",
           shape_rule="query [N, L, E] (E = embed_dim, divisible by num_heads), key [N, S, kdim], value [N, S, vdim] "
                      "(unbatched: without N; batch_first=false: L/S first); out: the query's shape",
           macs_rule="the four projections (N·L·E² for q and out, N·S·E·(kdim + vdim) for k and v) plus "
                     "N·L·S'·2E for attention, S' counting the bias_kv and zero_attn positions"),
]
