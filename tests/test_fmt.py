"""Tests of archlang.syntax.fmt, the canonical formatter.

* golden files: tests/golden/fmt/NAME.arch formats to NAME.expected.arch (set
  ARCHLANG_UPDATE_GOLDEN=1 to rewrite the expectations instead of comparing);
* properties on every golden input, every specs/**/*.arch and random ASTs / sources:
  idempotent, AST preserved, comments preserved (ARCHLANG_FUZZ_EXAMPLES=N runs N random
  cases per property instead of 300).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import _fuzzing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archlang.errors import ArchError, Span
from archlang.syntax import ast, parse
from archlang.syntax.comments import _Scan
from archlang.syntax.fmt import format_module, format_source

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "fmt"
GOLDEN_INPUTS = sorted(p for p in GOLDEN.glob("*.arch") if not p.name.endswith(".expected.arch"))
SPECS = sorted(ROOT.glob("specs/**/*.arch"))
UPDATE = os.environ.get("ARCHLANG_UPDATE_GOLDEN") == "1"


def comment_texts(module: ast.Module) -> Counter:
    """Comments as the formatter keeps them: same texts, trailing whitespace dropped."""
    return Counter(c.text.rstrip() for c in module.comments)


def assert_formats_well(src: str) -> str:
    out = format_source(src)
    before, after = parse(src), parse(out)
    assert after == before, "formatting changed the AST"
    assert comment_texts(after) == comment_texts(before), "formatting lost or changed comments"
    assert format_source(out) == out, "formatting is not idempotent"
    return out


# ---- golden files -------------------------------------------------------------------------


def test_enough_golden_cases():
    assert len(GOLDEN_INPUTS) >= 8


@pytest.mark.parametrize("path", GOLDEN_INPUTS, ids=lambda p: p.stem)
def test_golden(path: Path):
    expected_path = path.with_name(path.stem + ".expected.arch")
    out = format_source(path.read_text(), str(path))
    if UPDATE:
        expected_path.write_text(out)
    assert out == expected_path.read_text()


@pytest.mark.parametrize("path", GOLDEN_INPUTS, ids=lambda p: p.stem)
def test_golden_properties(path: Path):
    assert_formats_well(path.read_text())


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_specs_format_well(path: Path):
    assert_formats_well(path.read_text())


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_spec_passes_fmt_check(path: Path):
    text = path.read_text()
    assert format_source(text, str(path)) == text, f"run `archlang fmt {path.relative_to(ROOT)}`"


# ---- specific behaviour -------------------------------------------------------------------


def test_bad_input_raises_parse_error():
    with pytest.raises(ArchError):
        format_source("block X( {\n}\n", "bad.arch")


def test_empty_and_comment_only_sources():
    assert format_source("") == ""
    assert format_source("\n\n") == ""
    assert format_source("# a\n\n\n# b  \n") == "# a\n\n# b\n"


@pytest.mark.parametrize(
    "src, expected",
    [
        ("let a = (a - b) - (c - d)", "let a = a - b - (c - d)"),
        ("let a = (a ** b) ** (c ** d)", "let a = (a ** b) ** c ** d"),
        ("let a = -(a ** b) + (-a) ** b", "let a = -a ** b + (-a) ** b"),
        ("let a = (not a) == b", "let a = (not a) == b"),
        ("let a = not (a == b)", "let a = not a == b"),
        ("let a = (a < b) < c", "let a = (a < b) < c"),
        ("let a = a < b < c", "let a = a < b < c"),
        ("let a = (a if b else c) if (d if e else f) else (g if h else i)",
         "let a = (a if b else c) if (d if e else f) else g if h else i"),
        ("let a = (a or b) and not (c and d)", "let a = (a or b) and not (c and d)"),
        ("let a = -(-a)", "let a = --a"),
        ("let a = - not a", "let a = -(not a)"),
        ("let a = (1).x + (1.5).y + x.0.1", "let a = (1).x + (1.5).y + x.0.1"),
        ("let a = (a, )", "let a = (a,)"),
        ("let a = [x for x in (a if b else c) if (d if e else f)]",
         "let a = [x for x in (a if b else c) if (d if e else f)]"),
        ("let a = x[ : , 1:3:2 , ... , ::2, a:]", "let a = x[:, 1:3:2, ..., ::2, a:]"),
        ("let a = 'it\"s'", "let a = 'it\"s'"),
        ("let a = 'it\\'s \"q\"\\n\\x00'", 'let a = "it\'s \\"q\\"\\n\\x00"'),
        ("let a = 1e-5 + 1_000 + 0.1 + 1E3", "let a = 1e-5 + 1000 + 0.1 + 1000.0"),
        ("model M() = X", "model M() = X"),
        ("model M = X", "model M = X"),
    ],
)
def test_expressions(src: str, expected: str):
    assert format_source(src) == expected + "\n"
    assert_formats_well(src)


def test_long_calls_break_one_argument_per_line():
    args = ", ".join(f"argument_{i}" for i in range(12))
    out = format_source(f"let a = outer(inner({args}), short)\n")
    assert out == (
        "let a = outer(\n"
        "    inner(\n"
        + "".join(f"        argument_{i},\n" for i in range(12))
        + "    ),\n"
        "    short,\n"
        ")\n"
    )


LAYOUT_CASES = [
    # (source, formatted): black's layout of brackets
    ("let t = [[1, 2], [3, 4]]\n", "let t = [[1, 2], [3, 4]]\n"),
    # the magic trailing comma: one element per line even though it fits, nested too
    ("let t = [[1, 2], [3, 4],]\n", "let t = [\n    [1, 2],\n    [3, 4],\n]\n"),
    ("let t = [\n    [1, 2,],\n    [3, 4],\n]\n", "let t = [\n    [\n        1,\n        2,\n    ],\n    [3, 4],\n]\n"),
    ("let t = f(a, k=1,)\n", "let t = f(\n    a,\n    k=1,\n)\n"),
    # a one-element tuple's comma is syntax, not magic
    ("let t = (1,)\n", "let t = (1,)\n"),
    # too long for one line: the elements on one indented line when they fit there, no comma
    ("let a = some_function_with_a_long_name(first_argument_value, second_argument_value, third_argument_value)\n",
     "let a = some_function_with_a_long_name(\n    first_argument_value, second_argument_value, third_argument_value\n)\n"),
    # a lone element is broken in turn (no trailing comma), a comprehension by clauses
    ("let a = Sequential([Linear(4 * 4 * 4 * 4 * 4 * 4 * 4 * 4 * 4 * 4 * 4, 4 * 4 * 4 * 4 * 4 * 4 * 4, bias=true)"
     " for i in range(30)])\n",
     "let a = Sequential(\n    [\n        Linear(4 * 4 * 4 * 4 * 4 * 4 * 4 * 4 * 4 * 4 * 4, 4 * 4 * 4 * 4 * 4 * 4 * 4, bias=true)\n"
     "        for i in range(30)\n    ]\n)\n"),
    # a magic comma inside keeps the outer bracket a right-hand split, as black does
    ("let a = Sequential([choice(ReLU(), Tanh(),) for i in range(2)])\n",
     "let a = Sequential(\n    [\n        choice(\n            ReLU(),\n            Tanh(),\n        )\n"
     "        for i in range(2)\n    ]\n)\n"),
]


@pytest.mark.parametrize("src, expected", LAYOUT_CASES)
def test_brackets_break_as_black_breaks_them(src: str, expected: str):
    assert format_source(src) == expected
    assert_formats_well(src)


def test_golden_outputs_fit_in_100_columns():
    for path in GOLDEN_INPUTS:
        out = format_source(path.read_text())
        assert all(len(line) <= 100 for line in out.splitlines()), path.name


def test_top_level_blank_lines():
    src = 'import "a"\nimport "b"\nlet A = 1\n\n\nlet B = 2\nlet C = 3\nmodel M = X\nblock B() {}\n'
    assert format_source(src) == (
        'import "a"\nimport "b"\n\nlet A = 1\n\nlet B = 2\nlet C = 3\n\nmodel M = X\n\n'
        "block B() {\n}\n"
    )


def test_body_blank_lines_are_kept_single():
    src = "block B() {\n\n    a = 1\n\n\n\n    b = 2\n    c = 3\n\n}\n"
    assert format_source(src) == "block B() {\n    a = 1\n\n    b = 2\n    c = 3\n}\n"


def test_format_module_with_foreign_source_still_keeps_comments():
    module = parse("let a = 1  # one\n# two\nlet b = 2\n")
    out = format_module(module, source="something else entirely\n")
    assert comment_texts(parse(out)) == comment_texts(module)


def test_format_module_without_source_keeps_comments():
    src = "# head\nlet a = 1  # one\n\n# b\nlet b = f(\n    x,  # inner\n)\n# end\n"
    out = format_module(parse(src))
    assert comment_texts(parse(out)) == comment_texts(parse(src))
    assert parse(out) == parse(src)


# ---- random ASTs --------------------------------------------------------------------------

SPAN = Span("<generated>", 0, 0)
KEYWORDS = {
    "import", "from", "as", "let", "block", "model", "space", "input", "if", "elif", "else",
    "for", "in", "return", "assert", "constrain", "tie", "or", "and", "not", "true", "false", "none",
}
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True).filter(
    lambda s: s not in KEYWORDS
)
digits = st.integers(0, 99).map(str)
floats = st.floats(min_value=0, allow_nan=False, allow_infinity=False).filter(
    lambda f: math.copysign(1, f) > 0
)
constants = st.one_of(
    st.integers(0, 2**63 - 1), floats, st.text(max_size=6), st.booleans(), st.none()
).map(lambda v: ast.Const(v, SPAN))
leaves = st.one_of(names.map(lambda n: ast.Name(n, SPAN)), constants)

UNARY = ["-", "+", "not"]
BINARY = ["or", "and", "+", "-", "*", "/", "//", "%", "@", "**"]
COMPARE = ["==", "!=", "<", ">", "<=", ">=", "in", "not in"]


def small(s, n=3):
    return st.lists(s, max_size=n).map(tuple)


def compound(e):
    opt = st.none() | e
    subscript_items = st.one_of(
        e, st.builds(ast.Slice, opt, opt, opt, st.just(SPAN)), st.just(ast.EllipsisLit(SPAN))
    )
    keyword = st.builds(ast.Keyword, names, e, st.just(SPAN))
    compare = st.integers(1, 3).flatmap(
        lambda n: st.builds(
            ast.Compare, e, st.lists(st.sampled_from(COMPARE), min_size=n, max_size=n).map(tuple),
            st.lists(e, min_size=n, max_size=n).map(tuple), st.just(SPAN),
        )
    )
    return st.one_of(
        st.builds(ast.Unary, st.sampled_from(UNARY), e, st.just(SPAN)),
        st.builds(ast.Binary, st.sampled_from(BINARY), e, e, st.just(SPAN)),
        compare,
        st.builds(ast.IfExp, e, e, e, st.just(SPAN)),
        st.builds(ast.Call, e, small(e), small(keyword, 2), st.just(SPAN)),
        st.builds(ast.Attribute, e, names | digits, st.just(SPAN)),
        st.builds(ast.Subscript, e, st.lists(subscript_items, min_size=1, max_size=3).map(tuple),
                  st.just(SPAN)),
        st.builds(ast.ListExpr, small(e), st.just(SPAN)),
        st.builds(ast.TupleExpr, small(e), st.just(SPAN)),
        st.builds(ast.ListComp, e, names, e, opt, st.just(SPAN)),
    )


exprs = st.recursive(leaves, compound, max_leaves=10)
type_refs = st.deferred(
    lambda: st.builds(ast.TypeRef, names, small(type_refs, 2), st.just(SPAN))
)
dims = st.one_of(exprs, st.just(ast.EllipsisLit(SPAN)))
dotted = st.builds(lambda a, b: (a, *b), names, small(names | digits, 2))


def statements(body):
    simple = st.one_of(
        st.builds(ast.Input, names, st.none() | names, small(dims, 4), st.just(SPAN)),
        st.builds(ast.Assign, st.lists(names, min_size=1, max_size=3).map(tuple), exprs,
                  st.just(SPAN)),
        st.builds(ast.Return, st.lists(exprs, min_size=1, max_size=3).map(tuple), st.just(SPAN)),
        st.builds(ast.Assert, exprs, st.none() | exprs, st.just(SPAN)),
        st.builds(ast.Constrain, exprs, st.just(SPAN)),
        st.builds(ast.Tie, dotted, dotted, st.just(SPAN)),
    )
    if body is None:
        return simple
    branches = st.lists(st.tuples(exprs, body), min_size=1, max_size=3).map(tuple)
    return st.one_of(
        simple,
        st.builds(ast.If, branches, st.none() | body, st.just(SPAN)),
        st.builds(ast.For, names, exprs, body, st.just(SPAN)),
    )


bodies = small(statements(small(statements(small(statements(None))))), 4)
params = st.builds(ast.Param, names, st.none() | type_refs, st.none() | exprs, st.just(SPAN))


def items(docs):
    block = st.builds(
        ast.BlockDef, st.sampled_from(["block", "model", "space"]), names, small(params),
        st.none() | docs, bodies, st.none(), st.just(SPAN),
    )
    alias = st.builds(
        lambda kind, name, ps, value: ast.BlockDef(kind, name, ps, None, None, value, SPAN,
                                                   has_params=bool(ps)),
        st.sampled_from(["block", "model", "space"]), names, small(params), exprs,
    )
    imports = st.one_of(
        st.builds(ast.Import, st.text(max_size=8), st.just(True), st.none() | names, st.none(),
                  st.just(SPAN)),
        st.builds(ast.Import, st.lists(names, min_size=1, max_size=3).map(".".join),
                  st.just(False), st.none() | names, st.none(), st.just(SPAN)),
        st.builds(ast.Import, st.text(max_size=8), st.just(True), st.none(),
                  st.lists(names, min_size=1, max_size=3).map(tuple), st.just(SPAN)),
    )
    let = st.builds(ast.Let, names, exprs, st.just(SPAN))
    return st.one_of(block, alias, imports, let)


def modules(docs=st.text(max_size=12)):
    return st.lists(items(docs), max_size=4).map(lambda i: ast.Module(tuple(i), "<generated>"))


EXAMPLES = int(os.environ.get("ARCHLANG_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(exprs)
def test_random_expressions_round_trip(e):
    module = ast.Module((ast.Let("a", e, SPAN),), "<generated>")
    out = format_module(module)
    assert parse(out).items == module.items, out
    assert format_source(out) == out


@FUZZ
@given(modules())
def test_random_modules_round_trip(module):
    out = format_module(module)
    assert parse(out).items == module.items, out
    assert format_source(out) == out


comment_texts_st = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=10
).map(lambda t: "#" + t)


@FUZZ
@given(modules(docs=st.text(st.characters(blacklist_characters="\n\r"), max_size=12)), st.data())
def test_random_comments_are_kept(module, data):
    lines = format_module(module).split("\n")
    out = []
    for line in lines:
        if data.draw(st.booleans()):
            indent = " " * data.draw(st.integers(0, 8))
            out.append(indent + data.draw(comment_texts_st))
        if line.strip() and data.draw(st.booleans()):
            line += " " * data.draw(st.integers(1, 3)) + data.draw(comment_texts_st)
        out.append(line)
    src = "\n".join(out)
    result = assert_formats_well(src)
    assert parse(result).items == module.items


def bracket_positions(src: str) -> list[tuple[int, str]]:
    """Offsets inside ( ) / [ ] where a newline may go: after an opener or a comma, before a
    closer.  The formatter's own scanner tells where strings are."""
    scan = _Scan(src)
    offsets = [0] + [i + 1 for i, ch in enumerate(src) if ch == "\n"]
    out, stack = [], []
    for tok in scan.toks:
        at = offsets[tok.line - 1] + tok.col - 1
        if tok.text in (")", "]") and stack[-1] in "([":
            out.append((at, "before"))
        if tok.text in ("(", "[", "{"):
            stack.append(tok.text)
        elif tok.text in (")", "]", "}"):
            stack.pop()
        if (tok.text in ("(", "[") or tok.text == ",") and stack and stack[-1] in "([":
            out.append((at + 1, "after"))
    return out


@FUZZ
@given(modules(), st.data())
def test_random_comments_inside_brackets(module, data):
    src = format_module(module)
    positions = bracket_positions(src)
    chosen = data.draw(st.sets(st.sampled_from(positions), max_size=6)) if positions else set()
    for at, where in sorted(chosen, reverse=True):
        text = data.draw(comment_texts_st)
        own = where == "before" or data.draw(st.booleans())
        insert = f"\n{text}\n" if own else f"  {text}\n"
        src = src[:at] + insert + src[at:]
    result = assert_formats_well(src)
    assert parse(result).items == module.items


# ---- formatting keeps the architecture; generated files are canonical ----------------------


def _printed_irs(program) -> dict[str, str]:
    """Every model and space of ``program`` elaborated with its defaults, printed."""
    from archlang.api import format_ir

    return {name: format_ir(program.elaborate(name)) for name in program.models + program.spaces}


@pytest.mark.parametrize("path", [p for p in SPECS if "std" not in p.parts], ids=lambda p: p.stem)
def test_formatting_a_spec_keeps_every_elaborated_ir(path: Path):
    from archlang.elaborate.program import load_program, loads_program

    formatted = format_source(path.read_text(), str(path))
    # the formatted text stands where the spec stands, so its imports resolve the same way
    assert _printed_irs(loads_program(formatted, str(path))) == _printed_irs(load_program(path))


def _spaces() -> list[tuple[Path, str]]:
    from archlang.elaborate.program import load_program

    return [(p, s) for p in SPECS if "spaces" in p.parts for s in load_program(p, check=False).spaces]


@pytest.mark.parametrize("path, name", _spaces(), ids=lambda v: v if isinstance(v, str) else "")
def test_generated_arch_files_are_canonical(path: Path, name: str):
    """What ``archlang sample``, a search's report and ``Space.to_arch`` write passes ``fmt --check``."""
    from archlang import space
    from archlang.elaborate.program import loads_program

    searched = space(path, name)
    for seed in (0, 1):
        text = searched.to_arch(searched.sample(seed=seed))
        assert format_source(text) == text
    # what a search scores (``Space.fix``: the same code, not laid out) is what it writes
    fixed, written = searched.fix(searched.sample(seed=1)), loads_program(text, f"{name}.arch")
    assert _printed_irs(fixed) == _printed_irs(written)


@settings(max_examples=min(EXAMPLES, 30), deadline=None, suppress_health_check=list(HealthCheck))
@given(_fuzzing.specs())
def test_random_specs_format_to_the_same_architecture(src: str):
    from archlang.elaborate.program import loads_program

    try:
        parse(src)
    except ArchError:  # the generator also writes a few specs that do not parse
        return
    try:
        before = _printed_irs(loads_program(src, "<generated>"))
    except ArchError:  # … or that fail to check: for those, formatting well is enough
        before = None
    out = assert_formats_well(src)
    if before is not None:
        assert _printed_irs(loads_program(out, "<generated>")) == before, out


# ---- the command: --check, --diff, stdin ----------------------------------------------------

UGLY = "model   M( ) {\n  input x : [B,4]\n  return relu( x )  # keep me\n}\n"
PRETTY = "model M() {\n    input x: [B, 4]\n    return relu(x)  # keep me\n}\n"


def _fmt(argv: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archlang", "fmt", *argv], input=stdin, capture_output=True,
                          text=True, cwd=ROOT)


def test_diff_prints_a_unified_diff_changes_nothing_and_exits_1(tmp_path):
    path = tmp_path / "ugly.arch"
    path.write_text(UGLY)
    result = _fmt(["--diff", str(path)])
    assert result.returncode == 1, result.stderr
    assert path.read_text() == UGLY
    lines = result.stdout.splitlines()
    assert lines[0] == f"--- {path}\t(original)" and lines[1] == f"+++ {path}\t(formatted)"
    assert "-  input x : [B,4]" in lines and "+    input x: [B, 4]" in lines
    assert f"would reformat {path}" in result.stderr
    path.write_text(PRETTY)
    clean = _fmt(["--diff", str(path)])
    assert (clean.returncode, clean.stdout) == (0, "")


def test_a_dash_formats_stdin_to_stdout():
    result = _fmt(["-"], stdin=UGLY)
    assert (result.returncode, result.stdout) == (0, PRETTY), result.stderr
    assert _fmt(["--check", "-"], stdin=UGLY).returncode == 1
    checked = _fmt(["--check", "-"], stdin=PRETTY)
    assert (checked.returncode, checked.stdout) == (0, "")
    diff = _fmt(["--diff", "-"], stdin=UGLY)
    assert diff.returncode == 1 and diff.stdout.startswith("--- <stdin>\t(original)\n")


def test_a_syntax_error_on_stdin_is_located_there():
    result = _fmt(["-"], stdin="model M( {\n")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("<stdin>:1:") and "model M( {" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_stands_for_every_arch_file_below_it(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.arch", "sub/b.arch"):
        (tmp_path / name).write_text(UGLY)
    (tmp_path / "notes.txt").write_text(UGLY)
    result = _fmt([str(tmp_path)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"reformatted {tmp_path / 'a.arch'}", f"reformatted {tmp_path / 'sub' / 'b.arch'}"]
    assert (tmp_path / "sub" / "b.arch").read_text() == PRETTY and (tmp_path / "notes.txt").read_text() == UGLY
