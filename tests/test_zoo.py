"""The model zoo: MobileNetV2/V3, EfficientNet V1 and V2, ConvNeXt, U-Net, MLP-Mixer, a
CoAtNet-style hybrid (specs/vision), Mamba, a Llama-3-style decoder, BERT, T5 and a
mixture-of-experts transformer (specs/text).

For every model in those files: it checks and elaborates; the analytic parameter count
(``archlang.summary``) equals the parameters of the module the torch backend builds (on the
meta device for the full-size models, so no weights are allocated); the tiny variants run a
real forward on CPU whose output shape is the IR's.  Then the exact figures: MobileNetV2's
state dict is torchvision's key for key, the parameter counts are the published ones, and
the MACs are within 1% of torchvision's published "GFLOPS" at 1×3×224×224.  Small reference
implementations (torchvision's ConvNeXt, mamba_ssm's slow path) check that the generated
modules compute what the originals compute.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _reference import STATE_DICTS
from _torchvision_numerics import assert_matches_torchvision

import archlang
from archlang.ir.params import state_dict_entries

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
ZOO = [
    "vision/mobilenet.arch", "vision/efficientnet.arch", "vision/convnext.arch", "vision/unet.arch",
    "vision/mlp_mixer.arch", "vision/hybrid.arch", "text/mamba.arch", "text/moe.arch", "text/llama.arch",
    "text/bert.arch", "text/t5.arch", "vision/efficientnet_v2.arch",
    "vision/densenet.arch", "vision/regnet.arch", "vision/swin.arch",
]
REFERENCE = STATE_DICTS

# Tiny variants: concrete inputs for a real CPU forward.  Every other model is built on the
# meta device only.
TINY = {
    "MobileNetV2_Tiny": {"x": (2, 3, 32, 32)},
    "MobileNetV3_Tiny": {"x": (2, 3, 32, 32)},
    "EfficientNet_Tiny": {"x": (2, 3, 32, 32)},
    "ConvNeXt_Mini": {"x": (2, 3, 64, 64)},
    "UNet_Tiny": {"x": (2, 3, 32, 32)},
    "Mixer_Tiny": {"x": (2, 3, 32, 32)},
    "Hybrid_Tiny": {"x": (2, 3, 32, 32)},
    "Mamba_Tiny": {"ids": (2, 9)},
    "MoE_Tiny": {"ids": (2, 9)},
    "DenseNet_Tiny": {"x": (2, 3, 32, 32)},
    "RegNetY_Tiny": {"x": (2, 3, 32, 32)},
    "Swin_Tiny": {"x": (2, 3, 32, 32)},
    "Llama_Tiny": {"ids": (2, 9)},
    "BERT_Tiny": {"input_ids": (2, 9)},
    "T5_Tiny": {"input_ids": (2, 9), "decoder_input_ids": (2, 5)},
    "EfficientNetV2_Tiny": {"x": (2, 3, 32, 32)},
}
VOCAB = 256  # of the tiny language models

# Published parameter counts: torchvision's model documentation for the torchvision models;
# the paper/reference-implementation configurations for the rest (timm's mixer_*_224,
# state-spaces/mamba-130m with its vocabulary padded to 50,280).
PARAMS = {
    "MobileNetV2": 3_504_872,
    "MobileNetV3Large": 5_483_032,
    "MobileNetV3Small": 2_542_856,
    "EfficientNetB0": 5_288_548,
    "EfficientNetB1": 7_794_184,
    "EfficientNetB2": 9_109_994,
    "EfficientNetB3": 12_233_232,
    "ConvNeXtTiny": 28_589_128,
    "ConvNeXtSmall": 50_223_688,
    "ConvNeXtBase": 88_591_464,
    "Mixer_S16": 18_528_264,
    "Mixer_B16": 59_880_472,
    "Mamba_130M": 129_135_360,
    "DenseNet121": 7_978_856,
    "DenseNet169": 14_149_480,
    "RegNetY_400MF": 4_344_144,
    "RegNetY_800MF": 6_432_512,
    "Swin_T": 28_288_354,
    "Llama3_2_1B": 1_235_814_400,  # meta-llama/Llama-3.2-1B (tied head)
    "BERT_Base": 109_482_240,  # bert-base-uncased
    "BERT_Large": 335_141_888,  # bert-large-uncased
    "T5_Small": 60_506_624,  # t5-small (T5Model)
    "T5_Base": 222_903_552,  # t5-base (T5Model)
    "EfficientNetV2_S": 21_458_488,
    "EfficientNetV2_M": 54_139_356,
}

# torchvision's published GFLOPS (really MACs) at 1×3×224×224.
GMACS = {
    "MobileNetV2": 0.301,
    "MobileNetV3Large": 0.217,
    "MobileNetV3Small": 0.057,
    "EfficientNetB0": 0.386,
    "ConvNeXtTiny": 4.456,
    "DenseNet121": 2.834,
    "DenseNet169": 3.36,
    "RegNetY_400MF": 0.40,
    "RegNetY_800MF": 0.83,
    "Swin_T": 4.49,
}


def _entries():
    for rel in ZOO:
        program = archlang.load(SPECS / rel)
        for name in program.models:
            yield pytest.param(rel, name, id=name)


ENTRIES = list(_entries())


@pytest.fixture(scope="module")
def programs():
    cache = {}

    def get(rel: str):
        if rel not in cache:
            cache[rel] = archlang.load(SPECS / rel)
        return cache[rel]

    return get



def _reference(name: str) -> dict:
    if not REFERENCE.exists():
        pytest.skip(f"reference file {REFERENCE} is not on this machine")
    return json.loads(REFERENCE.read_text())[name]


# ---- every model ---------------------------------------------------------------------------


def test_the_zoo_is_complete():
    names = [p.values[1] for p in ENTRIES]
    assert len(names) == len(set(names)), "model names are unique across the zoo"
    assert set(TINY) <= set(names)
    files_with_tiny = {p.values[0] for p in ENTRIES if p.values[1] in TINY}
    assert files_with_tiny == set(ZOO), "every zoo file has a tiny variant"
    assert set(PARAMS) | set(GMACS) <= set(names)


@pytest.mark.parametrize("rel, name", ENTRIES)
def test_model_params_match_the_torch_module(programs, rel, name):
    torch = pytest.importorskip("torch")
    program = programs(rel)
    model = program.elaborate(name, inputs=TINY.get(name))
    summary = archlang.summary(program, name, inputs=TINY.get(name))
    assert isinstance(summary.params, int) and summary.params > 0
    if name in TINY:
        module = archlang.to_torch(program, name, seed=0).eval()
        args = []
        for node in model.graph.nodes:
            if node.kind == "input":
                shape = TINY[name][node.target]
                if node.type.dtype == "int64":
                    args.append(torch.randint(0, VOCAB, shape))
                else:
                    args.append(torch.randn(shape))
        with torch.no_grad():
            outs = module(*args)
        wants = model.graph.output_types
        outs = outs if len(wants) > 1 else (outs,)  # BertModel returns (hidden states, pooled)
        assert len(outs) == len(wants)
        for out, want in zip(outs, wants):
            assert tuple(out.shape) == tuple(want.shape)
            assert str(out.dtype) == f"torch.{want.dtype}"
            assert torch.isfinite(out).all()
    else:
        with torch.device("meta"):
            module = archlang.to_torch(program, name, seed=0)
        assert all(p.is_meta for p in module.parameters())
    assert sum(p.numel() for p in module.parameters()) == summary.params


# ---- exact figures -------------------------------------------------------------------------


def test_mobilenet_v2_state_dict_is_torchvisions(programs):
    torch = pytest.importorskip("torch")
    reference = _reference("mobilenet_v2")
    program = programs("vision/mobilenet.arch")
    model = program.elaborate("MobileNetV2")
    ours = [[key, list(spec.shape), spec.dtype] for key, spec in state_dict_entries(model.graph)]
    assert [k for k, _, _ in ours] == [k for k, _, _ in reference["state_dict"]]  # names and order first
    assert ours == reference["state_dict"]
    with torch.device("meta"):
        module = archlang.to_torch(program, "MobileNetV2")
    built = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in module.state_dict().items()]
    assert built == reference["state_dict"]
    assert archlang.summary(program, "MobileNetV2").params == reference["num_params"]


# torchvision models whose containers are named (OrderedDict / add_module in torchvision) or
# that keep buffers: the spec's state dict is torchvision's, key for key, a checkpoint of it
# loads strictly, and the module computes torchvision's logits.
TORCHVISION = [
    ("vision/densenet.arch", "DenseNet121", "densenet121"),
    ("vision/regnet.arch", "RegNetY_400MF", "regnet_y_400mf"),
    ("vision/swin.arch", "Swin_T", "swin_t"),  # with its relative_position_index buffers
]


@pytest.mark.parametrize("rel, name, key", TORCHVISION, ids=[k for _, _, k in TORCHVISION])
def test_torchvision_state_dict_loads_strictly_and_outputs_match(programs, rel, name, key):
    torch = pytest.importorskip("torch")
    reference = _reference(key)
    program = programs(rel)
    ours = [[k, list(spec.shape), spec.dtype] for k, spec in state_dict_entries(program.elaborate(name).graph)]
    assert ours == reference["state_dict"]
    module = archlang.to_torch(program, name, seed=0)
    assert_matches_torchvision(module, key)
    checkpoint = {k: torch.zeros(shape, dtype=getattr(torch, dtype)) for k, shape, dtype in reference["state_dict"]}
    module.load_state_dict(checkpoint, strict=True)  # a checkpoint of torchvision's layout loads strictly


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_published_parameter_counts(programs, name):
    rel = next(p.values[0] for p in ENTRIES if p.values[1] == name)
    assert archlang.summary(programs(rel), name).params == PARAMS[name]


@pytest.mark.parametrize("name", sorted(GMACS))
def test_published_macs(programs, name):
    rel = next(p.values[0] for p in ENTRIES if p.values[1] == name)
    macs = archlang.summary(programs(rel), name, inputs={"x": (1, 3, 224, 224)}).macs
    assert macs == pytest.approx(GMACS[name] * 1e9, rel=0.01)


# ---- structure -----------------------------------------------------------------------------


def test_efficientnet_b0_is_torchvisions_layout(programs):
    keys = dict(state_dict_entries(programs("vision/efficientnet.arch").elaborate("EfficientNetB0").graph))
    assert keys["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert keys["features.1.0.block.0.0.weight"].shape == (32, 1, 3, 3)       # t = 1: no expansion
    assert keys["features.1.0.block.1.fc1.weight"].shape == (8, 32, 1, 1)     # SE: input_channels // 4
    assert keys["features.2.0.block.2.fc1.weight"].shape == (4, 96, 1, 1)
    assert keys["features.6.3.block.3.0.weight"].shape == (192, 1152, 1, 1)
    assert keys["features.8.0.weight"].shape == (1280, 320, 1, 1)
    assert keys["classifier.1.weight"].shape == (1000, 1280)


def test_mobilenet_v3_large_is_torchvisions_layout(programs):
    model = programs("vision/mobilenet.arch").elaborate("MobileNetV3Large")
    keys = dict(state_dict_entries(model.graph))
    assert keys["features.4.block.2.fc1.weight"].shape == (24, 72, 1, 1)      # _make_divisible(72 // 4, 8)
    assert keys["features.16.0.weight"].shape == (960, 160, 1, 1)
    assert keys["classifier.0.weight"].shape == (1280, 960)
    assert keys["classifier.3.weight"].shape == (1000, 1280)
    bn = model.graph.member("features").member("0").member("1")
    assert (bn.attrs["eps"], bn.attrs["momentum"]) == (0.001, 0.01)


def test_unet_keeps_the_resolution(programs):
    program = programs("vision/unet.arch")
    (out,) = program.elaborate("UNet_Original").graph.output_types
    assert str(out) == "float32[B, 2, 256, 256]"
    with pytest.raises(archlang.ArchError, match="divisible by 2 \\*\\* depth"):
        program.elaborate("UNet_Tiny", params={"image_size": 34})


def test_language_models_are_causal_and_tied(programs):
    torch = pytest.importorskip("torch")
    for rel, name, tied in (("text/mamba.arch", "Mamba_Tiny", ("lm_head", "backbone.embeddings")),
                            ("text/moe.arch", "MoE_Tiny", ("lm_head", "wte"))):
        module = archlang.to_torch(programs(rel), name, seed=0).eval()
        assert module.get_submodule(tied[0]).weight is module.get_submodule(tied[1]).weight
        ids = torch.randint(0, VOCAB, (1, 8))
        changed = ids.clone()
        changed[0, -1] = (ids[0, -1] + 1) % VOCAB
        with torch.no_grad():
            a, b = module(ids), module(changed)
        torch.testing.assert_close(a[:, :-1], b[:, :-1])
        assert not torch.allclose(a[:, -1], b[:, -1])


def test_moe_routes_each_token_to_two_experts(programs):
    model = programs("text/moe.arch").elaborate("MoE_Tiny")
    block = model.graph.member("h").member("0").graph
    moe = block.member("mlp").graph
    (gate,) = [n for n in moe.nodes if n.op == "topk_gate"]
    (mix,) = [n for n in moe.nodes if n.op == "mix"]
    assert gate.attrs["k"] == 2 and str(gate.type) == "float32[B, T, 4]"
    assert len(mix.inputs) == 1 + 4


# ---- differential tests against reference implementations ----------------------------------


def _convnext_reference():
    """torchvision's ConvNeXt, trimmed to what the spec describes."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class LayerNorm2d(nn.LayerNorm):
        def forward(self, x):
            x = x.permute(0, 2, 3, 1)
            x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            return x.permute(0, 3, 1, 2)

    class Permute(nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.dims = dims

        def forward(self, x):
            return torch.permute(x, self.dims)

    class CNBlock(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.block = nn.Sequential(
                nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True), Permute([0, 2, 3, 1]),
                nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim),
                Permute([0, 3, 1, 2]),
            )
            self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * 1e-6)

        def forward(self, x):
            return self.layer_scale * self.block(x) + x

    class ConvNeXt(nn.Module):
        def __init__(self, dims, depths, num_classes):
            super().__init__()
            layers = [nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), LayerNorm2d(dims[0], eps=1e-6))]
            for i, (dim, depth) in enumerate(zip(dims, depths)):
                layers.append(nn.Sequential(*[CNBlock(dim) for _ in range(depth)]))
                if i + 1 < len(dims):
                    layers.append(nn.Sequential(LayerNorm2d(dim, eps=1e-6), nn.Conv2d(dim, dims[i + 1], 2, stride=2)))
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(LayerNorm2d(dims[-1], eps=1e-6), nn.Flatten(1), nn.Linear(dims[-1], num_classes))

        def forward(self, x):
            return self.classifier(self.avgpool(self.features(x)))

    return ConvNeXt


def test_convnext_computes_what_torchvision_computes(programs):
    torch = pytest.importorskip("torch")
    ConvNeXt = _convnext_reference()
    with torch.device("meta"):
        big = archlang.to_torch(programs("vision/convnext.arch"), "ConvNeXtTiny")
        reference_big = ConvNeXt([96, 192, 384, 768], [3, 3, 9, 3], 1000)
    assert [(k, v.shape) for k, v in big.state_dict().items()] == \
        [(k, v.shape) for k, v in reference_big.state_dict().items()]

    ours = archlang.to_torch(programs("vision/convnext.arch"), "ConvNeXt_Mini", seed=0).eval()
    with torch.no_grad():  # layer_scale starts at ones in the spec: make it torchvision's 1e-6 … and larger
        for name, p in ours.named_parameters():
            if name.endswith("layer_scale"):
                p.copy_(torch.rand_like(p))
    reference = ConvNeXt([16, 32, 64, 128], [1, 1, 2, 1], 10).eval()
    reference.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-4, atol=1e-5)


def _mamba_mixer_reference(mixer, hidden):
    """mamba_ssm's Mamba.forward slow path (selective_scan_ref), on the generated module's weights."""
    import torch
    from torch.nn import functional as F

    batch, seqlen, _ = hidden.shape
    xz = (hidden @ mixer.in_proj.weight.t()).transpose(1, 2)
    A = -torch.exp(mixer.A_log.float())
    x, z = xz.chunk(2, dim=1)
    x = F.silu(mixer.conv1d(x)[..., :seqlen])
    x_dbl = x.transpose(1, 2).reshape(batch * seqlen, -1) @ mixer.x_proj.weight.t()
    d_state = A.shape[1]
    dt_rank = x_dbl.shape[1] - 2 * d_state
    dt, B, C = torch.split(x_dbl, [dt_rank, d_state, d_state], dim=-1)
    dt = (mixer.dt_proj.weight @ dt.t()).reshape(-1, batch, seqlen).transpose(0, 1)   # b d l
    B = B.reshape(batch, seqlen, d_state).transpose(1, 2)
    C = C.reshape(batch, seqlen, d_state).transpose(1, 2)
    delta = F.softplus(dt + mixer.dt_proj.bias[..., None])
    deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    deltaB_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, x)
    state = x.new_zeros(batch, x.shape[1], d_state)
    ys = []
    for i in range(seqlen):
        state = deltaA[:, :, i] * state + deltaB_u[:, :, i]
        ys.append(torch.einsum("bdn,bn->bd", state, C[:, :, i]))
    y = (torch.stack(ys, dim=2) + x * mixer.D[:, None]) * F.silu(z)
    return y.transpose(1, 2) @ mixer.out_proj.weight.t()


def test_mamba_computes_what_the_reference_computes(programs):
    torch = pytest.importorskip("torch")
    from torch.nn import functional as F

    module = archlang.to_torch(programs("text/mamba.arch"), "Mamba_Tiny", seed=0).eval()
    backbone = module.backbone
    ids = torch.randint(0, VOCAB, (2, 9))
    with torch.no_grad():
        h = backbone.embeddings(ids)
        for layer in backbone.layers:
            normed = F.rms_norm(h, (h.shape[-1],), layer.norm.weight, eps=1e-5)
            h = h + _mamba_mixer_reference(layer.mixer, normed)
        h = F.rms_norm(h, (h.shape[-1],), backbone.norm_f.weight, eps=1e-5)
        expected = h @ backbone.embeddings.weight.t()
        torch.testing.assert_close(module(ids), expected, rtol=1e-4, atol=1e-5)
