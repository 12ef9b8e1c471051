"""A small LALR(1) driver and contextual lexer over the generated tables (``_tables.py``).

It behaves as Lark's LALR parser with the contextual lexer and an inline transformer did
(``Lark(..., parser="lalr", lexer="contextual", maybe_placeholders=True, transformer=...)``):
the same tokens with the same positions, the same reductions calling the same builder methods
with the same children, and the same errors (``UnexpectedToken`` with the expected terminals,
the parser state and the terminals it ``accepts``; ``UnexpectedCharacters``), so parsing needs
neither Lark nor the time to load its tables.  tests/test_standalone_parser.py compares both.

Imports only the standard library and the tables; must not import the rest of archlang.
"""

from __future__ import annotations

import re

from archlang.syntax import _tables as T


class Token(str):
    """A token: its text, its terminal's name (``type``) and where it starts and ends."""

    def __new__(cls, type, value, start_pos=None, line=None, column=None,
                end_line=None, end_column=None, end_pos=None):
        tok = str.__new__(cls, value)
        tok.type = type
        tok.value = value
        tok.start_pos = start_pos
        tok.line = line
        tok.column = column
        tok.end_line = end_line
        tok.end_column = end_column
        tok.end_pos = end_pos
        return tok

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r})"

    def __reduce__(self):
        return (Token, (self.type, self.value, self.start_pos, self.line, self.column,
                        self.end_line, self.end_column, self.end_pos))


class UnexpectedInput(Exception):
    """A syntax error: ``line`` and ``column`` (1-based) and the parser ``state`` it happened in."""

    line: int
    column: int
    state: "ParserState | None" = None


class UnexpectedCharacters(UnexpectedInput):
    """No terminal the parser could take here matches the text at ``column``; ``char`` is there."""

    def __init__(self, text: str, pos: int, line: int, column: int, allowed, state) -> None:
        super().__init__(f"no terminal matches {text[pos]!r} at line {line} col {column}")
        self.char = text[pos]
        self.pos_in_stream = pos
        self.line, self.column = line, column
        self.allowed = set(allowed)
        self.state = state


class UnexpectedToken(UnexpectedInput):
    """``token`` cannot come here; ``expected`` are the terminals of the state's table row and
    ``accepts`` those the parser can really take (both as Lark words them)."""

    def __init__(self, token: Token, expected, state: "ParserState") -> None:
        super().__init__(f"unexpected token {token!r} at line {token.line}, column {token.column}")
        self.token = token
        self.line, self.column = token.line, token.column
        self.expected = set(expected)
        self.state = state
        self._accepts = None

    @property
    def accepts(self) -> set[str]:
        if self._accepts is None:
            self._accepts = {t for t in T.STATES[self.state.position] if t.isupper() and _takes(self.state, t)}
        return self._accepts


class ParserState:
    """The stack of LALR states at an error (``state_stack[-1]`` is the current one)."""

    __slots__ = ("state_stack",)

    def __init__(self, state_stack: list[int]) -> None:
        self.state_stack = state_stack

    @property
    def position(self) -> int:
        return self.state_stack[-1]


def _takes(state: ParserState, terminal: str) -> bool:
    """Whether the parser, in ``state``, can take ``terminal``: shift it after the reductions it
    causes, or for the end of the input, reduce up to the start rule."""
    stack = list(state.state_stack)
    while True:
        action = T.STATES[stack[-1]].get(terminal)
        if action is None:
            return False
        if action >= 0:
            return True
        origin, size, *_ = T.RULES[~action]
        if size:
            del stack[-size:]
        stack.append(T.STATES[stack[-1]][origin])
        if terminal == "$END" and stack[-1] == T.END_STATE:
            return True


class Terminal:
    """What the grammar writes for a terminal: a fixed string (``kind == "str"``) or a regex."""

    __slots__ = ("name", "kind", "value")

    def __init__(self, name: str) -> None:
        self.name = name
        self.kind, self.value = T.TERMINALS[name]


def terminal(name: str) -> Terminal:
    """The terminal called ``name``; KeyError for an unknown name."""
    return Terminal(name)


# ---- lexing ------------------------------------------------------------------------------

_COMPILED: dict[int, re.Pattern] = {}
_LEXERS: list = []


def _scanner(index: int) -> re.Pattern:
    """A scanner's regex (an alternation of terminals), compiled the first time it is used."""
    compiled = _COMPILED.get(index)
    if compiled is None:
        compiled = _COMPILED[index] = re.compile(T.SCANNERS[index])
    return compiled


def _lexers() -> list[tuple]:
    """Each lexer: (scanner index, keywords, allowed, the terminals the root scanner stands in
    for, or None)."""
    if not _LEXERS:
        _LEXERS.extend((s, k, a, r and frozenset(r)) for s, k, a, r in T.LEXERS)
    return _LEXERS


def _lexer(index: int) -> tuple:
    return _lexers()[index]


class _Lexer:
    """Lark's contextual lexer: in each parser state, only the terminals that state can take
    (and the ignored ones) are tried, so a keyword can be a name where no keyword fits.

    Compiling a regex per state costs more than parsing a spec, so a state whose terminals are
    an ordered subset of all terminals takes the root scanner's match when it is one of its own:
    the alternation picks the first terminal that matches, the same in both."""

    def __init__(self, text: str, state_stack: list[int], callbacks: dict) -> None:
        self.text = text
        self.state_stack = state_stack
        self.callbacks = callbacks  # terminal name → function called with each such token
        self.pos = 0
        self.line = 1
        self.line_start = 0

    def tokens(self):
        text, stack, callbacks = self.text, self.state_stack, self.callbacks
        ignore, newline_types, state_lexer = T.IGNORE, T.NEWLINE_TYPES, T.STATE_LEXER
        lexers = _lexers()
        root = _scanner(lexers[T.ROOT_LEXER][0])
        end = len(text)
        pos, line, line_start = 0, 1, 0
        while pos < end:
            scanner, keywords, _allowed, in_root = lexers[state_lexer[stack[-1]]]
            match = root.match(text, pos) if in_root is not None else None
            if match is None or match.lastgroup not in in_root:
                match = _scanner(scanner).match(text, pos)
                if match is None:
                    self.pos, self.line, self.line_start = pos, line, line_start
                    raise self._unexpected(state_lexer[stack[-1]], text)
            value, kind = match.group(), match.lastgroup
            start, column = pos, pos - line_start + 1
            token_line = line
            if kind in newline_types:
                newlines = value.count("\n")
                if newlines:
                    line += newlines
                    line_start = pos + value.rindex("\n") + 1
            pos += len(value)
            if kind in ignore and kind not in callbacks:
                continue
            if kind in keywords:
                kind = keywords[kind].get(value, kind)
            tok = Token(kind, value, start, token_line, column, line, pos - line_start + 1, pos)
            if kind in callbacks:
                callbacks[kind](tok)
            if kind not in ignore:
                yield tok

    def _unexpected(self, lexer: int, text: str) -> UnexpectedInput:
        """Lark's contextual lexer: a terminal of another context is an unexpected token,
        anything else unexpected characters."""
        pos, line_start = self.pos, self.line_start
        state = ParserState(list(self.state_stack))
        error = UnexpectedCharacters(text, pos, self.line, pos - line_start + 1, _lexer(lexer)[2], state)
        root, keywords = _lexer(T.ROOT_LEXER)[:2]
        match = _scanner(root).match(text, pos)
        if match is None:
            return error
        value, kind = match.group(), match.lastgroup
        kind = keywords.get(kind, {}).get(value, kind)
        end_line = self.line + value.count("\n")
        end_column = len(value) - value.rindex("\n") if "\n" in value else pos + len(value) - line_start + 1
        token = Token(kind, value, pos, self.line, pos - line_start + 1, end_line, end_column, pos + len(value))
        return UnexpectedToken(token, error.allowed, state)


# ---- parsing -----------------------------------------------------------------------------


class Parser:
    """Parses text into what ``builder``'s methods (named like the rules) make of it.

    ``postlex`` is a post-lexer (``process(tokens)`` → tokens); ``callbacks`` maps terminal
    names to functions called with each such token, ignored terminals (comments) included.
    """

    def __init__(self, builder, postlex=None, callbacks: dict | None = None) -> None:
        self.postlex = postlex
        self.callbacks = callbacks or {}
        self.reductions = tuple(_reduction(builder, *rule) for rule in T.RULES)

    def parse(self, text: str):
        stack = [T.START_STATE]
        values: list = []
        tokens = _Lexer(text, stack, self.callbacks).tokens()
        if self.postlex is not None:
            tokens = self.postlex.process(tokens)
        feed = self._feeder(stack, values)
        token = None
        for token in tokens:
            feed(token)
        if token is None:
            end = Token("$END", "", 0, 1, 1)
        else:
            end = Token("$END", "", token.start_pos, token.line, token.column,
                        token.end_line, token.end_column, token.end_pos)
        feed(end)
        return values[-1]

    def _feeder(self, stack: list[int], values: list):
        """``feed(token)``: reduce as the token asks, then shift it (at the end: reduce up to
        the start rule).  A closure over the tables: it runs once per token."""
        states, reductions, end_state = T.STATES, self.reductions, T.END_STATE

        def feed(token: Token) -> None:
            kind = token.type
            while True:
                action = states[stack[-1]].get(kind)
                if action is None:
                    expected = {s for s in states[stack[-1]] if s.isupper()}
                    raise UnexpectedToken(token, expected, ParserState(list(stack)))
                if action >= 0:
                    stack.append(action)
                    values.append(token)
                    return
                origin, size, build = reductions[~action]
                if size:
                    children = values[-size:]
                    del stack[-size:]
                    del values[-size:]
                else:
                    children = []
                values.append(build(children))
                stack.append(states[stack[-1]][origin])
                if kind == "$END" and stack[-1] == end_state:
                    return

        return feed


def _reduction(builder, origin: str, size: int, callback: str, expand1: bool, kept):
    """(origin, length, build): ``build(children)`` makes the rule's value as Lark would —
    drop filtered tokens, inline ``_rule`` children, add None for absent ``[optional]`` parts,
    pass a single child of a ``?rule`` through, then call the builder's method."""
    method = None if callback.startswith("_") else getattr(builder, callback, None)
    method = method or _inline  # no method: only ``_rule``s, and ``?rule``s that always have one child
    if expand1:
        method = _expand_single(method)
    if kept is not None:
        method = _filter(method, *kept)
    return origin, size, method


def _inline(children: list) -> list:
    """A rule without a builder method (``_rule``): its children, spliced into its parent
    (Lark makes a Tree of them, which its parent's filter splices just the same)."""
    return children


def _expand_single(method):
    def build(children):
        return children[0] if len(children) == 1 else method(children)
    return build


def _filter(method, kept, trailing_nones: int):
    def build(children):
        filtered = []
        for index, inline, nones in kept:
            if nones:
                filtered += [None] * nones
            if inline:
                filtered += children[index]
            else:
                filtered.append(children[index])
        if trailing_nones:
            filtered += [None] * trailing_nones
        return method(filtered)
    return build
