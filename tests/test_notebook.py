"""docs/notebooks/tour.ipynb runs top to bottom in a real Jupyter kernel (nbconvert's
ExecutePreprocessor), and what it displays is the rich output: the model's header and SVG
diagram, the summary as an HTML table (and as text under ``print``), the space's decision
table, the study's best trials in NAS-Bench-201 arch strings with inline plots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbconvert = pytest.importorskip("nbconvert.preprocessors")
pytest.importorskip("ipykernel")

from archlang.backends.graphviz import find_dot  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebooks" / "tour.ipynb"

pytestmark = pytest.mark.skipif(find_dot() is None, reason="Graphviz's `dot` is not installed")


@pytest.fixture(scope="module")
def outputs() -> list[list[dict]]:
    """Each code cell's outputs, after executing the notebook in its own folder."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    executor = nbconvert.ExecutePreprocessor(timeout=300, kernel_name="python3")
    executor.preprocess(notebook, {"metadata": {"path": str(NOTEBOOK.parent)}})
    return [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]


def _shown(cell_outputs: list[dict], mime: str) -> str:
    return "".join(o.get("data", {}).get(mime, "") for o in cell_outputs)


def _printed(cell_outputs: list[dict]) -> str:
    return "".join(o.get("text", "") for o in cell_outputs if o.get("output_type") == "stream")


def test_no_cell_fails_or_warns(outputs):
    for cell_outputs in outputs:
        assert not [o for o in cell_outputs if o.get("output_type") == "error"]
        assert "Warning" not in "".join(o.get("text", "") for o in cell_outputs if o.get("name") == "stderr")


def test_model_shows_header_and_diagram(outputs):
    page = _shown(outputs[1], "text/html")
    assert "model ResNet18" in page and "1×3×32×32 → 1×10" in page
    assert "11,181,642" in page  # torchvision's resnet18(num_classes=10) has 11,181,642 parameters
    assert "<svg" in page and "<?xml" not in page  # the diagram inline, without an XML prolog inside HTML
    assert _shown(outputs[1], "text/plain") == "<Model ResNet18 (model): 1×3×32×32 → 1×10, 13 nodes>"


def test_summary_is_an_html_table_and_prints_as_text(outputs):
    table = _shown(outputs[2], "text/html")
    assert table.startswith("<table") and "<th" in table
    assert re.search(r"<td[^>]*>conv1</td><td[^>]*>Conv2d</td><td[^>]*>1×64×16×16</td><td[^>]*>9,408</td>", table)
    text = _printed(outputs[3])
    assert "Layer" in text and "conv1" in text and re.search(r"Total params:\s+11,181,642", text)
    assert "<Summary ResNet18: 11,181,642 params" in text


def test_render_draws_inline(outputs):
    assert "<svg" in _shown(outputs[4], "image/svg+xml")
    assert _shown(outputs[4], "text/plain").startswith("<Diagram")


def test_space_shows_its_decision_table(outputs):
    page = _shown(outputs[5], "text/html")
    assert "15,625 configurations" in page
    assert page.count("<tr>") == 1 + 6  # the header and NAS-Bench-201's six edges
    assert "NorConv3x3" in page and "1&lt;-0" in page


def test_study_shows_best_trials_and_plots(outputs):
    page = _shown(outputs[6], "text/html")
    assert "best trials" in page and "5 evaluations" in page
    assert re.search(r"\|(none|skip_connect|nor_conv_1x1|nor_conv_3x3|avg_pool_3x3)~0\|\+", page)  # NB201 strings
    assert page.count("<svg") == 3  # best so far, importance, parallel coordinates
    assert _shown(outputs[6], "text/plain").startswith("<Study NASBench201-random: 5 evaluations, best #")
    assert re.fullmatch(r"'(\|[a-z_0-9]+~\d)+\|(\+(\|[a-z_0-9]+~\d)+\|){2}'", _shown(outputs[7], "text/plain"))
