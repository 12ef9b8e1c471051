"""Editor highlighting follows the language: every terminal of grammar/archlang.lark is
highlighted by the TextMate grammar (editors/textmate/arch.tmLanguage.json) and lexed by the
Pygments lexer (archlang/syntax/pygments_lexer.py).

The terminals are read from the .lark file, so a terminal added to the grammar without a
highlighting rule fails here.  The TextMate grammar is run by a Python TextMate tokenizer
(editors/textmate/tokenizer.py) that is checked against VS Code's own engine when the
extension's node_modules are installed.  Which terminal each token of a spec is comes from
Lark itself (its contextual lexer), so a word such as `block` is expected to be a keyword
exactly where the parser takes it for one.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import pytest
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput
from lark.lexer import PatternStr
from lark.load_grammar import load_grammar

ROOT = Path(__file__).resolve().parents[1]
LARK_FILE = ROOT / "grammar" / "archlang.lark"
TEXTMATE = ROOT / "editors" / "textmate"
TM_GRAMMAR = TEXTMATE / "arch.tmLanguage.json"
VSCODE = ROOT / "editors" / "vscode"
SPECS = sorted((ROOT / "specs").rglob("*.arch"))
DOCS = [ROOT / "docs" / "language.md", ROOT / "README.md"]

IDENTIFIER = ("variable.", "entity.name.", "support.")
NUMERIC = ("constant.numeric.",)
STRING = ("string.",)
COMMENT = ("comment.",)
KEYWORD = ("keyword.",)
LITERAL = ("constant.language.",)
SYMBOL = ("keyword.operator.", "punctuation.")
VALUE_SYMBOL = ("constant.other.",)
CONTINUATION = ("punctuation.separator.continuation.",)
NOT_A_NAME = ("keyword.", "constant.", "string.", "comment.", "punctuation.", "storage.")

# Terminals defined by a regexp: samples (each must match the terminal) and the scope class
# they must get.  Keyed by name, or by the regexp as written for %ignore'd anonymous ones.
# None: whitespace, which needs no scope.
REGEXP_SAMPLES = {
    "NAME": (["foo", "_x1", "Conv2d", "ResNet50", "B"], IDENTIFIER),
    "INT": (["0", "7", "768", "50_257"], NUMERIC),
    "FLOAT": ([".5", "0.1", "1e-6", "2.5E3", "1_0.0_1e+3", "1.e5", "3E10"], NUMERIC),
    "STRING": (
        ['"relu"', "'b c h w'", '""', '"a\\"b"', "'it\\'s'", '"""doc"""', '"""two\n    lines"""'],
        STRING,
    ),
    "COMMENT": (["# note", "#", "#: x = 1"], COMMENT),
    "_NL": (["\n", "\n    \n"], None),
    r"[\t \f]+": ([" ", "\t  "], None),
    r"\\\r?\n": (["\\\n"], CONTINUATION),
}

# Places a lone sample is tokenized in; the definition keywords are keywords only where a
# definition starts (the grammar lets specs use `block` as a name), so only the first applies.
CONTEXTS = ["{}", "    y = f({})", "    y = [{}]", "block B(a: int = {}) {{", "    input x: [B, {}]"]

# Every construct once, so that every terminal (and every literal of KIND, COMP_OP, ...) is
# met in a real context; test_corpus_covers_every_terminal keeps it complete.
CORPUS = '''\
# Every construct of the language once (tests/test_editors.py).
import "layers.arch" as layers
from std import MLP, ConvNormAct
import std.blocks
let WIDTH = 2 ** 3 + 1_000 - 0.5 * .5 / 1e-6 // 2 % 3
let FLAGS = [true, false, none, 'single', "double\\n"]

block Pair(a: int, b: list[tuple[int, int]] = [(1, 2)], c: str = "x",) {
    """A docstring
    on two lines."""
    input x: int64[B, ..., a]
    y, w = (x @ x, x)
    if a == 1 and not b != [] or c in ["x"] {
        z = x[0, :, 1:2:1, ...]
    } elif a < 2 or a > 3 or a <= 4 or a >= 5 or c not in ["y"] {
        z = x
    } else {
        z = -x if a else +x
    }
    for i in range(a) {
        assert i >= 0, "non-negative"
    }
    constrain a + \\
        1 > 0
    block = [i * 2 for i in range(3) if i > 0]
    return y.mean(dim=[2, 3]), z
}

model M = Pair(1)
block Tiny() { """A docstring right after the brace."""
    input x: [B]
    return x
}
space S() {
    'Single-quoted docstring.'
    input x: [B, 4]
    p = Pair(2)
    q = Pair(2)
    tie p.layers.0.weight = q.layers.0.weight
    return p(x)
}
'''


# ---- the Lark grammar -------------------------------------------------------------------


@dataclass(frozen=True)
class Terminal:
    name: str
    literals: tuple[str, ...]  # fixed strings; empty for a regexp terminal
    regexp: str  # as the .lark file writes it; "" for fixed strings
    pattern: re.Pattern  # what Lark matches
    ignored: bool


@lru_cache(maxsize=1)
def grammar_lark() -> Lark:
    return Lark(LARK_FILE.read_text(), parser="lalr", lexer="contextual", maybe_placeholders=True)


@lru_cache(maxsize=1)
def terminals() -> dict[str, Terminal]:
    """Every terminal of the grammar, with the literals of `KIND: "block" | "model" | ...`."""
    lark = grammar_lark()
    written = _written_terminals()
    out = {}
    for term in lark.terminals:
        if isinstance(term.pattern, PatternStr):
            literals, regexp = (term.pattern.value,), ""
        else:
            literals, regexp = written[term.name]
        pattern = re.compile(term.pattern.to_regexp())
        out[term.name] = Terminal(term.name, literals, regexp, pattern, term.name in lark.ignore_tokens)
    return out


def _written_terminals() -> dict[str, tuple[tuple[str, ...], str]]:
    """Named terminals as the .lark file writes them: their strings, or their regexps."""
    grammar, _ = load_grammar(LARK_FILE.read_text(), str(LARK_FILE), None, False)
    out = {}
    for name, (tree, _priority) in grammar.term_defs:
        tokens = list(tree.scan_values(lambda v: isinstance(v, Token)))
        strings = tuple(ast.literal_eval(t) for t in tokens if t.type == "STRING")
        regexps = [t[1:t.rindex("/")] for t in tokens if t.type == "REGEXP"]
        out[name] = ((), "|".join(regexps)) if regexps else (strings, "")
    return out


def is_word(literal: str) -> bool:
    return bool(terminals()["NAME"].pattern.fullmatch(literal))


@lru_cache(maxsize=1)
def value_terminals() -> set[str]:
    """Terminals that alone are a whole node of the tree (`atom: TRUE -> true_lit`): values."""
    alternatives: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for rule in grammar_lark().rules:
        if rule.alias:
            expansion = tuple(s.name for s in rule.expansion)
            alternatives.setdefault((rule.origin.name, rule.alias), []).append(expansion)
    return {e[0] for group in alternatives.values() if all(len(e) == 1 for e in group) for e in group}


def definition_words() -> tuple[str, ...]:
    """The words that open a definition (KIND): keywords there, names anywhere else."""
    rule = next(r for r in grammar_lark().rules if r.origin.name == "block_def")
    return terminals()[rule.expansion[0].name].literals


def expected_class(term: Terminal) -> tuple[str, ...] | None:
    """The scope prefixes a token of this terminal must get (None: whitespace)."""
    if term.literals:
        if all(is_word(lit) for lit in term.literals):
            return LITERAL if term.name in value_terminals() else KEYWORD
        return VALUE_SYMBOL if term.name in value_terminals() else SYMBOL
    key = term.regexp if term.name.startswith("__") else term.name
    if key not in REGEXP_SAMPLES:
        pytest.fail(f"terminal {term.name} /{term.regexp}/ has no sample in REGEXP_SAMPLES: "
                    "add samples here and a highlighting rule to editors/textmate/generate.py")
    return REGEXP_SAMPLES[key][1]


def samples(term: Terminal) -> list[str]:
    if term.literals:
        return list(term.literals)
    key = term.regexp if term.name.startswith("__") else term.name
    return REGEXP_SAMPLES[key][0] if key in REGEXP_SAMPLES else []


class _BracketNewlines:
    """Drops newlines inside ( ) and [ ], as archlang.syntax's post-lexer does, so that Lark
    parses the specs; only the token types matter here."""

    always_accept = ("_NL",)

    def process(self, stream):
        open_brackets, previous = [], None
        for tok in stream:
            in_brackets = bool(open_brackets) and open_brackets[-1] != "{"
            if tok.type == "_NL" and (in_brackets or previous in (None, "_NL")):
                continue
            if tok.type in ("LPAR", "LSQB", "LBRACE"):
                open_brackets.append(tok.value)
            elif tok.type in ("RPAR", "RSQB", "RBRACE") and open_brackets:
                open_brackets.pop()
            previous = tok.type
            yield tok


_ignored: list[Token] = []


def _record(tok: Token) -> Token:
    _ignored.append(tok)
    return tok


@lru_cache(maxsize=1)
def recording_parser() -> Lark:
    """A parser that keeps every token in its tree and records the ignored ones (comments,
    whitespace).  Only ignored terminals get lexer callbacks: Lark chains a callback on a
    terminal that keywords are carved out of (NAME) with a late-bound condition, so with
    several callbacks it would silently drop NAME tokens."""
    ignored = [name for name, term in terminals().items() if term.ignored]
    return Lark(LARK_FILE.read_text(), parser="lalr", lexer="contextual", maybe_placeholders=True,
                keep_all_tokens=True, postlex=_BracketNewlines(),
                lexer_callbacks={name: _record for name in ignored})


@cache
def lark_tokens(text: str) -> tuple[tuple[Token, ...], Tree]:
    """Lark's tokens for ``text`` in order (their types are what Lark's contextual lexer
    decided), and the tree, whose nodes give names their roles."""
    _ignored.clear()
    tree = recording_parser().parse(text if text.endswith("\n") else text + "\n")
    parsed = [t for t in tree.scan_values(lambda v: isinstance(v, Token))]
    tokens = sorted(parsed + _ignored, key=lambda t: t.start_pos)
    return tuple(tokens), tree


# ---- the TextMate grammar ---------------------------------------------------------------


def _load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def tm():
    module = _load_module("archlang_textmate_tokenizer", TEXTMATE / "tokenizer.py")
    return module.TextMateGrammar(json.loads(TM_GRAMMAR.read_text()))


@cache
def scopes_of(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tm().scopes_at(text))


def has_class(scopes: tuple[str, ...], prefixes: tuple[str, ...]) -> bool:
    """The innermost scope that is not meta.* starts with one of ``prefixes``; inside a
    string any string scope will do (its quotes and escapes have their own scopes)."""
    named = [s for s in scopes[1:] if not s.startswith("meta.")]
    if not named:
        return False
    if prefixes == STRING:
        return any(s.startswith("string.") for s in named)
    return named[-1].startswith(prefixes)


def assert_token_class(text: str, start: int, end: int, prefixes, what: str) -> None:
    scopes = scopes_of(text)
    for i in range(start, end):
        if not text[i].isspace():
            assert has_class(scopes[i], prefixes), (
                f"{what}: {text[start:end]!r} at {_where(text, i)} has scopes {scopes[i]}, "
                f"expected {' or '.join(prefixes)}*"
            )


def _where(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    return f"line {line} col {index - text.rfind(chr(10), 0, index)}"


@lru_cache(maxsize=1)
def corpus_texts() -> dict[str, str]:
    """The specs, the docs' arch examples that parse, and CORPUS."""
    texts = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in SPECS}
    for doc in DOCS:
        for n, block in enumerate(_fenced_arch(doc)):
            if _parses(block):  # an `arch error` example may be a deliberate syntax error
                texts[f"{doc.name}#{n}"] = block
    texts["CORPUS"] = CORPUS
    return texts


def _parses(text: str) -> bool:
    try:
        lark_tokens(text)
    except UnexpectedInput:
        return False
    return True


def _fenced_arch(doc: Path) -> list[str]:
    if not doc.exists():
        return []
    fences = re.compile(r"^```arch[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
    return fences.findall(doc.read_text(encoding="utf-8"))


# ---- tests: the generated grammar -------------------------------------------------------


def test_generated_grammar_is_up_to_date():
    generate = _load_module("archlang_textmate_generate", TEXTMATE / "generate.py")
    assert TM_GRAMMAR.read_text() == generate.render(generate.read_grammar()), (
        "editors/textmate/arch.tmLanguage.json is stale: run python editors/textmate/generate.py"
    )
    command = [sys.executable, str(TEXTMATE / "generate.py"), "--check"]
    check = subprocess.run(command, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


def test_every_regexp_compiles_in_python():
    grammar = tm()
    sources = grammar.regexes()
    assert len(sources) > 30
    for source in sources:
        assert isinstance(grammar.compile(source), re.Pattern), source


def test_grammar_identity():
    data = json.loads(TM_GRAMMAR.read_text())
    assert data["scopeName"] == "source.arch"
    assert data["fileTypes"] == ["arch"]
    rules = json.dumps([data["patterns"], data["repository"]])
    names = re.findall(r'"(?:name|contentName)": "([^"]+)"', rules)
    assert names and all(name.endswith(".arch") for name in names)  # scopes end in the language


# ---- tests: every terminal is highlighted -----------------------------------------------


def test_terminals_are_read_from_the_grammar():
    found = terminals()
    # Spot checks that the reader sees the kinds of terminals the grammar has.
    assert set(definition_words()) == {"block", "model", "space"}
    assert {"if", "return", "tie", "constrain", "**", "...", "NAME", "FLOAT", "STRING", "COMMENT"} <= (
        {lit for t in found.values() for lit in t.literals} | set(found)
    )
    assert value_terminals() >= {"TRUE", "FALSE", "NONE", "ELLIPSIS"}
    assert "COLON" not in value_terminals()  # `x[:]` is a slice of expressions, not a value


@pytest.mark.parametrize("name", sorted(n for n in terminals()))
def test_every_terminal_is_highlighted(name):
    term = terminals()[name]
    expected = expected_class(term)
    cases = samples(term)
    assert cases, f"no sample for terminal {name}"
    for sample in cases:
        assert term.pattern.fullmatch(sample), f"sample {sample!r} is not a {name}"
        if expected is None:
            continue
        contexts = CONTEXTS[:1] if sample in definition_words() else CONTEXTS
        for context in contexts:
            text = context.format(sample) + "\n"
            start = context.index("{}")
            assert_token_class(text, start, start + len(sample), expected, f"{name} in {context!r}")
            if term.literals:  # one token, not pieces of others (`=>` is not `=` then `>`)
                assert len(set(scopes_of(text)[start:start + len(sample)])) == 1, f"{sample!r} is split"


def test_a_terminal_without_a_rule_fails():
    """The check is not vacuous: a sample the grammar does not know stays unhighlighted."""
    text = "$\n"
    assert not has_class(scopes_of(text)[0], KEYWORD + SYMBOL + IDENTIFIER)
    with pytest.raises(pytest.fail.Exception, match="no sample"):
        expected_class(Terminal("ARROW_RE", (), "->", re.compile("->"), False))


def test_corpus_covers_every_terminal():
    seen: set[tuple[str, str]] = set()
    for text in corpus_texts().values():
        tokens, _ = lark_tokens(text)
        seen |= {(t.type, t.value) for t in tokens} | {(t.type, "") for t in tokens}
    for term in terminals().values():
        wanted = [(term.name, lit) for lit in term.literals] or [(term.name, "")]
        missing = [w for w in wanted if w not in seen]
        assert not missing, f"no example uses {missing}: extend CORPUS in {Path(__file__).name}"


@pytest.mark.parametrize("name", sorted(corpus_texts()))
def test_every_token_of_the_specs_is_highlighted_as_lark_lexes_it(name):
    text = corpus_texts()[name]
    tokens, _ = lark_tokens(text)
    terms = terminals()
    for tok in tokens:
        expected = expected_class(terms[tok.type])
        if expected is not None:
            assert_token_class(text, tok.start_pos, tok.end_pos, expected, f"{name}: {tok.type}")
        if tok.type == "NAME":  # e.g. `block` as a member name is not a keyword there
            scopes = scopes_of(text)[tok.start_pos]
            where = _where(text, tok.start_pos)
            assert not has_class(scopes, NOT_A_NAME), f"{name}: name {tok.value!r} at {where} got {scopes}"


@pytest.mark.parametrize("name", sorted(corpus_texts()))
def test_no_character_is_left_unscoped(name):
    text = corpus_texts()[name]
    scopes = scopes_of(text)
    for i, char in enumerate(text):
        if not char.isspace():
            named = [s for s in scopes[i][1:] if not s.startswith("meta.")]
            assert named, f"{name}: {char!r} at {_where(text, i)} has no scope ({scopes[i]})"


def _role_checks(tree: Tree):
    """(token, scope prefixes) for names whose role the tree knows."""
    for node in tree.iter_subtrees():
        kids = node.children
        if node.data in ("block_def", "alias_def"):
            yield kids[0], ("keyword.declaration.",)
            yield kids[1], ("entity.name.type.",)
        elif node.data == "param":
            yield kids[0], ("variable.parameter.",)
        elif node.data == "type_ref":
            yield kids[0], ("support.type.",)
        elif node.data == "input_decl":
            yield kids[1], ("variable.parameter.",)
        elif node.data == "tensor_type" and isinstance(kids[0], Token) and kids[0].type == "NAME":
            yield kids[0], ("support.type.",)
        elif node.data == "keyword":
            yield kids[0], ("variable.parameter.",)
        elif node.data == "let_def":
            yield kids[1], ("variable.other.constant.",)
        elif node.data == "docstring":
            yield kids[0], ("string.quoted.docstring.",)


@pytest.mark.parametrize("name", sorted(corpus_texts()))
def test_definitions_parameters_types_and_docstrings(name):
    text = corpus_texts()[name]
    _, tree = lark_tokens(text)
    checked = 0
    for tok, prefixes in _role_checks(tree):
        scopes = scopes_of(text)[tok.start_pos]
        named = [s for s in scopes[1:] if not s.startswith("meta.")]
        assert any(s.startswith(prefixes) for s in named), (
            f"{name}: {tok.value!r} at {_where(text, tok.start_pos)} has {scopes}, expected {prefixes[0]}*"
        )
        checked += 1
    assert checked or name.startswith(("README", "language")), f"{name} has no definition"


def test_contextual_keywords_follow_the_parser():
    """`block` opens a definition at the start of a line and is a plain name elsewhere, as
    the grammar's contextual lexer has it (specs/vision/resnet.arch: `block: block`)."""
    text = "block ResNet(block: block) {\n    block = Sequential()\n    return block(x)\n}\n"
    scopes = scopes_of(text)
    assert "keyword.declaration.block.arch" in scopes[0]
    assert "variable.parameter.arch" in scopes[text.index("block:")]
    assert "support.type.arch" in scopes[text.index("block)")]
    assert "variable.other.arch" in scopes[text.index("block =")]
    assert "entity.name.function.call.arch" in scopes[text.index("block(x")]


def test_accessor_digits_are_not_floats():
    """`p.layers.0` (tie paths, attribute access): the dot is an accessor, 0 an integer."""
    text = "    tie p.layers.0.weight = q.x\n    y = .5 + x[0].5\n"
    scopes = scopes_of(text)
    dot = text.index(".0")
    assert "punctuation.accessor.dot.arch" in scopes[dot]
    assert "constant.numeric.integer.arch" in scopes[dot + 1]
    assert "constant.numeric.float.arch" in scopes[text.index(".5")]
    assert "punctuation.accessor.dot.arch" in scopes[text.index("].5") + 1]


# ---- the Python tokenizer agrees with VS Code's ----------------------------------------


@pytest.mark.skipif(
    shutil.which("node") is None or not (VSCODE / "node_modules" / "vscode-textmate").is_dir(),
    reason="needs node and `npm ci` in editors/vscode (vscode-textmate, vscode-oniguruma)",
)
def test_python_tokenizer_agrees_with_vscode_textmate(tmp_path):
    texts = corpus_texts()
    files = {}
    for i, (name, text) in enumerate(sorted(texts.items())):
        path = tmp_path / f"{i}.arch"
        path.write_text(text, encoding="utf-8")
        files[str(path)] = name
    run = subprocess.run(["node", str(VSCODE / "scripts" / "tokenize.js"), str(TM_GRAMMAR), *files],
                         capture_output=True, text=True, check=True)
    for path, lines in json.loads(run.stdout).items():
        text = texts[files[path]]
        ours = scopes_of(text)
        offset = 0
        for number, (line, tokens) in enumerate(zip(text.split("\n"), lines), 1):
            for start, end, scopes in tokens:
                for i in range(start, min(end, len(line))):
                    assert tuple(scopes) == ours[offset + i], (
                        f"{files[path]} line {number} col {i + 1} ({line[i]!r}): "
                        f"vscode-textmate {scopes}, Python {ours[offset + i]}"
                    )
            offset += len(line) + 1


# ---- the VS Code extension --------------------------------------------------------------


def test_vscode_manifest_matches_the_grammar():
    manifest = json.loads((VSCODE / "package.json").read_text())
    language_config = json.loads((VSCODE / "language-configuration.json").read_text())
    assert manifest["name"] == manifest["publisher"] == "archlang"
    assert manifest["engines"]["vscode"] == "^1.85.0"
    (language,) = manifest["contributes"]["languages"]
    assert language["id"] == "arch" and language["extensions"] == [".arch"]
    (grammar,) = manifest["contributes"]["grammars"]
    assert grammar["scopeName"] == json.loads(TM_GRAMMAR.read_text())["scopeName"]
    assert grammar["path"] == "./syntaxes/arch.tmLanguage.json"
    assert "vscode-languageclient" in manifest["dependencies"]
    assert "@vscode/vsce" in manifest["devDependencies"]
    settings = manifest["contributes"]["configuration"]["properties"]
    assert settings["archlang.server.path"]["default"] == "archlang"
    assert "archlang.trace.server" in settings
    # The comment marker VS Code toggles is the grammar's COMMENT terminal.
    assert terminals()["COMMENT"].pattern.match(language_config["comments"]["lineComment"])
    extension = (VSCODE / manifest["main"]).read_text()
    assert "archlang.server.path" in extension and "'lsp'" in extension


# ---- the Pygments lexer -----------------------------------------------------------------


@lru_cache(maxsize=1)
def _pygments_lexer():
    pytest.importorskip("pygments")
    from archlang.syntax import pygments_lexer

    return pygments_lexer


def grammar_words() -> set[str]:
    return {lit for t in terminals().values() for lit in t.literals if is_word(lit)}


def test_pygments_keywords_are_the_grammars():
    module = _pygments_lexer()
    lists = (module.KEYWORDS, module.DEFINITIONS, module.OPERATOR_WORDS, module.CONSTANTS)
    assert set().union(*lists) == grammar_words()
    assert sum(map(len, lists)) == len(grammar_words())  # each word in one list
    assert set(module.DEFINITIONS) == set(definition_words())
    values = [t for t in terminals().values() if t.name in value_terminals()]
    assert set(module.CONSTANTS) == {lit for t in values for lit in t.literals if is_word(lit)}


def test_pygments_lexer_metadata():
    module = _pygments_lexer()
    lexer = module.ArchLexer
    assert lexer.name == "archlang"
    assert lexer.aliases == ["arch", "archlang"]
    assert lexer.filenames == ["*.arch"]
    source = Path(module.__file__).read_text()
    imports_archlang = re.search(r"^\s*(from|import)\s+archlang", source, re.MULTILINE)
    assert not imports_archlang, "the lexer must not import archlang"


@pytest.mark.parametrize("name", sorted(corpus_texts()))
def test_pygments_lexes_every_token_as_lark_does(name):
    from pygments.token import (
        Comment,
        Error,
        Keyword,
        Name,
        Number,
        Operator,
        Punctuation,
        String,
    )

    module = _pygments_lexer()
    text = corpus_texts()[name]
    kinds = [None] * len(text)
    for index, kind, value in module.ArchLexer().get_tokens_unprocessed(text):
        assert kind is not Error, f"{name}: Error token {value!r} at {_where(text, index)}"
        for i in range(index, index + len(value)):
            kinds[i] = kind
    by_class = {KEYWORD: (Keyword, Operator.Word), LITERAL: (Keyword.Constant,), IDENTIFIER: (Name,),
                NUMERIC: (Number,), STRING: (String,), COMMENT: (Comment,),
                SYMBOL: (Operator, Punctuation), VALUE_SYMBOL: (Name.Builtin.Pseudo,)}
    tokens, _ = lark_tokens(text)
    for tok in tokens:
        expected = expected_class(terminals()[tok.type])
        if expected is None or expected == CONTINUATION:
            continue
        kind = kinds[tok.start_pos]
        assert any(kind in parent for parent in by_class[expected]), (
            f"{name}: {tok.type} {tok.value!r} at {_where(text, tok.start_pos)} lexed as {kind}"
        )
