"""The screenshots of docs/editors.md, made from what our language server really answers.

For each picture: start ``python -m archlang lsp``, open docs/scripts/sample.arch (or a
variant with a mistake in it) over JSON-RPC, as an editor does, and ask for its diagnostics,
a hover, its inlay hints or a completion.  The answers are drawn on an editor-like HTML page
— the spec highlighted by our TextMate grammar (editors/textmate/tokenizer.py runs it),
squiggles under the diagnostics' ranges, the hints at their positions, the hover or the
completion list where the editor would show it — and headless Chromium photographs the page.

    .venv/bin/python docs/scripts/editor_screenshots.py            # writes docs/images/lsp-*.png
    .venv/bin/python docs/scripts/editor_screenshots.py --html DIR # the pages only, no Chromium

Needs Debian's ``chromium`` for the PNGs (``apt-get install -y chromium``).
tests/test_lsp.py runs the HTML step, so the pictures cannot drift from what the server says.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).resolve().parent / "sample.arch"
IMAGES = ROOT / "docs" / "images"
TEXTMATE = ROOT / "editors" / "textmate"
sys.path.insert(0, str(ROOT / "tests"))
from _lsp_client import LspClient, text_position  # noqa: E402  (the tests' hand-written JSON-RPC client)

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1"]
LINE_HEIGHT = 20  # px, as the page's CSS says
TYPED = "    proj = Conv2d(64, 128, "  # the line being typed in the completion picture
WIDTH = 1000

# scope prefix → CSS class (the first that matches the innermost scopes wins); VS Code's Dark+ colours
SCOPE_CLASSES = [
    ("comment", "c-comment"), ("string.quoted.docstring", "c-doc"), ("string", "c-string"),
    ("constant.numeric", "c-number"), ("constant.language", "c-constant"),
    ("keyword.control", "c-control"), ("keyword.declaration", "c-keyword"), ("storage", "c-keyword"),
    ("keyword.operator.word", "c-keyword"), ("keyword", "c-keyword"),
    ("entity.name.type", "c-type"), ("support.type", "c-type"), ("entity.name.function", "c-function"),
    ("variable.parameter", "c-param"), ("variable.other.constant", "c-param"),
]


@dataclass
class Picture:
    """One screenshot: the text shown and what the server answered about it."""

    name: str
    text: str
    first_line: int  # 0-based window of lines shown
    last_line: int
    diagnostics: list[dict] = field(default_factory=list)
    hints: list[dict] = field(default_factory=list)
    hover: dict | None = None  # {"position": …, "markdown": …}
    completion: dict | None = None  # {"position": …, "items": […]}
    height: int = 0


def _grammar():
    spec = importlib.util.spec_from_file_location("archlang_textmate_tokenizer", TEXTMATE / "tokenizer.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module.TextMateGrammar(json.loads((TEXTMATE / "arch.tmLanguage.json").read_text(encoding="utf-8")))


# ---- asking the server --------------------------------------------------------------------


def _whole(text: str) -> dict:
    return {"start": {"line": 0, "character": 0}, "end": {"line": text.count("\n") + 1, "character": 0}}


def collect(folder: Path) -> list[Picture]:
    """Ask a real server for everything the pictures show (``folder`` receives the files)."""
    text = SAMPLE.read_text(encoding="utf-8")
    assert text.isascii() or all(ord(c) < 0x10000 for c in text), "LSP columns are UTF-16: keep the sample in the BMP"
    good, bad = folder / "sample.arch", folder / "broken.arch"
    good.write_text(text, encoding="utf-8")
    broken = text.replace("block2 = ResidualBlock(64)", "block2 = ResidualBlock(64, stride=2)")
    bad.write_text(broken, encoding="utf-8")
    client = LspClient(cwd=ROOT)
    try:
        client.initialize(folder)
        client.open(bad, broken)
        diagnostics = client.diagnostics(bad)
        client.open(good, text)
        assert client.diagnostics(good) == [], "the sample must check"
        hints = client.result("textDocument/inlayHint", {"textDocument": {"uri": good.as_uri()}, "range": _whole(text)})
        at = text_position(text, "block1 = ", offset=1)
        found = client.result("textDocument/hover", {"textDocument": {"uri": good.as_uri()}, "position": at})
        typed = text.replace("    pool = AdaptiveAvgPool2d(1)\n", f"    pool = AdaptiveAvgPool2d(1)\n{TYPED}\n")
        client.notify("textDocument/didChange", {"textDocument": {"uri": good.as_uri(), "version": 2},
                                                 "contentChanges": [{"text": typed}]})
        where = text_position(typed, TYPED, offset=len(TYPED))
        items = client.result("textDocument/completion", {"textDocument": {"uri": good.as_uri()}, "position": where})["items"]
    finally:
        client.close()
    lines = text.count("\n")
    return [
        Picture("lsp-diagnostics", broken, 2, lines - 1, diagnostics=diagnostics),
        Picture("lsp-hover", text, 14, lines - 1, hints=hints, hover={"position": at, "markdown": found["contents"]["value"]}),
        Picture("lsp-inlay-hints", text, 2, lines - 1, hints=hints),
        Picture("lsp-completion", typed, 14, typed.count("\n") - 1,
                completion={"position": where, "items": items[:9]}),
    ]


# ---- drawing ------------------------------------------------------------------------------

CSS = """
body { margin: 0; background: #1e1e1e; font: 14px/20px "DejaVu Sans Mono", monospace; color: #d4d4d4; }
.bar { background: #2d2d2d; color: #cccccc; font: 13px/30px "DejaVu Sans", sans-serif; padding: 0 14px; }
.bar b { color: #ffffff; font-weight: normal; border-bottom: 1px solid #0078d4; padding-bottom: 6px; }
.editor { position: relative; padding: 8px 0; }
.line { white-space: pre; height: 20px; display: flex; }
.gutter { width: 4ch; text-align: right; color: #6e7681; padding-right: 2ch; flex: none; }
.code { position: relative; }
.c-comment { color: #6a9955; } .c-doc { color: #ce9178; } .c-string { color: #ce9178; }
.c-number { color: #b5cea8; } .c-constant { color: #569cd6; } .c-control { color: #c586c0; }
.c-keyword { color: #569cd6; } .c-type { color: #4ec9b0; } .c-function { color: #dcdcaa; }
.c-param { color: #9cdcfe; }
.squiggle { text-decoration: underline wavy #f14c4c; text-decoration-skip-ink: none; text-underline-offset: 3px; }
.hint { color: #969696; background: #2f2f2f; border-radius: 3px; font-size: 12.5px; padding: 0 3px; margin: 0 1px; }
.popup { position: absolute; z-index: 2; background: #252526; border: 1px solid #454545; color: #cccccc;
         font: 13px/19px "DejaVu Sans", sans-serif; padding: 6px 10px; max-width: 620px; box-shadow: 0 2px 8px #000a; }
.popup pre { font: 13px/19px "DejaVu Sans Mono", monospace; margin: 2px 0 6px; white-space: pre-wrap; }
.popup code { font: 12.5px "DejaVu Sans Mono", monospace; color: #d7ba7d; }
.popup ul { margin: 2px 0 4px; padding-left: 18px; } .popup p { margin: 4px 0; }
.error { border-left: 3px solid #f14c4c; }
.error .source { color: #8b8b8b; }
.completion { padding: 2px 0; min-width: 460px; }
.completion div { font: 13px/22px "DejaVu Sans Mono", monospace; padding: 0 8px; display: flex; gap: 16px; }
.completion div.selected { background: #04395e; }
.completion .detail { color: #8b8b8b; margin-left: auto; }
"""


def _class_of(scopes: tuple[str, ...]) -> str:
    for scope in reversed(scopes):
        for prefix, css in SCOPE_CLASSES:
            if scope.startswith(prefix):
                return css
    return ""


def _markdown(text: str, grammar) -> str:
    """The little Markdown the server's hovers use: fenced arch code, bold, italics, code, lists."""
    out, paragraph = [], []
    blocks = re.split(r"```arch\n(.*?)\n```", text, flags=re.S)
    for i, block in enumerate(blocks):
        if i % 2:
            out.append("<pre>" + _highlight_line(block, grammar, [], [], 0) + "</pre>")
            continue
        for chunk in re.split(r"\n\s*\n", block.strip()):
            if not chunk:
                continue
            lines = chunk.split("\n")
            items = [line[2:] for line in lines if line.startswith("- ")]
            head = [line for line in lines if not line.startswith("- ")]
            if head:
                paragraph.append("<p>" + _inline(" ".join(head)) + "</p>")
            if items:
                paragraph.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>")
        out += paragraph
        paragraph = []
    return "".join(out)


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    return re.sub(r"\*([^*]+)\*", r"<i>\1</i>", text)


def _highlight_line(text: str, grammar, squiggles: list[tuple[int, int]], hints: list[tuple[int, str]], base: int) -> str:
    """One line (or a snippet) as HTML: coloured runs, squiggled ranges, hints inserted."""
    scopes = grammar.scopes_at(text + "\n")[: len(text)]
    hints_at: dict[int, list[str]] = {}
    for col, label in hints:
        hints_at.setdefault(col, []).append(label)
    parts, run, run_key = [], "", None
    for i in range(len(text) + 1):
        if i in hints_at or i == len(text):
            if run:
                parts.append(_span(run, run_key))
            run, run_key = "", None
            parts += [f'<span class="hint">{html.escape(label)}</span>' for label in hints_at.get(i, [])]
            if i == len(text):
                break
        key = (_class_of(scopes[i]), any(start <= i < end for start, end in squiggles))
        if key != run_key and run:
            parts.append(_span(run, run_key))
            run = ""
        run, run_key = run + text[i], key
    return "".join(parts)


def _span(text: str, key) -> str:
    css, squiggled = key
    classes = " ".join(c for c in (css, "squiggle" if squiggled else "") if c)
    return f'<span class="{classes}">{html.escape(text)}</span>' if classes else html.escape(text)


def _squiggles(diagnostics: list[dict], line: int, length: int) -> list[tuple[int, int]]:
    out = []
    for d in diagnostics:
        start, end = d["range"]["start"], d["range"]["end"]
        if start["line"] <= line <= end["line"]:
            first = start["character"] if start["line"] == line else 0
            last = end["character"] if end["line"] == line else length
            out.append((first, last))
    return out


def render_html(picture: Picture, grammar) -> str:
    """The editor-like page of one picture."""
    lines = picture.text.split("\n")
    rows, popups = [], []
    for number in range(picture.first_line, picture.last_line + 1):
        text = lines[number]
        hints = [(h["position"]["character"], h["label"]) for h in picture.hints if h["position"]["line"] == number]
        body = _highlight_line(text, grammar, _squiggles(picture.diagnostics, number, len(text)), hints, 0)
        rows.append(f'<div class="line"><span class="gutter">{number + 1}</span><span class="code">{body}</span></div>')
    top = lambda line: 8 + (line - picture.first_line + 1) * LINE_HEIGHT + 2  # noqa: E731  (just under a line)
    left = lambda col: f"calc({6 + col}ch + 2px)"  # noqa: E731  (gutter: 4ch + 2ch padding)
    for d in picture.diagnostics:
        start = d["range"]["start"]
        message = html.escape(d["message"]).replace("\n", "<br>")
        popups.append(f'<div class="popup error" style="top:{top(start["line"])}px;left:{left(start["character"])}">'
                      f'{message} <span class="source">archlang</span></div>')
    if picture.hover:
        where = picture.hover["position"]
        popups.append(f'<div class="popup" style="top:{top(where["line"])}px;left:{left(where["character"])}">'
                      f'{_markdown(picture.hover["markdown"], grammar)}</div>')
    if picture.completion:
        where = picture.completion["position"]
        items = "".join(
            f'<div class="{"selected" if i == 0 else ""}"><span>{html.escape(item["label"])}</span>'
            f'<span class="detail">{html.escape(item.get("detail") or "")}</span></div>'
            for i, item in enumerate(picture.completion["items"]))
        popups.append(f'<div class="popup completion" style="top:{top(where["line"])}px;left:{left(where["character"])}">'
                      f"{items}</div>")
    shown = picture.last_line - picture.first_line + 1
    picture.height = 30 + 16 + shown * LINE_HEIGHT + (200 if picture.hover or picture.completion else 40)
    return (f"<!doctype html><html><head><meta charset='utf-8'><style>{CSS}</style></head><body>"
            f"<div class='bar'><b>{html.escape(Path(SAMPLE).name)}</b></div>"
            f"<div class='editor'>{''.join(rows)}{''.join(popups)}</div></body></html>")


def screenshot(page: Path, png: Path, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install -y chromium); --html DIR writes the pages alone")
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--screenshot={png}", f"--window-size={WIDTH},{height}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--html", type=Path, help="write the HTML pages to this folder and take no screenshot")
    args = parser.parse_args()
    grammar = _grammar()
    with tempfile.TemporaryDirectory() as tmp:
        pictures = collect(Path(tmp))
        folder = args.html or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for picture in pictures:
            page = folder / f"{picture.name}.html"
            page.write_text(render_html(picture, grammar), encoding="utf-8")
            if args.html is None:
                IMAGES.mkdir(parents=True, exist_ok=True)
                screenshot(page, IMAGES / f"{picture.name}.png", picture.height)
                print(f"wrote {(IMAGES / f'{picture.name}.png').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
