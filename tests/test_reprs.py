"""Every user-facing object has a short, one-line ``repr`` (never pydantic's field dump), and
the notebook displays: a model's header and diagram, a summary's HTML table (``print`` gives
the text table), a space's size and decision table, ``render``'s inline diagram.  Renderers
that need a backend come from ``archlang.api`` through ``archlang.ir.display``; without one a
display hook gives None, so Jupyter falls back to the text repr."""

from __future__ import annotations

import random
import re
from html import unescape
from pathlib import Path

import pytest

import archlang
from archlang.api import elaborate
from archlang.backends.graphviz import find_dot, to_dot
from archlang.ir import display
from archlang.report.summary import format_summary

SPECS = Path(__file__).resolve().parents[1] / "specs"
needs_dot = pytest.mark.skipif(find_dot() is None, reason="Graphviz's `dot` is not installed")


@pytest.fixture(scope="module")
def resnet():
    return elaborate(SPECS / "vision" / "resnet.arch", "ResNet18", num_classes=10, inputs={"x": [1, 3, 32, 32]})


@pytest.fixture(scope="module")
def nb201():
    return archlang.space(SPECS / "spaces" / "nasbench201.arch")


def _walk(graph):
    """Every node, member and graph below ``graph``."""
    yield graph
    for _, member in graph.members:
        yield member
    for node in graph.nodes:
        yield node
        if node.body is not None:
            yield from _walk(node.body)


def _one_line(text: str, limit: int = 160) -> bool:
    return "\n" not in text and len(text) <= limit and "span=" not in text and "attrs=" not in text


def test_model_repr_names_its_shapes(resnet):
    assert repr(resnet) == "<Model ResNet18 (model): 1×3×32×32 → 1×10, 13 nodes>"
    assert str(resnet) == repr(resnet)  # print(model) is the same line, not a field dump


def test_every_ir_object_has_a_short_repr(resnet, nb201):
    objects = list(_walk(resnet.graph)) + list(_walk(nb201.model.graph)) + list(nb201.model.choices)
    assert len(objects) > 50
    for obj in objects:
        assert _one_line(repr(obj)), repr(obj)[:300]
    assert repr(nb201.model.choices[0]) == "<ChoiceDecl 1<-0: layer, 5 options>"
    assert "6 free choices" in repr(nb201.model)


def test_summary_prints_its_table_and_reprs_in_a_line(resnet):
    summary = archlang.summary(resnet)
    assert str(summary) == format_summary(summary)
    assert repr(summary) == f"<Summary ResNet18: 11,181,642 params, 37,016,576 MACs, {len(summary.rows)} rows>"


def test_summary_html_has_a_row_per_layer_and_the_totals(resnet):
    summary = archlang.summary(resnet)
    page = summary._repr_html_()
    rows = re.findall(r"<tr>(.*?)</tr>", page)
    assert len(rows) == 1 + len(summary.rows) + 1  # header, layers, totals
    cells = [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[1])]
    assert cells == ["conv1", "Conv2d", "1×64×16×16", "9,408", "2,408,448"]
    assert "11,181,642" in rows[-1]
    shallow = summary.html(depth=0)
    assert len(re.findall(r"<tr>", shallow)) == 2 + sum(1 for r in summary.rows if r.depth == 0)


def test_html_escapes_what_it_shows(nb201):
    page = nb201._repr_html_()
    assert "1&lt;-0" in page and "1<-0" not in page


def test_space_html_shows_size_and_decisions(nb201):
    page = nb201._repr_html_()
    assert "15,625 configurations" in page and "not counted here" in page  # too many to hash in a notebook cell
    assert len(re.findall(r"<tr>", page)) == 1 + len(nb201.decisions)
    small = archlang.space(SPECS / "spaces" / "tiny_cnn.arch")
    assert f"{small.size(unique=True):,} architectures" in small._repr_html_()  # 864 configurations: counted


def test_assignment_repr_is_short(nb201):
    assignment = nb201.sample(random.Random(0))
    text = repr(assignment)
    assert text.startswith("<Assignment {'1<-0': ") and nb201.hash[:12] in text and nb201.hash not in text


def test_display_without_a_renderer_falls_back_to_text(resnet, monkeypatch):
    monkeypatch.setattr(display, "_RENDERERS", {})
    assert resnet._repr_html_() is None
    assert display.Diagram("digraph {}")._repr_svg_() is None


@needs_dot
def test_model_html_has_header_and_diagram(resnet):
    page = resnet._repr_html_()
    for fact in ("model ResNet18", "1×3×32×32 → 1×10", "11,181,642", "37,016,576"):
        assert fact in page
    assert page.count("<svg") == 1 and "<?xml" not in page


@needs_dot
def test_space_model_html_draws_without_counts(nb201):
    page = nb201.model._repr_html_()
    assert "free choices" in page and "<svg" in page and "params" not in page.split("<svg")[0]


@needs_dot
def test_render_returns_the_dot_text_that_draws_itself(resnet):
    diagram = archlang.render(resnet, depth=0)
    assert isinstance(diagram, str) and diagram == to_dot(resnet, archlang.backends.graphviz.RenderOptions(depth=0))
    assert diagram.svg().lstrip().startswith("<?xml") and "<svg" in diagram._repr_svg_()
    assert repr(diagram).startswith("<Diagram: ")
