"""The parser that runs without Lark (archlang/syntax/lalr.py over the generated _tables.py)
behaves as Lark's own LALR parser on the same grammar:

* the committed tables are what ``python -m archlang.syntax.generate`` writes for the grammar
  as it is now (a grammar edit without regenerating fails here, saying what to run);
* on every spec of the zoo both build the same tree from the same tokens (type, text, start
  and end positions), and report the same comments;
* on broken specs both raise the same error: the same kind, token, position, expected and
  accepted terminals and parser state (Lark numbers its states differently; the generator's
  renumbering maps one onto the other).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lark import Token as LarkToken
from lark import Tree
from lark.exceptions import UnexpectedCharacters as LarkUnexpectedCharacters
from lark.exceptions import UnexpectedInput as LarkUnexpectedInput

from archlang.syntax import generate, lalr
from archlang.syntax.parser import BracketNewlines

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(ROOT.glob("specs/**/*.arch"))

BROKEN = [
    "model M() {\n  x = f(a b)\n}\n",
    "model M() {\n  x = f(a, $)\n}\n",
    "model M() {\n  if a = b {\n  }\n}\n",
    "model M() {\n  if a:\n  }\n}\n",
    "model M() {\n  x = [1, 2\n}\n",
    "model M()\n",
    "x = 1\n",
    "model M() {\n  f(x)\n}\n",
    "model M() {\n  x = 1 +\n}\n",
    "model M() {\n  x = a ** ** b\n}\n",
    "model M() {\n  input x: [B, C\n",
    "import\n",
    "model M() {\n  x = 'abc\n}\n",
    "model M() {\n  x = (1, 2]\n}\n",
    "model M() {\n  x = ...\n}\n",
    "model M() {\n  x = 1 @@ 2\n}\n",
    "block A() {\nif a {\n}\nelse {\n}\n}",
    "model",
]


LARK_COMMENTS: list = []


@pytest.fixture(scope="module")
def lark_parser():
    """Lark's parser with the options the tables were generated from, building a plain tree,
    and its state numbers mapped to the tables' numbering."""
    from lark import Lark

    built = generate.build_parser()
    parser = Lark(built.source_grammar, parser="lalr", lexer="contextual", maybe_placeholders=True,
                  postlex=BracketNewlines(), lexer_callbacks={"COMMENT": LARK_COMMENTS.append})
    table = parser.parser.parser._parse_table
    number = {state: i for i, state in enumerate(generate._state_order(table))}
    return parser, number


class _TreeBuilder:
    """Builds (rule, children) for every rule, as Lark builds Trees without a transformer."""

    def __getattr__(self, name):
        return lambda children: (name, tuple(children))


def _ours(text: str, comments: list | None = None):
    return lalr.Parser(_TreeBuilder(), postlex=BracketNewlines(),
                       callbacks={"COMMENT": (comments if comments is not None else []).append}).parse(text)


def _token(tok) -> tuple:
    return (tok.type, str(tok), tok.start_pos, tok.line, tok.column, tok.end_line, tok.end_column, tok.end_pos)


def _plain(node):
    """Trees and tokens of either parser as comparable tuples."""
    if isinstance(node, Tree):
        return (str(node.data), tuple(_plain(c) for c in node.children))
    if isinstance(node, (LarkToken, lalr.Token)):
        return _token(node)
    if isinstance(node, tuple):
        return (node[0], tuple(_plain(c) for c in node[1]))
    return node  # None: an absent [optional] part


def test_the_committed_tables_are_generated_from_the_grammar():
    assert generate.TABLES.read_text(encoding="utf-8") == generate.tables_source(), (
        f"archlang/syntax/_tables.py is stale: run `{generate.COMMAND}`")


def test_the_tables_lex_newlines_everywhere_as_the_post_lexer_asks():
    assert tuple(BracketNewlines.always_accept) == generate.ALWAYS_ACCEPT


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_spec_parses_to_the_tree_lark_builds(path, lark_parser):
    parser, _ = lark_parser
    text = path.read_text(encoding="utf-8")
    LARK_COMMENTS.clear()
    expected = _plain(parser.parse(text))
    comments = []
    assert _plain(_ours(text, comments)) == expected
    assert [_token(c) for c in comments] == [_token(c) for c in LARK_COMMENTS]


def _lark_error(parser, text: str):
    try:
        parser.parse(text)
    except LarkUnexpectedInput as exc:
        return exc
    raise AssertionError(f"Lark parsed {text!r}")


def _our_error(text: str):
    with pytest.raises(lalr.UnexpectedInput) as info:
        _ours(text)
    return info.value


def _error_facts(exc, number=None) -> dict:
    stack = list(exc.state.state_stack)
    facts = {"kind": type(exc).__name__, "line": exc.line, "column": exc.column,
             "stack": [number[s] for s in stack] if number else stack}
    if isinstance(exc, (LarkUnexpectedCharacters, lalr.UnexpectedCharacters)):
        facts.update(char=exc.char, allowed=set(exc.allowed))
    else:
        facts.update(token=_token(exc.token), expected=set(exc.expected), accepts=set(exc.accepts or ()))
    return facts


def _broken_specs() -> list[str]:
    """The snippets above, and each spec cut short in the middle of a line."""
    cut = []
    for path in SPECS[::3]:
        text = path.read_text(encoding="utf-8")
        cut.append(text[: len(text) // 2])
    return BROKEN + cut


@pytest.mark.parametrize("text", _broken_specs())
def test_a_broken_spec_fails_as_it_fails_in_lark(text, lark_parser):
    parser, number = lark_parser
    assert _error_facts(_our_error(text)) == _error_facts(_lark_error(parser, text), number)
