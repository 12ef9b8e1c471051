"""The Graphviz backend: an ir.Model becomes a diagram — blocks as nested clusters, edges
labelled with symbolic shapes, skip connections and search decisions drawn as such.

    to_dot(model, RenderOptions(depth=None, expand=False, direction="TB")) -> str
    build_diagram(model, options) -> Diagram          the DOT source plus node/cluster counts
    write_diagram(source, path, format=None)           .dot as is; .svg/.png/.pdf via `dot`
    pipe(source, "svg") -> bytes                       render without writing a file

DOT generation needs only the ``graphviz`` Python package; rendering needs Graphviz's
``dot`` program (a ``RenderError`` says how to install it, and the .dot is written instead).
Imports archlang.ir/types/dims/ops/errors/summarize and ``graphviz`` only; never another
backend.
"""

from .build import DIRECTIONS, Diagram, RenderOptions, build_diagram, to_dot
from .output import FORMATS, RenderError, find_dot, format_of, pipe, write_diagram

__all__ = [
    "DIRECTIONS", "Diagram", "RenderOptions", "build_diagram", "to_dot",
    "FORMATS", "RenderError", "find_dot", "format_of", "pipe", "write_diagram",
]
