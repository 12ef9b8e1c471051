"""Tests for archlang.ir.dims: canonical forms, printing, proofs, and property tests that the
canonical form always evaluates like plain Python integer arithmetic."""

from __future__ import annotations

import ast
import copy
import operator
import pickle

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from archlang.ir import dims
from archlang.ir.dims import Expr, dmax, dmin, exact_div, prove_equal, prove_positive, select, sym

B, T, C, H, W = (sym(n) for n in "BTCHW")
k = sym("k", (3, 5, 7))
s2 = sym("s", (1, 2))

# --------------------------------------------------------------------------- printing

STR_CASES = [
    (lambda: B * T, "B*T"),
    (lambda: C * H * W, "C*H*W"),
    (lambda: W * H * C, "C*H*W"),
    (lambda: (H - 1) // 2, "(H + 1)//2 - 1"),
    (lambda: (H - 1) // 2 + 1, "(H + 1)//2"),
    (lambda: (2 * H + 3) // 2, "H + 1"),
    (lambda: dmax(B, T), "max(B, T)"),
    (lambda: dmin(T, B), "min(B, T)"),
    (lambda: H + 1, "H + 1"),
    (lambda: 1 - H, "1 - H"),
    (lambda: W - H, "W - H"),
    (lambda: -H, "-H"),
    (lambda: -(H // 2), "-(H//2)"),
    (lambda: B * (H // 2), "B*(H//2)"),
    (lambda: 3 * (H // 2), "3*(H//2)"),
    (lambda: H - H // 2, "H - H//2"),
    (lambda: (B * H) // 2, "(B*H)//2"),
    (lambda: H // (2 * k), "H//(2*k)"),
    (lambda: H % 2, "H%2"),
    (lambda: (H + 1) % 3, "(H + 1)%3"),
    (lambda: H * H, "H*H"),
    (lambda: 768 * B, "768*B"),
    (lambda: select("op", [3, 5, 7]), "select(op, [3, 5, 7])"),
    (lambda: dmax(H, 2) // 2, "max(2, H)//2"),
]


@pytest.mark.parametrize("build,text", STR_CASES)
def test_str(build, text):
    e = build()
    assert str(e) == text
    assert dims.to_str(e) == text


def test_str_of_int_and_repr():
    assert dims.to_str(7) == "7"
    assert repr(B * T) == "Expr('B*T')"


# --------------------------------------------------------------------------- canonical equality

EQUAL_CASES = [
    (lambda: (H + 2 * 1 - 1 * (3 - 1) - 1) // 1 + 1, lambda: H),
    (lambda: (H + 2 - 3) // 2 + 1, lambda: (H - 1) // 2 + 1),  # ResNet 3x3/s2 == 1x1/s2 branch
    (lambda: (H + 0 - 1) // 2 + 1, lambda: (H + 2 - 3) // 2 + 1),
    (lambda: B * T * C, lambda: C * (T * B)),
    (lambda: (B + T) * (B - T), lambda: B * B - T * T),
    (lambda: (H // 2) // 2, lambda: H // 4),
    (lambda: ((H + 1) // 2 - 1) // 2 + 1, lambda: (H + 3) // 4),
    (lambda: (H // 2 + W) // 2, lambda: (H + 2 * W) // 4),
    (lambda: (2 * H + 2) // 4, lambda: (H + 1) // 2),
    (lambda: (2 * H + 2) % 4, lambda: 2 * ((H + 1) % 2)),
    (lambda: (H % 4) % 2, lambda: H % 2),
    (lambda: (B * T * C) // C, lambda: B * T),
    (lambda: dmax(H, H + 1), lambda: H + 1),
    (lambda: dmin(H // 2, (H + 1) // 2), lambda: H // 2),
    (lambda: dmax(dmax(B, T), C), lambda: dmax(C, dmax(T, B))),
    (lambda: dmax(k, 2), lambda: k),
    (lambda: H * 1 + 0, lambda: H),
    (lambda: -(-H), lambda: H),
    (lambda: H // -2, lambda: (-H) // 2),
    (lambda: select("op", [H, H]), lambda: H),
]


@pytest.mark.parametrize("left,right", EQUAL_CASES)
def test_equal_by_construction(left, right):
    a, b = left(), right()
    assert a == b
    assert hash(a) == hash(b)
    assert str(a) == str(b)


CONSTANT_CASES = [
    (lambda: H - H, 0),
    (lambda: (H * H) // H, None),  # not constant: H
    (lambda: (2 * H + 1) % 2, 1),
    (lambda: (4 * H) % 2, 0),
    (lambda: (H % 4) // 4, 0),
    (lambda: H * 0, 0),
    (lambda: dmax(3, 7), 7),
    (lambda: (k % 2) // 2, 0),
    (lambda: 12 // 4 + B - B, 3),
]


@pytest.mark.parametrize("build,value", CONSTANT_CASES)
def test_constant_results_are_ints(build, value):
    d = build()
    if value is None:
        assert isinstance(d, Expr)
        assert not dims.is_const(d)
    else:
        assert type(d) is int and d == value
        assert dims.is_const(d)


def test_int_arithmetic_stays_plain_int():
    assert type(dims.simplify(3)) is int
    assert type(dmax(3, 4)) is int and dmin(3, 4) == 3


def test_expr_is_immutable_and_unorderable():
    with pytest.raises(AttributeError):
        H._terms = ()
    for cmp in (operator.lt, operator.le, operator.gt, operator.ge):
        with pytest.raises(TypeError):
            cmp(H, 3)
        with pytest.raises(TypeError):
            cmp(3, H)
    with pytest.raises(TypeError):
        int(H)
    with pytest.raises(TypeError):
        Expr()
    assert H != "H" and H != 3


def test_division_by_zero_raises():
    with pytest.raises(ZeroDivisionError):
        H // 0
    with pytest.raises(ZeroDivisionError):
        H % 0


def test_pickle_and_copy_roundtrip():
    e = (H + 1) // 2 + dmax(B, k) + select("o", [B, 3]) + H % 3
    assert pickle.loads(pickle.dumps(e)) == e
    assert copy.deepcopy(e) == e


def test_sym_validation():
    with pytest.raises(ValueError):
        sym("")
    with pytest.raises(ValueError):
        sym("k", ())
    assert sym("k", (7, 3, 5, 3)) == k  # domains are sorted sets


# --------------------------------------------------------------------------- symbols, subs, evaluate


def test_symbols_and_free_symbols():
    e = B * H + k + select("op", [1, 2])
    assert dims.symbols(e) == {"B": None, "H": None, "k": (3, 5, 7), "op": (0, 1)}
    assert dims.free_symbols(e) == frozenset({"B", "H", "k", "op"})
    assert dims.symbols(5) == {} and dims.free_symbols(5) == frozenset()


SUBS_CASES = [
    (lambda: B * T, {"B": 2}, lambda: 2 * T),
    (lambda: (H + 1) // 2, {"H": 7}, lambda: 4),
    (lambda: (H + 1) // 2, {"H": 2 * W}, lambda: W),
    (lambda: dmax(B, T), {"T": B}, lambda: B),
    (lambda: select("op", [3, H, 7]), {"op": 1}, lambda: H),
    (lambda: H // k, {"k": 5}, lambda: H // 5),
    (lambda: B * T, {"X": 1}, lambda: B * T),
]


@pytest.mark.parametrize("build,mapping,expected", SUBS_CASES)
def test_subs(build, mapping, expected):
    assert dims.subs(build(), mapping) == expected()


EVAL_CASES = [
    (lambda: (H + 1) // 2, {"H": 7}, 4),
    (lambda: (H - 10) // 3, {"H": 1}, -3),
    (lambda: H % -3, {"H": 5}, -1),
    (lambda: dmax(B, T) * dmin(B, T), {"B": 2, "T": 5}, 10),
    (lambda: select("op", [3, 5, 7]) + k, {"op": 2, "k": 3}, 10),
]


@pytest.mark.parametrize("build,env,value", EVAL_CASES)
def test_evaluate(build, env, value):
    assert dims.evaluate(build(), env) == value


def test_evaluate_errors():
    with pytest.raises(KeyError):
        dims.evaluate(B * T, {"B": 1})
    with pytest.raises(ValueError):
        dims.evaluate(k, {"k": 4})  # outside the domain
    assert dims.evaluate(12, {}) == 12


# --------------------------------------------------------------------------- exact division

EXACT_DIV_CASES = [
    (lambda: B * T * C, lambda: C, lambda: B * T),
    (lambda: 12, lambda: 4, lambda: 3),
    (lambda: 12, lambda: 5, lambda: None),
    (lambda: 12, lambda: 0, lambda: None),
    (lambda: 6 * B, lambda: 3, lambda: 2 * B),
    (lambda: 6 * B + 1, lambda: 3, lambda: None),
    (lambda: B * H + B, lambda: H + 1, lambda: B),
    (lambda: H * H - 1, lambda: H - 1, lambda: H + 1),
    (lambda: B * H + 1, lambda: H + 1, lambda: None),
    (lambda: B * 196 * 768, lambda: B * 196, lambda: 768),
    (lambda: 0, lambda: H, lambda: 0),
    (lambda: 5, lambda: H, lambda: None),
    (lambda: H, lambda: H, lambda: 1),
    (lambda: B * T, lambda: C, lambda: None),
]


@pytest.mark.parametrize("a,b,expected", EXACT_DIV_CASES)
def test_exact_div(a, b, expected):
    assert exact_div(a(), b()) == expected()


# --------------------------------------------------------------------------- proofs

PROVE_EQUAL_CASES = [
    (lambda: H, lambda: H, True, None),
    (lambda: H + 1, lambda: H, False, None),
    (lambda: (H + 2 * (k // 2) - (k - 1) - 1) // 1 + 1, lambda: H, True, None),
    (lambda: H + k, lambda: H + 5, False, {"k": 3}),
    (lambda: H + 2 * (k // 2), lambda: H + k - 1, True, None),
    (lambda: select("op", [3, 5, 7]), lambda: k, False, {"k": 3, "op": 1}),
    (lambda: select("op", [3, 5, 7]) + 2, lambda: select("op", [5, 7, 9]), True, None),
    (lambda: H, lambda: W, None, None),
    (lambda: H * k, lambda: H * 3, None, None),  # only equal for k=3, but H is free
    (lambda: 3, lambda: 4, False, None),
    (lambda: H // s2, lambda: H, None, None),  # s=1 equal, s=2 undecided
]


@pytest.mark.parametrize("a,b,holds,counter", PROVE_EQUAL_CASES)
def test_prove_equal(a, b, holds, counter):
    v = prove_equal(a(), b())
    assert v.holds is holds
    assert v.counterexample == counter


def test_prove_equal_case_limit():
    many = [sym(f"c{i}", tuple(range(10))) for i in range(5)]
    total = sum(many[1:], many[0])
    assert prove_equal(total, total + 1 - 1).holds is True  # canonical, no enumeration
    assert prove_equal(total // 2 * 2, total, max_cases=100).holds is None


def test_prove_equal_refutes_one_case_while_others_are_undecided():
    # k=3 leaves -2*H (undecided), k=5 leaves the nonzero constant 2: refuted
    assert prove_equal(H * (k - 5) + (k - 3), 0) == (False, {"k": 5})
    assert prove_equal(dmax(H, k) - H, k - 3).holds is None


PROVE_POSITIVE_CASES = [
    (5, True),
    (0, False),
    (-2, False),
    (lambda: H, True),
    (lambda: (H + 1) // 2, True),
    (lambda: H // 2, None),  # H = 1 gives 0
    (lambda: H - 1, None),
    (lambda: 4 - k, False),  # k = 5 makes it negative
    (lambda: 8 - k, True),
    (lambda: B * T + 1, True),
    (lambda: -H, False),
    (lambda: H - 10 + k, None),
    (lambda: dmax(H, 3) - 2, True),
    (lambda: H % 4 + 1, True),
    (lambda: select("op", [3, -1]), False),
]


@pytest.mark.parametrize("d,expected", PROVE_POSITIVE_CASES)
def test_prove_positive(d, expected):
    d = d() if callable(d) else d
    assert prove_positive(d) is expected


def test_bounds():
    assert dims.bounds(H) == (1, float("inf"))
    assert dims.bounds(H, sizes=False) == (float("-inf"), float("inf"))
    assert dims.bounds(k + 1) == (4, 8)
    assert dims.bounds(H % 4) == (0, 3)


# --------------------------------------------------------------------------- select / simplify


def test_select():
    s = select("op", [3, 5, 7])
    assert dims.symbols(s) == {"op": (0, 1, 2)}
    assert select("op", [4, 4, 4]) == 4
    assert dims.subs(s, {"op": 2}) == 7
    with pytest.raises(ValueError):
        select("op", [])


SIMPLIFY_CASES = [
    (lambda: 2 * (k // 2) + 1, lambda: k),
    (lambda: H + 2 * (k // 2) - k + 1, lambda: H),
    (lambda: k % 2, lambda: 1),
    (lambda: B * T, lambda: B * T),
    (lambda: (k // 2) * 2 - k + H * B, lambda: B * H - 1),
]


@pytest.mark.parametrize("build,expected", SIMPLIFY_CASES)
def test_simplify_folds_choice_only_parts(build, expected):
    assert dims.simplify(build()) == expected()


def test_simplify_rejects_non_dimensions():
    for bad in (True, 1.5, "3", None):
        with pytest.raises(TypeError):
            dims.simplify(bad)


def test_simplify_int_likes():
    class IntLike:
        def __index__(self):
            return 4

    assert dims.simplify(IntLike()) == 4
    with pytest.raises(TypeError):
        dims.simplify(1.5)
    with pytest.raises(TypeError):
        dims.simplify("3")


# --------------------------------------------------------------------------- property tests

NAMES = ("a", "b", "c")
SYMS = {n: sym(n) for n in NAMES}
SYMS["k"] = k
BINARY = ("+", "-", "*", "//", "%", "max", "min")

leaf = st.one_of(
    st.tuples(st.just("int"), st.integers(-12, 12)),
    st.tuples(st.just("sym"), st.sampled_from(NAMES + ("k",))),
)
trees = st.recursive(
    leaf,
    lambda sub: st.one_of(
        st.tuples(st.sampled_from(BINARY), sub, sub),
        st.tuples(st.just("neg"), sub),
        st.tuples(st.sampled_from(("//", "%")), sub, st.tuples(st.just("int"), st.sampled_from((2, 3, 4, -2, 8)))),
    ),
    max_leaves=12,
)
envs = st.fixed_dictionaries({**{n: st.integers(-20, 20) for n in NAMES}, "k": st.sampled_from((3, 5, 7))})

_OPS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv, "%": operator.mod,
}


def build(tree, leaf_value, mx, mn):
    tag = tree[0]
    if tag == "int":
        return tree[1]
    if tag == "sym":
        return leaf_value(tree[1])
    if tag == "neg":
        return -build(tree[1], leaf_value, mx, mn)
    a, b = (build(t, leaf_value, mx, mn) for t in tree[1:])
    if tag == "max":
        return mx(a, b)
    if tag == "min":
        return mn(a, b)
    return _OPS[tag](a, b)


def symbolic(tree):
    return build(tree, SYMS.__getitem__, dmax, dmin)


def reference(tree, env):
    return build(tree, env.__getitem__, max, min)


def eval_printed(text: str, env: dict) -> int:
    """Evaluate dims' printed form with Python's grammar (no eval): checks the parentheses."""

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp):
            ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                   ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
            return ops[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Call) and node.func.id in ("max", "min"):
            return {"max": max, "min": min}[node.func.id](*(walk(a) for a in node.args))
        raise AssertionError(f"unexpected syntax in {text!r}: {ast.dump(node)}")

    return walk(ast.parse(text, mode="eval"))


PROPS = settings(max_examples=int(__import__("os").environ.get("DIMS_EXAMPLES", 400)), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(trees, envs)
def test_canonical_form_evaluates_like_python(tree, env):
    try:
        expected = reference(tree, env)
    except ZeroDivisionError:
        assume(False)
    e = symbolic(tree)
    assert dims.evaluate(e, env) == expected
    assert dims.evaluate(dims.simplify(e), env) == expected
    assert eval_printed(dims.to_str(e), env) == expected


@PROPS
@given(trees)
def test_equal_trees_hash_and_print_alike(tree):
    try:
        a, b = symbolic(tree), symbolic(tree)
    except ZeroDivisionError:
        assume(False)
    assert a == b and hash(a) == hash(b)
    assert str(a) == str(b)
    assert str(pickle.loads(pickle.dumps(a))) == str(a)


@PROPS
@given(trees, trees, trees)
def test_ring_laws_hold_structurally(x, y, z):
    try:
        a, b, c = symbolic(x), symbolic(y), symbolic(z)
    except ZeroDivisionError:
        assume(False)
    assert a + b == b + a
    assert a * b == b * a
    assert (a + b) + c == a + (b + c)
    assert (a * b) * c == a * (b * c)
    assert a * (b + c) == a * b + a * c
    assert a - a == 0
    assert prove_equal(a + b, b + a).holds is True


@PROPS
@given(trees, envs)
def test_subs_then_evaluate_matches_evaluate(tree, env):
    try:
        expected = reference(tree, env)
        e = symbolic(tree)
        partial = dims.subs(e, {"a": env["a"], "k": env["k"]})
        assert dims.evaluate(partial, env) == expected
    except ZeroDivisionError:
        assume(False)


@PROPS
@given(trees, st.sampled_from((1, 2, 3, 4, 6)), envs)
def test_exact_div_is_exact(tree, factor, env):
    try:
        e = symbolic(tree)
        expected = reference(tree, env)
    except ZeroDivisionError:
        assume(False)
    e = dims.simplify(e)  # exact_div answers in simplified form
    assert exact_div(e * factor, factor) == e
    assert exact_div(e * (SYMS["b"] + 1), SYMS["b"] + 1) == e
    assert dims.evaluate(e, env) == expected


size_envs = st.fixed_dictionaries({**{n: st.integers(1, 30) for n in NAMES}, "k": st.sampled_from((3, 5, 7))})


@PROPS
@given(trees, size_envs)
def test_prove_positive_is_sound_for_sizes(tree, env):
    try:
        e = symbolic(tree)
        value = reference(tree, env)
    except ZeroDivisionError:
        assume(False)
    verdict = prove_positive(e)
    if verdict is True:
        assert value >= 1
    if verdict is False and not (dims.symbols(e).keys() - {"k"}):
        # refuted with only the choice symbol left: some k gives <= 0
        values = [_value_or_none(e, {**env, "k": v}) for v in (3, 5, 7)]
        assert any(v is not None and v <= 0 for v in values)


def _value_or_none(e, env):
    try:
        return dims.evaluate(e, env)
    except ZeroDivisionError:
        return None
