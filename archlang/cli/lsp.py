"""``archlang lsp``: the language server, over stdin/stdout (the parser and ``cmd_lsp``).

The server itself lives in ``archlang.lsp.server`` and needs the ``lsp`` extra (pygls,
lsprotocol); it is imported when the command runs, so the other commands never load it.
"""

from __future__ import annotations

import argparse
import sys


def add_lsp_parser(sub) -> None:
    lsp = sub.add_parser(
        "lsp", help="run the language server (LSP over stdio) for editors",
        description="Run the archlang language server on stdin/stdout: diagnostics as you type, hover with "
        "inferred shapes, go to definition, completion, outline, inlay hints and formatting. Editors start "
        "it themselves (see docs/editors.md). Needs the 'lsp' extra: pip install 'archlang[lsp]'.",
    )
    lsp.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default and only transport)")
    lsp.set_defaults(run=cmd_lsp)


def cmd_lsp(args: argparse.Namespace) -> int:
    try:
        from archlang.lsp.server import serve  # pygls: an optional extra, loaded only here
    except ModuleNotFoundError as missing:
        if (missing.name or "").split(".")[0] not in ("pygls", "lsprotocol"):
            raise
        print("archlang: error: archlang lsp needs pygls and lsprotocol: pip install 'archlang[lsp]'", file=sys.stderr)
        return 2
    return serve()
