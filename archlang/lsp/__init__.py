"""The language server ``archlang lsp``: the editor's view of the checker.

A thin layer over the front end: it owns no language logic of its own.  ``analysis`` loads
and checks a document (reusing what an edit did not change) and keeps every diagnostic;
``walk`` finds what is under the cursor in the AST; ``shapes`` reads the inferred types off
the IR; ``hover``, ``navigate`` and ``complete`` answer the editor's questions from those;
``server`` speaks the protocol (pygls, lsprotocol) and is the only module that imports them.

An API-layer package: it may import the core (syntax, resolve, elaborate, ir, ops, report,
errors), never a backend, and nothing in the core imports it.
"""
