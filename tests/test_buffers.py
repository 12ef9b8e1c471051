"""Buffers and constant tensors computed while elaborating.

``tensor(...)`` makes a constant; operators, indexing, ``meshgrid`` and function ops on
constants are computed by archlang (within the element budget); ``Buffer(t, persistent=…)``
keeps one in the module (torch's ``register_buffer``) and ``Parameter(init=t)`` starts a
parameter from one.  Checked against torch computing the same thing.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archlang
from archlang.errors import ArchError, LimitError
from archlang.ir.params import state_dict_entries
from archlang.nas.to_arch import model_to_arch
from archlang.report.summary import format_summary

torch = pytest.importorskip("torch")

# torchvision's Swin computes relative_position_index in its constructor; here in the spec.
WINDOW = """
block Attention(ws: int, heads: int) {
    input x: [B, heads, ws * ws, ws * ws]
    relative_position_bias_table = Parameter([(2 * ws - 1) * (2 * ws - 1), heads], init="zeros")
    coords = stack(meshgrid([tensor(range(ws)), tensor(range(ws))], indexing="ij"))   # 2, ws, ws
    flat = flatten(coords, 1)                                                        # 2, ws*ws
    rel = (flat[:, :, none] - flat[:, none, :]).permute([1, 2, 0])                   # ws*ws, ws*ws, 2
    index = (rel[:, :, 0] + ws - 1) * (2 * ws - 1) + rel[:, :, 1] + ws - 1
    relative_position_index = Buffer(index.flatten())
    scale = Buffer(tensor([0.5]) * 2, persistent=false)
    bias = relative_position_bias_table()[relative_position_index()]
    return x * scale() + bias.reshape([ws * ws, ws * ws, heads]).permute([2, 0, 1])
}

model Window(ws: int = 7, heads: int = 3) {
    input x: [B, heads, ws * ws, ws * ws]
    attn = Attention(ws, heads)
    return attn(x)
}
"""


def torchvision_index(ws: int) -> torch.Tensor:
    """torchvision's ShiftedWindowAttention.define_relative_position_index, in torch."""
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += ws - 1
    rel[:, :, 1] += ws - 1
    rel[:, :, 0] *= 2 * ws - 1
    return rel.sum(-1).flatten()


def test_a_buffer_computed_in_the_spec_equals_torchvisions():
    module = archlang.to_torch(archlang.loads(WINDOW), "Window")
    index = module.attn.relative_position_index
    assert index.dtype == torch.int64
    assert torch.equal(index, torchvision_index(7))


def test_persistent_buffers_follow_parameters_in_the_state_dict_and_others_stay_out():
    program = archlang.loads(WINDOW)
    keys = [k for k, _ in state_dict_entries(program.elaborate("Window").graph)]
    assert keys == ["attn.relative_position_bias_table", "attn.relative_position_index"]
    module = archlang.to_torch(program, "Window")
    assert list(module.state_dict()) == keys
    assert [name for name, _ in module.named_buffers()] == ["attn.relative_position_index", "attn.scale"]
    module.load_state_dict(module.state_dict(), strict=True)


def test_the_module_reads_its_buffers():
    module = archlang.to_torch(archlang.loads(WINDOW), "Window", ws=2, heads=1)
    table = torch.arange(9, dtype=torch.float32).reshape(9, 1)
    module.attn.relative_position_bias_table.data.copy_(table)
    x = torch.ones(1, 1, 4, 4)
    bias = table[torchvision_index(2)].reshape(4, 4, 1).permute(2, 0, 1)
    assert torch.equal(module(x), x * 1.0 + bias)


def test_onnx_runs_the_buffers():
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    program = archlang.loads(WINDOW)
    module = archlang.to_torch(program, "Window", seed=0, ws=3).eval()
    proto = archlang.to_onnx(program, "Window", weights=module.state_dict(), ws=3)
    assert "attn.relative_position_index" in [i.name for i in proto.graph.initializer]
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 9)).astype(np.float32)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    with torch.no_grad():
        assert np.abs(got - module(torch.from_numpy(x)).numpy()).max() <= 1e-6


def test_a_parameter_starts_from_a_constant():
    program = archlang.loads("""
model Scaled() {
    input x: [B, 3]
    gamma = Parameter(init=tensor([1.0, 2.0, 3.0]) / 2)
    return x * gamma()
}
""")
    module = archlang.to_torch(program, "Scaled")
    assert torch.equal(module.gamma.data, torch.tensor([0.5, 1.0, 1.5]))
    assert module.gamma.requires_grad
    assert archlang.summary(program, "Scaled").params == 3


def test_the_summary_counts_buffer_elements():
    text = format_summary(archlang.summary(archlang.loads(WINDOW), "Window"))
    assert text.splitlines()[-1] == "Buffers:      2,402"  # 49 × 49 indices and the scale


def test_written_back_buffers_keep_their_values():
    program = archlang.loads(WINDOW)
    text = model_to_arch(program.elaborate("Window", {"ws": 2}))
    again = archlang.loads(text)
    module = archlang.to_torch(again, again.models[0])
    assert torch.equal(module.attn.relative_position_index, torchvision_index(2))
    assert "attn.scale" not in module.state_dict()


@pytest.mark.parametrize("line, message, kind", [
    ("c = tensor(range(3000))[:, none] * tensor(range(3000))",
     "a constant tensor of shape [3000, 3000] has 9,000,000 elements; the limit is 2,000,000", LimitError),
    ("c = Buffer(tensor([1.0, 2.0]))\n    y = x + tensor([1.0, 2.0])",
     "a constant tensor cannot be combined with a model tensor directly", ArchError),
    ("c = tensor([[1, 2], [3]])", "tensor: the lists must be rectangular", ArchError),
    ("c = tensor([1, 2]) + tensor([1, 2, 3])", "cannot broadcast constant tensors of shapes [2] and [3]", ArchError),
    ("c = tensor([1, 2]) // tensor([1, 0])", "integer division by zero in a constant tensor ('//')", ArchError),
    ("c = Parameter([3], init=tensor([1.0, 2.0]))", "Parameter: the initial value is float32[2], not of the shape [3]",
     ArchError),
    ("c = softmax(tensor([1.0, 2.0]), dim=0)", "softmax cannot be computed on constant tensors", ArchError),
    ("c = Buffer(arange(7))", "Buffer takes a constant tensor computed while elaborating", ArchError),
    ("c = tensor([1.0, 2.0])[x]", "a constant tensor cannot be indexed by a model tensor", ArchError),
])
def test_mistakes_with_constants_are_located_errors(line, message, kind):
    text = f"model Bad() {{\n    input x: [B, 2]\n    {line}\n    return x\n}}\n"
    with pytest.raises(kind) as info:
        model = archlang.loads(text).elaborate("Bad")
        archlang.to_torch(archlang.loads(text), "Bad") if model else None
    assert info.value.message.startswith(message)
    assert info.value.span.line in (3, 4)


_SHAPES = st.lists(st.integers(1, 3), min_size=0, max_size=3)


@settings(max_examples=25, deadline=None)
@given(shape=_SHAPES, drop=st.integers(0, 3), op=st.sampled_from(["+", "-", "*", "//"]), seed=st.integers(0, 99))
def test_constant_arithmetic_broadcasts_as_torch_does(shape, drop, op, seed):
    """``a op b[k:]`` on random int tensors equals torch's result, dtype and shape included."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.randint(-5, 6, tuple(shape), generator=gen)
    b = torch.randint(1, 6, tuple(shape[drop:]), generator=gen)  # nonzero: '//' is defined
    text = (f"model M() {{\n    input x: [2]\n    c = tensor({a.tolist()}) {op} tensor({b.tolist()})\n"
            "    k = Buffer(c)\n    return x\n}\n")
    module = archlang.to_torch(archlang.loads(text), "M")
    want = {"+": a + b, "-": a - b, "*": a * b, "//": torch.div(a, b, rounding_mode="floor")}[op]
    assert torch.equal(module.k, want)


def test_a_buffer_has_its_values_type_and_costs_nothing():
    program = archlang.loads(WINDOW)
    body = program.elaborate("Window").graph.nodes[1].body
    node = next(n for n in body.nodes if n.target == "relative_position_index")
    assert (node.op, str(node.type)) == ("Buffer", "int64[2401]")
    rows = {r.path: r for r in archlang.summary(program, "Window").rows}
    assert (rows["attn.relative_position_index"].params, rows["attn.relative_position_index"].macs) == (0, 0)


BUFFERED_SPACE = """
space Scaled() {
    input x: [B, 4]
    scale = Buffer(tensor([1.0, 2.0, 3.0, 4.0]))
    shift = Buffer(tensor([0.5, 0.5, 0.5, 0.5]), persistent=false)
    fc = Linear(4, choice(4, 8, label="w"))
    return fc(x * scale() + shift())
}
"""


def test_a_supernet_keeps_buffers_and_a_derived_architecture_inherits_them():
    space = archlang.space(archlang.loads(BUFFERED_SPACE, filename="scaled.arch"), "Scaled")
    net = archlang.supernet(space, method="spos", seed=0)
    small = space.check(archlang.nas.Assignment({"w": 0}, space.hash))
    state = net.subnet_state_dict(small)
    assert list(state) == ["scale", "fc.weight", "fc.bias"]
    fixed = archlang.to_torch(space.fix(small), seed=0)
    fixed.load_state_dict(state, strict=True)
    x = torch.randn(3, 4)
    assert torch.allclose(fixed(x), (x * torch.tensor([1.0, 2.0, 3.0, 4.0]) + 0.5) @ state["fc.weight"].T + state["fc.bias"])


def test_masks_are_built_from_constants_as_torch_builds_them():
    program = archlang.loads("""
model Masks() {
    input x: [B, 4]
    m = tensor([[0, 1, 2], [1, 0, 2]])
    filled = Buffer(masked_fill(tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), m != 0, -100.0))
    chosen = Buffer(where(m == 0, tensor([1.0]), tensor([[5.0], [6.0]])))
    counted = Buffer(cumsum(tensor([1, 2, 3]), dim=0) + maximum(tensor([1, 5]), tensor([3])).sum())
    causal = Buffer(logical_not(tril(tensor([[1, 1, 1], [1, 1, 1], [1, 1, 1]])) == 1).mean(dim=[1]) * 1.0)
    return x
}
""")
    module = archlang.to_torch(program, "Masks")
    m = torch.tensor([[0, 1, 2], [1, 0, 2]])
    assert torch.equal(module.filled, torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).masked_fill(m != 0, -100.0))
    assert torch.equal(module.chosen, torch.where(m == 0, torch.tensor([1.0]), torch.tensor([[5.0], [6.0]])))
    assert torch.equal(module.counted, torch.cumsum(torch.tensor([1, 2, 3]), 0) + 8)
    assert torch.allclose(module.causal, torch.tensor([2 / 3, 1 / 3, 0.0]))
