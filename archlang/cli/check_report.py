"""``archlang check --format json|sarif|github``: the diagnostics of a run, for tools instead of people.

Both formats carry each diagnostic's start and end (1-based lines and columns counted in
characters, the end column just past the last character, as SARIF defines it), its kind (``shape``, ``syntax`` …), its
message and notes.  JSON is archlang's own shape (documented in docs/cli.md); SARIF is the
2.1.0 standard that GitHub code scanning and editors read; ``github`` is one workflow command
per diagnostic, which GitHub Actions shows as an annotation on the line.  Imports only archlang.errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from archlang.errors import ArchError, Diagnostic

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
KINDS = ("syntax", "name", "type", "shape", "import", "limit", "space", "constraint", "error")


def located(error: ArchError) -> list[tuple[str, Diagnostic]]:
    """(kind, diagnostic) for every diagnostic of ``error``, in source order."""
    pairs = [(leaf.kind, d) for leaf in getattr(error, "errors", (error,)) for d in leaf.diagnostics]
    return sorted(pairs, key=lambda pair: (pair[1].file, pair[1].line, pair[1].col))


def end_of(d: Diagnostic) -> tuple[int, int]:
    """Where ``d`` ends; a span without an end covers one character."""
    span = d.span
    if span.end_line > span.line or (span.end_line == span.line and span.end_col > span.col):
        return span.end_line, span.end_col
    return span.line, span.col + 1


def to_json(files: list[str], failures: dict[str, ArchError]) -> str:
    diagnostics = []
    for path in files:
        if path in failures:
            diagnostics.extend(_json_diagnostic(kind, d) for kind, d in located(failures[path]))
    report = {"files": [{"file": path, "ok": path not in failures} for path in files], "diagnostics": diagnostics}
    return json.dumps(report, indent=2, ensure_ascii=False)


def _json_diagnostic(kind: str, d: Diagnostic) -> dict:
    end_line, end_col = end_of(d)
    return {"file": d.file, "line": d.line, "column": d.col, "end_line": end_line, "end_column": end_col,
            "severity": d.severity, "kind": kind, "message": d.message, "notes": list(d.notes)}


def to_sarif(files: list[str], failures: dict[str, ArchError], version: str) -> str:
    results = [_sarif_result(kind, d) for path in files if path in failures for kind, d in located(failures[path])]
    driver = {
        "name": "archlang", "version": version,
        "rules": [{"id": kind, "shortDescription": {"text": f"archlang {kind} error"}} for kind in KINDS],
    }
    run = {"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": results,
           "artifacts": [{"location": {"uri": _uri(path)}} for path in files]}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False)


def _sarif_result(kind: str, d: Diagnostic) -> dict:
    text = "\n".join([d.message, *d.notes])
    result = {"ruleId": kind if kind in KINDS else "error", "level": "error" if d.severity == "error" else "warning",
              "message": {"text": text}}
    location = {"physicalLocation": {"artifactLocation": {"uri": _uri(d.file)}}}
    if d.line >= 1:  # a diagnostic with no place in a file has no region
        end_line, end_col = end_of(d)
        location["physicalLocation"]["region"] = {"startLine": d.line, "startColumn": d.col,
                                                  "endLine": end_line, "endColumn": end_col}
    result["locations"] = [location]
    return result


def _uri(path: str) -> str:
    """A relative path stays relative (SARIF viewers resolve it against the checkout)."""
    if path.startswith("<"):
        return path.strip("<>")  # <stdin>
    as_path = Path(path)
    return as_path.as_uri() if as_path.is_absolute() else quote(as_path.as_posix())


def to_github(files: list[str], failures: dict[str, ArchError]) -> str:
    """``::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`` lines."""
    lines = []
    for path in files:
        for kind, d in located(failures[path]) if path in failures else ():
            end_line, end_col = end_of(d)
            where = f"file={_escape(d.file, True)},line={d.line},col={d.col},endLine={end_line},endColumn={end_col}"
            text = _escape("\n".join([d.message, *d.notes]), False)
            lines.append(f"::{'error' if d.severity == 'error' else 'warning'} {where},title=archlang {kind} error::{text}")
    return "\n".join(lines)


def _escape(text: str, in_property: bool) -> str:
    """GitHub's escaping of a workflow command's message, or of a property's value."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if in_property else text
