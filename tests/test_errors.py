"""Invalid specs and the errors they must produce: kind, message, and exact line and column.

Each case is a small spec (plus the files it imports) that a user could plausibly write.  The
expected position is where the caret belongs for a person fixing the mistake, not whatever the
implementation happened to report.  The last tests check ``render_error``'s format.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from archlang.errors import (
    ArchError,
    ArchImportError,
    ArchNameError,
    ArchTypeError,
    LimitError,
    ParseError,
    ShapeError,
    SpaceError,
)
from archlang.errors.render import render_error


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def leaves(error: ArchError) -> list[ArchError]:
    """The individual errors of a (possibly merged) ArchError."""
    return list(getattr(error, "errors", [error]))


def case(id, text, kind, message, line, col, files=None, note=None, entry=None, **elaborate):
    return pytest.param(src(text), kind, message, line, col, files or {}, note, entry, elaborate, id=id)


M = "model M() {\n    input x: [B, 4]\n"  # the usual two first lines of a case

CASES = [
    # ---- syntax -----------------------------------------------------------------------------
    case("unclosed-call", M + "    y = relu(x\n    return y\n}\n",
         ParseError, "expected ')' to close the call opened at 3:13", 4, 5),
    case("unclosed-paren-at-eof", "let a = (1 + 2\n",
         ParseError, "expected ')' to close the parenthesis opened at 1:9", 1, 15),
    case("unclosed-list", "let a = [1, 2\nlet b = 3\n",
         ParseError, "expected ']' to close the bracket opened at 1:9", 2, 1),
    case("unclosed-block", "model M() {\n    input x: [B, 4]\n    return x\n",
         ParseError, "expected '}' to close the block opened at 1:11", 3, 13),
    case("assign-in-if", M + "    if 1 = 2 {\n        x = x\n    }\n    return x\n}\n",
         ParseError, "use '==' to compare; '=' assigns", 3, 10),
    case("assign-in-if-name", "block A(a: int, b: int) {\n    input x: [B, 4]\n    if a = b {\n    }\n    return x\n}\n",
         ParseError, "use '==' to compare; '=' assigns", 3, 10),
    case("assign-in-ternary", M + "    k = 1 if k = 2 else 3\n    return x\n}\n",
         ParseError, "use '==' to compare; '=' assigns", 3, 16),
    case("python-colon-if", M + "    if true:\n        x = relu(x)\n    return x\n}\n",
         ParseError, "archlang blocks use braces, not ':'", 3, 12),
    case("python-colon-for", M + "    for i in range(3):\n        x = relu(x)\n    return x\n}\n",
         ParseError, "archlang blocks use braces, not ':'", 3, 22),
    case("python-def-colon", "block A():\n    return 1\n",
         ParseError, "expected '{' to open the block body", 1, 10),
    case("missing-comma-args", M + "    fc = Linear(4 8)\n    return fc(x)\n}\n",
         ParseError, "expected ',' between arguments", 3, 19),
    case("missing-comma-kwargs", M + "    conv = Conv2d(4, 8, 3, stride=2 padding=1)\n    return conv(x)\n}\n",
         ParseError, "expected ',' between arguments", 3, 37),
    case("missing-comma-list", "let a = [1, 2 3]\n",
         ParseError, "expected ',' between list items", 1, 15),
    case("stray-dollar", M + "    y = x $ 2\n    return y\n}\n",
         ParseError, "unexpected character '$'", 3, 11),
    case("stray-question", M + "    y = x?\n    return y\n}\n",
         ParseError, "unexpected character '?'", 3, 10),
    case("stray-semicolon", M + "    y = x;\n    return y\n}\n",
         ParseError, "unexpected character ';'", 3, 10),
    case("unterminated-string", M + '    s = "abc\n    return x\n}\n',
         ParseError, "unterminated string literal", 3, 9),
    case("unterminated-single-quote", "let s = 'abc\n",
         ParseError, "unterminated string literal", 1, 9),
    case("bad-hex-escape", 'let s = "ab\\x1"\n',
         ParseError, "bad escape in string literal", 1, 9),
    case("bad-unicode-name-escape", M + '    s = "\\N{no such character}"\n    return x\n}\n',
         ParseError, "bad escape in string literal", 3, 9),
    case("else-on-next-line", M + "    if true {\n        x = x\n    }\n    else {\n        x = x\n    }\n    return x\n}\n",
         ParseError, "'else' and 'elif' go on the same line as the closing brace", 6, 5),
    case("expression-statement", M + "    relu(x)\n    return x\n}\n",
         ParseError, "a statement must be an input, an assignment, if, for, return, assert, constrain or tie", 3, 9),
    case("positional-after-keyword", M + "    fc = Linear(4, bias=false, 8)\n    return fc(x)\n}\n",
         ParseError, "a positional argument cannot follow keyword arguments", 3, 32),
    case("constrain-at-top-level", "constrain params <= 5\n",
         ParseError, "unexpected 'constrain'; expected 'block', 'model' or 'space'", 1, 1),
    case("top-level-assignment", "x = 1\n",
         ParseError, "only definitions may appear at the top level", 1, 1),
    case("dangling-operator", "let a = 1 +\n",
         ParseError, "unexpected end of line", 1, 12),

    # ---- names --------------------------------------------------------------------------------
    case("unknown-op", M + "    fc = Linaer(4, 8)\n    return fc(x)\n}\n",
         ArchNameError, "unknown name 'Linaer'; did you mean 'Linear'?", 3, 10),
    case("unknown-local", M + "    hidden = relu(x)\n    return hiden\n}\n",
         ArchNameError, "unknown name 'hiden'; did you mean 'hidden'?", 4, 12),
    case("unknown-name-unused-block",
         "block Unused() {\n    input x: [B, 4]\n    return relu(y)\n}\n" + M + "    return x\n}\n",
         ArchNameError, "unknown name 'y'", 3, 17),
    case("unknown-block-kwarg",
         "block A(c: int) {\n    input x: [B, c]\n    return x\n}\n" + M + "    a = A(4, d=3)\n    return a(x)\n}\n",
         ArchTypeError, "A has no parameter 'd' (its parameters: c)", 7, 14),
    case("misspelt-block-kwarg",
         "block A(channels: int) {\n    input x: [B, channels]\n    return x\n}\n" + M + "    a = A(chanels=4)\n    return a(x)\n}\n",
         ArchTypeError, "A has no parameter 'chanels'; did you mean 'channels'?", 7, 11),
    case("unknown-op-kwarg", M + "    fc = Linear(4, 8, biass=false)\n    return fc(x)\n}\n",
         ArchTypeError, "biass", 3, 23),
    case("unknown-type", "block A(c: integer) {\n    input x: [B, c]\n    return x\n}\n",
         ArchTypeError, "unknown type 'integer'; did you mean 'int'?", 1, 12),
    case("unknown-module-member", "let k = 1\n" + M + "    a = std.Nope(4)\n    return x\n}\n",
         ArchNameError, "unknown name 'std'", 4, 9),

    # ---- arity and types ----------------------------------------------------------------------
    case("too-many-args",
         "block A(c: int) {\n    input x: [B, c]\n    return x\n}\n" + M + "    a = A(4, 5)\n    return a(x)\n}\n",
         ArchTypeError, "A takes 1 argument, got 2", 7, 9),
    case("missing-arg",
         "block A(c: int, d: int) {\n    input x: [B, c]\n    return x\n}\n" + M + "    a = A(4)\n    return a(x)\n}\n",
         ArchTypeError, "A is missing argument 'd'", 7, 9),
    case("op-missing-arg", M + "    fc = Linear(4)\n    return fc(x)\n}\n",
         ArchTypeError, "Linear is missing required argument 'out_features'", 3, 10),
    case("argument-twice",
         "block A(c: int) {\n    input x: [B, c]\n    return x\n}\n" + M + "    a = A(4, c=4)\n    return a(x)\n}\n",
         ArchTypeError, "A got two values for 'c'", 7, 14),
    case("wrong-param-type",
         "block A(c: int) {\n    input x: [B, c]\n    return x\n}\n" + M + '    a = A("four")\n    return a(x)\n}\n',
         ArchTypeError, "A: parameter 'c' is int, got string 'four'", 7, 9),
    case("wrong-list-element-type",
         "block A(ws: list[int]) {\n    input x: [B, 4]\n    return x\n}\n" + M + "    a = A([1, 2.5])\n    return a(x)\n}\n",
         ArchTypeError, "parameter 'ws' is list[int], got list of 2", 7, 9),
    case("wrong-default-type", "block A(c: int = true) {\n    input x: [B, 4]\n    return x\n}\nmodel M = A()\n",
         ArchTypeError, "A: parameter 'c' is int, got bool true", 1, 18),
    case("condition-not-bool", M + "    if 3 {\n        x = x\n    }\n    return x\n}\n",
         ArchTypeError, "condition must be true or false, got int 3", 3, 8),
    case("layer-applied-to-number", M + "    fc = Linear(4, 4)\n    return fc(3)\n}\n",
         ArchTypeError, "a layer is applied to tensors, got int 3", 4, 15),
    case("layer-constructed-with-tensor", M + "    return Linear(x, 4)\n}\n",
         ArchTypeError, "Linear is a layer: construct it first, then apply it", 3, 12),
    case("string-plus-int", M + '    s = "a" + 1\n    return x\n}\n',
         ArchTypeError, "operator '+' needs numbers, got string 'a'", 3, 9),
    case("division-by-zero", M + "    k = 4 // 0\n    return x\n}\n",
         ArchTypeError, "division by zero", 3, 14),
    case("index-out-of-range", M + "    k = [1, 2][5]\n    return x\n}\n",
         ArchTypeError, "index 5 is out of range for list of 2", 3, 16),
    case("tensor-in-list", M + "    k = x in [x]\n    return x\n}\n",
         ArchTypeError, "tensors and layers cannot be compared", 3, 9),
    case("complex-power", M + "    k = (-8) ** (1 / 3)\n    return x\n}\n",
         ArchTypeError, "is not a real number", 3, 10),  # the span starts inside `(-8)`
    case("range-step-zero", M + "    k = range(1, 5, 0)\n    return x\n}\n",
         ArchTypeError, "range step must not be zero", 3, 9),
    case("too-many-tensors", M + "    return relu(x, x)\n}\n",
         ArchTypeError, "relu takes 1 tensor input (x), got more", 3, 12),
    case("variadic-tensors-not-in-a-list", M + "    return cat(x, x, dim=1)\n}\n",
         ArchTypeError, "cat takes its tensors as one list", 3, 12),
    case("cat-of-nothing", M + "    return cat([], dim=0)\n}\n",
         ArchTypeError, "at least one tensor", 3, 12),
    case("failed-assert", M + '    assert 2 + 2 == 5, "arithmetic is broken"\n    return x\n}\n',
         ArchError, "arithmetic is broken", 3, 12),
    case("return-not-tensor", M + "    return 3\n}\n",
         ArchTypeError, "a block returns tensors, got int 3", 3, 12),
    case("no-return", "model M() {\n    input x: [B, 4]\n    y = relu(x)\n}\n",
         ArchTypeError, "model M never returns a value", 1, 1),

    # ---- shapes -------------------------------------------------------------------------------
    case("conv-channels-in-nested-block",
         """
         block Basic(cin: int, cout: int) {
             input x: [B, cin, H, W]
             conv1 = Conv2d(cout, cout, 3, padding=1)
             return conv1(x)
         }
         model Model() {
             input x: [B, 3, 32, 32]
             stem = Conv2d(3, 16, 3, padding=1)
             layer = Sequential([Basic(16, 32) for i in range(2)])
             return layer(stem(x))
         }
         """,
         ShapeError, "Conv2d expects 32 input channels, got input float32[B, 16, 32, 32]", 4, 12,
         note="in Model › layer › 0 › conv1"),
    case("linear-features", M + "    a = Linear(4, 5)\n    b = Linear(4, 6)\n    return b(a(x))\n}\n",
         ShapeError, "Linear expects 4 input features in the last dim, got input float32[B, 5]", 5, 12,
         note="in M › b"),
    case("broadcast", "model M() {\n    input x: [B, 3]\n    input y: [B, 4]\n    return x + y\n}\n",
         ShapeError, "cannot broadcast [B, 3] with [B, 4] (dim 1: 3 vs 4)", 4, 12),
    case("reshape-elements", "model M() {\n    input x: [2, 3]\n    return reshape(x, (4, 2))\n}\n",
         ShapeError, "cannot reshape float32[2, 3] (6 elements) into [4, 2] (8 elements)", 3, 12),
    case("matmul-inner", "model M() {\n    input x: [2, 3]\n    input y: [4, 5]\n    return x @ y\n}\n",
         ShapeError, "matmul: cannot multiply float32[2, 3] by float32[4, 5]: inner sizes 3 vs 4", 4, 12),
    case("cat-sizes", "model M() {\n    input x: [B, 3, 8]\n    input y: [B, 4, 9]\n    return cat([x, y], dim=1)\n}\n",
         ShapeError, "cat", 4, 12),
    case("input-rank-from-caller",
         "block A() {\n    input x: [B, C, H, W]\n    return x\n}\n" + M + "    a = A()\n    return a(x)\n}\n",
         ShapeError, "input x of A expects [B, C, H, W], got float32[B, 4] (rank 4 expected, got rank 2)", 2, 11,
         note="in M › a"),
    case("entry-input-size",
         "model M() {\n    input x: [B, 3, H, W]\n    return x\n}\n",
         ShapeError, "input x of M expects [B, 3, H, W], got float32[1, 4, 8, 8] (dim 1: expected 3, got 4)", 2, 11,
         entry="M", inputs={"x": (1, 4, 8, 8)}),

    # ---- definitions --------------------------------------------------------------------------
    case("duplicate-definition",
         "block A() {\n    input x: [B, 4]\n    return x\n}\nblock A() {\n    input x: [B, 4]\n    return x\n}\n",
         ArchNameError, "'A' is defined twice in this file", 5, 1),
    case("duplicate-let", "let a = 1\nlet a = 2\n",
         ArchNameError, "'a' is defined twice in this file", 2, 5),
    case("member-reassigned", M + "    fc = Linear(4, 4)\n    fc = Linear(4, 4)\n    return fc(x)\n}\n",
         ArchNameError, "'fc' is already a member (declared at 3:5); members cannot be reassigned", 4, 5),
    case("duplicate-parameter", "block A(c: int, c: int) {\n    input x: [B, c]\n    return x\n}\n",
         ArchNameError, "parameter 'c' is declared twice", 1, 17),
    case("builtin-redefined", "block relu() {\n    input x: [B, 4]\n    return x\n}\n",
         ArchNameError, "'relu' is a builtin of the language", 1, 1),
    case("let-cycle", "let a = b + 1\nlet b = a + 1\n",
         ArchNameError, "is defined in terms of itself", 1, 5),
    case("duplicate-input", "model M() {\n    input x: [B, 4]\n    input x: [B, 8]\n    return x\n}\n",
         ArchNameError, "input 'x' is declared twice", 3, 11),
    case("negative-input-size", "model M() {\n    input x: [-1, 4]\n    return x\n}\n",
         ShapeError, "a dimension cannot be negative, got -1", 2, 15),
    case("input-inside-if", M + "    if true {\n        input y: [B, 4]\n    }\n    return x\n}\n",
         ArchTypeError, "inputs are declared at the top level of a block body", 4, 15),

    # ---- imports ------------------------------------------------------------------------------
    case("import-missing-file", 'import "nonexistent.arch"\n' + M + "    return x\n}\n",
         ArchImportError, "no such file", 1, 8),
    case("import-escapes-folder", 'import "../x.arch"\n' + M + "    return x\n}\n",
         ArchImportError, "import of '../x.arch' leaves the spec's folder", 1, 8),
    case("import-not-arch", 'import "notes.txt"\n' + M + "    return x\n}\n",
         ArchImportError, "only .arch files can be imported", 1, 8, files={"notes.txt": "hello\n"}),
    case("import-unknown-library", "import numpy\n" + M + "    return x\n}\n",
         ArchImportError, "unknown library 'numpy'", 1, 8),
    case("import-unknown-name", 'from "lib.arch" import Lni\n' + M + "    return x\n}\n",
         ArchImportError, "'lib.arch' defines no 'Lni'; did you mean 'Lin'?", 1, 24,
         files={"lib.arch": "block Lin() {\n    input x: [B, 4]\n    return x\n}\n"}),
    case("import-cycle", 'import "a.arch"\n' + M + "    return x\n}\n",
         ArchImportError, "import cycle: a.arch → b.arch → a.arch", 1, 8,
         files={"a.arch": 'import "b.arch"\n', "b.arch": 'import "a.arch"\n'}),
    case("import-self", 'import "main.arch"\n' + M + "    return x\n}\n",
         ArchImportError, "import cycle: main.arch → main.arch", 1, 8),
    case("module-has-no-name", 'import "lib.arch" as lib\n' + M + "    a = lib.Nope()\n    return x\n}\n",
         ArchNameError, "has no definition named 'Nope'", 4, 9,
         files={"lib.arch": "block Lin() {\n    input x: [B, 4]\n    return x\n}\n"}),
    case("error-inside-imported-file", 'from "lib.arch" import Lin\n' + M + "    return x\n}\n",
         ArchNameError, "unknown name 'Linar'; did you mean 'Linear'?", 3, 10,
         files={"lib.arch": "block Lin() {\n    input x: [B, 4]\n    fc = Linar(4, 4)\n    return fc(x)\n}\n"}),

    # ---- search spaces ------------------------------------------------------------------------
    case("model-with-free-choice", M + "    fc = Linear(4, choice(8, 16))\n    return fc(x)\n}\n",
         SpaceError, "model M has 1 free choice (fc.out_features)", 1, 1),
    case("label-with-different-options",
         "space S() {\n    input x: [B, 4]\n    a = Linear(4, choice(8, 16, label=\"w\"))\n"
         "    b = Linear(choice(8, 32, label=\"w\"), 2)\n    return b(a(x))\n}\n",
         SpaceError, "choice label 'w' is shared by choices with different options ((8, 16) vs (8, 32))", 4, 16),
    case("for-over-searched-range",
         "space S() {\n    input x: [B, 4]\n    for i in range(choice(1, 2)) {\n        x = relu(x)\n    }\n    return x\n}\n",
         SpaceError, "a for loop cannot run a searched number of times", 3, 14),
    case("entry-branches-on-its-own-choice",
         "space S() {\n    input x: [B, 4]\n    k = choice(2, 3)\n    if k == 2 {\n        x = relu(x)\n    }\n    return x\n}\n",
         SpaceError, "this depends on the search choice 'k' made in the same block", 4, 8),
    case("block-branches-on-its-own-choice",
         "block A() {\n    input x: [B, 4]\n    k = choice(2, 3)\n    assert k > 1\n    return x\n}\n"
         "space S() {\n    input x: [B, 4]\n    a = A()\n    return a(x)\n}\n",
         SpaceError, "this depends on the search choice 'a.k' made in the same block", 4, 12),
    case("let-branches-on-a-choice", "let w = choice(2, 3)\nlet v = 1 if w == 2 else 3\n",
         SpaceError, "this depends on the search choice", 2, 14),
    case("choice-mixing-layers-and-values",
         "space S() {\n    input x: [B, 4]\n    a = choice(ReLU(), 3)\n    return a(x)\n}\n",
         ArchTypeError, "a choice mixes layers and values", 3, 9),

    # ---- limits (more in test_limits.py) ------------------------------------------------------
    case("huge-range", M + "    k = range(10 ** 9)\n    return x\n}\n",
         LimitError, "range of 1,000,000,000 elements exceeds the limit", 3, 9),
]


@pytest.mark.parametrize("text,kind,message,line,col,files,note,entry,elaborate", CASES)
def test_error(arch, text, kind, message, line, col, files, note, entry, elaborate):
    with pytest.raises(ArchError) as info:
        program = arch.load(text, files)
        if entry is not None:
            program.elaborate(entry, **elaborate)
    error = info.value
    located = [d for d in error.diagnostics if message in d.message]
    assert located, f"no diagnostic says {message!r}; got:\n{error}"
    d = located[0]
    assert (d.line, d.col) == (line, col), f"{message!r} reported at {d.line}:{d.col}, expected {line}:{col}"
    leaf = next(e for e in leaves(error) if any(message in x.message for x in e.diagnostics))
    assert isinstance(leaf, kind), f"{type(leaf).__name__} instead of {kind.__name__}: {error}"
    assert d.span.file.endswith(".arch") or d.span.file.startswith("std/")
    if note is not None:
        assert note in d.notes, f"notes {d.notes} lack {note!r}"


def test_channel_mismatch_names_both_shapes_and_the_chain(arch):
    """The conv mismatch message a person needs: what was expected, what arrived, and where."""
    text = src("""
        block Basic(cin: int, cout: int) {
            input x: [B, cin, H, W]
            conv1 = Conv2d(cout, cout, 3, padding=1)
            return conv1(x)
        }
        model Model() {
            input x: [B, 3, 32, 32]
            stem = Conv2d(3, 16, 3, padding=1)
            layer = Sequential([Basic(16, 32) for i in range(2)])
            return layer(stem(x))
        }
    """)
    with pytest.raises(ShapeError) as info:
        arch.load(text)
    rendered = render_error(info.value)
    assert "32 input channels" in rendered and "float32[B, 16, 32, 32]" in rendered
    assert "note: in Model › layer › 0 › conv1" in rendered
    assert len(info.value.diagnostics) == 1  # the same block instance is not reported twice


# ---- several errors in one run -------------------------------------------------------------


def test_independent_errors_are_reported_together(arch):
    text = src("""
        block A() {
            input x: [B, 4]
            return relu(y)
        }
        block C(n: integr) {
            input x: [B, 4]
            return x
        }
        model M() {
            input x: [B, 4]
            return tanh(z)
        }
    """)
    with pytest.raises(ArchError) as info:
        arch.load(text)
    found = sorted((d.line, d.col, d.message) for d in info.value.diagnostics)
    assert [(line, col) for line, col, _ in found] == [(3, 17), (5, 12), (11, 17)]
    assert "unknown name 'y'" in found[0][2] and "unknown type 'integr'" in found[1][2]
    assert {type(e) for e in leaves(info.value)} == {ArchNameError, ArchTypeError}


def test_errors_in_several_statements_and_models(arch):
    text = src("""
        model M1() {
            input x: [B, 4]
            a = Linear(5, 2)
            y = a(x)
            b = Linear(4, 3)
            z = b(x + Linear(4, 6)(x))
            return y
        }
        model M2() {
            input x: [2, 3]
            return reshape(x, (7,))
        }
    """)
    with pytest.raises(ArchError) as info:
        arch.load(text)
    lines = sorted(d.line for d in info.value.diagnostics)
    assert lines == [4, 6, 11], info.value
    assert all(isinstance(e, ShapeError) for e in leaves(info.value))
    assert render_error(info.value).endswith("\n3 errors")


def test_a_failed_definition_is_reported_once(arch):
    """Statements using a name whose definition failed report nothing more (no cascade)."""
    text = src("""
        space S() {
            input x: [B, 4]
            h = Linaer(4, 4)(x)
            a = relu(h)
            b = tanh(h)
            p, q = choose(2, [a, b, h])
            return p + q
        }
    """)
    with pytest.raises(ArchError) as info:
        arch.load(text)
    assert [(d.line, d.message) for d in info.value.diagnostics] == [
        (3, "unknown name 'Linaer'; did you mean 'Linear'?")]


def test_elaboration_errors_name_every_broken_model(arch):
    text = src("""
        block Bad(c: int) {
            input x: [B, c]
            fc = Linear(c + 1, c)
            return fc(x)
        }
        model M1 = Bad(4)
        model M2 = Bad(8)
    """)
    with pytest.raises(ArchError) as info:
        arch.load(text)
    notes = sorted(n for d in info.value.diagnostics for n in d.notes)
    assert notes == ["in M1 › fc", "in M2 › fc"]


# ---- render_error ---------------------------------------------------------------------------


def test_render_error_format(arch):
    text = "model M() {\n    input x: [B, 4]\n    fc = Linaer(4, 8)\n    return fc(x)\n}\n"
    with pytest.raises(ArchError) as info:
        arch.load(text)
    rendered = render_error(info.value)
    lines = rendered.splitlines()
    assert re.fullmatch(r".*main\.arch:3:10: error: unknown name 'Linaer'; did you mean 'Linear'\?", lines[0])
    assert lines[1] == "      fc = Linaer(4, 8)"
    assert lines[2] == "           ^~~~~~"  # under the column, as wide as the name
    assert lines[2].index("^") == lines[1].index("Linaer")
    assert "\x1b[" not in rendered


def test_render_error_notes_and_colour(arch):
    text = "model M() {\n    input x: [B, 4]\n    fc = Linear(5, 8)\n    return fc(x)\n}\n"
    with pytest.raises(ArchError) as info:
        arch.load(text)
    plain = render_error(info.value)
    assert plain.splitlines()[-1] == "  note: in M › fc"
    coloured = render_error(info.value, color=True)
    assert "\x1b[31m" in coloured and re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_render_error_at_end_of_file(arch):
    with pytest.raises(ParseError) as info:
        arch.load("let a = (1 + 2\n")
    lines = render_error(info.value).splitlines()
    assert lines[0].endswith("main.arch:1:15: error: expected ')' to close the parenthesis opened at 1:9")
    assert lines[1] == "  let a = (1 + 2"
    assert lines[2] == "  " + " " * 14 + "^"


def test_render_error_with_tabs(arch):
    with pytest.raises(ArchError) as info:
        arch.load("model M() {\n\tinput x: [B, 4]\n\treturn nope\n}\n")
    lines = render_error(info.value).splitlines()
    assert lines[0].endswith(":3:9: error: unknown name 'nope'")
    assert lines[1] == "      return nope"  # the tab expanded to 4 columns
    assert lines[2].index("^") == lines[1].index("nope")


def test_render_error_orders_diagnostics_and_counts_them(arch):
    text = "model M() {\n    input x: [B, 4]\n    a = b1\n    c = d2\n    return x\n}\n"
    with pytest.raises(ArchError) as info:
        arch.load(text)
    rendered = render_error(info.value)
    heads = [line for line in rendered.splitlines() if ": error: " in line]
    assert [h.split(":")[-4:-2] for h in heads] == [["3", "9"], ["4", "9"]]
    assert rendered.endswith("\n2 errors")


def test_str_of_an_error_is_its_located_messages(arch):
    with pytest.raises(ArchError) as info:
        arch.load("model M() {\n    input x: [B, 4]\n    return y\n}\n")
    assert re.fullmatch(r".*main\.arch:3:12: error: unknown name 'y'", str(info.value))
