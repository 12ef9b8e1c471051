"""Human wording for the parser's syntax errors (``archlang.syntax.lalr``).

Known mistakes are recognised as Lark's ``match_examples`` does (the parser state of the error
is compared with the states reached by small erroneous examples); otherwise the message
says what was found and what could come next, and names an unclosed bracket with the place
it was opened.  Must not import the elaborator, the IR or any backend.
"""

from __future__ import annotations

import re

from archlang.syntax.lalr import Parser, Token, UnexpectedCharacters, UnexpectedInput, terminal

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
    "a statement must be an input, an assignment, if, for, return, assert, constrain or tie": [
        "block A() {\nf(x)\n}",
        "block A() {\n1\n}",
        "block A() {\nx\n}",
    ],
}


def describe_unexpected(
    exc: UnexpectedInput, text: str, stack: list[tuple[Token, bool]], parser: Parser
) -> str:
    """One sentence for a syntax error, in the words a person would use."""
    if isinstance(exc, UnexpectedCharacters):
        return _unexpected_character(exc, text)
    common = _common_mistake(exc, text, stack)
    if common:
        return common
    starts_line = _starts_line(exc, text)
    unclosed = _unclosed(exc, stack)
    if unclosed and starts_line:
        return unclosed
    label = _match_example(exc, parser)
    if label:
        return label
    if unclosed:
        return unclosed
    return f"unexpected {_describe_found(exc)}; expected {_describe_expected(exc)}"


def _line_before(token, text: str) -> str | None:
    if token is None or token.type == "$END" or not token.line:
        return None
    lines = text.split("\n")
    return lines[token.line - 1][: token.column - 1] if token.line <= len(lines) else None


def _starts_line(exc: UnexpectedInput, text: str) -> bool:
    """The unexpected token is the first of its line (or the end of the file): a bracket left
    open on an earlier line, rather than a mistake inside the brackets (a missing comma)."""
    token = getattr(exc, "token", None)
    before = _line_before(token, text)
    return before is None or not before.strip()


_ELSE_LINE = re.compile(r"\s*(else|elif)\b")
_VALUE_START = {"NAME", "INT", "FLOAT", "STRING", "TRUE", "FALSE", "NONE", "ELLIPSIS"}
_MISSING_COMMA = {"(": "expected ',' between items", "[": "expected ',' between list items"}
_ELSE_MESSAGE = "'else' and 'elif' go on the same line as the closing brace: `} else {`"
_STATEMENT_MESSAGE = "a statement must be an input, an assignment, if, for, return, assert, constrain or tie"


def _common_mistake(exc: UnexpectedInput, text: str, stack) -> str | None:
    """Mistakes recognised from the token, its line and the open brackets, whatever the parser
    state (Lark's states differ with the operand and the nesting depth, examples do not)."""
    token = getattr(exc, "token", None)
    expected = set(getattr(exc, "expected", ()) or ())
    before = _line_before(token, text)
    if token is None or before is None:
        return None
    if _ELSE_LINE.match(text.split("\n")[token.line - 1]):
        return _ELSE_MESSAGE
    if token.type == "EQUAL" and re.search(r"\b(if|elif|assert)\b", before):
        return "use '==' to compare; '=' assigns"
    if token.type == "COLON" and "LBRACE" in expected and re.match(r"\s*(if|elif|else|for)\b", before):
        return "archlang blocks use braces, not ':' — write `if cond { ... }`"
    if (token.type in _VALUE_START and "COMMA" in expected and before.strip() and stack
            and stack[-1][0].value in _MISSING_COMMA):
        opener, is_call = stack[-1]
        return "expected ',' between arguments" if is_call else _MISSING_COMMA[opener.value]
    if "EQUAL" in expected and expected <= {"COMMA", "EQUAL", "_NL"} and re.fullmatch(r"\s*[A-Za-z_]\w*\s*", before):
        return _STATEMENT_MESSAGE  # `relu(x)`, `x` alone: a name starting a statement, no `=`
    return None


def error_column(text: str, line: int, col: int, message: str) -> int:
    """Where the caret goes: under a misplaced leading ``else``/``elif`` rather than after it."""
    lines = text.split("\n")
    found = _ELSE_LINE.match(lines[line - 1]) if message == _ELSE_MESSAGE and 1 <= line <= len(lines) else None
    return found.start(1) + 1 if found else col


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
    at_end = token is not None and token.type == "$END"
    closes = any(_terminal_is(name, close) for name in expected)
    if not (at_end or closes) or (token is not None and token.value in _CLOSING.values()):
        return None
    if not at_end and opener.value == "{" and token is not None and token.type != "_NL":
        return None
    what = "call" if is_call else _WHAT_OPENS[opener.value]
    return f"expected '{close}' to close the {what} opened at {opener.line}:{opener.column}"


def _terminal_is(name: str, literal: str) -> bool:
    return {"RPAR": ")", "RSQB": "]", "RBRACE": "}"}.get(name) == literal


def _match_example(exc: UnexpectedInput, parser: Parser) -> str | None:
    """The label of an example that fails on the same kind of token in the same LALR state,
    reached from the same state (the top two states of the stack: the state after a name is
    shared by every context, its parent is not).  Unlike Lark's ``match_examples`` the depth of
    the stack is ignored: a mistake reads the same inside a nested block as at the top."""
    state = getattr(exc, "state", None)
    token = getattr(exc, "token", None)
    if state is None or not hasattr(state, "state_stack") or token is None:
        return None
    key = tuple(state.state_stack[-2:])
    for label, example_key, token_type in _example_states(parser):
        if example_key == key and token_type == token.type:
            return label
    return None


_EXAMPLE_STATES: list[tuple[str, object, str | None]] | None = None


def _example_states(parser: Parser) -> list[tuple[str, object, str | None]]:
    """(label, LALR state, unexpected token type) of every example, computed once."""
    global _EXAMPLE_STATES
    if _EXAMPLE_STATES is None:
        found = []
        for label, examples in _EXAMPLES.items():
            for example in examples:
                try:
                    parser.parse(example)
                except UnexpectedInput as ut:
                    state = getattr(ut, "state", None)
                    token = getattr(ut, "token", None)
                    if state is not None and hasattr(state, "state_stack") and token is not None:
                        found.append((label, tuple(state.state_stack[-2:]), token.type))
                except Exception:  # an example that fails oddly must not hide the real error
                    continue
        _EXAMPLE_STATES = found
    return _EXAMPLE_STATES


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


def _describe_expected(exc: UnexpectedInput) -> str:
    # `accepts` (what the parser state really takes) is narrower than the LALR table's `expected`
    names = getattr(exc, "accepts", None) or exc.expected or ()
    words = sorted({_word(name) for name in names if name != "$END"} or {"end of file"})
    if not words:
        return "something else"
    if len(words) > 6:
        words = words[:6] + ["…"]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _word(name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        found = terminal(name)
    except KeyError:
        return name
    if found.kind == "str":
        return f"'{found.value}'"
    return name.lower()
