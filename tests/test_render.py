"""Diagrams (the graphviz backend) from the IR: what the DOT text contains and how options
change it — clusters and --depth, ×N and --expand, shapes on edges, skip connections, choice
nodes of search spaces — plus the Python API, Jupyter display and every zoo model.

DOT generation needs no Graphviz binary; the few tests that lay a diagram out skip without
``dot``.  The command line is tested in test_render_cli.py, golden diagrams in
test_render_golden.py.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import archlang
from archlang.backends.graphviz import RenderError, RenderOptions, build_diagram, find_dot, output, to_dot
from archlang.ir import dims

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
RESNET = SPECS / "vision" / "resnet.arch"
needs_dot = pytest.mark.skipif(find_dot() is None, reason="Graphviz's `dot` is not installed")


def diagram(spec, entry, **options):
    inputs = options.pop("inputs", None)
    model = archlang.load(SPECS / spec, check=False).elaborate(entry, inputs=inputs or {})
    return build_diagram(model, RenderOptions(**options))


def edges(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if " -> " in line]


def skip_edges(text: str) -> list[str]:
    return [e for e in edges(text) if "constraint=false" in e and "dashed" in e]


def clusters(text: str) -> list[str]:
    return re.findall(r'subgraph "?(cluster_[^" {]*)', text)


# ---- structure: clusters, depth, repeats ---------------------------------------------------


def test_blocks_are_nested_clusters_labelled_with_name_and_type():
    text = diagram("vision/resnet.arch", "ResNet18").source
    names = clusters(text)
    assert "cluster_layer1" in names and "cluster_layer2.0.downsample" in names
    assert "<b>layer2.0</b> · BasicBlock" in text
    assert "<b>layer2</b> · Sequential" in text
    # nesting: the downsample cluster is inside layer2.0, which is inside layer2
    assert text.index("cluster_layer2 ") < text.index('"cluster_layer2.0"') < text.index('"cluster_layer2.0.downsample"')


def test_depth_collapses_blocks_below_the_level():
    top = diagram("vision/resnet.arch", "ResNet18", depth=0)
    # x, conv1, bn1, relu, maxpool, layer1..4, avgpool, flatten, fc, output
    assert (top.nodes, top.clusters) == (13, 0)
    assert top.source.count("peripheries=2") == 4  # the four stages, each one collapsed node
    one = diagram("vision/resnet.arch", "ResNet18", depth=1)
    assert one.clusters == 4
    assert one.source.count("peripheries=2") == 7  # layer1's rolled pair once, then 2 per stage
    full = diagram("vision/resnet.arch", "ResNet18")
    assert full.clusters == 14 and "peripheries=2" not in full.source
    assert top.nodes < one.nodes < full.nodes


def test_collapsed_block_shows_type_params_and_output_shape():
    text = diagram("vision/resnet.arch", "ResNet18", depth=1, inputs={"x": (1, 3, 224, 224)}).source
    line = next(l for l in text.splitlines() if '"layer2.0"' in l and "label=" in l)
    assert "<b>BasicBlock</b>" in line and "230K params" in line and "→ 1×128×28×28" in line


def test_rolled_run_drawn_once_with_count_unless_expanded():
    rolled = diagram("vision/resnet.arch", "ResNet18").source
    assert "<b>layer1.0..1</b> · BasicBlock" in rolled and "×2</font>" in rolled
    assert "cluster_layer1.1" not in rolled
    expanded = diagram("vision/resnet.arch", "ResNet18", expand=True).source
    assert '"cluster_layer1.0"' in expanded and '"cluster_layer1.1"' in expanded
    assert "×2</font>" not in expanded
    # the expanded copies are chained: block 0's last relu feeds block 1's first conv
    assert any(e.startswith('"layer1.0.relu#2" -> "layer1.1.conv1"') for e in edges(expanded))


def test_rolled_run_names_follow_the_sequence_prefix():
    text = diagram("vision/vit.arch", "ViT_Tiny").source
    assert "encoder.layers.encoder_layer_0..1" in text
    expanded = diagram("vision/vit.arch", "ViT_Tiny", expand=True).source
    assert '"cluster_encoder.layers.encoder_layer_1"' in expanded


def test_rolled_run_of_layers(arch):
    model = arch.elaborate("""
        model M() {
            input x: [B, 8]
            body = Sequential([Linear(8, 8) for i in range(3)])
            return body(x)
        }
    """)
    rolled = to_dot(model)
    assert "×3</b>" in rolled and "216 params" in rolled  # 3 × 72
    expanded = to_dot(model, RenderOptions(expand=True))
    assert "×3</b>" not in expanded and all(f'"body.{i}"' in expanded for i in range(3))


def test_gpt2_fully_expanded_has_every_layer():
    d = diagram("text/gpt2.arch", "GPT2", expand=True)
    for i in range(12):
        assert f'"cluster_transformer.h.{i}"' in d.source
    assert d.skips == 24  # two residuals per layer


def test_wrapper_blocks_share_their_callee_cluster():
    """UNet's DoubleConv only wraps a Sequential: one cluster names both."""
    text = diagram("vision/unet.arch", "UNet_Tiny").source
    assert "<b>inc.double_conv</b> · DoubleConv › Sequential" in text
    assert '"cluster_inc"' not in text and "cluster_inc.double_conv" in text


# ---- nodes and edges -----------------------------------------------------------------------


def test_edges_carry_symbolic_shapes():
    text = diagram("vision/resnet.arch", "ResNet18").source
    assert 'conv1 -> bn1 [label=" B×64×(H+1)//2×(W+1)//2 "]' in text
    concrete = diagram("vision/resnet.arch", "ResNet18", inputs={"x": (dims.sym("B"), 3, 224, 224)}).source
    assert 'label=" B×64×56×56 "' in concrete
    unlabelled = [e for e in edges(text) if "label=" not in e and "tied" not in e]
    assert not unlabelled


def test_nodes_show_op_key_attributes_and_params():
    text = diagram("vision/resnet.arch", "ResNet18").source
    assert "<b>Conv2d</b> 3×3 /2, 64→128" in text
    assert "conv1 · 73.7K params" in text
    assert "<b>MaxPool2d</b> 3×3 /2" in text
    assert "<b>Linear</b> 512→1000" in text
    gpt = diagram("text/gpt2.arch", "GPT2_Tiny").source
    assert "<b>attention</b> causal" in gpt and "b t (h d) → b h t d" in gpt
    mobile = diagram("vision/mobilenet.arch", "MobileNetV2_Tiny").source
    assert "depthwise" in mobile


def test_residual_edges_are_drawn_as_skips():
    d = diagram("vision/resnet.arch", "ResNet18")
    skips = skip_edges(d.source)
    assert d.skips == len(skips) == 7  # layer1's rolled pair once, two per later stage
    assert all(e.split(" -> ")[1].startswith('"') and "/add" in e.split(" -> ")[1] for e in skips)
    # the projection shortcut: from the downsample's BatchNorm, not from the main path
    assert any(e.startswith('"layer2.0.downsample.1" -> "layer2.0/add"') for e in skips)
    assert diagram("vision/resnet.arch", "ResNet18", expand=True).skips == 8


def test_skip_detection_has_no_false_positives():
    """Parallel branches of similar length (MoE experts next to the router, attention's q/k/v)
    and side inputs (class token, position embedding) are not skips."""
    moe = diagram("text/moe.arch", "MoE_Tiny").source
    assert not [e for e in skip_edges(moe) if "mix" in e]
    assert diagram("text/moe.arch", "MoE_Tiny").skips == 2  # the two residuals per block
    vit = diagram("vision/vit.arch", "ViT_Tiny").source
    assert not [e for e in skip_edges(vit) if "cat" in e]
    gpt = diagram("text/gpt2.arch", "GPT2_Tiny").source
    assert not [e for e in skip_edges(gpt) if "attention" in e or "scaled_dot" in e]


def test_skip_into_a_block_is_drawn_to_its_consumer_inside():
    """UNet's skip connections enter the Up block as its second input and end at the cat."""
    d = diagram("vision/unet.arch", "UNet_Tiny")
    assert d.skips == 2
    assert all("/cat" in e.split(" -> ")[1] for e in skip_edges(d.source))


def test_multi_output_blocks_and_pass_through(arch):
    model = arch.elaborate("""
        block Pair(d: int) {
            input x: [B, d]
            a = Linear(d, d)
            b = Linear(d, d)
            return a(x), relu(b(x))
        }
        block Pass(d: int) {
            input x: [B, d]
            return x
        }
        model M() {
            input x: [B, 8]
            pair = Pair(8)
            p = Pass(8)
            u, v = pair(x)
            return p(u) + v
        }
    """)
    text = to_dot(model)
    assert "pass-through" in text  # an empty block stays visible
    assert '"pair.a" -> "p/passthrough"' in text
    collapsed = to_dot(model, RenderOptions(depth=0))
    assert '[0] B×8' in collapsed and '[1] B×8' in collapsed  # the two outputs of one node


def test_tied_weights_are_linked():
    text = diagram("text/gpt2.arch", "GPT2_Tiny").source
    assert any('"transformer.wte" -> lm_head' in e and "tied" in e for e in edges(text))


def test_scalar_constants_have_no_shape_label():
    text = diagram("vision/convnext.arch", "ConvNeXt_Mini").source
    consts = {line.split(" [")[0].strip() for line in text.splitlines() if 'label="1e-06"' in line}
    const_edges = [e for e in edges(text) if e.split(" -> ")[0] in consts]
    assert consts and const_edges and all("label=" not in e for e in const_edges)


# ---- search spaces -------------------------------------------------------------------------


def test_space_choices_are_dashed_nodes_listing_alternatives():
    d = diagram("spaces/tiny_cnn.arch", "TinyCNN")
    choice_lines = [l for l in d.source.splitlines() if "<b>choice</b>" in l]
    assert len(choice_lines) == 4
    for line in choice_lines:
        assert "dashed" in line and "3 options" in line
        assert "0: Residual" in line and "1: Sequential(Conv2d, BatchNorm2d, ReLU)" in line and "2: Identity" in line
    assert "×(depth1 - 1)" in d.source  # the searched repeat count
    # the legend lists every decision and marks the shared ones
    assert "search space · 8 decisions" in d.source
    assert "shared ×5" in d.source and "shared ×2" in d.source  # width, kernel


def test_shared_labels_are_marked_on_choice_nodes(arch):
    model = arch.elaborate("""
        space S() {
            input x: [B, 16, H, W]
            a = choice(Identity(), Conv2d(16, 16, 3, padding=1), label="op")
            b = choice(Identity(), Conv2d(16, 16, 3, padding=1), label="op")
            c = choice(Identity(), MaxPool2d(3, stride=1, padding=1))
            return c(b(a(x)))
        }
    """, entry="S")
    text = to_dot(model)
    lines = [l for l in text.splitlines() if "<b>choice</b>" in l]
    assert len(lines) == 3
    assert sum("shared ×2" in l for l in lines) == 2
    assert "shared" not in next(l for l in lines if "<b>choice</b> c" in l)


def test_choose_node_and_candidate_edges(arch):
    model = arch.elaborate("""
        space Cell() {
            input s0: [B, 16, H, W]
            input s1: [B, 16, H, W]
            n0 = s0 + s1
            picked = choose(2, [s0, s1, n0], label="inputs")
            a = choice(Identity(), Conv2d(16, 16, 3, padding=1), Zero())
            b = choice(Identity(), Conv2d(16, 16, 3, padding=1), Zero())
            return a(picked[0]) + b(picked[1])
        }
    """, entry="Cell")
    text = to_dot(model)
    assert "<b>choose 2 of 3</b>" in text
    candidates = [e for e in edges(text) if e.split(" -> ")[1].startswith('"picked"') or " -> picked " in e]
    assert len(candidates) == 3 and all("dashed" in e for e in candidates)
    assert "choose 2 of" in text and "search space · 3 decisions" in text


# ---- API, options, output ------------------------------------------------------------------


def test_api_render_returns_dot_and_writes_files(tmp_path):
    text = archlang.render(RESNET, "ResNet18", depth=1)
    assert text.startswith("digraph ResNet18 {")
    out = tmp_path / "deep" / "r18.dot"
    with pytest.raises(archlang.ArchError, match="the folder .*deep does not exist"):  # outputs never create folders
        archlang.render(RESNET, "ResNet18", depth=1, path=out)
    out.parent.mkdir()
    assert archlang.render(RESNET, "ResNet18", depth=1, path=out) == text
    assert out.read_text(encoding="utf-8") == text
    assert not list(out.parent.glob(".*archlang-tmp"))  # written atomically, no leftovers
    forced = tmp_path / "r18.txt"
    archlang.render(RESNET, "ResNet18", depth=0, path=forced, format="dot")
    assert forced.read_text(encoding="utf-8").startswith("digraph")
    with pytest.raises(ValueError, match="use .svg, .png, .pdf or .dot"):
        archlang.render(RESNET, "ResNet18", path=tmp_path / "r18.jpg")


def test_api_options_and_params():
    lr = archlang.render(RESNET, "ResNet18", depth=0, direction="LR")
    assert "rankdir=LR" in lr
    small = archlang.render(RESNET, "ResNet18", depth=0, num_classes=10)
    assert "512→10<" in small
    shaped = archlang.render(RESNET, "ResNet18", depth=0, inputs={"x": (2, 3, 64, 64)})
    assert "2×3×64×64" in shaped
    with pytest.raises(ValueError, match="direction"):
        archlang.render(RESNET, "ResNet18", direction="UP")
    with pytest.raises(ValueError, match="depth"):
        RenderOptions(depth=-1)


def test_missing_dot_writes_dot_next_to_output(tmp_path, monkeypatch):
    monkeypatch.setattr(output, "find_dot", lambda: None)
    target = tmp_path / "r18.svg"
    with pytest.raises(RenderError) as info:
        archlang.render(RESNET, "ResNet18", depth=0, path=target)
    assert "`dot` program was not found" in str(info.value)
    assert not target.exists()
    assert (tmp_path / "r18.dot").read_text(encoding="utf-8").startswith("digraph")
    assert any("apt-get install graphviz" in n for n in info.value.diagnostics[0].notes)


def test_jupyter_display(monkeypatch):
    program = archlang.load(RESNET)
    monkeypatch.setattr(output, "find_dot", lambda: None)
    assert program._repr_svg_() is None  # falls back to the text repr
    monkeypatch.undo()
    if find_dot() is None:
        pytest.skip("Graphviz's `dot` is not installed")
    svg = program._repr_svg_()
    assert "<svg" in svg and "ResNet18" in svg  # the first model of the file


@needs_dot
def test_svg_png_pdf_render(tmp_path):
    for suffix, magic in ((".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")):
        path = tmp_path / f"vit{suffix}"
        archlang.render(SPECS / "vision" / "vit.arch", "ViT_Tiny", path=path)
        assert path.read_bytes().startswith(magic)


@needs_dot
def test_spaces_lay_out(tmp_path):
    """HTML tables (choice nodes, the legend) are accepted by dot."""
    archlang.render(SPECS / "spaces" / "tiny_cnn.arch", "TinyCNN", path=tmp_path / "space.svg")
    assert "search space" in (tmp_path / "space.svg").read_text(encoding="utf-8")


# ---- the whole zoo ---------------------------------------------------------------------------


def _entries() -> list[tuple[Path, str]]:
    found = []
    for spec in sorted(SPECS.rglob("*.arch")):
        if "std" in spec.parts:
            continue
        program = archlang.load(spec, check=False)
        found += [(spec, name) for name in program.models + program.spaces]
    return found


ENTRIES = _entries()


def _html_labels(text: str) -> list[str]:
    """Every ``label=<…>`` of the DOT text (balanced angle brackets)."""
    found, start = [], 0
    while (start := text.find("label=<", start)) != -1:
        depth, i = 0, start + len("label=")
        for i in range(start + len("label="), len(text)):
            depth += {"<": 1, ">": -1}.get(text[i], 0)
            if depth == 0:
                break
        found.append(text[start + len("label=<"): i])
        start = i
    return found


@pytest.mark.parametrize("spec,entry", ENTRIES, ids=[f"{s.stem}::{e}" for s, e in ENTRIES])
def test_every_zoo_model_renders_to_dot(spec: Path, entry: str):
    model = archlang.load(spec, check=False).elaborate(entry)
    d = build_diagram(model)
    assert d.source.startswith(f"digraph {entry} {{") or d.source.startswith(f'digraph "{entry}" {{')
    assert d.nodes > 2 and d.edges >= d.nodes - 1 - d.source.count("Parameter</b>")
    for label in _html_labels(d.source):  # well-formed HTML-like labels: dot would reject them
        element = ET.fromstring(f"<x>{label}</x>")
        for font in element.iter("font"):
            assert font.text or len(font), f"empty <font> in a label of {entry}: dot rejects it"
    collapsed = build_diagram(model, RenderOptions(depth=1))
    assert collapsed.nodes <= d.nodes


# ---- performance sanity (timings are printed, not asserted; benchmarks/render.py measures) ----


def test_performance_sanity(capsys):
    model = archlang.load(SPECS / "text" / "gpt2.arch", check=False).elaborate("GPT2")
    start = time.perf_counter()
    d = build_diagram(model, RenderOptions(expand=True))
    elapsed = time.perf_counter() - start
    assert d.nodes > 200 and d.clusters >= 12
    with capsys.disabled():
        print(f"\n  GPT2 (12 layers, expanded) DOT: {elapsed * 1000:.0f} ms, {d.nodes} nodes")


def test_gallery_is_complete():
    """docs/gallery.md shows exactly the SVGs `make gallery` writes, and they exist."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    made = set(re.findall(r"\$\(GALLERY\)/([\w.-]+\.svg)", makefile))
    shown = set(re.findall(r"\(gallery/([\w.-]+\.svg)\)", (ROOT / "docs" / "gallery.md").read_text(encoding="utf-8")))
    assert made and made == shown
    missing = sorted(name for name in made if not (ROOT / "docs" / "gallery" / name).exists())
    assert not missing, f"run `make gallery`: missing {missing}"


def test_backend_imports_only_what_it_may():
    """The graphviz backend reads the IR: archlang.ir/types/dims/ops/errors/summarize, writes
    through archlang.files and uses the graphviz package, never another backend, the parser or
    the elaborator."""
    import ast as pyast

    allowed = ("archlang.ir", "archlang.ir.types", "archlang.ir.dims", "archlang.ops", "archlang.errors",
               "archlang.files", "archlang.report.summary", "graphviz")
    folder = ROOT / "backends" / "graphviz"
    for path in sorted(folder.glob("*.py")):
        tree = pyast.parse(path.read_text(encoding="utf-8"))
        for node in pyast.walk(tree):
            if isinstance(node, pyast.ImportFrom) and node.level == 0:
                names = [node.module] if node.module != "archlang" else [f"archlang.{a.name}" for a in node.names]
            elif isinstance(node, pyast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] in ("archlang", "graphviz", "torch", "onnx"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"
