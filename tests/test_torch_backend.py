"""The PyTorch backend: exact torchvision parity, numerics against a hand-written reference,
seeded initialisation, torch.compile / torch.export, FLOP cross-checks and refusals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from _reference import STATE_DICTS  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archlang  # noqa: E402
from archlang.errors import ArchError, SpaceError  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from handwritten import GPT, BasicBlock, Bottleneck, ResNet  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESNET = ROOT / "specs" / "vision" / "resnet.arch"
VIT = ROOT / "specs" / "vision" / "vit.arch"
GPT2 = ROOT / "specs" / "text" / "gpt2.arch"
REFERENCE = json.loads(STATE_DICTS.read_text()) if STATE_DICTS.exists() else None


def _entries(module: nn.Module):
    return [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in module.state_dict().items()]


def _randomise_batchnorm(module: nn.Module, seed: int) -> None:
    """Non-trivial running statistics, so eval-mode outputs exercise every buffer."""
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


# ---- parity --------------------------------------------------------------------------------


@pytest.mark.skipif(REFERENCE is None, reason="shared reference facts not present")
@pytest.mark.parametrize("model, key", [("ResNet18", "resnet18"), ("ResNet50", "resnet50")])
def test_state_dict_is_torchvisions(model, key):
    with torch.device("meta"):
        module = archlang.to_torch(str(RESNET), model)
    assert _entries(module) == REFERENCE[key]["state_dict"]
    assert sum(p.numel() for p in module.parameters()) == REFERENCE[key]["num_params"]


@pytest.mark.parametrize("model, block, layers", [("ResNet18", BasicBlock, [2, 2, 2, 2]),
                                                  ("ResNet50", Bottleneck, [3, 4, 6, 3])])
def test_outputs_equal_the_reference_implementation_for_the_same_weights(model, block, layers):
    ours = archlang.to_torch(str(RESNET), model, seed=0).eval()
    _randomise_batchnorm(ours, 1)
    reference = ResNet(block, layers).eval()
    reference.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-6)


def test_reference_checkpoint_loads_strictly_into_the_spec():
    reference = ResNet(BasicBlock, [2, 2, 2, 2])
    ours = archlang.to_torch(str(RESNET), "ResNet18")
    ours.load_state_dict(reference.state_dict(), strict=True)
    for (k1, v1), (k2, v2) in zip(ours.state_dict().items(), reference.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)


def test_module_hierarchy_is_the_specs():
    module = archlang.to_torch(str(RESNET), "ResNet18")
    assert isinstance(module.layer1, nn.Sequential)
    assert [name for name, _ in module.layer2.named_children()] == ["0", "1"]
    assert isinstance(module.layer2[0].downsample, nn.Sequential)
    assert not hasattr(module.layer2[1], "downsample")
    assert type(module).__name__ == "ResNet18"
    assert type(module.layer2[0]).__name__ == "BasicBlock"


# ---- initialisation ----------------------------------------------------------------------


def test_seed_makes_initialisation_reproducible_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a = archlang.to_torch(str(RESNET), "ResNet18", seed=7)
    b = archlang.to_torch(str(RESNET), "ResNet18", seed=7)
    c = archlang.to_torch(str(RESNET), "ResNet18", seed=8)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_default_initialisation_is_pytorchs():
    torch.manual_seed(3)
    expected = nn.Conv2d(3, 64, 7, 2, 3, bias=False).weight
    torch.manual_seed(3)
    ours = archlang.to_torch("model M() {\n  input x: [B, 3, 8, 8]\n  conv1 = Conv2d(3, 64, 7, stride=2, padding=3, bias=false)\n  return conv1(x)\n}")
    assert torch.equal(ours.conv1.weight, expected)


# ---- sharing, ties, symbolic sizes --------------------------------------------------------

SHARING = """
model Shared() {
    input ids: int64[B, T]
    wte = Embedding(100, 16)
    wpe = Embedding(32, 16)
    fc = Linear(16, 16)
    lm_head = Linear(16, 100, bias=false)
    tie lm_head.weight = wte.weight
    h = wte(ids) + wpe(arange(T))
    h = fc(relu(fc(h)))
    h = h.reshape([B, T, 4, 4]).reshape([B, T, 16])
    return lm_head(h)
}
"""


def test_shared_members_and_tied_weights_are_one_parameter():
    module = archlang.to_torch(SHARING, seed=0)
    assert module.lm_head.weight is module.wte.weight
    summary = archlang.summary(SHARING)
    assert sum(p.numel() for p in module.parameters()) == summary.params == 100 * 16 + 32 * 16 + 16 * 16 + 16
    assert list(module.state_dict()) == ["wte.weight", "wpe.weight", "fc.weight", "fc.bias", "lm_head.weight"]


@pytest.mark.parametrize("batch, length", [(1, 5), (3, 17)])
def test_symbolic_sizes_are_read_at_run_time(batch, length):
    module = archlang.to_torch(SHARING, seed=0)
    ids = torch.randint(0, 100, (batch, length))
    assert module(ids).shape == (batch, length, 100)


# ---- compile / export ----------------------------------------------------------------------


@pytest.mark.parametrize("path, model, shape", [
    (RESNET, "ResNet18", (1, 3, 64, 64)),
    (VIT, "ViT_Tiny", None),
    (GPT2, "GPT2_Tiny", None),
])
def test_torch_compile_fullgraph_and_export(path, model, shape):
    module = archlang.to_torch(str(path), model, seed=0).eval()
    inputs = _example_inputs(path, model, shape)
    with torch.no_grad():
        expected = module(*inputs)
        compiled = torch.compile(module, fullgraph=True, backend="eager")
        assert torch.allclose(compiled(*inputs), expected)
        exported = torch.export.export(module, inputs)
        assert torch.allclose(exported.module()(*inputs), expected)


def _example_inputs(path, model, shape):
    graph = archlang.load(str(path)).elaborate(model).graph
    tensors = []
    for node in graph.input_nodes:
        dims = shape or tuple(d if isinstance(d, int) else 2 for d in node.type.shape)
        if node.type.dtype == "int64":
            tensors.append(torch.randint(0, 10, dims))
        else:
            tensors.append(torch.randn(dims))
    return tuple(tensors)


# ---- FLOPs: the analytic counts against torch's counter ------------------------------------


@pytest.mark.parametrize("path, model, inputs", [
    (RESNET, "ResNet18", {"x": (1, 3, 224, 224)}),
    (RESNET, "ResNet50", {"x": (2, 3, 96, 96)}),
    (VIT, "ViT_Tiny", None),
    (GPT2, "GPT2_Tiny", None),
])
def test_macs_agree_with_flop_counter(path, model, inputs):
    summary = archlang.summary(str(path), model, inputs=inputs)
    with torch.device("meta"):
        module = archlang.to_torch(str(path), model, inputs=inputs)
    graph = archlang.load(str(path)).elaborate(model, inputs=inputs or {}).graph
    example = []
    for node in graph.input_nodes:
        dims = tuple(d if isinstance(d, int) else 2 for d in node.type.shape)
        example.append(torch.zeros(dims, dtype=torch.int64 if node.type.dtype == "int64" else torch.float32, device="meta"))
    counter = FlopCounterMode(display=False)
    with counter, torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):
        module(*example)
    macs = summary.macs if isinstance(summary.macs, int) else None
    if macs is None:
        from archlang.ir import dims as D

        env = {}
        for node in graph.input_nodes:
            for d, v in zip(node.type.shape, example[graph.input_nodes.index(node)].shape):
                if not isinstance(d, int):
                    env.update({name: v for name in D.free_symbols(d)})
        macs = D.evaluate(summary.macs, env)
    assert counter.get_total_flops() == 2 * macs


@pytest.mark.parametrize("model, gmacs", [("ResNet18", 1.814), ("ResNet50", 4.089)])
def test_macs_match_torchvisions_published_figures(model, gmacs):
    summary = archlang.summary(str(RESNET), model, inputs={"x": (1, 3, 224, 224)})
    assert abs(summary.macs / 1e9 - gmacs) / gmacs < 0.01


# ---- refusals -------------------------------------------------------------------------------

SPACE = """
space S() {
    input x: [B, 8]
    fc = Linear(8, choice(16, 32))
    act = choice(ReLU(), GELU())
    return act(fc(x))
}
"""


def test_compiling_a_space_is_a_located_error_naming_its_choices():
    with pytest.raises(SpaceError) as info:
        archlang.to_torch(SPACE, filename=None) if False else archlang.to_torch(SPACE)
    message = info.value.message
    assert "2 free choices (fc.out_features, act)" in message
    assert info.value.span.line == 4


def test_a_spec_whose_shapes_do_not_check_never_reaches_torch():
    bad = "model M() {\n  input x: [B, 8]\n  return Linear(4, 2)(x)\n}"
    with pytest.raises(ArchError) as info:
        archlang.to_torch(bad)
    assert "Linear expects" in info.value.message or "in_features" in info.value.message
    assert info.value.span.line == 3


def test_compile_cli_writes_loadable_weights(tmp_path, capsys):
    from archlang.cli import main

    for suffix in ("pt", "safetensors"):
        out = tmp_path / f"r18.{suffix}"
        assert main(["compile", str(RESNET), "-m", "ResNet18", "--seed", "1", "-o", str(out)]) == 0
        assert f"wrote {out} ({suffix}, 11,689,512 parameters, 122 tensors)" in capsys.readouterr().out
        if suffix == "pt":
            state = torch.load(out, weights_only=True)
        else:
            from safetensors.torch import load_file

            state = load_file(str(out))
        reference = ResNet(BasicBlock, [2, 2, 2, 2])
        reference.load_state_dict(state, strict=True)
        expected = archlang.to_torch(str(RESNET), "ResNet18", seed=1).state_dict()
        assert all(torch.equal(state[k], v) for k, v in expected.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r18.pt", "r18.safetensors"]


def test_gpt2_outputs_equal_a_hand_written_gpt2():
    ours = archlang.to_torch(str(GPT2), "GPT2_Tiny", seed=0).eval()
    reference = GPT(vocab_size=256, block_size=32, n_layer=2, n_head=2, n_embd=32).eval()
    reference.load_state_dict(ours.state_dict(), strict=True)
    ids = torch.randint(0, 256, (3, 11), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(ours(ids), reference(ids), atol=1e-6)


REGRID = """
block Regrid() {
    input x: [B, C, H, W]
    b, c, h, w = x.shape
    return x.flatten(2).reshape([b, c, h, w])
}
model M() {
    input x: [B, 4, H, W]
    pool = MaxPool2d(2)
    r = Regrid()
    return r(pool(x))
}
"""


def test_a_block_reads_sizes_that_are_expressions_of_the_callers():
    module = archlang.to_torch(REGRID)
    assert module(torch.randn(2, 4, 10, 12)).shape == (2, 4, 5, 6)


ITEMWISE = """
block Two() {
    input x: [B, 4]
    input s: [B, C]
    fc = Linear(C + 4, 4)
    return fc(cat([x, s], dim=1))
}
model M() {
    input x: [B, 4]
    input s: [B, 8]
    ts = Sequential([Two() for i in range(2)])
    for i in range(2) {
        x = ts[i](x, s)
    }
    return x
}
"""


def test_sequence_items_applied_one_by_one_are_built_from_their_applications():
    assert archlang.summary(ITEMWISE).params == 2 * (12 * 4 + 4)
    module = archlang.to_torch(ITEMWISE)
    assert list(module.state_dict()) == ["ts.0.fc.weight", "ts.0.fc.bias", "ts.1.fc.weight", "ts.1.fc.bias"]
    assert module(torch.randn(2, 4), torch.randn(2, 8)).shape == (2, 4)


def test_sizes_that_are_expressions_are_computed_at_run_time():
    spec = "model M() {\n  input x: [B, 4, T]\n  y = x[:, :, :T - 1]\n  return y.reshape([B, 4 * (T - 1)])\n}"
    module = archlang.to_torch(spec)
    assert module(torch.randn(2, 4, 7)).shape == (2, 24)
    assert module(torch.randn(3, 4, 5)).shape == (3, 16)


def test_mobilenet_v2_outputs_equal_torchvisions_for_the_same_weights():
    from handwritten import MobileNetV2

    ours = archlang.to_torch(str(ROOT / "specs" / "vision" / "mobilenet.arch"), "MobileNetV2", seed=0).eval()
    _randomise_batchnorm(ours, 3)
    reference = MobileNetV2().eval()
    reference.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-6)
