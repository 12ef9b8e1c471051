"""Ops for state-space models, mixture-of-experts and NAS search spaces:
selective_scan (Mamba), topk_gate and mix (MoE routing), Zero (DARTS' "none" op).

Must not import torch, onnx or any backend.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ops._shape import (
    broadcast,
    check_min_rank,
    check_positive,
    check_rank,
    expect_equal,
    fail,
    require_float,
    result_dtype,
    tensor,
)
from archlang.ops._spec import Attr, OpSpec

TITLE = "State space, mixture of experts, NAS"  # of this family in the op reference (docs/ops.md)

# --------------------------------------------------------------------------- selective scan


def _expect_shape(op: str, name: str, t, want: tuple, layout: str) -> None:
    check_rank(t, (len(want),), op, layout, name)
    for got, w in zip(t.shape, want):
        expect_equal(got, w, lambda: f"{op}: {name} must be {layout} = "
                     f"[{', '.join(dims.to_str(d) for d in want)}], got {t}", name)


def _scan_infer(a: dict, inputs: list):
    op = "selective_scan"
    u, delta, A, B, C, D, z, delta_bias = inputs
    check_rank(u, (3,), op, "(batch, d, length)", "u")
    require_float(u, op, "u")
    b, d, l = u.shape
    n = A.shape[-1] if A.rank == 2 else None
    _expect_shape(op, "delta", delta, (b, d, l), "(batch, d, length)")
    check_rank(A, (2,), op, "(d, n)", "A")
    _expect_shape(op, "A", A, (d, n), "(d, n)")
    _expect_shape(op, "B", B, (b, n, l), "(batch, n, length)")
    _expect_shape(op, "C", C, (b, n, l), "(batch, n, length)")
    for name, t, want, layout in (("D", D, (d,), "(d,)"), ("z", z, (b, d, l), "(batch, d, length)"),
                                  ("delta_bias", delta_bias, (d,), "(d,)")):
        if t is not None:
            _expect_shape(op, name, t, want, layout)
    return u


# --------------------------------------------------------------------------- MoE


def _topk_infer(a: dict, inputs: list):
    logits, k = inputs[0], a["k"]
    check_min_rank(logits, 1, "topk_gate", "logits")
    require_float(logits, "topk_gate", "logits")
    experts = logits.shape[-1]
    check_positive(k, lambda: f"topk_gate: k must be at least 1, got {dims.to_str(k)}", "k")
    check_positive(experts - k + 1, lambda: f"topk_gate: k={dims.to_str(k)} exceeds the "
                   f"{dims.to_str(experts)} experts of logits {logits}", "k")
    return logits


def _mix_infer(a: dict, inputs: list):
    gates, experts = inputs[0], inputs[1:]
    check_min_rank(gates, 1, "mix", "gates")
    if not experts:
        fail("mix needs at least one expert output", "experts")
    expect_equal(len(experts), gates.shape[-1], lambda: f"mix: {len(experts)} expert outputs given "
                 f"but gates {gates} weigh {dims.to_str(gates.shape[-1])} experts", "experts")
    first = experts[0]
    for i, e in enumerate(experts[1:], start=1):
        if e.rank != first.rank:
            fail(f"mix: expert {i} output {e} differs from expert 0 output {first}", "experts")
        for x, y in zip(first.shape, e.shape):
            expect_equal(y, x, lambda: f"mix: expert {i} output {e} differs from expert 0 output {first}", "experts")
    shape = broadcast(gates.shape[:-1] + (1,), first.shape, "experts")
    return tensor(result_dtype([gates, *experts]), shape)


# --------------------------------------------------------------------------- NAS


def _zero_infer(a: dict, inputs: list):
    x, s = inputs[0], a["stride"]
    if s == 1:
        return x
    check_min_rank(x, 3, "Zero")
    # DARTS: x[:, :, ::s, ::s] * 0, so every spatial dim becomes ceil(size / s)
    return tensor(x.dtype, x.shape[:2] + tuple((h + s - 1) // s for h in x.shape[2:]))


OPS = [
    OpSpec("selective_scan", "function", (Attr("delta_softplus", "bool", False),),
           ("u", "delta", "A", "B", "C", "D?", "z?", "delta_bias?"), _scan_infer,
           doc="Mamba's selective scan (mamba_ssm's selective_scan_fn, reference recurrence)",
           shape_rule="u, delta, z [b, d, l]; A [d, n]; B, C [b, n, l]; D, delta_bias [d]; out: u's shape",
           macs_rule="0 (not counted yet)"),
    OpSpec("topk_gate", "function", (Attr("k", "int"),), ("logits",), _topk_infer,
           doc="dense MoE gates: softmax over the top-k logits, zero elsewhere",
           shape_rule="the shape and dtype of logits (float); 1 <= k <= its last size", macs_rule="0 (elementwise)"),
    OpSpec("mix", "function", (), ("gates", "*experts"), _mix_infer,
           doc="sum over e of gates[..., e:e+1] * experts[e]",
           shape_rule="gates [..., E]; E expert outputs of one shape; out: gates[..., :1] broadcast with that shape",
           macs_rule="0 (elementwise)"),
    OpSpec("Zero", "layer", (Attr("stride", "int", 1),), ("x",), _zero_infer,
           doc="NAS 'none' op: zeros with stride-reduced spatial size",
           shape_rule="x's shape; with stride s, each spatial size ceil(size / s) (as DARTS' x[:, :, ::s, ::s])",
           macs_rule="0"),
]
