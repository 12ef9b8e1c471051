"""A Pygments lexer for archlang specs (``.arch``), for documentation and terminals.

``pygmentize -l arch file.arch`` and fenced ```` ```arch ```` blocks in Sphinx or MkDocs use it
once the package's ``pygments.lexers`` entry point is installed.  It imports nothing from
archlang, so Pygments can load it without the language's own dependencies.  Its word lists
mirror the terminals of grammar/archlang.lark; tests/test_editors.py checks that they agree.
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
)

__all__ = ["ArchLexer"]

# `block`, `model` and `space` open definitions.  They are keywords only there: the grammar's
# contextual lexer lets specs also use them as names (`block = Sequential(...)`).
DEFINITIONS = ("block", "model", "space")
KEYWORDS = (
    "import", "from", "as", "let", "input", "if", "elif", "else", "for", "return",
    "assert", "constrain", "tie",
)
OPERATOR_WORDS = ("and", "or", "not", "in")
CONSTANTS = ("true", "false", "none")

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# The grammar's FLOAT and INT terminals.
FLOAT = r"(?:[0-9](?:_?[0-9])*+)?\.[0-9](?:_?[0-9])*+(?:[eE][+-]?[0-9]++)?|[0-9](?:_?[0-9])*+\.?(?:[eE][+-]?[0-9]++)"
INT = r"0|[1-9](?:_?[0-9])*+"
# The grammar's STRING terminal, one alternative each.
TRIPLE = r'"""(?:[^"\\]|\\.|"(?!""))*+"""'
DOUBLE = r'"(?:[^"\\\n]|\\.)*+"'
SINGLE = r"'(?:[^'\\\n]|\\.)*+'"
LINE_END = r"(?=[^\S\n]*(?:#[^\n]*)?$)"  # nothing but a comment until the end of the line


def _words(names: tuple[str, ...]):
    """Whole words only, and not after an accessor dot (`x.in` is an attribute)."""
    return words(names, prefix=r"(?<![A-Za-z0-9_.])", suffix=r"(?![A-Za-z0-9_])")


class ArchLexer(RegexLexer):
    """Lexer for archlang, the language of neural-network architectures and search spaces."""

    name = "archlang"
    aliases: ClassVar[list[str]] = ["arch", "archlang"]
    filenames: ClassVar[list[str]] = ["*.arch"]
    mimetypes: ClassVar[list[str]] = ["text/x-archlang"]

    tokens: ClassVar[dict] = {
        "root": [
            (r"\n", Whitespace),
            # Rules anchored at the line start come before the one for indentation.
            # A docstring: a string alone on its line, or right after the body's `{`.
            (rf"(?:^|(?<=\{{))([^\S\n]*)({TRIPLE})", bygroups(Whitespace, String.Doc)),
            (rf"(?:^|(?<=\{{))([^\S\n]*)({DOUBLE}|{SINGLE}){LINE_END}",
             bygroups(Whitespace, String.Doc)),
            (rf"^([^\S\n]*)({'|'.join(DEFINITIONS)})([^\S\n]+)({NAME})",
             bygroups(Whitespace, Keyword.Declaration, Whitespace, Name.Class)),
            (rf"^([^\S\n]*)({'|'.join(DEFINITIONS)}){LINE_END}",
             bygroups(Whitespace, Keyword.Declaration)),
            (r"[^\S\n]+", Whitespace),
            (r"\\\n", Text),  # a line continuation
            (r"#[^\n]*", Comment.Single),
            (rf"(let)(\s+)({NAME})", bygroups(Keyword.Declaration, Whitespace, Name.Constant)),
            (rf"(input)(\s+)({NAME})", bygroups(Keyword.Declaration, Whitespace, Name.Variable)),
            (rf"(\.)(\s*)({NAME})", bygroups(Punctuation, Whitespace, Name.Attribute)),
            # After a name, `)` or `]` a dot is an accessor (`layers.0`), not a float's point.
            (r"(?<=[A-Za-z0-9_)\]])\.(?=[0-9])", Punctuation),
            (_words(CONSTANTS), Keyword.Constant),
            (_words(OPERATOR_WORDS), Operator.Word),
            (_words(KEYWORDS), Keyword),
            (TRIPLE, String.Double),
            (DOUBLE, String.Double),
            (SINGLE, String.Single),
            (FLOAT, Number.Float),
            (INT, Number.Integer),
            (r"\.\.\.", Name.Builtin.Pseudo),
            (r"\*\*|//|==|!=|<=|>=|[-+*/%@<>=]", Operator),
            (r"[()\[\]{},:.]", Punctuation),
            (rf"{NAME}(?=\s*\()", Name.Function),
            (NAME, Name),
        ],
    }
