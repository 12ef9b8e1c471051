"""Resource limits: hostile or mistaken specs fail fast with a located LimitError.

Each case must raise a ``LimitError`` (unless another error is the documented answer, e.g.
recursion through ``let``), located on the line that causes it, in well under 2 s and without
Python's own RecursionError or MemoryError.  Limits are read from ``archlang.errors.limits.LIMITS``;
a few tests shrink them (the ``_default_limits`` fixture in conftest restores them).
"""

from __future__ import annotations

import pytest
from _timing import cpu_budget

from archlang.errors import ArchError, ArchNameError, LimitError
from archlang.errors.limits import LIMITS

# CPU seconds: a limit trips in well under 0.5 s of work on the project's machine (5×+ margin)
CPU_LIMIT = 2.5


def model(body: str) -> str:
    return "model M() {\n    input x: [B, 4]\n" + body + "\n    return x\n}\n"


def raises_within(arch, text: str, kind=LimitError, files=None) -> tuple[ArchError, float]:
    with cpu_budget(CPU_LIMIT, "reaching the limit") as spent, pytest.raises(ArchError) as info:
        arch.load(text, files)
    elapsed = spent.seconds
    error = info.value
    leaves = list(getattr(error, "errors", [error]))
    assert any(isinstance(e, kind) for e in leaves), f"{type(error).__name__} instead of {kind.__name__}: {error}"
    return error, elapsed


def located(error: ArchError, kind=LimitError):
    leaf = next(e for e in getattr(error, "errors", [error]) if isinstance(e, kind))
    return leaf.span.line, leaf.span.col, leaf.message


CASES = [
    # (id, spec, line, col, message fragment)
    ("deep-parentheses", model("    a = " + "(" * 200 + "1" + ")" * 200), 3, 72, "brackets nested more than 64 deep"),
    ("deep-lists", model("    a = " + "[" * 100 + "1" + "]" * 100), 3, 72, "brackets nested more than 64 deep"),
    # the model's `{` is the first bracket: the 64th `(` is the 65th level
    ("deep-calls", model("    a = " + "abs(" * 100 + "1" + ")" * 100), 3, 12 + 4 * 63, "brackets nested more than 64 deep"),
    ("deep-braces", "model M() {\n    input x: [B, 4]\n" + "    if true {\n" * 100 + "    }\n" * 100 + "    return x\n}\n",
     66, 13, "brackets nested more than 64 deep"),
    ("long-sum", model("    a = 1" + " + 1" * 5000), 3, 9, "expression nested more than 150 deep"),
    ("long-product", model("    a = 1" + " * 2" * 5000), 3, 9, "expression nested more than 150 deep"),
    ("long-and", model("    a = true" + " and true" * 5000), 3, 9, "expression nested more than 150 deep"),
    ("power-tower", model("    a = 1" + " ** 1" * 1000), 3, None, "expression nested more than 150 deep"),
    ("unary-minus-chain", model("    a = " + "-" * 5000 + "1"), 3, None, "expression nested more than 150 deep"),
    ("not-chain", model("    a = " + "not " * 5000 + "true"), 3, None, "expression nested more than 150 deep"),
    ("ternary-chain", model("    a = " + "1 if true else " * 500 + "2"), 3, None, "expression nested more than 150 deep"),
    ("attribute-chain", model("    a = x" + ".shape" * 500), 3, 9, "expression nested more than 150 deep"),
    ("subscript-chain", model("    a = x" + "[0]" * 500), 3, None, "expression nested more than 150 deep"),
    ("huge-range", model("    a = range(10**9)"), 3, 9, "range of 1,000,000,000 elements exceeds the limit"),
    ("huge-range-literal", model("    a = [i for i in range(1000000000)]"), 3, 21, "range of 1,000,000,000 elements"),
    ("range-overflowing-len", model("    a = range(-2**62, 2**62)"), 3, 9, "exceeds the limit"),
    ("huge-repeat-in-sequential", model("    s = Sequential([ReLU() for i in range(10**9)])"), 3, 37, "range of"),
    ("huge-power", model("    a = 2 ** 100000"), 3, 9, "2 ** 100000 exceeds the 64-bit integer limit"),
    ("power-of-power", model("    a = 2 ** 2 ** 2 ** 2 ** 2"), 3, 9, "exceeds the 64-bit integer limit"),
    ("huge-product", model("    a = 4294967296 * 4294967296"), 3, 9, "exceeds the 64-bit limit"),
    ("huge-literal", model("    a = " + "9" * 5000), 3, 9, "integer literal exceeds the 64-bit limit"),
    ("huge-literal-small", model("    a = 99999999999999999999999"), 3, 9, "integer literal exceeds the 64-bit limit"),
    ("float-literal-overflow", model("    a = 1e999"), 3, 9, "too large for a float"),
    ("int-of-a-huge-float", model("    a = int(1e300)"), 3, 9, "int() gives an integer beyond the 64-bit limit"),
    ("round-of-a-huge-float", model("    a = round(1e300)"), 3, 9, "round() gives an integer beyond the 64-bit limit"),
    ("string-bomb", model('    a = "abc" * 10**9'), 3, 9, "repetition builds 3,000,000,000 elements; the limit is 10,000"),
    # BUG (syntax): a list literal's span starts at its first item, not at its `[` (col 10, not 9)
    ("list-bomb", model("    a = [0] * 10**9"), 3, None, "repetition builds 1,000,000,000 elements"),
    ("string-doubling", model('    a = "x" * 9000\n    b = a + a'), 4, 9, "string of 18,000 characters exceeds"),
    ("list-doubling", model("    a = [0] * 9000\n    b = a + a"), 4, 9, "list of 18,000 elements exceeds"),
    ("nested-comprehension-bomb", model("    a = [[j for j in range(10000)] for i in range(10000)]"), 3, None,
     "elaboration ran more than"),
    ("nested-loop-bomb",
     model("    n = 0\n    for i in range(10000) {\n        for j in range(10000) {\n            n = n + 1\n        }\n    }"),
     6, 13, "elaboration ran more than"),
    ("recursive-block",
     "block A(n: int) {\n    input x: [B, 4]\n    a = A(n + 1)\n    return a(x)\n}\nmodel M = A(0)\n",
     4, 12, "block calls nested more than 48 deep (is A recursive without end?)"),
    ("recursive-block-same-args",
     "block A() {\n    input x: [B, 4]\n    a = A()\n    return a(x)\n}\nmodel M = A()\n",
     4, 12, "block calls nested more than 48 deep"),
    ("mutual-recursion",
     "block A() {\n    input x: [N, 4]\n    b = Bb()\n    return b(x)\n}\n"
     "block Bb() {\n    input x: [N, 4]\n    a = A()\n    return a(x)\n}\nmodel M = A()\n",
     None, 12, "block calls nested more than 48 deep"),
    ("recursive-layer-factory",
     "block F(n: int) {\n    return F(n + 1)\n}\nmodel M() {\n    input x: [B, 4]\n    f = F(0)\n    return f(x)\n}\n",
     None, None, "nested more than"),
    ("recursion-in-sequential",
     "block A(n: int) {\n    input x: [B, 4]\n    s = Sequential(A(n + 1), ReLU())\n    return s(x)\n}\nmodel M = A(0)\n",
     3, 20, "block calls nested more than 48 deep"),  # at the recursive `A(n + 1)` item
]


@pytest.mark.parametrize("text,line,col,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_limit(arch, text, line, col, message):
    error, _ = raises_within(arch, text)
    got_line, got_col, got_message = located(error)
    assert message in got_message, got_message
    if line is not None:
        assert got_line == line, f"reported at line {got_line}: {got_message}"
    else:  # only the line is certain to be one of the spec's
        assert 1 <= got_line <= text.count("\n") + 1
    if col is not None:
        assert got_col == col, f"reported at column {got_col}: {got_message}"


def test_recursion_through_let_is_a_name_error(arch):
    """``let`` cycles are the documented NameError, found without recursing."""
    error, _ = raises_within(arch, "let a = b + 1\nlet b = c * 2\nlet c = a\n", kind=ArchNameError)
    assert "is defined in terms of itself" in str(error)


def test_max_nodes(arch, monkeypatch):
    monkeypatch.setattr(LIMITS, "max_nodes", 50)
    text = model("    fc = Linear(4, 4)\n" + "".join("    x = fc(x)\n" for _ in range(60)))
    error, _ = raises_within(arch, text)
    line, col, message = located(error)
    assert message == "the model elaborates to more than 50 nodes"
    # the 51st node: the input is the first, so the 50th application of fc (line 4 + 49)
    assert (line, col) == (53, 5 + len("x = "))


def test_max_nodes_counts_rolled_repeats_once(arch, monkeypatch):
    """A rolled run of identical layers is one node: a deep but repetitive model fits."""
    monkeypatch.setattr(LIMITS, "max_nodes", 50)
    program = arch.load(model("    s = Sequential([Linear(4, 4) for i in range(1000)])\n    x = s(x)"))
    (m,) = program.check()
    assert m.graph.member("s").members[-1][0] == "999"


def test_max_call_depth_is_configurable(arch, monkeypatch):
    monkeypatch.setattr(LIMITS, "max_call_depth", 3)
    blocks = "".join(
        f"block L{i}() {{\n    input x: [B, 4]\n    inner = L{i + 1}()\n    return inner(x)\n}}\n" for i in range(4)
    ) + "block L4() {\n    input x: [B, 4]\n    return x\n}\nmodel M = L0()\n"
    error, _ = raises_within(arch, blocks)
    line, _, message = located(error)
    assert "block calls nested more than 3 deep" in message
    assert line == 14  # `return inner(x)` of L2, the call that would be the 4th level


def test_max_loop_steps_is_configurable(arch, monkeypatch):
    monkeypatch.setattr(LIMITS, "max_loop_steps", 100)
    text = model("    n = 0\n    for i in range(1000) {\n        n = n + i\n    }")
    error, _ = raises_within(arch, text)
    assert located(error)[:2] == (5, 9)


def test_max_repeat_is_configurable(arch, monkeypatch):
    monkeypatch.setattr(LIMITS, "max_repeat", 10)
    error, _ = raises_within(arch, model("    s = Sequential([ReLU() for i in range(11)])"))
    assert located(error) == (3, 37, "range of 11 elements exceeds the limit of 10")
    arch.load(model("    s = Sequential([ReLU() for i in range(10)])"))  # at the limit: fine


def test_max_str_len_is_configurable(arch, monkeypatch):
    monkeypatch.setattr(LIMITS, "max_str_len", 5)
    error, _ = raises_within(arch, model('    s = "ab" + "cdef"'))
    assert located(error)[:2] == (3, 9)


def test_max_int_bits_is_configurable(arch, monkeypatch):
    monkeypatch.setattr(LIMITS, "max_int_bits", 16)
    error, _ = raises_within(arch, model("    a = 300 * 300"))
    assert "exceeds the 16-bit limit" in located(error)[2]
    arch.load(model("    a = 2 ** 15"))  # 16 bits: fine


def test_limits_inside_a_searched_space(arch):
    """A space's choices do not multiply work: 2**1000 architectures, each option elaborated once."""
    text = (
        "space S() {\n    input x: [B, 4]\n"
        "    blocks = Sequential([choice(ReLU(), Tanh()) for i in range(choice(1, 1000, label=\"n\"))])\n"
        "    return blocks(x)\n}\n"
    )
    with cpu_budget(CPU_LIMIT, "elaborating a space of 2**1000 architectures"):
        (m,) = arch.load(text).check()
    assert len(m.choices) == 1001


def test_limit_errors_stop_elaboration_at_once(arch):
    """A LimitError is not collected with other errors: later statements are not run."""
    text = model("    a = range(10**9)\n    b = Linear(3, 4)(x)\n    c = range(10**9)")
    with pytest.raises(ArchError) as info:
        arch.load(text)
    limit_lines = [d.line for d in info.value.diagnostics if "exceeds the limit" in d.message]
    assert limit_lines == [3]


def test_default_limits_are_sane():
    """The defaults a user gets: generous for real models, small enough to fail fast."""
    assert LIMITS.max_nesting >= 32 and LIMITS.max_expr_depth >= 100
    assert 1_000 <= LIMITS.max_repeat <= 100_000
    assert LIMITS.max_int_bits >= 63
    assert LIMITS.max_call_depth >= 32
    assert LIMITS.max_loop_steps >= 100_000


def test_realistic_deep_model_is_within_limits(arch):
    """A 200-layer transformer-sized stack elaborates well within every limit."""
    text = (
        "block Layer(d: int) {\n    input x: [B, T, d]\n    ln = LayerNorm(d)\n    fc1 = Linear(d, 4 * d)\n"
        "    fc2 = Linear(4 * d, d)\n    return x + fc2(gelu(fc1(ln(x))))\n}\n"
        "model M() {\n    input x: [B, T, 64]\n"
        "    layers = Sequential([Layer(64) for i in range(200)])\n    return layers(x)\n}\n"
    )
    with cpu_budget(CPU_LIMIT, "elaborating 200 layers"):
        (m,) = arch.load(text).check()
    assert [(n.repeat, n.op) for n in m.graph.nodes if n.kind == "call"] == [(1, "Sequential")]
