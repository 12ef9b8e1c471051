"""Lowerings of the state-space and mixture-of-experts ops: ``selective_scan`` (Mamba),
``topk_gate`` and ``mix``.

``selective_scan`` is an ONNX ``Scan`` over the length axis, so the sequence length stays
dynamic: exp(Δ·A) and Δ·B·u are computed for all steps up front ([b, d, l, n]); the body
carries the state h [b, d, n] and emits y_t = Σ_n h·C_t.  Then the skip (u·D) and the
SiLU(z) gate, exactly the torch backend's reference recurrence.

Imports onnx (the Scan body), archlang.ir.types and this package; never another backend.
"""

from __future__ import annotations

from onnx import helper

from archlang.ir.types import TensorType

from .call import Call, cast, float_scalar, reduce, unsqueeze
from .graph import ELEM, value_info


def _softplus(g, x: str, dtype: str) -> str:
    """torch's F.softplus (beta 1, threshold 20)."""
    linear = g.op("Greater", [x, float_scalar(g, 20.0, dtype)])
    return g.op("Where", [linear, x, g.op("Softplus", [x])])


def _selective_scan(g, c: Call) -> str:
    """a Scan over the length carrying the state, with Exp/Mul before it and D, z after."""
    u, delta, A, B, C, D, z, delta_bias = c.inputs
    tu, tA = c.types[0], c.types[2]
    dtype = c.out.dtype
    b, d, _ = tu.shape
    n = tA.shape[1]
    if delta_bias is not None:
        delta = g.op("Add", [delta, unsqueeze(g, delta_bias, [1])])
    if c.attrs["delta_softplus"]:
        delta = _softplus(g, delta, dtype)
    decay = g.op("Exp", [g.op("Mul", [unsqueeze(g, delta, [3]), unsqueeze(g, A, [1])])])  # [b, d, l, n]
    b_rows = unsqueeze(g, g.op("Transpose", [B], perm=[0, 2, 1]), [1])  # [b, 1, l, n]
    drive = g.op("Mul", [unsqueeze(g, g.op("Mul", [delta, u]), [3]), b_rows])  # [b, d, l, n]
    state = g.op("ConstantOfShape", [g.ints([b, d, n])], value=helper.make_tensor("value", ELEM[dtype], [1], [0]))
    body = _scan_body(g, c, (b, d, n))
    _, y = g.op("Scan", [state, decay, drive, C], outputs=2, body=body, num_scan_inputs=3,
                scan_input_axes=[2, 2, 2], scan_output_axes=[2])
    if D is not None:
        y = g.op("Add", [y, g.op("Mul", [u, unsqueeze(g, D, [1])])])
    if z is not None:
        y = g.op("Mul", [y, g.op("Mul", [z, g.op("Sigmoid", [z])])])
    return y


def _scan_body(g, c: Call, shape: tuple):
    """h' = exp(Δ·A)_t·h + (Δ·B·u)_t;  y_t = Σ_n h'·C_t."""
    b, d, n = shape
    dtype = c.out.dtype
    body = g.child()
    h, decay, drive, ct = (body.unique(f"{g.path}/scan/{name}") for name in ("h", "decay", "drive", "C"))
    h_next = body.op("Add", [body.op("Mul", [decay, h]), drive])
    y = reduce(body, "ReduceSum", body.op("Mul", [h_next, unsqueeze(body, ct, [1])]), [2], False)
    state_type = TensorType(dtype=dtype, shape=(b, d, n))
    inputs = [value_info(h, state_type), value_info(decay, state_type), value_info(drive, state_type),
              value_info(ct, TensorType(dtype=dtype, shape=(b, n)))]
    outputs = [value_info(h_next, state_type), value_info(y, TensorType(dtype=dtype, shape=(b, d)))]
    return helper.make_graph(body.nodes, f"{g.path}/scan_body", inputs, outputs)


def _topk_gate(g, c: Call) -> str:
    """TopK of the logits, Softmax of the values, ScatterElements into zeros."""
    logits = c.inputs[0]
    values, indices = g.op("TopK", [logits, g.const([c.attrs["k"]])], outputs=2, axis=-1, largest=1, sorted=1)
    gates = g.op("Softmax", [values], axis=-1)
    fill = helper.make_tensor("value", ELEM[c.out.dtype], [1], [0])
    zeros = g.op("ConstantOfShape", [g.op("Shape", [logits])], value=fill)
    return g.op("ScatterElements", [zeros, indices, gates], axis=-1)


def _mix(g, c: Call) -> str:
    """Σ_e gates[..., e] · expert_e: Concat of the experts on a new last axis, Mul by the gates, ReduceSum."""
    dtype = c.out.dtype
    gates = cast(g, c.inputs[0], c.types[0].dtype, dtype)
    experts = [unsqueeze(g, cast(g, x, t.dtype, dtype), [-1]) for x, t in zip(c.inputs[1:], c.types[1:])]
    stacked = g.op("Concat", experts, axis=-1)
    weighted = g.op("Mul", [stacked, unsqueeze(g, gates, [-2])])
    return reduce(g, "ReduceSum", weighted, [-1], False)


def lowerings() -> dict:
    return {"selective_scan": _selective_scan, "topk_gate": _topk_gate, "mix": _mix}
