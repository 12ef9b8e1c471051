"""The language server, driven as an editor drives it, and its queries one by one.

The first part starts ``python -m archlang lsp`` and speaks JSON-RPC over its stdio through
``tests/_lsp_client.py`` (framing written by hand): initialize, didOpen, publishDiagnostics,
didChange (incremental and full), hover, definition, completion, documentSymbol, inlayHint,
formatting, shutdown and exit.  The second part calls the query functions in-process on
the zoo's specs: hover texts, definitions across imports and into the standard library,
completion contexts, inlay hints, the incremental re-check and its CPU time.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from _lsp_client import LspClient, position, text_position
from _timing import cpu_budget
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archlang.lsp.analysis import Analyzer
from archlang.lsp.complete import complete
from archlang.lsp.hints import inlay_hints
from archlang.lsp.hover import hover
from archlang.lsp.navigate import definition, symbols
from archlang.syntax.fmt import format_source

pytest.importorskip("pygls")

ROOT = Path(__file__).resolve().parents[1]

BLOCKS = '''\
block Stem(c: int = 16) {
    """A 3×3 convolution that halves the resolution."""
    input x: [B, 3, H, W]
    conv = Conv2d(3, c, 3, stride=2, padding=1)
    return relu(conv(x))
}
'''

NET = '''\
import "blocks.arch" as blocks

model Net() {
    input x: [B, 3, 32, 32]
    stem = blocks.Stem(16)
    y = stem(x)
    head = Conv2d(8, 32, 1)
    z = head(y)
    fc = Linear(16, 10)
    return fc(flatten(z, 1))
}

model Other() {
    input x: [B, 5]
    fc = Linear(4, 2)
    return fc(x)
}
'''


def _range(text: str, needle: str, occurrence: int = 0) -> dict:
    start = text_position(text, needle, occurrence)
    return {"start": start, "end": {"line": start["line"], "character": start["character"] + len(needle)}}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lsp")
    (folder / "blocks.arch").write_text(BLOCKS, encoding="utf-8")
    (folder / "net.arch").write_text(NET, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def client(project):
    client = LspClient(cwd=ROOT)
    client.initialize(project)
    yield client
    if client.process.poll() is None:
        client.close()


def _uri(path: Path) -> dict:
    return {"uri": path.as_uri()}


# ---- over JSON-RPC ------------------------------------------------------------------------


def test_initialize_announces_every_feature(project):
    client = LspClient(cwd=ROOT, args=("--stdio",))  # the flag many clients pass
    try:
        capabilities = client.initialize(project)["capabilities"]
    finally:
        assert client.close() == 0
    for provider in ("hoverProvider", "definitionProvider", "completionProvider", "documentSymbolProvider",
                     "inlayHintProvider", "documentFormattingProvider"):
        assert capabilities.get(provider), provider
    assert capabilities["textDocumentSync"]["change"] == 2  # incremental
    assert "." in capabilities["completionProvider"]["triggerCharacters"]


def test_diagnostics_report_every_error_with_its_range_and_follow_edits(client, project):
    net = project / "net.arch"
    client.open(net, NET, version=1)
    found = client.diagnostics(net, version=1)
    by_line = {d["range"]["start"]["line"]: d for d in found}
    assert len(found) == 2, found  # one in each model: errors do not hide each other
    head, other = by_line[text_position(NET, "head(y)")["line"]], by_line[text_position(NET, "fc(x)")["line"]]
    assert head["range"] == _range(NET, "head(y)") and "Conv2d expects 8 input channels" in head["message"]
    assert other["range"] == _range(NET, "fc(x)") and "Linear expects 4 input features" in other["message"]
    assert all(d["severity"] == 1 and d["source"] == "archlang" for d in found)

    # an incremental edit fixes the first error: `Conv2d(8` -> `Conv2d(16`
    start = text_position(NET, "Conv2d(8", offset=len("Conv2d("))
    end = {"line": start["line"], "character": start["character"] + 1}
    client.notify("textDocument/didChange", {
        "textDocument": {**_uri(net), "version": 2},
        "contentChanges": [{"range": {"start": start, "end": end}, "text": "16"}]})
    found = client.diagnostics(net, version=2)  # Net's next error shows: `fc` reads 16 × 16 × 32 features
    assert [d["range"]["start"]["line"] for d in found] == [text_position(NET, "fc(flatten")["line"],
                                                             text_position(NET, "fc(x)")["line"]]
    assert "Linear expects 16 input features in the last dim, got input float32[B, 8192]" in found[0]["message"]

    # a full-text change fixes the rest
    fixed = NET.replace("Conv2d(8", "Conv2d(16").replace("Linear(16, 10)", "Linear(8192, 10)")
    fixed = fixed.replace("Linear(4, 2)", "Linear(5, 2)")
    client.notify("textDocument/didChange", {"textDocument": {**_uri(net), "version": 3},
                                             "contentChanges": [{"text": fixed}]})
    assert client.diagnostics(net, version=3) == []
    client.notify("textDocument/didChange", {"textDocument": {**_uri(net), "version": 4},
                                             "contentChanges": [{"text": NET}]})
    assert len(client.diagnostics(net, version=4)) == 2


def test_a_syntax_error_is_one_located_diagnostic(client, project):
    broken = project / "broken.arch"
    text = "model M() {\n    input x: [B, 3]\n    y = relu(x\n    return y\n}\n"
    client.open(broken, text)
    (found,) = client.diagnostics(broken)
    assert found["range"]["start"]["line"] == 3 and "')'" in found["message"]


def test_an_error_in_an_imported_file_is_shown_on_the_import(client, project):
    (project / "bad_blocks.arch").write_text("block Bad() {\n    input x: [B, 3]\n    return relu(y)\n}\n")
    user = project / "uses_bad.arch"
    client.open(user, 'import "bad_blocks.arch" as b\n\nmodel M() {\n    input x: [B, 3]\n    return x\n}\n')
    (found,) = client.diagnostics(user)
    assert found["range"]["start"]["line"] == 0
    assert "bad_blocks.arch:3:17" in found["message"] and "unknown name 'y'" in found["message"]
    related = found["relatedInformation"][0]["location"]
    assert related["uri"] == (project / "bad_blocks.arch").as_uri() and related["range"]["start"]["line"] == 2


def _fixed(client, project) -> tuple[Path, str]:
    net = project / "net.arch"
    fixed = NET.replace("Conv2d(8", "Conv2d(16").replace("Linear(16, 10)", "Linear(8192, 10)")
    client.open(net, fixed, version=10)
    client.notify("textDocument/didChange", {"textDocument": {**_uri(net), "version": 11},
                                             "contentChanges": [{"text": fixed}]})
    assert len(client.diagnostics(net, version=11)) == 1  # Other's error stays
    return net, fixed


def test_hover_shows_shape_dtype_parameters_and_docstring(client, project):
    net, text = _fixed(client, project)
    at = {"textDocument": _uri(net)}
    value = client.result("textDocument/hover", {**at, "position": text_position(text, "y = ")})["contents"]["value"]
    assert "float32[B, 16, 16, 16]" in value
    layer = client.result("textDocument/hover", {**at, "position": text_position(text, "head =")})["contents"]["value"]
    assert "**parameters** 544" in layer and "weight: float32[32, 16, 1, 1]" in layer  # 16·32 + 32
    block = client.result("textDocument/hover", {**at, "position": text_position(text, "Stem(16)")})["contents"]["value"]
    assert "block Stem(c: int = 16)" in block and "halves the resolution" in block and "448" in block


def test_definition_crosses_the_import(client, project):
    net, text = _fixed(client, project)
    found = client.result("textDocument/definition", {"textDocument": _uri(net), "position": text_position(text, "Stem")})
    assert found["uri"] == (project / "blocks.arch").as_uri()
    assert found["range"] == {"start": position(0, 6), "end": position(0, 10)}
    local = client.result("textDocument/definition", {"textDocument": _uri(net), "position": text_position(text, "stem(x)")})
    assert local["uri"] == net.as_uri() and local["range"]["start"] == text_position(text, "stem =")


def test_completion_offers_ops_blocks_members_and_keyword_arguments(client, project):
    net, text = _fixed(client, project)

    def labels_at(line_text: str) -> dict[str, dict]:
        edited = text.replace("    z = head(y)\n", f"    z = head(y)\n{line_text}\n")
        line = text_position(edited, line_text)["line"]
        client.notify("textDocument/didChange", {"textDocument": {**_uri(net), "version": 20},
                                                 "contentChanges": [{"text": edited}]})
        items = client.result("textDocument/completion", {"textDocument": _uri(net),
                                                          "position": position(line, len(line_text))})["items"]
        return {item["label"]: item for item in items}

    arguments = labels_at("    w = Conv2d(16, 8, 3, ")
    assert arguments["stride="]["detail"] == "ints = 1" and "padding=" in arguments
    assert not {"in_channels=", "out_channels=", "kernel_size="} & set(arguments)  # given by position
    names = labels_at("    w = ")
    assert names["Conv2d"]["detail"].startswith("Conv2d(in_channels: int, out_channels: int")
    assert {"stem", "y", "head", "blocks", "relu"} <= set(names)
    assert "Stem" in labels_at("    w = blocks.")
    assert list(labels_at("    w = stem.")) == ["conv"]
    block_arguments = labels_at("    w = blocks.Stem(")
    assert block_arguments["c="]["detail"] == "c: int = 16"


def test_document_symbols_outline_the_file(client, project):
    net, text = _fixed(client, project)
    found = client.result("textDocument/documentSymbol", {"textDocument": _uri(net)})
    by_name = {s["name"]: s for s in found}
    assert {'"blocks.arch"', "Net", "Other"} <= set(by_name)
    net_symbol = by_name["Net"]
    assert net_symbol["kind"] == 2 and net_symbol["selectionRange"] == _range(text, "Net")
    children = {c["name"]: c["kind"] for c in net_symbol["children"]}
    assert children == {"x": 13, "stem": 8, "y": 13, "head": 8, "z": 13, "fc": 8}


def test_inlay_hints_show_each_assignment_shape(client, project):
    net, text = _fixed(client, project)
    hints = client.result("textDocument/inlayHint", {"textDocument": _uri(net),
                                                     "range": {"start": position(0, 0), "end": position(20, 0)}})
    by_place = {(h["position"]["line"], h["position"]["character"]): h["label"] for h in hints}
    y = text_position(text, "y = ", offset=1)
    z = text_position(text, "z = ", offset=1)
    assert by_place == {(y["line"], y["character"]): ": B×16×16×16", (z["line"], z["character"]): ": B×32×16×16"}


def test_formatting_returns_the_formatters_text(client, project):
    messy = project / "messy.arch"
    text = "model M(){\n  input x:[B,3]\n  return relu( x )\n}\n"
    client.open(messy, text)
    client.diagnostics(messy)
    (edit,) = client.result("textDocument/formatting", {"textDocument": _uri(messy),
                                                       "options": {"tabSize": 4, "insertSpaces": True}})
    assert edit["newText"] == format_source(text) and edit["range"]["start"] == position(0, 0)
    assert edit["range"]["end"]["line"] >= 4


def test_shutdown_and_exit(project):
    client = LspClient(cwd=ROOT)
    client.initialize(project)
    assert client.close() == 0


# ---- the queries, in-process --------------------------------------------------------------

RESNET = ROOT / "specs" / "vision" / "resnet.arch"


@pytest.fixture(scope="module")
def resnet():
    return Analyzer().analyze(RESNET, RESNET.read_text(encoding="utf-8"))


def _at(analysis, needle: str, occurrence: int = 0, offset: int = 0) -> tuple[int, int]:
    spot = text_position(analysis.text, needle, occurrence, offset)
    return spot["line"] + 1, spot["character"] + 1


@pytest.mark.parametrize("needle, expected", [
    ("conv1 = Conv2d(inplanes, planes, 3", ["(value) conv1", "**parameters** 36,864", "weight: float32[64, 64, 3, 3]"]),
    ("out = relu(bn1", ["float32[B, 64, (H + 3)//4, (W + 3)//4]", "— in ResNet18 › layer1 › 0", "(per instance)"]),
    ("stride: int = 1) {\n    \"\"\"Two", ["(parameter) stride: int = 1", "`2` — in ResNet18 › layer2 › 0"]),
    ("ResNet18", ["model ResNet18 = ResNet(BasicBlock, [2, 2, 2, 2])", "**parameters** `11,689,512`",
                  "**output** `float32[B, 1000]`"]),
    ("BasicBlock(", ["block BasicBlock(inplanes: int, planes: int, stride: int = 1)", "residual connection",
                    "**inputs** `x: [B, inplanes, H, W]`"]),
    ("Conv2d(3, 64", ["Conv2d(in_channels: int, out_channels: int, kernel_size: ints", "torch.nn.Conv2d"]),
    ("padding=3", ["(argument of Conv2d) padding: ints|str = 0", "'same'"]),
])
def test_hover_texts(resnet, needle, expected):
    found = hover(resnet, *_at(resnet, needle))
    assert found is not None
    for part in expected:
        assert part in found.markdown, (part, found.markdown)


def test_hover_reads_the_binding_a_use_refers_to(resnet):
    # in `x = maxpool(relu(bn1(conv1(x))))` the x read is the input, the x bound is the pooled one
    read = hover(resnet, *_at(resnet, "conv1(x))))", offset=len("conv1(")))
    bound = hover(resnet, *_at(resnet, "x = maxpool"))
    assert "(input) x" in read.markdown and "float32[B, 3, H, W]" in read.markdown
    assert "float32[B, 64, (H + 3)//4, (W + 3)//4]" in bound.markdown


def test_nothing_is_invented_where_nothing_was_elaborated(tmp_path):
    text = "block Lone(c: int) {\n    input x: [B, c]\n    y = relu(x)\n    return y\n}\n"
    analysis = Analyzer().analyze(tmp_path / "lone.arch", text)
    assert inlay_hints(analysis) == []
    assert "type" not in hover(analysis, 3, 5).markdown
    with_default = text.replace("c: int", "c: int = 4")
    analysis = Analyzer().analyze(tmp_path / "lone.arch", with_default)
    assert [h.label for h in inlay_hints(analysis)] == [": B×4"]  # elaborated on its own, with its default


def test_definition_into_the_standard_library(tmp_path):
    text = "from std import MLP\n\nmodel M() {\n    input x: [B, 8]\n    mlp = MLP(8, 16)\n    return mlp(x)\n}\n"
    analysis = Analyzer().analyze(tmp_path / "m.arch", text)
    found = definition(analysis, 5, 12)
    std = Path(found.file)
    assert std.name == "blocks.arch" and std.exists()
    assert std.read_text().splitlines()[found.span.line - 1][found.span.col - 1:found.span.end_col - 1] == "MLP"


def test_symbols_of_the_zoo(resnet):
    found = {s.name: s for s in symbols(resnet)}
    assert [found[n].kind for n in ("BasicBlock", "ResNet", "ResNet18")] == ["block", "block", "model"]
    members = [c.name for c in found["ResNet"].children if c.kind == "member"]
    assert members == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"]


def test_completion_reads_the_raw_text(resnet):
    lines = resnet.lines[:]
    row = resnet.text[:resnet.text.index("    out = relu(bn1")].count("\n")
    lines[row] = "    out = MaxPool2d(3, stride=2, "  # does not parse: the call is open
    labels = [c.label for c in complete(resnet, lines, row + 1, len(lines[row]) + 1)]
    assert "padding=" in labels and "stride=" not in labels and "kernel_size=" not in labels
    lines[row] = "    out = downsample."
    assert [c.label for c in complete(resnet, lines, row + 1, len(lines[row]) + 1)] == ["0", "1"]


def test_an_edit_in_one_block_re_elaborates_only_the_entry_points_using_it():
    path = ROOT / "specs" / "vision" / "mobilenet.arch"
    text = path.read_text(encoding="utf-8")
    analyzer = Analyzer()
    first = analyzer.analyze(path, text)
    assert first.elaborated == len(first.entries) == 5 and not first.diagnostics
    edited = text.replace("block MobileNet_V3(", "block MobileNet_V3(  ", 1)  # only the V3 trunk changes
    second = analyzer.analyze(path, edited)
    assert second.elaborated == 3 and second.reused == 2  # the three V3 models elaborate again
    assert not second.diagnostics and set(second.models) >= set(first.entries)
    assert analyzer.analyze(path, edited).elaborated == 0


def test_a_re_check_of_a_200_line_file_stays_within_its_cpu_budget():
    path = ROOT / "specs" / "vision" / "mobilenet.arch"  # 204 lines, 5 entry points
    text = path.read_text(encoding="utf-8")
    analyzer = Analyzer()
    analyzer.analyze(path, text)
    lines = text.splitlines()
    with cpu_budget(10 * 5 * 0.1, "10 re-checks") as spent:  # target 100 ms each (benchmarks/lsp_latency.py)
        for i in range(10):
            edited = lines[:]
            edited[60 + 10 * i] += f"  # edit {i}"
            analyzer.analyze(path, "\n".join(edited) + "\n")
    assert spent.seconds >= 0


def test_lines_added_above_move_reused_results_with_them(tmp_path):
    text = NET.replace('import "blocks.arch" as blocks\n', "").replace("blocks.Stem(16)", "Conv2d(3, 16, 3, stride=2, padding=1)")
    text = text.replace("Conv2d(8", "Conv2d(16").replace("Linear(16, 10)", "Linear(8192, 10)")  # Other keeps its error
    path = tmp_path / "net.arch"
    analyzer = Analyzer()
    before = analyzer.analyze(path, text)
    moved = analyzer.analyze(path, "# one\n# two\n\n" + text)
    assert moved.elaborated == 0 and moved.reused == 2  # nothing changed but the lines
    assert len(before.diagnostics) == 1 and set(moved.shifts) == {"Net"}
    assert [(d.span.line - 3, d.span.col, d.message) for d in moved.diagnostics] == \
        [(d.span.line, d.span.col, d.message) for d in before.diagnostics]
    assert [(h.line - 3, h.col, h.label) for h in inlay_hints(moved)] == [(h.line, h.col, h.label) for h in inlay_hints(before)]
    line, col = _at(before, "y = ")
    assert hover(moved, line + 3, col).markdown == hover(before, line, col).markdown
    assert "float32[B, 16, 16, 16]" in hover(moved, line + 3, col).markdown


# ---- the screenshots of docs/editors.md ---------------------------------------------------


def _screenshot_script():
    path = ROOT / "docs" / "scripts" / "editor_screenshots.py"
    spec = importlib.util.spec_from_file_location("editor_screenshots", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_screenshot_pages_show_what_the_server_answers(tmp_path):
    script = _screenshot_script()
    grammar = script._grammar()
    pages = {p.name: script.render_html(p, grammar) for p in script.collect(tmp_path)}
    assert set(pages) == {"lsp-diagnostics", "lsp-hover", "lsp-inlay-hints", "lsp-completion"}
    squiggled = "".join(re.findall(r'<span class="[^"]*squiggle[^"]*">([^<]*)</span>', pages["lsp-diagnostics"]))
    assert squiggled == "y + x"
    assert "cannot broadcast [B, 64, 8, 8] with [B, 64, 16, 16]" in pages["lsp-diagnostics"]
    assert '<span class="c-keyword">model</span>' in pages["lsp-diagnostics"]  # highlighted by the TextMate grammar
    assert "73,984" in pages["lsp-hover"] and "float32[B, 64, 16, 16]" in pages["lsp-hover"]
    hints = re.findall(r'<span class="hint">([^<]*)</span>', pages["lsp-inlay-hints"])
    assert hints == [": B×64×16×16"] * 4 + [": B×64"]
    labels = re.findall(r"<div class=\"[a-z]*\"><span>([^<]*)</span>", pages["lsp-completion"])
    assert labels[:3] == ["kernel_size=", "stride=", "padding="]


# ---- the command and the documentation ----------------------------------------------------


def test_without_the_extra_the_command_says_what_to_install():
    code = "import sys; sys.modules['pygls'] = None; from archlang.cli import main; sys.exit(main(['lsp']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert "pip install 'archlang[lsp]'" in result.stderr and "Traceback" not in result.stderr


def test_the_editor_configurations_in_the_docs_start_the_server():
    text = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(\w+)\n(.*?)^```", text, flags=re.S | re.M)
    by_language: dict[str, list[str]] = {}
    for language, body in blocks:
        by_language.setdefault(language, []).append(body)
    (helix,) = by_language["toml"]
    config = tomllib.loads(helix)
    assert config["language-server"]["archlang"] == {"command": "archlang", "args": ["lsp"]}
    assert config["language"][0]["file-types"] == ["arch"]
    assert all('{ "archlang", "lsp" }' in lua for lua in by_language["lua"]) and len(by_language["lua"]) == 2
    assert '("archlang" "lsp")' in by_language["elisp"][0]
    for image in re.findall(r"\]\((images/[^)]+\.png)\)", text):
        assert (ROOT / "docs" / image).exists(), image


# ---- every position of the zoo, and text being typed ---------------------------------------

SWEPT = [ROOT / "specs" / "vision" / "resnet.arch", ROOT / "specs" / "spaces" / "nasbench201.arch",
         ROOT / "specs" / "text" / "gpt2.arch"]


@pytest.mark.parametrize("spec", SWEPT, ids=lambda p: p.name)
def test_every_position_answers_and_hints_agree_with_hover(spec):
    analysis = Analyzer().analyze(spec, spec.read_text(encoding="utf-8"))
    assert not analysis.diagnostics
    for number, line in enumerate(analysis.lines, 1):
        for word in re.finditer(r"[A-Za-z_]\w*|\.|\(|,", line):
            hover(analysis, number, word.start() + 1)
            definition(analysis, number, word.start() + 1)
            complete(analysis, analysis.lines, number, word.end() + 1)
    hints = inlay_hints(analysis)
    assert hints
    for hint in hints:  # the hint stands after the name: hovering the name shows the same shape
        found = hover(analysis, hint.line, hint.col - 1)
        first = hint.tooltip.split("\n")[0].split(" — ")[0]
        assert found is not None and first in found.markdown, (hint, found)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_text_being_typed_never_breaks_the_server_side(data):
    text = RESNET.read_text(encoding="utf-8")
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    inserted = data.draw(st.sampled_from(["", "(", ")", "{", "}", "x.", "Conv2d(3, ", '"', "\n", "\u00d7", "block "]))
    edited = text[:start] + inserted + text[end:]
    analysis = Analyzer().analyze(RESNET, edited)
    assert analysis.ok or analysis.diagnostics  # a text that does not parse says where
    lines = edited.splitlines() or [""]
    line = data.draw(st.integers(1, len(lines)))
    col = data.draw(st.integers(1, len(lines[line - 1]) + 1))
    hover(analysis, line, col)
    definition(analysis, line, col)
    complete(analysis, lines, line, col)
    inlay_hints(analysis)
    symbols(analysis)
