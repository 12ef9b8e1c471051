"""Stage 1, text → AST: the Lark grammar (``grammar/archlang.lark``), the post-lexer, the
transformer that builds the AST with a span on every node (``parser``), the AST classes
(``ast``), syntax-error messages (``messages``) and the formatter (``fmt``).

Imports only ``archlang.errors`` and ``archlang.files`` (the parser-table cache); nothing here
knows about names, types or the IR.
"""

from archlang.syntax.parser import parse

__all__ = ["parse"]
