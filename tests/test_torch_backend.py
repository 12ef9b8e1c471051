"""The PyTorch backend: exact torchvision parity, numerics against a hand-written reference,
seeded initialisation, torch.compile / torch.export, FLOP cross-checks and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archlang  # noqa: E402
from archlang.errors import ArchError, SpaceError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESNET = ROOT / "specs" / "vision" / "resnet.arch"
VIT = ROOT / "specs" / "vision" / "vit.arch"
GPT2 = ROOT / "specs" / "text" / "gpt2.arch"
REFERENCE = json.loads((ROOT.parent / "shared" / "reference" / "torchvision_state_dicts.json").read_text()) \
    if (ROOT.parent / "shared" / "reference" / "torchvision_state_dicts.json").exists() else None


# ---- a hand-written torchvision ResNet (the reference implementation) --------------------


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


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
        assert torch.equal(ours(x), reference(x))


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
        from archlang import dims as D

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
