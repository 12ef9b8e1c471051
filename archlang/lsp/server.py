"""The protocol side of ``archlang lsp``: a pygls server over stdio that keeps the open
documents, checks them as they change and answers from the last check.

Checks are throttled: an edit after a quiet spell is checked at once; edits that follow
within ``DEBOUNCE`` seconds of a check are checked together once they pause, so a burst of
keystrokes costs few checks.  Until it has run, hover, definition, inlay hints and completion
answer from the last analysis that parsed, so the editor never waits for the checker.
Positions are converted between the checker's (1-based, in characters) and the client's
(0-based, in the negotiated encoding, UTF-16 by default) here and only here.

The only module of archlang that imports pygls and lsprotocol (the ``lsp`` extra).  Must not
import a backend.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange
from pygls.workspace.text_document import TextDocument

from archlang._version import __version__
from archlang.errors import ArchError, Diagnostic, Span
from archlang.lsp.analysis import Analysis, Analyzer
from archlang.lsp.complete import complete
from archlang.lsp.hints import inlay_hints
from archlang.lsp.hover import hover
from archlang.lsp.navigate import definition, symbols
from archlang.syntax import ast
from archlang.syntax.fmt import format_source

DEBOUNCE = 0.05  # seconds: edits closer together than this are checked together

_COMPLETION_KINDS = {
    "keyword": lsp.CompletionItemKind.Keyword, "op": lsp.CompletionItemKind.Class,
    "function": lsp.CompletionItemKind.Function, "definition": lsp.CompletionItemKind.Struct,
    "module": lsp.CompletionItemKind.Module, "variable": lsp.CompletionItemKind.Variable,
    "field": lsp.CompletionItemKind.Field, "argument": lsp.CompletionItemKind.Property,
    "constant": lsp.CompletionItemKind.Constant,
}
_SYMBOL_KINDS = {
    "block": lsp.SymbolKind.Class, "model": lsp.SymbolKind.Module, "space": lsp.SymbolKind.Namespace,
    "let": lsp.SymbolKind.Constant, "import": lsp.SymbolKind.Package, "param": lsp.SymbolKind.TypeParameter,
    "input": lsp.SymbolKind.Variable, "member": lsp.SymbolKind.Field, "value": lsp.SymbolKind.Variable,
}


class ArchServer(LanguageServer):
    """Open documents, their latest analyses, and the pending checks."""

    def __init__(self) -> None:
        super().__init__("archlang", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.analyzer = Analyzer()
        self.latest: dict[str, Analysis] = {}  # uri → analysis of the last version checked
        self.parsed: dict[str, Analysis] = {}  # uri → last analysis whose text parsed
        self.pending: dict[str, asyncio.TimerHandle] = {}
        self.checked_at: dict[str, float] = {}  # uri → loop time its last check ended

    # ---- checking
    def schedule(self, uri: str) -> None:
        """Check soon: at once after a quiet spell, else once the burst of edits pauses."""
        loop = asyncio.get_running_loop()
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        quiet = loop.time() - self.checked_at.get(uri, float("-inf")) > DEBOUNCE
        delay = 0.0 if handle is None and quiet else DEBOUNCE
        self.pending[uri] = loop.call_later(delay, self.check, uri)

    def check(self, uri: str) -> Analysis | None:
        self.pending.pop(uri, None)
        try:
            return self._check(uri)
        finally:
            self.checked_at[uri] = asyncio.get_running_loop().time()

    def _check(self, uri: str) -> Analysis | None:
        document = self.workspace.get_text_document(uri)
        path = to_fs_path(uri)
        if path is None:
            return None
        analysis = self.analyzer.analyze(path, document.source, self._overlay(uri))
        self.latest[uri] = analysis
        if analysis.ok:
            self.parsed[uri] = analysis
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=uri, version=document.version, diagnostics=self._diagnostics(document, analysis)))
        if self._can_refresh_hints():
            self.workspace_inlay_hint_refresh(None)
        return analysis

    def _overlay(self, uri: str) -> dict[str, str]:
        """The unsaved text of the other open documents, by path."""
        overlay = {}
        for other, document in self.workspace.text_documents.items():
            path = to_fs_path(other)
            if other != uri and path is not None:
                overlay[str(Path(path).resolve())] = document.source
        return overlay

    def _can_refresh_hints(self) -> bool:
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.inlay_hint and workspace.inlay_hint.refresh_support)

    def answering(self, uri: str) -> Analysis | None:
        """The analysis questions are answered from: the latest one that parsed."""
        return self.parsed.get(uri) or self.latest.get(uri)

    def forget(self, uri: str) -> None:
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        self.latest.pop(uri, None)
        self.parsed.pop(uri, None)

    # ---- conversions
    def _diagnostics(self, document: TextDocument, analysis: Analysis) -> list[lsp.Diagnostic]:
        out = []
        for found in analysis.diagnostics:
            if found.span.file == analysis.file or found.span.line <= 0:
                out.append(self._diagnostic(document, found, found.span))
            else:  # an error in an imported file: shown on the import, with its real place
                out.append(self._foreign(document, analysis, found))
        return out

    def _diagnostic(self, document: TextDocument, found: Diagnostic, span: Span, message: str | None = None,
                    related: list | None = None) -> lsp.Diagnostic:
        text = message or found.message
        if found.notes:
            text += "\n" + "\n".join(f"note: {n}" for n in found.notes)
        return lsp.Diagnostic(
            range=to_range(document, span), message=text, source="archlang",
            severity=lsp.DiagnosticSeverity.Warning if found.severity == "warning" else lsp.DiagnosticSeverity.Error,
            related_information=related,
        )

    def _foreign(self, document: TextDocument, analysis: Analysis, found: Diagnostic) -> lsp.Diagnostic:
        imports = [i for i in analysis.module.items if isinstance(i, ast.Import)] if analysis.module else []
        anchor = imports[0].span if imports else Span(analysis.file, 1, 1, 1, 1)
        place = Span(analysis.file, anchor.line, 1, anchor.line, len(document.lines[anchor.line - 1].rstrip("\n")) + 1)
        where = f"{found.span.file}:{found.span.line}:{found.span.col}"
        related = [lsp.DiagnosticRelatedInformation(
            location=lsp.Location(uri=from_fs_path(found.span.file) or found.span.file,
                                  range=to_range(None, found.span)),
            message=found.message,
        )]
        return self._diagnostic(document, found, place, f"in an imported file, {where}: {found.message}", related)


def _server_range(span: Span) -> ServerTextRange:
    """A checker span (1-based, inclusive start, exclusive end) in pygls' 0-based code points;
    an empty or unknown span becomes one character."""
    start = ServerTextPosition(max(span.line, 1) - 1, max(span.col, 1) - 1)
    end = ServerTextPosition(max(span.end_line or span.line, 1) - 1, max(span.end_col or span.col + 1, 1) - 1)
    if (end.line, end.character) <= (start.line, start.character):
        end = ServerTextPosition(start.line, start.character + 1)
    return ServerTextRange(start, end)


def to_range(document: TextDocument | None, span: Span) -> lsp.Range:
    """A checker span as an LSP range in the document's position encoding."""
    server = _server_range(span)
    if document is None:
        return lsp.Range(lsp.Position(server.start.line, server.start.character),
                         lsp.Position(server.end.line, server.end.character))
    return document.range_to_client_units(server)


def from_position(document: TextDocument, position: lsp.Position) -> tuple[int, int]:
    """An LSP position as the checker's (line, col), both 1-based."""
    server = document.position_from_client_units(position)
    return server.line + 1, server.character + 1


def _file_range(path: str, span: Span, document: TextDocument) -> lsp.Range:
    """A span in another file, converted with that file's own lines."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines(keepends=True)
    except OSError:
        return to_range(None, span)
    return document.position_codec.range_to_client_units(lines, _server_range(span))


def build_server() -> ArchServer:
    server = ArchServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ArchServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.check(params.text_document.uri)  # at once: the editor has just opened the file

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ArchServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ArchServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ArchServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: ArchServer, params: lsp.HoverParams) -> lsp.Hover | None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        analysis = ls.answering(params.text_document.uri)
        if analysis is None:
            return None
        found = hover(analysis, *from_position(document, params.position))
        if found is None:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=found.markdown),
                         range=to_range(document, found.span))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: ArchServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        analysis = ls.answering(params.text_document.uri)
        if analysis is None:
            return None
        found = definition(analysis, *from_position(document, params.position))
        if found is None:
            return None
        uri = from_fs_path(found.file)
        target_range = to_range(document, found.span) if found.file == analysis.file else _file_range(found.file, found.span, document)
        return lsp.Location(uri=uri, range=target_range)

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[".", "(", ","]))
    def on_completion(ls: ArchServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        document = ls.workspace.get_text_document(params.text_document.uri)
        analysis = ls.answering(params.text_document.uri)
        if analysis is None:
            return lsp.CompletionList(is_incomplete=False, items=[])
        line, col = from_position(document, params.position)
        lines = document.source.splitlines() or [""]
        while len(lines) < line:
            lines.append("")
        items = [
            lsp.CompletionItem(
                label=c.label, kind=_COMPLETION_KINDS.get(c.kind), detail=c.detail or None,
                documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=c.documentation) if c.documentation else None,
                insert_text=c.insert_text, sort_text=f"{i:04d}",
            )
            for i, c in enumerate(complete(analysis, lines, line, col))
        ]
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def on_symbols(ls: ArchServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        document = ls.workspace.get_text_document(params.text_document.uri)
        analysis = ls.answering(params.text_document.uri)
        return [_symbol(document, s) for s in symbols(analysis)] if analysis is not None else []

    @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT)
    def on_inlay_hints(ls: ArchServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
        document = ls.workspace.get_text_document(params.text_document.uri)
        analysis = ls.answering(params.text_document.uri)
        if analysis is None:
            return []
        first, last = params.range.start.line + 1, params.range.end.line + 1
        return [
            lsp.InlayHint(
                position=to_range(document, Span(analysis.file, h.line, h.col, h.line, h.col + 1)).start,
                label=h.label, kind=lsp.InlayHintKind.Type, tooltip=h.tooltip, padding_left=False,
            )
            for h in inlay_hints(analysis, first, last)
        ]

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def on_formatting(ls: ArchServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        try:
            formatted = format_source(document.source, to_fs_path(params.text_document.uri) or "<document>")
        except ArchError:
            return None  # a file that does not parse is not formatted; its diagnostics say why
        if formatted == document.source:
            return []
        lines = document.lines
        end = document.position_to_client_units(ServerTextPosition(len(lines), 0))
        return [lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), end), new_text=formatted)]

    return server


def _symbol(document: TextDocument, symbol) -> lsp.DocumentSymbol:
    return lsp.DocumentSymbol(
        name=symbol.name, detail=symbol.detail or None, kind=_SYMBOL_KINDS[symbol.kind],
        range=to_range(document, symbol.span), selection_range=to_range(document, symbol.selection),
        children=[_symbol(document, c) for c in symbol.children] or None,
    )


def serve() -> int:
    """Run the server on stdin/stdout until the client says exit."""
    logging.getLogger("pygls").setLevel(logging.WARNING)
    build_server().start_io()
    return 0
