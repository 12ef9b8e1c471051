"""The canonical formatter behind ``archlang fmt``: an .arch AST and comments → canonical text.

``format_source(text)`` parses and reprints; ``format_module(module, source=text)`` reprints an
AST.  Only the AST and the comments decide the output (never the author's layout, except for
the blank lines below), so formatting is idempotent and ``parse(format_source(s)) == parse(s)``.

Canonical style
---------------
* 4-space indentation, one statement per line, ``} elif cond {`` / ``} else {`` on the line of
  the closing brace, ``}`` alone on its line.
* Top level: imports stay first as written (order kept); exactly one blank line around every
  block with a body and between groups of different kinds (imports, lets, aliases); between
  two imports, two lets or two aliases the author's choice (none or one) is kept.  Inside
  bodies a single blank line the author left between statements/comments is kept; never more
  than one blank line, never one right after ``{`` or before ``}``.
* Operators: one space around every binary operator (``**`` included) and comparison, none
  after unary ``-``/``+``, ``not x``.  Parentheses are minimal but keep the AST exactly:
  ``or`` < ``and`` < ``not`` < comparisons (chained) < ``+ -`` < ``* / // % @`` < unary
  ``+ -`` < ``**`` (right-associative) < postfix; the right operand of a left-associative
  operator of equal precedence is parenthesised; ``a if c else b`` is parenthesised as an
  operand.
* ``f(a, k=v)``; ``[a, b]``; ``(a,)`` / ``(a, b)``; ``x[:, 1:3:2, ...]``; params
  ``name: type = default`` or ``name=default``; ``true``/``false``/``none``; ints plain,
  floats by ``repr`` (``1e-05`` stays exact); strings in double quotes (single quotes when
  the text holds ``"`` and no ``'``) with Python escapes; docstrings ``\"\"\"...\"\"\"`` (kept
  verbatim, newlines included) unless that cannot spell them.
* Lines are at most 100 columns where brackets allow, as black breaks them: a call, list,
  tuple, tensor shape or parameter list that does not fit is broken after its opening
  bracket, its elements on one line indented one level if they fit there (no trailing
  comma), else its only element broken in turn, else one element per line with a trailing
  comma; the closing bracket on its own line.  Brackets are broken from the right until the
  remaining lines fit, recursively inside the elements.  Subscripts only break to hold
  comments.
* The magic trailing comma, as in black: a bracket whose last element is followed by a comma
  in the source (``[a, b,]``) stays one element per line even where it would fit, so tables
  stay tables.  (The comma of a one-element tuple ``(a,)`` is syntax, not magic.)
* Comments are never dropped (their trailing whitespace is).  An own-line comment is printed
  before the statement, argument or element that follows it (at its indentation), or at the
  end of its body / bracket / the file when nothing follows there.  An end-of-line comment
  stays at the end of the line of what it follows: a statement's last line, ``{`` of a body,
  ``(`` / an element of a bracket (which is then broken so each element has its own line).
  A comment inside an expression where no line break is possible moves before its
  statement or element.  Exact placement needs the source text (``format_source`` passes
  it); without it comments are placed by line number only.

Must not import the elaborator, the IR or any backend.
"""

from __future__ import annotations

from archlang.errors.sources import register_source
from archlang.syntax import ast, parse
from archlang.syntax.comments import place_comments
from archlang.syntax.printer import Notes, Printer
from archlang.syntax.source import spec_text


def format_source(text: str, file: str = "<string>") -> str:
    """Parse ``text`` and print it canonically.  Raises the parser's ArchError on bad input,
    located in ``file`` (whose lines are registered, so the error quotes them)."""
    text = spec_text(text)
    register_source(file, text)
    return format_module(parse(text, file), source=text)


def format_module(module: ast.Module, source: str | None = None) -> str:
    """Print ``module`` canonically; ``source`` (its text) lets comments keep their places."""
    notes = Notes()
    if source is not None or module.comments:  # the source also tells where blank lines are
        place_comments(module, source, notes)
    lines = Printer(notes).module(module)
    return "\n".join(lines) + "\n" if lines else ""
