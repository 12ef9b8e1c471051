"""Writing diagrams: DOT text as is, SVG/PNG/PDF through Graphviz's ``dot`` program.

Every file is written by archlang's one safe writer (``archlang.files``: a new temporary file
beside the target, fsynced, renamed into place; modes kept, symbolic links not followed).
Without ``dot`` — or when ``dot`` fails — the DOT source is written next to the requested
output (``out.svg`` → ``out.dot``) and a ``RenderError`` says so.  ``find_dot`` is the one
place that looks the program up (tests replace it to simulate a machine without Graphviz).
Imports only archlang.errors, archlang.files and ``graphviz``; never another backend.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import graphviz

from archlang import files
from archlang.errors import ArchError, Span

FORMATS = ("svg", "png", "pdf", "dot")
ENGINE = "dot"

INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
                "conda: conda install graphviz), or write a .dot file")


class RenderError(ArchError):
    """A diagram could not be rendered (no ``dot`` program, or ``dot`` failed)."""

    kind = "render"


def find_dot() -> str | None:
    """The path of the ``dot`` program, or None."""
    return shutil.which(ENGINE)


def format_of(path: str | Path, format: str | None = None) -> str:
    """The output format: ``format`` if given, else the file's suffix; ValueError otherwise."""
    fmt = (format or Path(path).suffix.lstrip(".")).lower()
    if fmt == "gv":
        fmt = "dot"
    if fmt not in FORMATS:
        given = f"'{format}'" if format else f"the suffix of '{path}'"
        raise ValueError(f"cannot tell the diagram format from {given}: use .svg, .png, .pdf or .dot")
    return fmt


def write_diagram(source: str, path: str | Path, format: str | None = None) -> Path:
    """Write DOT ``source`` to ``path`` as ``format`` (default: from the suffix)."""
    path = files.as_path(path)
    fmt = format_of(path, format)
    files.check_target(path)  # before running `dot`
    if fmt == "dot":
        return files.write_bytes(path, source.encode("utf-8"))
    return files.write_bytes(path, pipe(source, fmt, fallback=path))


def pipe(source: str, fmt: str, fallback: Path | None = None) -> bytes:
    """``source`` laid out and rendered by ``dot`` as ``fmt``.  On failure the DOT text is
    written next to ``fallback`` (when given) and a RenderError is raised."""
    where = Span(str(fallback) if fallback else "<diagram>", 1, 1)
    if find_dot() is None:
        raise _failed(f"cannot render {fmt.upper()}: Graphviz's `dot` program was not found on PATH",
                      source, fallback, where, INSTALL_HINT)
    try:
        return graphviz.Source(source, engine=ENGINE).pipe(format=fmt, quiet=True)
    except graphviz.ExecutableNotFound:
        raise _failed(f"cannot render {fmt.upper()}: Graphviz's `dot` program was not found",
                      source, fallback, where, INSTALL_HINT) from None
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        reason = " ".join(line.strip() for line in detail[:4]) if detail else f"exit status {exc.returncode}"
        raise _failed(f"Graphviz's `dot` failed to lay out the diagram: {reason}", source, fallback, where,
                      "a smaller --depth usually helps") from None


def _failed(message: str, source: str, fallback: Path | None, where: Span, hint: str) -> RenderError:
    notes = []
    if fallback is not None:
        dot_path = fallback.with_suffix(".dot")
        files.write_bytes(dot_path, source.encode("utf-8"))
        notes.append(f"wrote the diagram as DOT to {dot_path} instead")
    notes.append(hint)
    return RenderError(message, where, notes)
