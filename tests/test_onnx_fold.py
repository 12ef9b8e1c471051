"""Folding eval-mode BatchNorm into the Conv before it, at ONNX export: the folded graph
computes what the unfolded one does (and torch), has no BatchNormalization left where a
pair was foldable, drops all-zero biases as torch.onnx does, and leaves alone what it must
not fold (a Conv output read twice or returned, a BatchNorm after something else, functions).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import archlang  # noqa: E402
from archlang.backends.onnx import export_model  # noqa: E402

SPECS = Path(__file__).resolve().parent.parent / "specs"


def trained_like(module, seed: int = 1) -> dict:
    """Random weights and BatchNorm statistics (positive variances), as a state dict."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in module.state_dict().items():
        if value.is_floating_point():
            value = torch.randn(value.shape, generator=gen) * (0.2 if key.endswith("weight") else 1.0)
            if key.endswith("running_var"):
                value = value.abs() + 0.5
        state[key] = value
    module.load_state_dict(state)
    return {key: value.numpy() for key, value in module.state_dict().items()}  # ties share a tensor


def both(text_or_path, model=None, x_shape=(2, 3, 16, 16), seed: int = 1, **kwargs):
    """(torch's output, the folded graph and its output, the unfolded graph and its output)."""
    module = archlang.to_torch(text_or_path, model, seed=0).eval()
    weights = trained_like(module, seed)
    ir = archlang.api.elaborate(text_or_path, model)
    x = np.random.default_rng(0).standard_normal(x_shape).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    results = []
    for fold in (True, False):
        proto = export_model(ir, weights, fold=fold, **kwargs)
        onnx.checker.check_model(proto, full_check=True)
        session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        results.append((proto, session.run(None, {proto.graph.input[0].name: x})[0]))
    return expected, results[0], results[1]


def ops(proto) -> Counter:
    return Counter(n.op_type for n in proto.graph.node)


def close(expected: np.ndarray, got: np.ndarray) -> bool:
    return float(np.abs(got - expected).max()) <= 1e-4 * max(1.0, float(np.abs(expected).max()))


@pytest.mark.parametrize("model, spec, shape", [
    ("ResNet18", "vision/resnet.arch", (2, 3, 64, 64)),
    ("MobileNetV2", "vision/mobilenet.arch", (2, 3, 64, 64)),  # depthwise (grouped) convolutions
    ("EfficientNet_Tiny", "vision/efficientnet.arch", (2, 3, 32, 32)),
])
def test_folding_computes_what_the_unfolded_graph_and_torch_compute(model, spec, shape):
    expected, (folded, got), (unfolded, reference) = both(str(SPECS / spec), model, shape)
    assert close(expected, got) and close(reference, got)
    assert ops(unfolded)["BatchNormalization"] > 0 and ops(folded)["BatchNormalization"] == 0
    assert ops(folded)["Conv"] == ops(unfolded)["Conv"]
    assert len(folded.graph.node) < len(unfolded.graph.node)
    names = {i.name for i in folded.graph.initializer}
    assert not any("running_" in name for name in names)  # the statistics are in the Conv now
    produced = {out for n in folded.graph.node for out in n.output}
    assert {v.name for v in folded.graph.value_info} <= produced


SPEC = """
model M() {{
    input x: [B, 3, 16, 16]
    conv = Conv2d(3, 4, 3, padding=1, bias={bias})
    bn = BatchNorm2d(4{bn})
    return {body}
}}
"""


@pytest.mark.parametrize("bias", ["true", "false"])
@pytest.mark.parametrize("bn", ["", ", affine=false", ", eps=0.1"])
def test_a_conv_with_or_without_bias_and_any_batchnorm_folds(bias, bn):
    text = SPEC.format(bias=bias, bn=bn, body="relu(bn(conv(x)))")
    expected, (folded, got), (_, reference) = both(text)
    assert close(expected, got) and close(reference, got)
    assert ops(folded) == Counter({"Conv": 1, "Relu": 1})  # the Constants of affine=false went too
    assert [i.name for i in folded.graph.initializer] == ["conv.weight.folded", "conv.bias.folded"]


def test_an_all_zero_folded_bias_is_left_out():
    """Untrained statistics (mean 0, var 1, β 0) on a Conv without bias fold to a zero bias."""
    text = SPEC.format(bias="false", bn="", body="bn(conv(x))")
    proto = archlang.to_onnx(text, seed=0)
    (conv,) = proto.graph.node
    assert conv.op_type == "Conv" and len(conv.input) == 2
    assert [i.name for i in proto.graph.initializer] == ["conv.weight.folded"]


@pytest.mark.parametrize("body", ["bn(y) + y", "relu(y) + bn(y)"])
def test_a_conv_output_read_elsewhere_is_not_folded(body):
    text = SPEC.format(bias="true", bn="", body=body).replace("    return", "    y = conv(x)\n    return")
    expected, (folded, got), _ = both(text)
    assert close(expected, got)
    assert ops(folded)["BatchNormalization"] == 1


def test_a_returned_conv_output_and_a_batchnorm_after_something_else_stay():
    text = """
model M() {
    input x: [B, 3, 16, 16]
    conv = Conv2d(3, 4, 3, padding=1)
    bn = BatchNorm2d(4)
    bn2 = BatchNorm2d(3)
    y = conv(x)
    return y, bn(y), bn2(relu(x))
}
"""
    module = archlang.to_torch(text, seed=0).eval()
    weights = trained_like(module)
    proto = export_model(archlang.api.elaborate(text), weights)
    assert ops(proto)["BatchNormalization"] == 2
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = module(torch.from_numpy(x))
    for want, got in zip(expected, session.run(None, {"x": x})):
        assert close(want.numpy(), got)


def test_a_tied_conv_weight_folds_into_each_of_its_convolutions():
    text = """
model M() {
    input x: [B, 4, 8, 8]
    a = Conv2d(4, 4, 3, padding=1, bias=false)
    b = Conv2d(4, 4, 3, padding=1, bias=false)
    bn_a = BatchNorm2d(4)
    bn_b = BatchNorm2d(4)
    tie b.weight = a.weight
    return bn_b(b(relu(bn_a(a(x)))))
}
"""
    expected, (folded, got), _ = both(text, x_shape=(2, 4, 8, 8))
    assert close(expected, got)
    names = [i.name for i in folded.graph.initializer]
    assert names == ["a.weight.folded", "a.bias.folded", "a.weight.folded:1", "a.bias.folded:1"]


def test_functions_mode_keeps_batchnorm_inside_functions():
    expected, (folded, got), _ = both(str(SPECS / "vision/resnet.arch"), "ResNet18", (1, 3, 32, 32), functions=True)
    assert close(expected, got)
    assert ops(folded)["BatchNormalization"] == 0 and ops(folded)["Conv"] == 1  # the stem is folded
    inside = Counter(n.op_type for f in folded.functions for n in f.node)
    assert inside["BatchNormalization"] > 0
