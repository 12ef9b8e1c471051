"""Stage 1, text → AST: the grammar (``grammar/archlang.lark``) compiled to parser tables
(``_tables``, written by ``generate``, the one module that imports Lark) and driven by ``lalr``,
the post-lexer and the transformer that builds the AST with a span on every node (``parser``),
the AST classes (``ast``), syntax-error messages (``messages``) and the formatter (``fmt``).

Imports only ``archlang.errors`` (and ``archlang.files``, to write the tables); nothing here
knows about names, types or the IR.
"""

from archlang.syntax.parser import parse

__all__ = ["parse"]
