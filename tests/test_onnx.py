"""The ONNX backend on whole models: every zoo model (tiny variants; ResNet18 and
MobileNetV2 full size) passes ``onnx.checker`` with full_check and onnxruntime's output
equals the torch backend's for the same weights, at batch 1 and 3 from ONE file (GPT2_Tiny
also at two sequence lengths); local functions compute the same; symbolic sizes stay
symbolic; weights that do not fit, atomic writes, deterministic bytes, external data, the
CLI and opsets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import archlang  # noqa: E402
from archlang.backends.onnx import save as onnx_save  # noqa: E402
from archlang.errors import ArchError  # noqa: E402
from archlang.files import WriteError  # noqa: E402
from archlang.files import write as files_write  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

# model -> (spec, per-input example shapes at two batch sizes, with symbolic sizes filled in)
ZOO = {
    "ResNet18": ("vision/resnet.arch", [(1, 3, 64, 64), (3, 3, 64, 64)]),
    "MobileNetV2": ("vision/mobilenet.arch", [(1, 3, 64, 64), (3, 3, 64, 64)]),
    "ViT_Tiny": ("vision/vit.arch", [(1, 3, 32, 32), (3, 3, 32, 32)]),
    "GPT2_Tiny": ("text/gpt2.arch", [(1, 5), (3, 11)]),
    "MobileNetV2_Tiny": ("vision/mobilenet.arch", [(1, 3, 32, 32), (3, 3, 32, 32)]),
    "MobileNetV3_Tiny": ("vision/mobilenet.arch", [(1, 3, 32, 32), (3, 3, 32, 32)]),
    "EfficientNet_Tiny": ("vision/efficientnet.arch", [(1, 3, 32, 32), (3, 3, 32, 32)]),
    "ConvNeXt_Mini": ("vision/convnext.arch", [(1, 3, 64, 64), (3, 3, 64, 64)]),
    "UNet_Tiny": ("vision/unet.arch", [(1, 3, 32, 32), (3, 3, 32, 32)]),
    "Mixer_Tiny": ("vision/mlp_mixer.arch", [(1, 3, 32, 32), (3, 3, 32, 32)]),
    "Hybrid_Tiny": ("vision/hybrid.arch", [(1, 3, 32, 32), (3, 3, 32, 32)]),
    "Mamba_Tiny": ("text/mamba.arch", [(1, 5), (3, 9)]),
    "MoE_Tiny": ("text/moe.arch", [(1, 5), (3, 9)]),
    "DenseNet_Tiny": ("vision/densenet.arch", [(1, 3, 32, 32), (3, 3, 32, 32)]),
    "RegNetY_Tiny": ("vision/regnet.arch", [(1, 3, 32, 32), (3, 3, 32, 32)]),
    "Swin_Tiny": ("vision/swin.arch", [(1, 3, 32, 32), (3, 3, 32, 32)]),
    "Llama_Tiny": ("text/llama.arch", [(1, 5), (3, 9)]),
}
TOKEN_MODELS = {"GPT2_Tiny", "Mamba_Tiny", "MoE_Tiny", "Llama_Tiny"}


def randomised(module) -> dict:
    """Non-trivial BatchNorm statistics, so eval-mode outputs exercise every buffer."""
    gen = torch.Generator().manual_seed(1)
    state = module.state_dict()
    for key, value in state.items():
        if key.endswith("running_mean"):
            value.copy_(torch.randn(value.shape, generator=gen) * 0.1)
        elif key.endswith("running_var"):
            value.copy_(torch.rand(value.shape, generator=gen) + 0.5)
    return module.state_dict()


def example(model: str, shape: tuple) -> np.ndarray:
    rng = np.random.default_rng(sum(shape))
    if model in TOKEN_MODELS:
        return rng.integers(0, 256, shape).astype(np.int64)
    return rng.standard_normal(shape).astype(np.float32)


def assert_close(expected: np.ndarray, got: np.ndarray) -> None:
    assert got.shape == expected.shape
    tolerance = 1e-4 * max(1.0, float(np.abs(expected).max()))
    assert float(np.abs(got - expected).max()) <= tolerance


def session(proto_or_path):
    source = proto_or_path.SerializeToString() if isinstance(proto_or_path, onnx.ModelProto) else str(proto_or_path)
    return ort.InferenceSession(source, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def built():
    """model -> (torch module in eval mode, its state dict), built once per module."""
    cache = {}

    def get(model: str):
        if model not in cache:
            spec = str(SPECS / ZOO[model][0])
            module = archlang.to_torch(spec, model, seed=0).eval()
            cache[model] = (spec, module, randomised(module))
        return cache[model]

    return get


def torch_output(module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


# ---- the zoo -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", list(ZOO))
def test_zoo_model_checks_and_matches_torch_at_two_sizes(model, built):
    spec, module, state = built(model)
    proto = archlang.to_onnx(spec, model, weights=state)
    onnx.checker.check_model(proto, full_check=True)
    run = session(proto)
    name = proto.graph.input[0].name
    for shape in ZOO[model][1]:  # batch 1 and 3 (and two lengths for the token models)
        x = example(model, shape)
        (got,) = run.run(None, {name: x})
        assert_close(torch_output(module, x), got)


@pytest.mark.parametrize("model", ["ResNet18", "GPT2_Tiny", "ViT_Tiny", "Mamba_Tiny", "MoE_Tiny", "Hybrid_Tiny", "UNet_Tiny"])
def test_functions_mode_computes_the_same(model, built):
    spec, module, state = built(model)
    proto = archlang.to_onnx(spec, model, weights=state, functions=True)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.functions and all(f.domain == "archlang.blocks" for f in proto.functions)
    run = session(proto)
    for shape in ZOO[model][1]:
        x = example(model, shape)
        (got,) = run.run(None, {proto.graph.input[0].name: x})
        assert_close(torch_output(module, x), got)


def test_a_repeated_block_is_one_function_called_n_times(built):
    spec, _, state = built("GPT2_Tiny")
    proto = archlang.to_onnx(spec, "GPT2_Tiny", weights=state, functions=True)
    assert sorted(f.name for f in proto.functions) == ["GPT2Attention", "GPT2Block", "GPT2MLP", "GPT2Model"]
    top = [(n.op_type, n.name) for n in proto.graph.node if n.domain == "archlang.blocks"]
    assert top == [("GPT2Model", "transformer")]
    model = next(f for f in proto.functions if f.name == "GPT2Model")
    calls = [n for n in model.node if n.domain == "archlang.blocks"]
    assert [(n.op_type, n.name) for n in calls] == [("GPT2Block", "h.0"), ("GPT2Block", "h.1")]
    block = next(f for f in proto.functions if f.name == "GPT2Block")
    assert list(block.input)[:3] == ["x", "ln_1.weight", "ln_1.bias"]  # weights are inputs
    assert calls[1].input[1] == "h.1.ln_1.weight"


# ---- names, dims, ties -------------------------------------------------------------------


def _dims(value) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_symbolic_input_sizes_are_named_dims_and_intermediates_are_typed(built):
    spec, _, state = built("ResNet18")
    proto = archlang.to_onnx(spec, "ResNet18", weights=state)
    assert _dims(proto.graph.input[0]) == ["B", 3, "H", "W"]
    assert _dims(proto.graph.output[0]) == ["B", 1000]
    infos = {v.name: _dims(v) for v in proto.graph.value_info}
    assert infos["layer1.0.bn1"] == ["B", 64, "(H + 3)//4", "(W + 3)//4"]  # conv1 folded into bn1
    assert infos["layer2.1.relu:1"] == ["B", 128, "(H + 7)//8", "(W + 7)//8"]
    produced = {o for n in proto.graph.node for o in n.output}
    assert set(infos) <= produced
    names = [n.name for n in proto.graph.node]
    assert "layer1.0.conv1" in names and len(names) == len(set(names))
    assert [i.name for i in proto.graph.initializer][:3] == ["conv1.weight.folded", "conv1.bias.folded",
                                                             "layer1.0.conv1.weight.folded"]


def test_no_fold_keeps_the_state_dict_names_and_every_batchnorm(built, tmp_path, capsys):
    from archlang.cli import main

    spec, _, state = built("ResNet18")
    proto = archlang.to_onnx(spec, "ResNet18", weights=state, fold=False)
    assert [i.name for i in proto.graph.initializer][:3] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert sum(n.op_type == "BatchNormalization" for n in proto.graph.node) == 20
    target = tmp_path / "r.onnx"
    assert main(["export", spec, "-m", "ResNet18", "-o", str(target), "--no-fold"]) == 0
    written = onnx.load(str(target))
    assert sum(n.op_type == "BatchNormalization" for n in written.graph.node) == 20
    assert main(["export", spec, "-m", "ResNet18", "-o", str(target)]) == 0
    assert not any(n.op_type == "BatchNormalization" for n in onnx.load(str(target)).graph.node)


def test_tied_weights_are_one_initializer_read_twice(built):
    spec, _, state = built("GPT2_Tiny")
    proto = archlang.to_onnx(spec, "GPT2_Tiny", weights=state)
    names = [i.name for i in proto.graph.initializer]
    assert "transformer.wte.weight" in names and "lm_head.weight" not in names
    readers = [n.op_type for n in proto.graph.node if "transformer.wte.weight" in n.input]
    assert sorted(readers) == ["Gather", "Transpose"]


RUNTIME_SIZES = """
model M() {
    input x: [B, T, 4]
    y = x.reshape([B * T, 4])
    y = y.reshape([B, T, 2, 2])
    y = rearrange(y, "b t h d -> b h t d")
    z = y[:, :, :T - 1]
    return z.reshape([B, 2 * (T - 1), 2])
}
"""


@pytest.mark.parametrize("batch, length", [(1, 3), (4, 7)])
def test_sizes_needed_at_run_time_are_computed_in_the_graph(batch, length):
    proto = archlang.to_onnx(RUNTIME_SIZES, seed=0)
    onnx.checker.check_model(proto, full_check=True)
    x = np.random.default_rng(0).standard_normal((batch, length, 4)).astype(np.float32)
    (got,) = session(proto).run(None, {"x": x})
    expected = x.reshape(batch, length, 2, 2).transpose(0, 2, 1, 3)[:, :, : length - 1].reshape(batch, -1, 2)
    np.testing.assert_array_equal(got, expected)
    assert _dims(proto.graph.output[0]) == ["B", "2*T - 2", 2]


def test_the_backend_needs_neither_torch_nor_the_torch_backend():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, archlang\n"
        "from archlang.backends.onnx import export_model\n"
        "m = archlang.api.elaborate('model M() {\\n input x: [B, 4]\\n fc = Linear(4, 2)\\n return fc(x)\\n}')\n"
        "p = export_model(m, {'fc.weight': np.ones((2, 4), np.float32), 'fc.bias': np.zeros(2, np.float32)})\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print(len(p.graph.node))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_an_op_without_a_lowering_is_a_located_error_naming_it(monkeypatch):
    from archlang.backends.onnx import lowerings

    monkeypatch.delitem(lowerings.LOWERINGS, "gelu")
    text = "model M() {\n    input x: [B, 4]\n    return gelu(x)\n}\n"
    with pytest.raises(ArchError) as info:
        archlang.to_onnx(text, seed=0)
    assert "'gelu'" in info.value.message and info.value.span.line == 3


def test_a_space_is_refused_with_its_choices():
    from archlang.errors import SpaceError

    text = "space S() {\n    input x: [B, 8]\n    fc = Linear(8, choice(16, 32))\n    return fc(x)\n}\n"
    with pytest.raises(SpaceError) as info:
        archlang.to_onnx(text, seed=0)
    assert "fc.out_features" in info.value.message


# ---- weights -------------------------------------------------------------------------------


def test_weights_that_do_not_fit_are_one_error_listing_every_problem(built):
    spec, _, state = built("ResNet18")
    bad = dict(state)
    del bad["layer1.0.conv1.weight"], bad["fc.bias"]
    bad["fc.weight"] = torch.zeros(10, 512)
    bad["head.extra"] = torch.zeros(3)
    with pytest.raises(ArchError) as info:
        archlang.to_onnx(spec, "ResNet18", weights=bad)
    message = info.value.message
    assert "4 problems" in message
    for expected in ("missing    layer1.0.conv1.weight [64, 64, 3, 3]", "missing    fc.bias [1000]",
                     "wrong shape fc.weight: expected [1000, 512], got [10, 512]", "unexpected head.extra"):
        assert expected in message
    assert info.value.span.line > 0


@pytest.mark.parametrize("suffix", ["pt", "safetensors"])
def test_weights_from_a_file_give_the_same_model(tmp_path, suffix, capsys):
    from archlang.cli import main

    spec = str(SPECS / "text/gpt2.arch")
    weights = tmp_path / f"w.{suffix}"
    assert main(["compile", spec, "-m", "GPT2_Tiny", "--seed", "3", "-o", str(weights)]) == 0
    from_file = archlang.to_onnx(spec, "GPT2_Tiny", weights=str(weights))
    seeded = archlang.to_onnx(spec, "GPT2_Tiny", seed=3)
    assert from_file.SerializeToString() == seeded.SerializeToString()


def test_without_weights_the_torch_backends_initialisation_is_used():
    spec = str(SPECS / "text/gpt2.arch")
    proto = archlang.to_onnx(spec, "GPT2_Tiny", seed=5)
    module = archlang.to_torch(spec, "GPT2_Tiny", seed=5)
    init = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    np.testing.assert_array_equal(init["transformer.h.1.mlp.c_fc.weight"],
                                  module.transformer.h[1].mlp.c_fc.weight.detach().numpy())


# ---- files ---------------------------------------------------------------------------------


def test_export_is_deterministic(tmp_path):
    spec = str(SPECS / "vision/resnet.arch")
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    for functions in (False, True):
        archlang.to_onnx(spec, "ResNet18", seed=0, functions=functions, path=a)
        archlang.to_onnx(spec, "ResNet18", seed=0, functions=functions, path=b)
        assert a.read_bytes() == b.read_bytes()


def test_a_failed_write_leaves_no_file_and_an_existing_file_untouched(tmp_path, monkeypatch):
    spec = str(SPECS / "text/gpt2.arch")
    target = tmp_path / "m.onnx"

    def fail(fd):
        raise OSError("disk full")

    monkeypatch.setattr(files_write.os, "fsync", fail)
    with pytest.raises(WriteError, match="disk full"):
        archlang.to_onnx(spec, "GPT2_Tiny", seed=0, path=target)
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"previous model")
    with pytest.raises(WriteError, match="disk full"):
        archlang.to_onnx(spec, "GPT2_Tiny", seed=0, path=target)
    assert target.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_large_models_use_external_data(tmp_path, monkeypatch, built):
    spec, module, state = built("GPT2_Tiny")
    monkeypatch.setattr(onnx_save, "EXTERNAL_DATA_THRESHOLD", 10_000)
    target = tmp_path / "gpt.onnx"
    proto = archlang.to_onnx(spec, "GPT2_Tiny", weights=state, path=target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpt.onnx", "gpt.onnx.data"]
    assert target.stat().st_size < 20_000 < (tmp_path / "gpt.onnx.data").stat().st_size
    assert all(i.data_location == onnx.TensorProto.DEFAULT for i in proto.graph.initializer)  # restored
    onnx.checker.check_model(str(target), full_check=True)
    x = example("GPT2_Tiny", (2, 7))
    (got,) = session(target).run(None, {"ids": x})
    assert_close(torch_output(module, x), got)


# ---- CLI and opsets ---------------------------------------------------------------------------


def test_export_cli(tmp_path, capsys):
    from archlang.cli import main

    target = tmp_path / "g.onnx"
    spec = str(SPECS / "text/gpt2.arch")
    assert main(["export", spec, "-m", "GPT2_Tiny", "-o", str(target), "--seed", "0", "--functions",
                 "--opset", "19", "--input", "ids=Bx8"]) == 0
    assert f"wrote {target} (ONNX opset 19, 3 nodes, 4 functions, 28 initializers)" in capsys.readouterr().out
    proto = onnx.load(str(target))
    assert _dims(proto.graph.input[0]) == ["B", 8]
    assert main(["export", spec, "-m", "GPT2_Tiny", "-o", str(target), "--opset", "3"]) == 1
    assert "opset 3 is not supported" in capsys.readouterr().err
    assert main(["export", spec, "-m", "GPT2_Tiny", "-o", str(target), "--weights", str(tmp_path / "none.pt")]) == 1
    assert "none.pt:1:1: error: cannot read weights from" in capsys.readouterr().err
    other = tmp_path / "vit.safetensors"
    assert main(["compile", str(SPECS / "vision/vit.arch"), "-m", "ViT_Tiny", "-o", str(other)]) == 0
    assert main(["export", spec, "-m", "GPT2_Tiny", "-o", str(target), "--weights", str(other)]) == 1
    assert "the weights do not fit GPT2_Tiny" in capsys.readouterr().err
    assert onnx.load(str(target)).opset_import[0].version == 19  # the failed exports left it alone


@pytest.mark.parametrize("opset", [17, 21])
def test_other_opsets_load_and_match(opset, built):
    spec, module, state = built("GPT2_Tiny")
    proto = archlang.to_onnx(spec, "GPT2_Tiny", weights=state, opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    x = example("GPT2_Tiny", (2, 6))
    (got,) = session(proto).run(None, {"ids": x})
    assert_close(torch_output(module, x), got)
