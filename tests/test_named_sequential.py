"""Named ``Sequential`` items, as PyTorch's ``OrderedDict`` / ``add_module`` name them.

``Sequential([("conv0", …), ("norm0", …)])`` names each item; ``prefix=`` / ``start=`` name
generated items (``denselayer1``, ``denselayer2`` …); an item is reached by its name; an
empty ``Sequential`` is the identity.  The names are the state-dict keys of the torch
module, the ONNX export runs them, and a model written back to ``.arch`` keeps them.
"""

from __future__ import annotations

import numpy as np
import pytest

import archlang
from archlang.errors import ArchError
from archlang.ir.params import state_dict_entries
from archlang.nas.to_arch import model_to_arch

NAMED = """
block Unit(c: int) {
    input x: [B, c, H, W]
    conv = Conv2d(c, c, 3, padding=1, bias=false)
    return x + conv(x)
}

model Named() {
    input x: [B, 3, 8, 8]
    features = Sequential([
        ("conv0", Conv2d(3, 4, 3, padding=1)),
        ("norm0", BatchNorm2d(4)),
        ("block1", Sequential([Unit(4) for i in range(3)], prefix="unit", start=1)),
        ("skip", Sequential([])),
    ])
    head = Sequential()
    return head(features(x)).mean(dim=[2, 3])
}
"""

KEYS = [
    "features.conv0.weight", "features.conv0.bias",
    "features.norm0.weight", "features.norm0.bias", "features.norm0.running_mean",
    "features.norm0.running_var", "features.norm0.num_batches_tracked",
    "features.block1.unit1.conv.weight", "features.block1.unit2.conv.weight", "features.block1.unit3.conv.weight",
]


def keys(program, name: str) -> list[str]:
    return [key for key, _ in state_dict_entries(program.elaborate(name).graph)]


def test_items_are_named_as_written_and_numbered_from_start():
    assert keys(archlang.loads(NAMED), "Named") == KEYS


def test_the_torch_module_has_those_names_and_runs():
    torch = pytest.importorskip("torch")
    module = archlang.to_torch(archlang.loads(NAMED), "Named", seed=0).eval()
    assert list(module.state_dict()) == KEYS
    assert isinstance(module.features.block1, torch.nn.Sequential)
    assert [name for name, _ in module.features.block1.named_children()] == ["unit1", "unit2", "unit3"]
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        expected = module.features.norm0(module.features.conv0(x))
        for unit in module.features.block1:
            expected = expected + unit.conv(expected)
        assert torch.allclose(module(x), expected.mean(dim=[2, 3]), atol=1e-6)


def test_onnx_export_computes_what_torch_computes():
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    program = archlang.loads(NAMED)
    module = archlang.to_torch(program, "Named", seed=0).eval()
    proto = archlang.to_onnx(program, "Named", weights=module.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    assert np.abs(got - want).max() <= 1e-5


def test_an_empty_sequential_is_the_identity():
    program = archlang.loads("""
model Empty() {
    input x: [B, 5]
    nothing = Sequential([])
    return nothing(x)
}
""")
    model = program.elaborate("Empty")
    assert [str(t) for t in model.graph.output_types] == ["float32[B, 5]"]
    torch = pytest.importorskip("torch")
    x = torch.randn(3, 5)
    assert torch.equal(archlang.to_torch(program, "Empty")(x), x)


def test_items_are_reached_by_name_by_generated_name_and_by_position():
    program = archlang.loads("""
model Reach() {
    input x: [B, 4]
    seq = Sequential([("first", Linear(4, 6)), ("second", Linear(6, 4))])
    layers = Sequential([Linear(4, 4) for i in range(3)], prefix="layer", start=1)
    return layers["layer3"](layers[0](seq["second"](seq.first(x))))
}
""")
    calls = [n.target for n in program.elaborate("Reach").graph.nodes if n.kind == "call"]
    assert calls == ["seq.first", "seq.second", "layers.layer1", "layers.layer3"]


def test_named_items_write_back_to_arch_with_their_names():
    program = archlang.loads(NAMED)
    model = program.elaborate("Named")
    text = model_to_arch(model)
    assert '("conv0", Conv2d(' in text and 'prefix="unit", start=1' in text
    again = archlang.loads(text)
    assert keys(again, again.models[0]) == KEYS


def test_generated_names_roll_a_run_but_named_items_stay_apart():
    program = archlang.loads("""
model Runs() {
    input x: [B, 4]
    numbered = Sequential([Linear(4, 4) for i in range(3)], prefix="block1-")
    named = Sequential([("a", Linear(4, 4)), ("b", Linear(4, 4))])
    return named(numbered(x))
}
""")
    graph = program.elaborate("Runs").graph
    bodies = {n.target: n.body for n in graph.nodes if n.kind == "call"}
    assert [(n.name, n.repeat) for n in bodies["numbered"].nodes if n.kind == "call"] == [("block1-0", 3)]
    assert [(n.name, n.repeat) for n in bodies["named"].nodes if n.kind == "call"] == [("a", 1), ("b", 1)]


@pytest.mark.parametrize("body, message", [
    ('Sequential([("a", Linear(4, 4)), Linear(4, 4)])',
     'either every item of a Sequential is named, ("name", layer), or none is'),
    ('Sequential([("a", Linear(4, 4)), ("a", Linear(4, 4))])', "the Sequential has two items named 'a'"),
    ('Sequential([("a.b", Linear(4, 4))])', "a Sequential item's name must be non-empty and without '.', got 'a.b'"),
    ('Sequential([("a", Linear(4, 4))], prefix="p")', "a Sequential of named items takes no prefix= or start="),
    ('Sequential([Linear(4, 4)], start=-1)', "Sequential's start must be a non-negative integer, got int -1"),
    ('Sequential([Linear(4, 4)], begin=1)', "Sequential has no argument 'begin' (it takes layers, prefix= and start=)"),
])
def test_malformed_names_are_located_errors(body, message):
    text = f"model Bad() {{\n    input x: [B, 4]\n    seq = {body}\n    return seq(x)\n}}\n"
    with pytest.raises(ArchError) as info:
        archlang.loads(text).elaborate("Bad")
    assert info.value.message.startswith(message)
    assert info.value.span.line == 3


def test_an_unknown_item_name_lists_the_names():
    text = """model Bad() {
    input x: [B, 4]
    seq = Sequential([("first", Linear(4, 4)), ("second", Linear(4, 4))])
    return seq["third"](x)
}
"""
    with pytest.raises(ArchError, match=r"the sequence has no item named 'third' \(it has first, second\)"):
        archlang.loads(text).elaborate("Bad")
