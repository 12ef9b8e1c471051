"""Parsing: .arch text → AST (archlang.syntax.ast), with located, human-worded syntax errors.

Holds the parser (the LALR tables generated from grammar/archlang.lark, driven by
``archlang.syntax.lalr``: no Lark at run time), the post-lexer that drops newlines inside
brackets and bounds their nesting and the length of string literals (at most
``LIMITS.max_str_len`` characters; numbers are bounded by their value), and ``ToAst``, whose
methods are named like the grammar rules they build.  Must not import the elaborator, the IR or
any backend.
"""

from __future__ import annotations

import ast as pyast
import threading
import warnings
from collections import OrderedDict

from archlang.errors import LimitError, ParseError, Span
from archlang.errors.limits import LIMITS
from archlang.syntax import ast
from archlang.syntax.lalr import Parser, Token, UnexpectedInput
from archlang.syntax.messages import describe_unexpected, error_column
from archlang.syntax.source import spec_text

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {")": "(", "]": "[", "}": "{"}
_BRACKETS = {"LPAR", "RPAR", "LSQB", "RSQB", "LBRACE", "RBRACE"}  # the terminals' names in the tables


class BracketNewlines:
    """Post-lexer: drops newlines inside ( ) and [ ], remembers open brackets for messages."""

    always_accept = ("_NL",)

    def __init__(self) -> None:
        self.stack: list[tuple[Token, bool]] = []  # open bracket, and whether it opens a call
        self.file = "<string>"
        self.previous: Token | None = None

    def process(self, stream):
        self.stack = stack = []
        previous = self.previous = None
        longest = LIMITS.max_str_len + 6  # a string literal's text, and its quotes (at most 6)
        for tok in stream:
            kind = tok.type
            if kind == "_NL":
                # inside ( ) or [ ] a newline means nothing; comment lines leave runs of NLs
                if (stack and stack[-1][0].value != "{") or previous is None or previous.type == "_NL":
                    continue
            elif kind in _BRACKETS:
                self._bracket(tok, previous)
            elif kind == "STRING" and len(tok.value) > longest:
                _check_literal(self.file, tok)
            self.previous, previous = previous, tok
            yield tok

    def _bracket(self, tok: Token, previous: Token | None) -> None:
        value = tok.value
        if value in _OPEN:
            self._open(tok, _is_call(value, previous))
        elif self.stack and self.stack[-1][0].value == _CLOSE[value]:
            self.stack.pop()

    def _open(self, tok: Token, is_call: bool) -> None:
        self.stack.append((tok, is_call))
        if len(self.stack) > LIMITS.max_nesting:
            raise LimitError(
                f"brackets nested more than {LIMITS.max_nesting} deep",
                _token_span(self.file, tok),
            )


def _check_literal(file: str, tok: Token) -> None:
    """A string literal's text (between its quotes) is at most ``max_str_len`` characters."""
    quotes = 3 if tok.value[:3] in ('"""', "'''") else 1
    length = len(tok.value) - 2 * quotes
    if length > LIMITS.max_str_len:
        raise LimitError(f"string literal of {length:,} characters exceeds the limit of {LIMITS.max_str_len:,}",
                         _token_span(file, tok))


def _is_call(opener: str, previous: Token | None) -> bool:
    return opener == "(" and previous is not None and (
        previous.type == "NAME" or previous.value in (")", "]")
    )


def _token_span(file: str, tok: Token) -> Span:
    return Span(
        file=file,
        line=tok.line or 1,
        col=tok.column or 1,
        end_line=tok.end_line or tok.line or 1,
        end_col=tok.end_column or tok.column or 1,
    )


_lock = threading.Lock()
_postlex = BracketNewlines()
_comments: list[Token] = []


def _parser() -> Parser:
    """The parser: the generated tables (archlang/syntax/_tables.py), the post-lexer, the
    comment hook and the AST builder (inline: no parse tree is built, which is 3× faster)."""
    global _PARSER
    if _PARSER is None:
        _PARSER = Parser(_TO_AST, postlex=_postlex, callbacks={"COMMENT": _comments.append})
    return _PARSER


_PARSER: Parser | None = None


_PARSED: "OrderedDict[tuple[str, str], ast.Module]" = OrderedDict()
_PARSED_MAX = 64


def parse(text: str, file: str = "<string>") -> ast.Module:
    """Parse ``text`` into an AST.  Raises ParseError / LimitError, located in ``file``.

    The ASTs of the last few files are kept by (file, text): the AST is immutable, and a
    program that loads the same spec again (a search, a notebook) need not parse it again.
    Line ends are read as Python reads text files (``source.spec_text``)."""
    text = spec_text(text)
    key = (file, text)
    if key in _PARSED:
        _PARSED.move_to_end(key)
        return _PARSED[key]
    module = _parse(text, file)
    _PARSED[key] = module
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return module


def _parse(text: str, file: str) -> ast.Module:
    if text.startswith("\ufeff"):  # a byte-order mark some editors write: not part of the spec
        text = text[1:]
    with _lock:
        _postlex.file = file
        _TO_AST.reset(file)
        _comments.clear()
        try:
            items = _parse_tree(text, file)
        finally:
            _TO_AST.reset(file)
        comments = tuple(ast.Comment(c.value, c.line, c.column) for c in _comments)
    return ast.Module(items=items, file=file, comments=comments)


def _parse_tree(text: str, file: str):
    if not text.endswith("\n"):
        text += "\n"
    try:
        return _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, file) from None


def _syntax_error(exc: UnexpectedInput, text: str, file: str) -> ParseError:
    line, col = _error_position(exc, text)
    message = describe_unexpected(exc, text, _postlex.stack, _parser())
    col = error_column(text, line, col, message)
    span = Span(file=file, line=line, col=col, end_line=line, end_col=col + 1)
    return ParseError(message, span)


def _error_position(exc: UnexpectedInput, text: str) -> tuple[int, int]:
    if getattr(exc, "token", None) is not None and exc.token.type == "$END":
        lines = text.rstrip("\n").split("\n")
        return len(lines), len(lines[-1]) + 1
    if getattr(exc, "token", None) is not None and exc.token.type == "_NL":
        return exc.token.line, exc.token.column
    return exc.line if exc.line > 0 else 1, exc.column if exc.column > 0 else 1


def _unquote(literal: Token) -> str:
    # The STRING terminal only admits Python-compatible string literals, so literal_eval
    # cannot run code here: it only decodes escapes.  Unknown escapes (`"\d"`) stay as written,
    # silently; malformed ones (`"\x1"`, `"\N{nope}"`) are the author's syntax error.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pyast.literal_eval(literal)
    except (SyntaxError, ValueError) as exc:
        reason = getattr(exc, "msg", None) or str(exc)
        raise ParseError(f"bad escape in string literal: {reason}", _token_span(_TO_AST.file, literal)) from None


def _start_of(item) -> tuple[int, int] | None:
    if isinstance(item, Token):
        return item.line, item.column
    span = getattr(item, "span", None)
    if span is not None:
        return span.line, span.col
    if isinstance(item, tuple):
        for sub in item:
            found = _start_of(sub)
            if found:
                return found
    return None


def _end_of(item) -> tuple[int, int] | None:
    if isinstance(item, Token):
        return item.end_line, item.end_column
    span = getattr(item, "span", None)
    if span is not None:
        return span.end_line, span.end_col
    if isinstance(item, tuple):
        for sub in reversed(item):
            found = _end_of(sub)
            if found:
                return found
    return None


def _first(children, locate):
    for child in children:
        if child is not None:
            found = locate(child)
            if found is not None:
                return found
    return None


def _check_argument_order(args) -> None:
    seen_keyword = False
    for arg in args:
        if isinstance(arg, ast.Keyword):
            seen_keyword = True
        elif seen_keyword:
            raise ParseError("a positional argument cannot follow keyword arguments", arg.span)


class ToAst:
    """Builds archlang.syntax.ast nodes; one method per grammar rule or alias.

    Each method receives the rule's kept children (tokens and already-built nodes) and
    takes its span from the first and last of them that has a position.
    """

    def reset(self, file: str) -> None:
        self.file = file
        self.depth: dict[int, int] = {}

    def _span(self, children) -> Span:
        start = _first(children, _start_of)
        if start is None:  # e.g. `()` or `[]`: only anonymous tokens, point at the last one
            tok = _postlex.previous
            start = (tok.line, tok.column) if tok is not None else (1, 1)
        end = _first(reversed(children), _end_of) or start
        return Span(self.file, start[0], start[1], end[0], end[1])

    def _closed_span(self, children, closer: str) -> Span:
        """The span up to and including the closing bracket, which the grammar drops.

        The parser reduces a bracketed rule on seeing the token after the bracket, so the
        closing bracket is the post-lexer's previous token at that moment.
        """
        span = self._span(children)
        tok = _postlex.previous
        if tok is not None and tok.value == closer:
            return Span(self.file, span.line, span.col, tok.end_line, tok.end_column)
        return span

    def _nest(self, node, *children):
        """Record expression depth so a pathological spec cannot overflow the evaluator."""
        depth = self.depth
        d = 0
        for child in children:
            if child is not None:
                d = max(d, depth.get(id(child), 0))
        d += 1
        if d > LIMITS.max_expr_depth:
            raise LimitError(f"expression nested more than {LIMITS.max_expr_depth} deep", node.span)
        depth[id(node)] = d
        return node

    # ---- top level
    def start(self, ch):
        return tuple(ch)

    def import_module(self, ch):
        (is_file, path), alias = ch
        return ast.Import(path, is_file, alias and str(alias), None, self._span(ch))

    def import_from(self, ch):
        (is_file, path), *names = ch
        return ast.Import(path, is_file, None, tuple(map(str, names)), self._span(ch))

    def file_path(self, ch):
        return True, _unquote(ch[0])

    def lib_path(self, ch):
        return False, ".".join(map(str, ch))

    def block_def(self, ch):
        kind, name, params, (doc, body) = ch
        return ast.BlockDef(str(kind), str(name), params or (), doc, body, None, self._span(ch))

    def alias_def(self, ch):
        kind, name, params, value = ch
        return ast.BlockDef(
            str(kind), str(name), params or (), None, None, value, self._span(ch),
            has_params=params is not None,
        )

    def alias_params(self, ch):
        return ch[0] or ()

    def let_def(self, ch):
        return ast.Let(str(ch[0]), ch[1], self._span(ch))

    def params(self, ch):
        return tuple(p for p in ch if p is not None)

    def param(self, ch):
        name, type_ref, default = ch
        return ast.Param(str(name), type_ref, default, self._span(ch))

    def type_ref(self, ch):
        name, *args = ch
        return ast.TypeRef(str(name), tuple(a for a in args if a is not None), self._span(ch))

    def body(self, ch):
        doc, *stmts = ch
        return doc, tuple(s for s in stmts if s is not None)

    def suite(self, ch):
        return tuple(s for s in ch if s is not None)

    def docstring(self, ch):
        return _unquote(ch[0])

    # ---- statements
    def input_decl(self, ch):
        name, (dtype, dims) = ch
        return ast.Input(str(name), dtype, dims, self._span(ch))

    def tensor_type(self, ch):
        dtype, *dims = ch
        return (dtype and str(dtype)), tuple(d for d in dims if d is not None)

    def assign(self, ch):
        *targets, value = ch
        return ast.Assign(tuple(map(str, targets)), value, self._span(ch))

    def if_stmt(self, ch):
        cond, suite, *rest = ch
        orelse = rest.pop() if rest else None
        branches = ((cond, suite),) + tuple(rest)
        return ast.If(branches, orelse, self._span(ch))

    def elif_clause(self, ch):
        return ch[0], ch[1]

    def else_clause(self, ch):
        return ch[0]

    def for_stmt(self, ch):
        var, _in, iterable, body = ch
        return ast.For(str(var), iterable, body, self._span(ch))

    def return_stmt(self, ch):
        return ast.Return(tuple(ch), self._span(ch))

    def assert_stmt(self, ch):
        return ast.Assert(ch[0], ch[1], self._span(ch))

    def constrain_stmt(self, ch):
        return ast.Constrain(ch[0], self._span(ch))

    def tie_stmt(self, ch):
        # `dotted` keeps its tokens so the span covers both paths (plain strings have no position)
        return ast.Tie(tuple(map(str, ch[0])), tuple(map(str, ch[1])), self._span(ch))

    def dotted(self, ch):
        return tuple(ch)

    # ---- expressions
    def if_exp(self, ch):
        then, cond, orelse = ch
        return self._nest(ast.IfExp(cond, then, orelse, self._span(ch)), cond, then, orelse)

    def operators(self, ch):
        return _Climber(self, ch).expression(0)

    def power(self, ch):
        base, *prefixes, exponent = ch
        exponent = self._prefixed(prefixes, exponent)
        span = self._join(base.span, exponent.span)
        return self._nest(ast.Binary("**", base, exponent, span), base, exponent)

    def _prefixed(self, prefixes, operand):
        if len(prefixes) > LIMITS.max_expr_depth:
            raise LimitError(
                f"expression nested more than {LIMITS.max_expr_depth} deep", operand.span
            )
        for tok in reversed(prefixes):
            start = _token_span(self.file, tok)
            op = "not" if tok.type == "NOT" else str(tok)
            node = ast.Unary(op, operand, self._join(start, operand.span))
            operand = self._nest(node, operand)
        return operand

    def _join(self, a: Span, b: Span) -> Span:
        return Span(file=a.file, line=a.line, col=a.col, end_line=b.end_line, end_col=b.end_col)

    def call(self, ch):
        func, args = ch
        args = args or ()
        _check_argument_order(args)
        positional = tuple(a for a in args if not isinstance(a, ast.Keyword))
        keywords = tuple(a for a in args if isinstance(a, ast.Keyword))
        node = ast.Call(func, positional, keywords, self._closed_span(ch, ")"))
        return self._nest(node, func, *positional, *(k.value for k in keywords))

    def args(self, ch):
        return tuple(ch)

    def keyword(self, ch):
        name, value = ch
        node = ast.Keyword(str(name), value, self._span(ch))
        self.depth[id(node)] = self.depth.get(id(value), 0)
        return node

    def attribute(self, ch):
        value, attr = ch
        return self._nest(ast.Attribute(value, str(attr), self._span(ch)), value)

    def subscript(self, ch):
        value, items = ch
        return self._nest(ast.Subscript(value, items, self._closed_span(ch, "]")), value, *items)

    def subscripts(self, ch):
        return tuple(ch)

    def slice(self, ch):
        start, stop, step = ch
        return self._nest(ast.Slice(start, stop, step, self._span(ch)), start, stop, step)

    def ellipsis(self, ch):
        return ast.EllipsisLit(self._span(ch))

    def name(self, ch):
        return ast.Name(str(ch[0]), self._span(ch))

    def int_lit(self, ch):
        digits = str(ch[0]).replace("_", "")
        # checked on the text first: int() itself refuses more than 4300 digits
        if len(digits) > LIMITS.max_int_bits or int(digits).bit_length() > LIMITS.max_int_bits:
            raise LimitError(f"integer literal exceeds the {LIMITS.max_int_bits}-bit limit", self._span(ch))
        return ast.Const(int(digits), self._span(ch))

    def float_lit(self, ch):
        value = float(str(ch[0]).replace("_", ""))
        if value == float("inf"):
            raise LimitError("number literal is too large for a float", self._span(ch))
        return ast.Const(value, self._span(ch))

    def string(self, ch):
        return ast.Const(_unquote(ch[0]), self._span(ch))

    def true_lit(self, ch):
        return ast.Const(True, self._span(ch))

    def false_lit(self, ch):
        return ast.Const(False, self._span(ch))

    def none_lit(self, ch):
        return ast.Const(None, self._span(ch))

    def tuple_lit(self, ch):
        items = tuple(c for c in ch if c is not None)
        return self._nest(ast.TupleExpr(items, self._span(ch)), *items)

    def list_lit(self, ch):
        items = tuple(c for c in ch if c is not None)
        return self._nest(ast.ListExpr(items, self._span(ch)), *items)

    def list_comp(self, ch):
        elt, var, _in, iterable, cond = ch
        node = ast.ListComp(elt, str(var), iterable, cond, self._span(ch))
        return self._nest(node, elt, iterable, cond)


# Binding power of binary operators (Python's order); `not` as a prefix sits between
# `and` and the comparisons, unary +/- bind tighter than every binary operator but `**`.
_PRECEDENCE = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, ">": 4, "<=": 4, ">=": 4,
               "in": 4, "not in": 4, "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "@": 6}
_NOT_OPERAND = 4


class _Climber:
    """Precedence climbing over the flat operator sequence the grammar produces."""

    def __init__(self, builder: ToAst, items: list) -> None:
        self.b = builder
        self.items = items
        self.i = 0
        self.nots = 0

    def expression(self, min_prec: int):
        left = self.unary()
        while self.i < len(self.items):
            op, width = self._peek_op()
            prec = _PRECEDENCE[op]
            if prec < min_prec:
                break
            self.i += width
            left = self._compare(left, op) if prec == 4 else self._binary(left, op, prec)
        return left

    def _binary(self, left, op, prec):
        right = self.expression(prec + 1)
        return self.b._nest(ast.Binary(op, left, right, self.b._join(left.span, right.span)), left, right)

    def _compare(self, left, op):
        ops, rights = [op], [self.expression(5)]
        while self.i < len(self.items) and _PRECEDENCE[self._peek_op()[0]] == 4:
            op, width = self._peek_op()
            self.i += width
            ops.append(op)
            rights.append(self.expression(5))
        node = ast.Compare(left, tuple(ops), tuple(rights), self.b._join(left.span, rights[-1].span))
        return self.b._nest(node, left, *rights)

    def _peek_op(self) -> tuple[str, int]:
        tok = self.items[self.i]
        if tok.type == "NOT":  # only `not in` can stand where a binary operator is expected
            return "not in", 2
        return str(tok), 1

    def unary(self):
        prefixes = []
        while isinstance(self.items[self.i], Token):
            tok = self.items[self.i]
            self.i += 1
            if tok.type == "NOT":
                self.nots += 1  # `not` recurses: bound it before Python's stack is exhausted
                if self.nots > LIMITS.max_expr_depth:
                    raise LimitError(f"expression nested more than {LIMITS.max_expr_depth} deep",
                                     _token_span(self.b.file, tok))
                operand = self.expression(_NOT_OPERAND)
                self.nots -= 1
                return self.b._prefixed(prefixes + [tok], operand)
            prefixes.append(tok)
        operand = self.items[self.i]
        self.i += 1
        return self.b._prefixed(prefixes, operand)


_TO_AST = ToAst()
