"""Every zoo model's generated module works under ``torch.compile(fullgraph=True)`` and
``torch.export.export``, and both agree with eager mode.

The small variant of each family is used (the forward code is the same at every size);
``torch.compile`` runs with the eager backend, which captures the whole graph with Dynamo
(what ``fullgraph=True`` promises) without spending minutes in Inductor's code generation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import archlang  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMALL = [
    ("vision/resnet.arch", "ResNet18", {"x": (1, 3, 64, 64)}),
    ("vision/vit.arch", "ViT_Tiny", None),
    ("text/gpt2.arch", "GPT2_Tiny", None),
    ("vision/mobilenet.arch", "MobileNetV2_Tiny", None),
    ("vision/mobilenet.arch", "MobileNetV3_Tiny", None),
    ("vision/efficientnet.arch", "EfficientNet_Tiny", None),
    ("vision/convnext.arch", "ConvNeXt_Mini", None),
    ("vision/unet.arch", "UNet_Tiny", None),
    ("vision/mlp_mixer.arch", "Mixer_Tiny", None),
    ("vision/hybrid.arch", "Hybrid_Tiny", None),
    ("text/mamba.arch", "Mamba_Tiny", None),
    ("text/moe.arch", "MoE_Tiny", None),
    ("vision/densenet.arch", "DenseNet_Tiny", None),
    ("vision/regnet.arch", "RegNetY_Tiny", None),
    ("vision/swin.arch", "Swin_Tiny", None),
    ("text/llama.arch", "Llama_Tiny", None),
    ("text/bert.arch", "BERT_Tiny", None),
    ("text/t5.arch", "T5_Tiny", None),
    ("vision/efficientnet_v2.arch", "EfficientNetV2_Tiny", None),
]


def _inputs(model, generator):
    tensors = []
    for node in model.graph.input_nodes:
        free = 8 if node.type.dtype == "int64" else 32  # symbolic sizes: batch 2, others large enough
        shape = tuple(d if isinstance(d, int) else (2 if i == 0 else free) for i, d in enumerate(node.type.shape))
        if node.type.dtype == "int64":
            tensors.append(torch.randint(0, 8, shape, generator=generator))
        else:
            tensors.append(torch.randn(shape, generator=generator))
    return tuple(tensors)


def test_every_zoo_file_has_a_small_variant_here():
    files = {str(p.relative_to(ROOT / "specs")) for p in (ROOT / "specs").rglob("*.arch")}
    files -= {f for f in files if f.startswith(("std/", "spaces/"))}
    assert files <= {rel for rel, _, _ in SMALL}


@pytest.mark.parametrize("rel, name, inputs", SMALL, ids=[n for _, n, _ in SMALL])
def test_compile_fullgraph_and_export_agree_with_eager(rel, name, inputs):
    path = str(ROOT / "specs" / rel)
    model = archlang.load(path).elaborate(name, inputs=inputs or {})
    module = archlang.to_torch(path, name, seed=0, inputs=inputs).eval()
    args = _inputs(model, torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = module(*args)
        compiled = torch.compile(module, fullgraph=True, backend="eager")
        torch.testing.assert_close(compiled(*args), expected)
        exported = torch.export.export(module, args)
        torch.testing.assert_close(exported.module()(*args), expected)
