"""Rich display hooks for notebooks: core objects ask here for a rendering that a higher
layer registered, so the core never imports a backend.

``archlang.api`` registers the renderers (diagrams need the Graphviz backend); a core class
implements ``_repr_svg_`` (or ``_repr_html_``) as ``display.show(kind, self)``, which gives
None — Jupyter then falls back to the text repr — when no renderer is registered or it
cannot draw (no Graphviz ``dot``, say).
"""

from __future__ import annotations

from typing import Any, Callable

_RENDERERS: dict[str, Callable[[Any], str | None]] = {}


def register(kind: str, renderer: Callable[[Any], str | None]) -> None:
    """Use ``renderer(obj)`` for objects of display kind ``kind`` (e.g. ``"program.svg"``)."""
    _RENDERERS[kind] = renderer


def show(kind: str, obj) -> str | None:
    renderer = _RENDERERS.get(kind)
    return renderer(obj) if renderer is not None else None


class Diagram(str):
    """DOT text that Jupyter draws: ``archlang.render`` returns one, so a cell ending in
    ``render(...)`` shows the diagram inline while the value is still the DOT string it always
    was (``str`` methods, comparisons and writes keep working)."""

    def svg(self) -> str | None:
        """The diagram as SVG text (None without a registered renderer or Graphviz's ``dot``)."""
        return show("dot.svg", self)

    def _repr_svg_(self) -> str | None:
        return self.svg()

    def __repr__(self) -> str:
        return f"<Diagram: {len(self.splitlines())} lines of DOT; str() for the text, .svg() for SVG>"
