"""The transformer specs: ViT (specs/vision/vit.arch) and GPT-2 (specs/text/gpt2.arch).

State-dict keys are computed from the IR member tree, so a spec that passes here loads a
torchvision / GPT-2 checkpoint by name.  The walker below is a local helper until the
library grows a shared one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _reference import STATE_DICTS

import archlang
from archlang.ir import dims
from archlang.ir.params import state_dict_entries

ROOT = Path(__file__).resolve().parents[1]
VIT = ROOT / "specs" / "vision" / "vit.arch"
GPT2 = ROOT / "specs" / "text" / "gpt2.arch"
REFERENCE = STATE_DICTS


# ---- a small IR walker -------------------------------------------------------------------



def tied_keys(graph, prefix: str = "") -> set[str]:
    """Every ``tie`` target, as a full key: the parameter that is another one."""
    keys = {prefix + tie.target for tie in graph.ties}
    for name, member in graph.members:
        if member.kind == "block":
            keys |= tied_keys(member.graph, f"{prefix}{name}.")
    return keys


def parameter_count(model) -> int:
    tied = tied_keys(model.graph)
    total = 0
    for key, spec in state_dict_entries(model.graph):
        if not spec.buffer and key not in tied:
            total = total + spec.numel()
    return dims.simplify(total)


def shape_of(model) -> str:
    (out,) = model.graph.output_types
    return str(out)


# ---- ViT ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vit():
    return archlang.load(VIT)


@pytest.fixture(scope="module")
def vit_b_16(vit):
    return vit.elaborate("ViT_B_16")


def _reference(name: str) -> dict:
    if not REFERENCE.exists():
        pytest.skip(f"reference file {REFERENCE} is not on this machine")
    return json.loads(REFERENCE.read_text())[name]


def test_vit_b_16_state_dict_matches_torchvision_exactly(vit_b_16):
    reference = _reference("vit_b_16")["state_dict"]
    ours = [[key, list(spec.shape), spec.dtype] for key, spec in state_dict_entries(vit_b_16.graph)]
    assert [k for k, _, _ in ours] == [k for k, _, _ in reference]  # names and order first
    assert ours == reference


def test_vit_b_16_parameter_count(vit_b_16):
    assert parameter_count(vit_b_16) == 86_567_656 == _reference("vit_b_16")["num_params"]


def test_vit_b_16_shapes(vit, vit_b_16):
    assert shape_of(vit_b_16) == "float32[B, 1000]"
    concrete = vit.elaborate("ViT_B_16", inputs={"x": [2, 3, 224, 224]})
    assert shape_of(concrete) == "float32[2, 1000]"


def test_vit_encoder_layers_stay_rolled(vit_b_16):
    encoder = vit_b_16.graph.member("encoder").graph
    layers = next(n for n in encoder.nodes if n.target == "layers")
    calls = [n for n in layers.body.nodes if n.kind == "call"]
    assert [(n.target, n.repeat) for n in calls] == [("encoder_layer_0", 12)]


def test_vit_rejects_a_wrong_image_size(vit):
    with pytest.raises(archlang.ArchError, match="input x of VisionTransformer expects"):
        vit.elaborate("ViT_B_16", inputs={"x": [2, 3, 225, 225]})


def test_vit_rejects_a_patch_size_that_does_not_divide_the_image(vit):
    with pytest.raises(archlang.ArchError, match="divisible by the patch size"):
        vit.elaborate("ViT_B_16", params={"patch_size": 15})


def test_vit_tiny(vit):
    tiny = vit.elaborate("ViT_Tiny")
    assert shape_of(tiny) == "float32[B, 10]"
    keys = [key for key, _ in state_dict_entries(tiny.graph)]
    assert keys[:4] == ["class_token", "conv_proj.weight", "conv_proj.bias", "encoder.pos_embedding"]
    assert "encoder.layers.encoder_layer_1.mlp.3.bias" in keys
    assert keys[-2:] == ["heads.head.weight", "heads.head.bias"]


def test_vit_other_sizes(vit):
    assert parameter_count(vit.elaborate("ViT_B_32")) == 88_224_232  # torchvision's vit_b_32
    assert parameter_count(vit.elaborate("ViT_L_16")) == 304_326_632  # torchvision's vit_l_16


# ---- GPT-2 -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpt():
    return archlang.load(GPT2)


@pytest.fixture(scope="module")
def gpt2(gpt):
    return gpt.elaborate("GPT2")


def test_gpt2_parameter_count_counts_the_tied_head_once(gpt2):
    assert tied_keys(gpt2.graph) == {"lm_head.weight"}
    assert parameter_count(gpt2) == 124_439_808


def test_gpt2_output_shape(gpt, gpt2):
    assert shape_of(gpt2) == "float32[B, T, 50257]"
    concrete = gpt.elaborate("GPT2", inputs={"ids": [2, 16]})
    assert shape_of(concrete) == "float32[2, 16, 50257]"


def test_gpt2_state_dict_names(gpt2):
    """Hugging Face's GPT2LMHeadModel keys; Conv1D weights are stored [in, out]."""
    keys = dict(state_dict_entries(gpt2.graph))
    assert list(keys)[:2] == ["transformer.wte.weight", "transformer.wpe.weight"]
    assert list(keys.values())[0].shape == (50257, 768)
    assert keys["transformer.h.11.attn.c_attn.weight"].shape == (768, 2304)
    assert keys["transformer.h.11.attn.c_attn.bias"].shape == (2304,)
    assert keys["transformer.h.0.attn.c_proj.weight"].shape == (768, 768)
    assert keys["transformer.h.0.mlp.c_fc.weight"].shape == (768, 3072)
    assert keys["transformer.h.0.mlp.c_proj.weight"].shape == (3072, 768)
    assert keys["transformer.ln_f.bias"].shape == (768,)
    assert keys["lm_head.weight"].shape == keys["transformer.wte.weight"].shape
    assert "lm_head.bias" not in keys
    assert len(keys) == 2 + 12 * 12 + 2 + 1


def test_gpt2_attention_is_causal(gpt2):
    attn = gpt2.graph.member("transformer").graph.member("h").members[0][1].graph.member("attn").graph
    (sdpa,) = [n for n in attn.nodes if n.op == "scaled_dot_product_attention"]
    assert sdpa.attrs["is_causal"] is True
    assert str(sdpa.type) == "float32[B, 12, T, 64]"


def test_gpt2_tiny(gpt):
    tiny = gpt.elaborate("GPT2_Tiny")
    assert shape_of(tiny) == "float32[B, T, 256]"
    assert parameter_count(tiny) == 256 * 32 + 32 * 32 + 2 * (12 * 32 * 32 + 13 * 32) + 2 * 32


# ---- differential tests against reference PyTorch implementations -------------------------
#
# A small re-implementation of torchvision's VisionTransformer, with the reference naming: the
# module the torch backend builds from the spec must load into it with strict=True and compute
# the same function.  (GPT-2 is checked against transformers' own GPT2LMHeadModel in
# tests/test_hf_models.py.)


def _references():
    """The reference module (defined on first use, so this file runs without torch)."""
    from collections import OrderedDict

    import torch
    from torch import nn

    class TVEncoderBlock(nn.Module):
        def __init__(self, heads: int, d: int, mlp: int) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(d, eps=1e-6)
            self.self_attention = nn.MultiheadAttention(d, heads, batch_first=True)
            self.dropout = nn.Dropout(0.0)
            self.ln_2 = nn.LayerNorm(d, eps=1e-6)
            self.mlp = nn.Sequential(nn.Linear(d, mlp), nn.GELU(), nn.Dropout(0.0), nn.Linear(mlp, d), nn.Dropout(0.0))

        def forward(self, inputs):
            x = self.ln_1(inputs)
            x, _ = self.self_attention(x, x, x, need_weights=False)
            x = self.dropout(x) + inputs
            return x + self.mlp(self.ln_2(x))

    class TVEncoder(nn.Module):
        def __init__(self, seq: int, layers: int, heads: int, d: int, mlp: int) -> None:
            super().__init__()
            self.pos_embedding = nn.Parameter(torch.empty(1, seq, d).normal_(std=0.02))
            self.dropout = nn.Dropout(0.0)
            blocks = [(f"encoder_layer_{i}", TVEncoderBlock(heads, d, mlp)) for i in range(layers)]
            self.layers = nn.Sequential(OrderedDict(blocks))
            self.ln = nn.LayerNorm(d, eps=1e-6)

        def forward(self, x):
            return self.ln(self.layers(self.dropout(x + self.pos_embedding)))

    class TVViT(nn.Module):
        """torchvision's VisionTransformer, trimmed to what vit_b_16 uses."""

        def __init__(self, image: int, patch: int, layers: int, heads: int, d: int, mlp: int, classes: int):
            super().__init__()
            self.hidden_dim = d
            self.conv_proj = nn.Conv2d(3, d, kernel_size=patch, stride=patch)
            self.class_token = nn.Parameter(torch.zeros(1, 1, d))
            self.encoder = TVEncoder((image // patch) ** 2 + 1, layers, heads, d, mlp)
            self.heads = nn.Sequential(OrderedDict(head=nn.Linear(d, classes)))

        def forward(self, x):
            n = x.shape[0]
            x = self.conv_proj(x).reshape(n, self.hidden_dim, -1).permute(0, 2, 1)
            x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
            return self.heads(self.encoder(x)[:, 0])

    return TVViT


def _build(program, name):
    from archlang.backends.torch import build_module

    return build_module(program.elaborate(name), seed=0).eval()


def test_the_reference_vit_has_torchvisions_state_dict():
    torch = pytest.importorskip("torch")
    TVViT = _references()
    with torch.device("meta"):
        reference = TVViT(224, 16, 12, 12, 768, 3072, 1000)
    keys = [[k, list(v.shape)] for k, v in reference.state_dict().items()]
    assert keys == [[k, shape] for k, shape, _ in _reference("vit_b_16")["state_dict"]]


def test_vit_tiny_computes_what_torchvision_computes(vit):
    torch = pytest.importorskip("torch")
    TVViT = _references()
    ours = _build(vit, "ViT_Tiny")
    reference = TVViT(32, 8, 2, 4, 64, 128, 10).eval()
    reference.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)


def test_gpt2_is_causal(gpt):
    torch = pytest.importorskip("torch")
    ours = _build(gpt, "GPT2_Tiny")
    ids = torch.randint(0, 256, (1, 8))
    changed = ids.clone()
    changed[0, -1] = (ids[0, -1] + 1) % 256
    with torch.no_grad():
        torch.testing.assert_close(ours(ids)[:, :-1], ours(changed)[:, :-1])
