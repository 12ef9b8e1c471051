"""Small HTML building blocks for notebook display (``_repr_html_``): escaped tables and
headers with inline styles only, so a rendered notebook needs no stylesheet.  Imports nothing
of the pipeline."""

from __future__ import annotations

from html import escape

_CELL = "padding:1px 8px;border-bottom:1px solid #ddd;"


def table(header, rows, numeric: tuple[int, ...] = (), caption: str | None = None) -> str:
    """An HTML table of ``rows`` (lists of cells shown as text); columns in ``numeric`` align right."""
    def cell(tag: str, index: int, value) -> str:
        align = "right" if index in numeric else "left"
        return f'<{tag} style="{_CELL}text-align:{align}">{escape(str(value))}</{tag}>'

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    title = f"<caption style='text-align:left;font-weight:bold'>{escape(caption)}</caption>" if caption else ""
    return (f'<table class="archlang" style="border-collapse:collapse;font-family:monospace;font-size:12px">'
            f"{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def facts(title: str, items: list[tuple[str, str]]) -> str:
    """A bold title over ``name: value`` lines (a model's or a space's header)."""
    lines = "".join(f"<div><span style='color:#666'>{escape(k)}:</span> {escape(v)}</div>" for k, v in items)
    return f"<div style='font-family:monospace;font-size:12px;margin-bottom:6px'><b>{escape(title)}</b>{lines}</div>"
