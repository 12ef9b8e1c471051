"""Human wording for Lark's syntax errors.

Known mistakes are recognised with Lark's ``match_examples`` (the parser state of the error
is compared with the states reached by small erroneous examples); otherwise the message
says what was found and what could come next, and names an unclosed bracket with the place
it was opened.  Must not import the elaborator, the IR or any backend.
"""

from __future__ import annotations

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

_CLOSING = {"(": ")", "[": "]", "{": "}"}
_WHAT_OPENS = {"(": "parenthesis", "[": "bracket", "{": "block"}

_EXAMPLES: dict[str, list[str]] = {
    "use '==' to compare; '=' assigns": [
        "block A() {\nif a = b {\n}\n}",
        "block A() {\nx = 1 if a = b else 2\n}",
    ],
    "archlang blocks use braces, not ':' — write `if cond { ... }`": [
        "block A() {\nif a:\n}",
        "block A() {\nfor i in range(3):\n}",
        "block A() {\nif a == 1:\n}",
    ],
    "expected '{' to open the block body": [
        "block A()\n",
        "block A():\n",
        "model A() x",
    ],
    "'else' and 'elif' go on the same line as the closing brace: `} else {`": [
        "block A() {\nif a {\n}\nelse {\n}\n}",
        "block A() {\nif a {\n}\nelif b {\n}\n}",
    ],
    "expected ',' between arguments": [
        "block A() {\nx = f(a b)\n}",
        "block A() {\nx = f(a, b c)\n}",
        "block A() {\nx = f(a=1 b)\n}",
    ],
    "expected ',' between list items": [
        "block A() {\nx = [a b]\n}",
        "block A() {\nx = [a, b c]\n}",
    ],
    "only definitions may appear at the top level: import, from, block, model, space or let": [
        "x = 1",
        "def f",
        "foo",
    ],
    "a statement must be an input, an assignment, if, for, return, assert or tie": [
        "block A() {\nf(x)\n}",
        "block A() {\n1\n}",
        "block A() {\nx\n}",
    ],
}


def describe_unexpected(
    exc: UnexpectedInput, text: str, stack: list[tuple[Token, bool]], parser: Lark
) -> str:
    """One sentence for a syntax error, in the words a person would use."""
    if isinstance(exc, UnexpectedCharacters):
        return _unexpected_character(exc, text)
    unclosed = _unclosed(exc, stack)
    if unclosed:
        return unclosed
    label = _match_example(exc, parser)
    if label:
        return label
    return f"unexpected {_describe_found(exc)}; expected {_describe_expected(exc, parser)}"


def _unexpected_character(exc: UnexpectedCharacters, text: str) -> str:
    char = exc.char
    if char in "\"'":
        return "unterminated string literal"
    if char == "\t":
        return "unexpected tab character"
    return f"unexpected character {char!r}"


def _unclosed(exc: UnexpectedInput, stack: list[tuple[Token, bool]]) -> str | None:
    if not stack:
        return None
    opener, is_call = stack[-1]
    close = _CLOSING[opener.value]
    token = getattr(exc, "token", None)
    expected = set(getattr(exc, "expected", ()) or ())
    at_end = isinstance(exc, UnexpectedEOF) or (token is not None and token.type == "$END")
    closes = any(_terminal_is(name, close) for name in expected)
    if not (at_end or closes) or (token is not None and token.value in _CLOSING.values()):
        return None
    if not at_end and opener.value == "{" and token is not None and token.type != "_NL":
        return None
    what = "call" if is_call else _WHAT_OPENS[opener.value]
    return f"expected '{close}' to close the {what} opened at {opener.line}:{opener.column}"


def _terminal_is(name: str, literal: str) -> bool:
    return {"RPAR": ")", "RSQB": "]", "RBRACE": "}"}.get(name) == literal


def _match_example(exc: UnexpectedInput, parser: Lark) -> str | None:
    try:
        return exc.match_examples(parser.parse, _EXAMPLES, use_accepts=True)
    except Exception:  # an example that itself fails oddly must not hide the real error
        return None


_TERMINAL_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "_NL": "end of line",
    "$END": "end of file",
    "KIND": "'block', 'model' or 'space'",
    "COMP_OP": "a comparison",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "an operator",
}


def _describe_found(exc: UnexpectedInput) -> str:
    token = getattr(exc, "token", None)
    if token is None or token.type == "$END":
        return "end of file"
    if token.type == "_NL":
        return "end of line"
    if token.type == "NAME":
        return f"name '{token.value}'"
    return f"'{token.value}'"


def _describe_expected(exc: UnexpectedInput, parser: Lark) -> str:
    words = sorted({_word(name, parser) for name in (exc.expected or ())})
    if not words:
        return "something else"
    if len(words) > 6:
        words = words[:6] + ["…"]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _word(name: str, parser: Lark) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        pattern = parser.get_terminal(name).pattern
    except KeyError:
        return name
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return name.lower()
