"""``dims.evaluate_from``: a symbolic size computed from the dimensions at hand, as the torch
and ONNX backends compute run-time sizes.  Property: for any expression over H and W built
from the operations shapes use, and any set of its parts available, the value computed from
those parts is the expression's value (or KeyError names a symbol nothing determines)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from archlang.ir import dims

H, W = dims.sym("H"), dims.sym("W")


@st.composite
def sizes(draw, depth: int = 3):
    """An expression like those strides, pads and reshapes make: (H + 1)//2 - 3, h*w//4 …"""
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from([H, W, H + 1, 2 * W]))
    inner = draw(sizes(depth - 1))
    kind = draw(st.sampled_from(["floor", "affine", "product", "mod", "max"]))
    if kind == "floor":
        return (inner + draw(st.integers(0, 3))) // draw(st.integers(2, 4))
    if kind == "affine":
        return inner * draw(st.integers(1, 3)) + draw(st.integers(-3, 3))
    if kind == "product":
        return inner * draw(sizes(depth - 1))
    if kind == "mod":
        return inner % draw(st.integers(2, 5))
    return dims.dmax(inner, draw(st.integers(1, 9)))


def _parts(d) -> list:
    """Sub-expressions of d that a tensor could have as a dimension."""
    found = [d]
    if isinstance(d, dims.Expr):
        for mono, _ in d._terms:
            for atom in mono:
                found.append(atom.as_expr())
                for arg in getattr(atom, "args_tuple", lambda: ())():
                    if isinstance(arg, dims.Expr):
                        found.extend(_parts(arg))
    return found


@settings(max_examples=300, deadline=None)
@given(d=sizes(), h=st.integers(1, 60), w=st.integers(1, 60), data=st.data())
def test_a_size_computed_from_available_parts_is_its_value(d, h, w, data):
    env = {"H": h, "W": w}
    candidates = [p for p in _parts(d) if isinstance(p, dims.Expr)] + [H, W, (H + 1) // 2, H + 1]
    available = {p: dims.evaluate(p, env) for p in data.draw(st.lists(st.sampled_from(candidates), max_size=4))}
    try:
        value = dims.evaluate_from(d, available, available.__getitem__)
    except KeyError as missing:
        assert str(missing.args[0]) in {"H", "W"} and not (H in available and W in available)
        return
    assert value == dims.evaluate(d, env)


def test_nested_floors_come_from_the_floor_at_hand():
    h = (H + 1) // 2  # a block's input after a strided stem
    assert (h + 1) // 2 == (H + 3) // 4  # canonical forms merge the floors …
    available = {h: 5}
    assert dims.evaluate_from((h + 1) // 2, available, available.__getitem__) == 3  # … computed from h anyway


def test_a_symbol_is_solved_from_an_affine_size():
    T = dims.sym("T")
    available = {T + 1: 7}
    assert dims.evaluate_from(2 * T + 3, available, available.__getitem__) == 15
