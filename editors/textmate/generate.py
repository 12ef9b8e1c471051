"""Generates editors/textmate/arch.tmLanguage.json, archlang's TextMate grammar, from the
language's Lark grammar (grammar/archlang.lark).

Every terminal of the Lark grammar gets a highlighting rule, and its role is read from the
grammar itself rather than from a list kept here:

* fixed words (``"if"``, ``KIND: "block" | ...``) are keywords; a word that on its own makes
  an AST node (``atom: TRUE -> true_lit``) is a literal constant; a word that sits with
  operator symbols in an all-terminal rule (``_binary: OR | AND | COMP_OP ...``) is a word
  operator; the words that open ``block_def`` are the definition kinds;
* fixed symbols are operators or punctuation, ``...`` (a value on its own) a constant;
* the regexp terminals (NAME, INT, FLOAT, STRING, COMMENT, _NL and the ignored whitespace and
  line continuation) are known by name; an unknown one stops the generator, because a guess
  would silently leave the new token unhighlighted.

The TextMate regexps are kept in the subset that Oniguruma (VS Code, GitHub) and Python's
``re`` read alike, so tests/test_editors.py can tokenize with a Python TextMate engine.

Run ``python editors/textmate/generate.py`` after changing the grammar (``--check`` exits 1
when the committed file is out of date).  Needs only the standard library and lark.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from lark import Lark
from lark.lexer import PatternStr
from lark.load_grammar import load_grammar

HERE = Path(__file__).resolve().parent
LARK_FILE = HERE.parent.parent / "grammar" / "archlang.lark"
OUTPUT = HERE / "arch.tmLanguage.json"
SCOPE_NAME = "source.arch"
SUFFIX = ".arch"

# A character that may continue a NAME; checked against the grammar's NAME in _roles().
WORD_CHAR = "[A-Za-z0-9_]"
NOT_AFTER_WORD = "(?<![A-Za-z0-9_.])"  # a keyword never follows a word or an accessor dot
WORD_END = f"(?!{WORD_CHAR})"

# What each regexp terminal is, by name.  A new regexp terminal must be added here.
REGEXP_TERMINALS = {
    "NAME": "identifier",
    "INT": "integer",
    "FLOAT": "float",
    "STRING": "string",
    "COMMENT": "comment",
    "_NL": "newline",
}

# The scope of a keyword follows the rule it introduces (the first listed rule it appears
# in wins); a keyword in none of these rules is still highlighted, as keyword.other.
KEYWORD_ROLES = {
    "import_module": "keyword.control.import",
    "import_from": "keyword.control.import",
    "let_def": "keyword.declaration.{word}",
    "input_decl": "keyword.declaration.{word}",
    "if_stmt": "keyword.control.flow",
    "elif_clause": "keyword.control.flow",
    "else_clause": "keyword.control.flow",
    "for_stmt": "keyword.control.flow",
    "return_stmt": "keyword.control.flow",
}
DEFAULT_KEYWORD = "keyword.other.{word}"
DEFINITION_RULE = "block_def"  # its first terminal holds the definition kinds
LET_RULE = "let_def"
INPUT_RULE = "input_decl"

SYMBOL_SCOPES = {
    "(": "punctuation.parenthesis.begin",
    ")": "punctuation.parenthesis.end",
    "[": "punctuation.section.brackets.begin",
    "]": "punctuation.section.brackets.end",
    "{": "punctuation.section.block.begin",
    "}": "punctuation.section.block.end",
    ",": "punctuation.separator.comma",
    ":": "punctuation.separator.colon",
    ".": "punctuation.accessor.dot",
    "=": "keyword.operator.assignment",
}
COMPARISONS = {"==", "!=", "<", ">", "<=", ">="}
ARITHMETIC = {"+", "-", "*", "/", "//", "%", "@", "**"}

STRING_KINDS = {'"""': "triple", "'''": "triple", '"': "double", "'": "single"}


# ---- reading the Lark grammar -----------------------------------------------------------


@dataclass(frozen=True)
class Terminal:
    """One terminal: the fixed strings it matches, or its regexp alternatives."""

    name: str
    literals: tuple[str, ...]
    regexps: tuple[str, ...]
    ignored: bool


@dataclass(frozen=True)
class Rule:
    """One alternative of a rule after Lark's EBNF expansion."""

    origin: str
    expansion: tuple[str, ...]
    alias: str | None


@dataclass(frozen=True)
class Grammar:
    """What the generator needs of the Lark grammar."""

    terminals: dict[str, Terminal]
    rules: tuple[Rule, ...]


def read_grammar(path: Path = LARK_FILE) -> Grammar:
    """The terminals and rules of the .lark file, as Lark itself compiles them."""
    text = path.read_text()
    lark = Lark(text, parser="lalr", lexer="contextual", maybe_placeholders=True)
    alternatives = _named_alternatives(text)
    terminals = {}
    for term in lark.terminals:
        if isinstance(term.pattern, PatternStr):
            literals, regexps = (term.pattern.value,), ()
        else:
            literals, regexps = alternatives.get(term.name, ((), (term.pattern.value,)))
        terminals[term.name] = Terminal(term.name, literals, regexps, term.name in lark.ignore_tokens)
    rules = tuple(
        Rule(r.origin.name, tuple(s.name for s in r.expansion), r.alias) for r in lark.rules
    )
    return Grammar(terminals, rules)


def _named_alternatives(text: str) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Named terminals as written: KIND → (("block", "model", "space"), ()).

    Lark compiles `KIND: "block" | "model"` into one regexp; the definition tree keeps the
    alternatives, which the keyword and string rules need one by one."""
    grammar, _ = load_grammar(text, str(LARK_FILE), None, False)
    found = {}
    for name, (tree, _priority) in grammar.term_defs:
        pieces = [_single_literal(expansion) for expansion in _expansions(tree)]
        if any(p is None for p in pieces):
            continue  # a composite terminal: keep Lark's compiled regexp
        literals = tuple(v for kind, v in pieces if kind == "STRING")
        regexps = tuple(v for kind, v in pieces if kind == "REGEXP")
        if literals and regexps:
            raise SystemExit(f"terminal {name} mixes strings and regexps: split it")
        found[name] = (literals, regexps)
    return found


def _expansions(tree):
    return tree.children if tree.data == "expansions" else [tree]


def _single_literal(expansion) -> tuple[str, str] | None:
    """("STRING", text) or ("REGEXP", pattern) when the alternative is one plain literal."""
    if expansion.data == "expansion" and len(expansion.children) == 1:
        expansion = expansion.children[0]
    if expansion.data != "value" or expansion.children[0].data != "literal":
        return None
    token = expansion.children[0].children[0]
    if token.type == "STRING":
        if not token.value.endswith('"'):
            raise SystemExit(f"string flags are not supported: {token.value}")
        return "STRING", ast.literal_eval(token.value)
    body, _, flags = token.value[1:].rpartition("/")
    if flags:
        raise SystemExit(f"regexp flags are not supported: {token.value}")
    return "REGEXP", body


# ---- roles of the terminals -------------------------------------------------------------


@dataclass(frozen=True)
class Roles:
    """What to highlight, derived from the grammar."""

    keywords: dict[str, str]  # word → scope (without the .arch suffix)
    definitions: tuple[str, ...]  # block, model, space: keywords only where a definition starts
    symbols: dict[str, str]  # symbol → scope
    regexps: dict[str, Terminal]  # role in REGEXP_TERMINALS → terminal
    ignored: dict[str, str]  # "whitespace" / "continuation" → regexp


def derive_roles(grammar: Grammar) -> Roles:
    """Sort every terminal of the grammar into what it is highlighted as."""
    regexps, ignored = _regexp_roles(grammar)
    name = re.compile(regexps["identifier"].regexps[0])
    _check_word_char(name)
    values = _value_terminals(grammar)
    operators = _operator_terminals(grammar, name)
    definitions = _first_terminal(grammar, DEFINITION_RULE).literals
    keywords, symbols = {}, {}
    for term in grammar.terminals.values():
        for literal in term.literals:
            if not name.fullmatch(literal):
                symbols[literal] = _symbol_scope(literal, term, values)
            elif literal not in definitions:
                keywords[literal] = _word_scope(literal, term, grammar, values, operators)
    return Roles(keywords, definitions, symbols, regexps, ignored)


def _regexp_roles(grammar: Grammar) -> tuple[dict[str, Terminal], dict[str, str]]:
    regexps, ignored = {}, {}
    for term in grammar.terminals.values():
        if term.literals:
            continue
        if term.name in REGEXP_TERMINALS:
            regexps[REGEXP_TERMINALS[term.name]] = term
        elif term.ignored and term.name.startswith("__IGNORE"):
            ignored[_ignored_role(term)] = term.regexps[0]
        else:
            raise SystemExit(
                f"terminal {term.name} ({term.regexps}) has no highlighting role: "
                f"add it to REGEXP_TERMINALS in {Path(__file__).name}"
            )
    return regexps, ignored


def _ignored_role(term: Terminal) -> str:
    pattern = re.compile(term.regexps[0])
    if pattern.fullmatch(" \t"):
        return "whitespace"
    if pattern.fullmatch("\\\n"):
        return "continuation"
    raise SystemExit(f"ignored terminal /{term.regexps[0]}/ has no highlighting role")


def _check_word_char(name: re.Pattern) -> None:
    """WORD_CHAR must be exactly the characters that may continue a NAME."""
    word = re.compile(WORD_CHAR)
    for code in range(128):
        char = chr(code)
        if bool(name.fullmatch("a" + char)) != bool(word.fullmatch(char)):
            raise SystemExit(f"WORD_CHAR disagrees with NAME on {char!r}")


def _value_terminals(grammar: Grammar) -> set[str]:
    """Terminals that on their own make an AST node: `atom: TRUE -> true_lit`.

    Every alternative of the node must be that one terminal: `slice` may also be a lone
    ":" (`x[:]`), but it is made of expressions, so ":" stays punctuation."""
    by_alias: dict[tuple[str, str], set[tuple[str, ...]]] = {}
    for rule in grammar.rules:
        if rule.alias:
            by_alias.setdefault((rule.origin, rule.alias), set()).add(rule.expansion)
    return {
        expansion[0]
        for expansions in by_alias.values()
        if all(len(e) == 1 for e in expansions)
        for expansion in expansions
    }


def _operator_terminals(grammar: Grammar, name: re.Pattern) -> set[str]:
    """Terminals of rules made only of terminals, without aliases, with an operator symbol
    among them: `_binary: OR | AND | COMP_OP | ...` and `_prefix: NOT | ADD_OP`."""
    terminals = grammar.terminals
    by_origin: dict[str, list[Rule]] = {}
    for rule in grammar.rules:
        by_origin.setdefault(rule.origin, []).append(rule)
    found: set[str] = set()
    for rules in by_origin.values():
        symbols = {s for r in rules for s in r.expansion}
        if any(r.alias for r in rules) or not symbols <= terminals.keys():
            continue
        literals = {lit for s in symbols for lit in terminals[s].literals}
        if any(not name.fullmatch(lit) and lit not in SYMBOL_SCOPES for lit in literals):
            found |= symbols
    return found


def _first_terminal(grammar: Grammar, origin: str) -> Terminal:
    for rule in grammar.rules:
        if rule.origin == origin:
            return grammar.terminals[rule.expansion[0]]
    raise SystemExit(f"the grammar has no rule {origin}")


def _word_scope(word, term, grammar, values, operators) -> str:
    if term.name in values:
        return f"constant.language.{word}"
    if term.name in operators:
        return "keyword.operator.logical"
    for origin, scope in KEYWORD_ROLES.items():
        if any(r.origin == origin and term.name in r.expansion for r in grammar.rules):
            return scope.format(word=word)
    return DEFAULT_KEYWORD.format(word=word)


def _symbol_scope(symbol, term, values) -> str:
    if term.name in values:
        return f"constant.other.{term.name.lower()}"
    if symbol in SYMBOL_SCOPES:
        return SYMBOL_SCOPES[symbol]
    if symbol in COMPARISONS:
        return "keyword.operator.comparison"
    if symbol in ARITHMETIC:
        return "keyword.operator.arithmetic"
    return "keyword.operator"


# ---- building the TextMate grammar ------------------------------------------------------


def scope(name: str) -> str:
    return name + SUFFIX


def _named(name: str) -> dict:
    return {"name": scope(name)}


def _includes(*names: str) -> list[dict]:
    return [{"include": f"#{n}"} for n in names]


def build(grammar: Grammar) -> dict:
    """The TextMate grammar, ready for json.dumps."""
    roles = derive_roles(grammar)
    name = roles.regexps["identifier"].regexps[0]
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "information_for_contributors": [
            "Generated from grammar/archlang.lark by editors/textmate/generate.py: do not edit.",
            "Regexps stay in the subset Oniguruma and Python's re read alike: tests/test_editors.py.",
        ],
        "name": "archlang",
        "scopeName": SCOPE_NAME,
        "fileTypes": ["arch"],
        "patterns": _includes(
            "comment", "continuation", "docstring", "definition", "let", "input", "expression"
        ),
        "repository": _repository(roles, grammar, name),
    }


def _repository(roles: Roles, grammar: Grammar, name: str) -> dict:
    comment = roles.regexps["comment"].regexps[0]
    continuation = roles.ignored["continuation"]
    return {
        "comment": {"name": scope("comment.line.number-sign"), "match": comment},
        "continuation": {"name": scope("punctuation.separator.continuation.line"), "match": continuation},
        **_string_rules(roles),
        "number": _number_rules(roles),
        "definition": _definition_rules(roles, name),
        "parameter": _parameter_rules(name),
        "parameter-type": _parameter_type_rules(name),
        "type-arguments": _type_argument_rules(name),
        "let": _let_rule(roles, grammar, name),
        "input": _input_rule(roles, grammar, name),
        "dimension": {"name": scope("variable.other.constant.dimension"), "match": name},
        "member": _member_rules(name),
        "keyword": _keyword_rules(roles),
        "keyword-argument": _capturing(
            f"({name})\\s*(=)(?!=)", "variable.parameter.keyword", roles.symbols["="]
        ),
        "call": _capturing(f"({name})(?=\\s*\\()", "entity.name.function.call"),
        "identifier": {"name": scope("variable.other"), "match": name},
        "parens": _region("(", ")", roles, _includes("keyword-argument", "expression")),
        "brackets": _region("[", "]", roles, _includes("expression")),
        "symbols": _symbol_rules(roles),
        # An expression without the plain-name rule, so that shapes can scope names as sizes.
        "expression-core": {
            "patterns": _includes(
                "comment", "continuation", "string", "number", "member", "keyword", "call",
                "parens", "brackets", "symbols",
            )
        },
        "expression": {"patterns": _includes("expression-core", "identifier")},
    }


def _captures(*names: str) -> dict:
    """Groups 1, 2, ... get ``names``."""
    return {str(i): _named(n) for i, n in enumerate(names, 1)}


def _capturing(match: str, *names: str) -> dict:
    """A match rule whose groups 1, 2, ... get ``names``."""
    return {"match": match, "captures": _captures(*names)}


def _string_rules(roles: Roles) -> dict:
    """`string` and `docstring` (a string alone on its line, as a body's docstring is)."""
    term = roles.regexps["string"]
    kinds = sorted((_string_kind(regexp) for regexp in term.regexps), key=lambda k: -len(k[0]))
    comment = roles.regexps["comment"].regexps[0]
    strings, docstrings = [], []
    for quote, multiline, regexp in kinds:
        kind = STRING_KINDS[quote]
        opening = f"({re.escape(quote)})"
        strings.append(_string_rule(quote, multiline, f"string.quoted.{kind}", opening))
        # A docstring starts its line or follows the body's `{`; a one-line one is alone there.
        ahead = "" if multiline else f"(?={regexp}\\s*(?:{comment})?$)"
        begin = f"(?:^|(?<=\\{{))\\s*{ahead}{opening}"
        docstrings.append(_string_rule(quote, multiline, f"string.quoted.docstring.{kind}", begin))
    return {
        "string": {"patterns": strings},
        "docstring": {"patterns": docstrings},
        "escape": {"name": scope("constant.character.escape"), "match": "\\\\."},
    }


def _string_kind(regexp: str) -> tuple[str, bool, str]:
    """(opening quote, may span lines, regexp) of one STRING alternative."""
    quote = re.match(r"""("{3}|'{3}|"|')""", regexp)
    if quote is None or not regexp.endswith(quote.group(1)) or "\\\\." not in regexp:
        raise SystemExit(f"STRING alternative /{regexp}/ is not a quoted string with \\ escapes")
    multiline = "\\n" not in regexp  # one-line strings exclude the newline explicitly
    return quote.group(1), multiline, regexp


def _string_rule(quote: str, multiline: bool, name: str, begin: str) -> dict:
    closing = f"({re.escape(quote)})"
    rule = {
        "name": scope(name),
        "begin": begin,
        "beginCaptures": {"1": _named("punctuation.definition.string.begin")},
        "end": closing if multiline else f"{closing}|(\\n)",
        "endCaptures": {"1": _named("punctuation.definition.string.end")},
        "patterns": _includes("escape"),
    }
    if not multiline:  # the grammar ends a one-line string at the newline: an error
        rule["endCaptures"]["2"] = _named("invalid.illegal.newline")
    return rule


def _number_rules(roles: Roles) -> dict:
    # After a word, `)` or `]` a dot is an accessor (`layers.0`), never a float's point.
    guard = "(?<![A-Za-z0-9_)\\]])"
    floats = roles.regexps["float"].regexps[0]
    integers = roles.regexps["integer"].regexps[0]
    return {
        "patterns": [
            {"name": scope("constant.numeric.float"), "match": f"{guard}(?:{floats})"},
            {"name": scope("constant.numeric.integer"), "match": f"{guard}(?:{integers})"},
        ]
    }


def _definition_rules(roles: Roles, name: str) -> dict:
    """`block Name(params) {` and `model Name = ...`: `block` is a keyword only here, since the
    contextual lexer lets specs use it as a name (`block = Sequential(...)`, `block: block`)."""
    rules = []
    for kind in roles.definitions:
        keyword, entity = f"keyword.declaration.{kind}", f"entity.name.type.{kind}"
        header = _capturing(f"^\\s*({kind})\\s+({name})\\s*(\\()", keyword, entity, roles.symbols["("])
        rules.append({
            "name": scope(f"meta.definition.{kind}"),
            "begin": header["match"],
            "beginCaptures": header["captures"],
            "end": "(\\))",
            "endCaptures": {"1": _named(roles.symbols[")"])},
            "patterns": _includes("parameter"),
        })
        # Without parameters (`model M = ...`), or only the keyword typed so far.
        rules.append(_capturing(f"^\\s*({kind})(?:\\s+({name})|(?=\\s*(?:#|$)))", keyword, entity))
    return {"patterns": rules}


def _parameter_rules(name: str) -> dict:
    """Inside a definition's parentheses: a name after `(` or `,` is a parameter."""
    param = _capturing(f"(?:^|(?<=[(,]))\\s*({name})(?=\\s*(?:[:=,)#]|$))", "variable.parameter")
    return {
        "patterns": [
            *_includes("comment", "continuation", "parameter-type"),
            param,
            *_includes("expression"),
        ]
    }


def _parameter_type_rules(name: str) -> dict:
    """`: int` and `: list[tuple[int, int]]`."""
    colon = "punctuation.separator.colon"
    return {
        "patterns": [
            {
                "begin": f"(:)\\s*({name})\\s*(\\[)",
                "beginCaptures": _captures(colon, "support.type", "punctuation.section.brackets.begin"),
                "end": "(\\])",
                "endCaptures": {"1": _named("punctuation.section.brackets.end")},
                "patterns": _includes("type-arguments"),
            },
            _capturing(f"(:)\\s*({name})", colon, "support.type"),
        ]
    }


def _type_argument_rules(name: str) -> dict:
    generic = _capturing(f"({name})\\s*(\\[)", "support.type", "punctuation.section.brackets.begin")
    return {
        "patterns": [
            *_includes("comment"),
            {
                "begin": generic["match"],
                "beginCaptures": generic["captures"],
                "end": "(\\])",
                "endCaptures": {"1": _named("punctuation.section.brackets.end")},
                "patterns": _includes("type-arguments"),
            },
            {"name": scope("support.type"), "match": name},
            *_includes("expression"),
        ]
    }


def _let_rule(roles: Roles, grammar: Grammar, name: str) -> dict:
    """`let NAME`: the keyword, and the constant it defines."""
    word = _first_terminal(grammar, LET_RULE).literals[0]
    match = f"{NOT_AFTER_WORD}({word})\\s+({name})"
    return _capturing(match, roles.keywords[word], "variable.other.constant")


def _input_rule(roles: Roles, grammar: Grammar, name: str) -> dict:
    """`input x: int64[B, T, d]`: the input, its dtype and the shape's dimensions."""
    word = _first_terminal(grammar, INPUT_RULE).literals[0]
    header = _capturing(
        f"{NOT_AFTER_WORD}({word})\\s+({name})\\s*(:)\\s*(?:({name})\\s*)?(\\[)",
        roles.keywords[word], "variable.parameter.input", roles.symbols[":"], "support.type.dtype",
        roles.symbols["["],
    )
    return {
        "begin": header["match"],
        "beginCaptures": header["captures"],
        "end": "(\\])",
        "endCaptures": {"1": _named(roles.symbols["]"])},
        "contentName": scope("meta.shape"),
        "patterns": _includes("expression-core", "dimension"),
    }


def _member_rules(name: str) -> dict:
    dot = "punctuation.accessor.dot"
    return {
        "patterns": [
            _capturing(f"(\\.)\\s*({name})(?=\\s*\\()", dot, "entity.name.function.member"),
            _capturing(f"(\\.)\\s*({name})", dot, "variable.other.member"),
        ]
    }


def _keyword_rules(roles: Roles) -> dict:
    by_scope: dict[str, list[str]] = {}
    for word, word_scope in roles.keywords.items():
        by_scope.setdefault(word_scope, []).append(word)
    rules = []
    for word_scope in sorted(by_scope):
        words = "|".join(sorted(by_scope[word_scope], key=lambda w: (-len(w), w)))
        rules.append({"name": scope(word_scope), "match": f"{NOT_AFTER_WORD}(?:{words}){WORD_END}"})
    return {"patterns": rules}


def _region(open_: str, close: str, roles: Roles, patterns: list[dict]) -> dict:
    """Brackets that nest: what is inside gets ``patterns``."""
    return {
        "begin": f"({re.escape(open_)})",
        "beginCaptures": {"1": _named(roles.symbols[open_])},
        "end": f"({re.escape(close)})",
        "endCaptures": {"1": _named(roles.symbols[close])},
        "patterns": patterns,
    }


def _symbol_rules(roles: Roles) -> dict:
    # Longest first: TextMate takes the first rule that matches at a position (`**` vs `*`).
    symbols = sorted(roles.symbols, key=lambda s: (-len(s), s))
    return {"patterns": [{"name": scope(roles.symbols[s]), "match": re.escape(s)} for s in symbols]}


# ---- output -----------------------------------------------------------------------------


def render(grammar: Grammar) -> str:
    return json.dumps(build(grammar), indent=2, ensure_ascii=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed grammar is stale")
    args = parser.parse_args(argv)
    text = render(read_grammar())
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run python {__file__}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
