"""Dev-only: writes ``archlang/syntax/_tables.py``, the parser tables, from grammar/archlang.lark.

    python -m archlang.syntax.generate           # after every edit of grammar/archlang.lark
    python -m archlang.syntax.generate --check   # exit 1 if the committed tables are stale

Lark builds the LALR(1) tables and the contextual lexer exactly as the parser used to at run
time (``parser="lalr", lexer="contextual", maybe_placeholders=True``); this module writes out
what a parse needs of them as plain Python literals, which ``archlang.syntax.lalr`` drives.  So
parsing a spec imports no Lark and builds nothing.  The only module of archlang that imports
Lark; nothing imports this one.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from pprint import pformat

from archlang.files import write_text

TABLES = Path(__file__).with_name("_tables.py")
COMMAND = "python -m archlang.syntax.generate"

_HEADER = '''"""Parser tables for grammar/archlang.lark — GENERATED, do not edit.

Regenerate with ``{command}`` after editing the grammar
(tests/test_standalone_parser.py fails while this file is stale).  Built by Lark (MIT licence,
github.com/lark-parser/lark): the LALR(1) parse table, the contextual lexer's scanners and the
tree-building rules, as data only; the driver is archlang/syntax/lalr.py.
"""

'''


# What the post-lexer (archlang.syntax.parser.BracketNewlines) asks of the lexer: every state
# lexes newlines.  Not imported from there: the parser needs these tables to import.
ALWAYS_ACCEPT = ("_NL",)


class _PostLex:
    always_accept = ALWAYS_ACCEPT

    def process(self, stream):
        return stream


def build_parser():
    """Lark's parser for the grammar, built with the options archlang's parser mirrors."""
    from lark import Lark

    grammar = resources.files("archlang.grammar").joinpath("archlang.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True,
                postlex=_PostLex(), lexer_callbacks={"COMMENT": lambda tok: None})


def tables_source() -> str:
    """The text of ``_tables.py`` for the grammar as it is now."""
    parser = build_parser()
    frontend = parser.parser
    table = frontend.parser._parse_table
    lexer = frontend.lexer.lexer  # the contextual lexer, behind the post-lexer connector
    rules = list(table_rules(table))
    index = {rule: i for i, rule in enumerate(rules)}
    order = _state_order(table)
    number = {state: i for i, state in enumerate(order)}
    sections = {
        "START_STATE": number[table.start_states["start"]],
        "END_STATE": number[table.end_states["start"]],
        "TERMINALS": {t.name: (t.pattern.type, t.pattern.value) for t in parser.terminals},
        "IGNORE": frozenset(parser.ignore_tokens),
        "NEWLINE_TYPES": frozenset(_newline_types(parser)),
        "RULES": tuple(_rule_recipe(rule, parser.options.maybe_placeholders) for rule in rules),
        "STATES": tuple(_actions(table.states[s], index, number) for s in order),
    }
    sections.update(_lexers(lexer, order))
    body = "".join(f"{name} = {_literal(value)}\n\n" for name, value in sections.items())
    return _HEADER.format(command=COMMAND) + body.rstrip("\n") + "\n"


def table_rules(table):
    """Every rule the table reduces by, in a stable order (by its appearance in the grammar)."""
    from lark.parsers.lalr_analysis import Reduce

    found = {arg for actions in table.states.values() for action, arg in actions.values() if action is Reduce}
    return sorted(found, key=lambda r: (r.origin.name, r.order, str(r)))


def _state_order(table) -> list[int]:
    """Lark's states in breadth-first order from the start state, symbols taken in sorted order:
    Lark numbers them as its sets iterate, which varies from run to run with string hashing."""
    from lark.parsers.lalr_analysis import Shift

    order, seen = [table.start_states["start"]], {table.start_states["start"]}
    for state in order:  # grows while it is walked
        for _sym, (action, arg) in sorted(table.states[state].items()):
            if action is Shift and arg not in seen:
                seen.add(arg)
                order.append(arg)
    assert len(order) == len(table.states), "a state the start state does not reach"
    return order


def _actions(actions: dict, index: dict, number: dict) -> dict:
    """One state's actions: a symbol → a state to shift to (≥ 0) or ``~rule`` to reduce by (< 0)."""
    from lark.parsers.lalr_analysis import Shift

    return {str(sym): (number[arg] if action is Shift else ~index[arg]) for sym, (action, arg) in sorted(actions.items())}


def _literal(value) -> str:
    """A Python literal for ``value`` that is the same in every run (sets are written sorted)."""
    if isinstance(value, frozenset):
        return "frozenset({%s})" % ", ".join(map(repr, sorted(value)))
    return pformat(value, width=110, sort_dicts=False)


def _rule_recipe(rule, maybe_placeholders: bool) -> tuple:
    """(origin, length, callback, expand1, children filter) — what Lark's ParseTreeBuilder does.

    The filter is None (children pass as they are) or (kept, trailing Nones), kept being
    (index, inline its children, Nones before it) triples, as Lark's own child filters hold them.
    """
    from lark.parse_tree_builder import maybe_create_child_filter

    options = rule.options
    made = maybe_create_child_filter(rule.expansion, options.keep_all_tokens, False,
                                     options.empty_indices if maybe_placeholders else None)
    if made is None:
        kept = None
    elif len(made.args) == 2:  # ChildFilterLALR: (to_include, append_none)
        kept = (tuple(tuple(x) for x in made.args[0]), made.args[1])
    else:  # ChildFilterLALR_NoPlaceholders: (to_include without Nones,)
        kept = (tuple((i, expand, 0) for i, expand in made.args[0]), 0)
    callback = str(rule.alias or options.template_source or rule.origin.name)  # Lark's names are Tokens
    expand1 = bool(options.expand1 and not rule.alias)
    return (str(rule.origin.name), len(rule.expansion), callback, expand1, kept)


def _newline_types(parser) -> set[str]:
    from lark.lexer import _regexp_has_newline

    return {t.name for t in parser.terminals if _regexp_has_newline(t.pattern.to_regexp())}


def _lexers(contextual, order: list[int]) -> dict:
    """The scanners of the contextual lexer: one regex alternation per distinct terminal set.

    A lexer is (its scanner, keyword → type per regex terminal, the terminals an error lists,
    and its terminals when they are an ordered subset of the root scanner's, else None: then the
    root scanner's match is that lexer's whenever the root matches one of them, so most states
    need no regex of their own compiled)."""
    scanners: list[str] = []
    lexers: list[tuple] = []
    seen: dict[int, int] = {}
    root = [t.name for t in contextual.root_lexer.scanner.terminals]

    def lexer_index(basic) -> int:
        if id(basic) not in seen:
            scanner = basic.scanner  # built on demand: the alternation, keywords pulled out
            [compiled] = scanner._mres  # at most 100 groups: our grammar has ~40 terminals
            if compiled.pattern not in scanners:
                scanners.append(compiled.pattern)
            keywords = {name: _keywords(callback) for name, callback in sorted(basic.callback.items())
                        if hasattr(callback, "scanner")}
            allowed = tuple(sorted(scanner.allowed_types - basic.ignore_types)) or ("<END-OF-FILE>",)
            names = [t.name for t in scanner.terminals]
            in_root = tuple(sorted(names)) if [n for n in root if n in names] == names else None
            seen[id(basic)] = len(lexers)
            lexers.append((scanners.index(compiled.pattern), keywords, allowed, in_root))
        return seen[id(basic)]

    state_lexer = tuple(lexer_index(contextual.lexers[s]) for s in order)
    root_index = lexer_index(contextual.root_lexer)
    return {"SCANNERS": tuple(scanners), "LEXERS": tuple(lexers), "STATE_LEXER": state_lexer,
            "ROOT_LEXER": root_index}


def _keywords(unless) -> dict[str, str]:
    """A keyword terminal that its regex terminal (NAME) also matches: value → keyword type."""
    found = {}
    for term in unless.scanner.terminals:
        assert term.pattern.type == "str" and not term.pattern.flags, term  # plain strings only
        found.setdefault(term.pattern.value, term.name)
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = tables_source()
    if argv == ["--check"]:
        if TABLES.read_text(encoding="utf-8") != text:
            print(f"{TABLES} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    write_text(TABLES, text)
    print(f"wrote {TABLES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
