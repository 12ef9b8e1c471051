"""The screenshots of docs/notebooks.md, made from docs/notebooks/tour.ipynb as Jupyter runs it.

The notebook is executed in a real kernel (nbconvert's ExecutePreprocessor, as
tests/test_notebook.py does); each pictured cell — its code and its rich output — is
exported alone to an HTML page with nbconvert's own notebook template, and headless Chromium
photographs the page; the white margin below the cell is trimmed off.

    .venv/bin/python docs/scripts/notebook_screenshots.py            # writes docs/images/notebook-*.png
    .venv/bin/python docs/scripts/notebook_screenshots.py --html DIR # the pages only, no Chromium

Needs the dev extra (nbconvert, nbformat, ipykernel), Graphviz's ``dot`` and, for the PNGs,
Debian's ``chromium`` (``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import copy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "notebooks" / "tour.ipynb"
IMAGES = ROOT / "docs" / "images"
WIDTH = 1100
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1"]
# picture name -> (the code cell's index among code cells, the window height to photograph)
SHOTS = {"model": (1, 1300), "summary": (2, 1900), "space": (5, 700), "study": (6, 1500)}


def executed() -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    ExecutePreprocessor(timeout=300, kernel_name="python3").preprocess(notebook, {"metadata": {"path": str(NOTEBOOK.parent)}})
    return notebook


def page(notebook: nbformat.NotebookNode, index: int) -> str:
    """One code cell of the executed notebook as a standalone HTML page."""
    single = copy.deepcopy(notebook)
    single.cells = [c for c in notebook.cells if c.cell_type == "code"][index:index + 1]
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(single)
    return body


def screenshot(html_page: Path, png: Path, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install -y chromium); --html DIR writes the pages alone")
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--screenshot={png}", f"--window-size={WIDTH},{height}",
                    html_page.as_uri()], check=True, capture_output=True, timeout=120)
    trim(png)


def trim(png: Path, margin: int = 16) -> None:
    """Cut the blank rows below the content (the window is taller than the cell)."""
    from PIL import Image, ImageChops  # matplotlib's own dependency

    image = Image.open(png).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, image.getpixel((image.width - 1,
                                                                                      image.height - 1)))).getbbox()
    if box is not None:
        image.crop((0, 0, image.width, min(image.height, box[3] + margin))).save(png)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--html", type=Path, help="write the HTML pages to this folder and take no screenshot")
    args = parser.parse_args()
    notebook = executed()
    folder = args.html or Path(tempfile.mkdtemp(prefix="archlang-notebook-"))
    folder.mkdir(parents=True, exist_ok=True)
    for name, (index, height) in SHOTS.items():
        html_page = folder / f"notebook-{name}.html"
        html_page.write_text(page(notebook, index), encoding="utf-8")
        if args.html is None:
            png = IMAGES / f"notebook-{name}.png"
            screenshot(html_page, png, height)
            print(f"wrote {png.relative_to(ROOT)}")
    if args.html is None:
        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
