"""The canonical hash on handwritten models: what it identifies and what it tells apart."""

from __future__ import annotations

import pytest

import archlang
from archlang.nas.hashing import model_hash

HEADER = """
block Conv(C: int, k: int) {
    input x: [B, C, H, W]
    conv = Conv2d(C, C, k, padding=k // 2)
    return relu(conv(x))
}
"""


def h(arch, body: str, name: str = "M") -> str:
    return model_hash(arch.load(HEADER + body).elaborate(name))


def model(body: str) -> str:
    return "model M() {\n    input x: [B, 8, 16, 16]\n" + body + "\n}\n"


def test_summands_are_unordered_and_chains_of_plus_are_one_sum(arch):
    a = h(arch, model("    a = Conv(8, 3)\n    b = Conv(8, 1)\n    c = MaxPool2d(3, stride=1, padding=1)\n"
                      "    return a(x) + b(x) + c(x)"))
    b = h(arch, model("    a = Conv(8, 3)\n    b = Conv(8, 1)\n    c = MaxPool2d(3, stride=1, padding=1)\n"
                      "    return c(x) + (b(x) + a(x))"))
    c = h(arch, model("    a = Conv(8, 3)\n    b = Conv(8, 1)\n    c = MaxPool2d(3, stride=1, padding=1)\n"
                      "    return sum([b(x), c(x), a(x)])"))
    assert a == b == c


def test_identity_is_a_wire_and_dead_nodes_do_not_count(arch):
    plain = h(arch, model("    a = Conv(8, 3)\n    return a(x)"))
    wired = h(arch, model("    a = Conv(8, 3)\n    i = Identity()\n    j = Identity()\n    return j(a(i(x)))"))
    dead = h(arch, model("    a = Conv(8, 3)\n    b = Conv(8, 5)\n    unused = b(x)\n    return a(x)"))
    assert plain == wired == dead


def test_zero_makes_zero_only_through_ops_that_keep_zeros(arch):
    """Zero → ReLU/conv without bias is zero; Zero → a layer with a bias (Linear, Conv2d with
    bias, BatchNorm2d with its affine shift) computes that bias, whatever the weights."""
    zero = h(arch, model("    a = Conv(8, 3)\n    z = Zero()\n    return z(a(x))"))
    unbiased = h(arch, model("    z = Zero()\n    a = Conv2d(8, 8, 3, padding=1, bias=false)\n    return relu(a(z(x)))"))
    assert unbiased == zero
    biased = h(arch, model("    z = Zero()\n    a = Conv(8, 3)\n    return a(z(x))"))
    normed = h(arch, model("    z = Zero()\n    n = BatchNorm2d(8)\n    return n(z(x))"))
    plain_norm = h(arch, model("    z = Zero()\n    n = BatchNorm2d(8, affine=false)\n    return n(z(x))"))
    assert len({zero, biased, normed}) == 3 and plain_norm == zero
    with_zero = h(arch, model("    a = Conv(8, 3)\n    z = Zero()\n    return a(x) + z(x)"))
    assert with_zero != h(arch, model("    a = Conv(8, 3)\n    return a(x)"))


# Zero into a Linear and into an MLP (issue 12's bad merge): tests/test_dedup_hash.py, which
# also shows their outputs differ.


def test_one_layer_read_twice_is_not_two_equal_layers(arch):
    """Twins: ``a(x) + a(x)`` has one set of weights, ``a(x) + b(x)`` two; equal terms, so the
    hash is computed strictly (each layer tagged with its place) and tells them apart."""
    layers = "    a = Conv2d(8, 8, 3, padding=1)\n    b = Conv2d(8, 8, 3, padding=1)\n"
    shared = h(arch, model(layers + "    return a(x) + a(x)"))
    separate = h(arch, model(layers + "    return a(x) + b(x)"))
    swapped = h(arch, model(layers + "    return b(x) + a(x)"))
    assert shared != separate and separate == swapped
    assert h(arch, model(layers + "    y = a(x)\n    return y + y")) == shared


def test_attributes_and_op_order_are_part_of_the_hash(arch):
    k3 = h(arch, model("    a = Conv(8, 3)\n    return a(x)"))
    k5 = h(arch, model("    a = Conv(8, 5)\n    return a(x)"))
    seq = h(arch, model("    a = Conv(8, 3)\n    b = Conv(8, 5)\n    return b(a(x))"))
    rev = h(arch, model("    a = Conv(8, 3)\n    b = Conv(8, 5)\n    return a(b(x))"))
    assert len({k3, k5, seq, rev}) == 4


def test_block_names_and_member_names_do_not_matter(arch):
    one = arch.load(HEADER + model("    a = Conv(8, 3)\n    return a(x)")).elaborate("M")
    other = arch.load("""
block Other(C: int, k: int) {
    input y: [B, C, H, W]
    layer = Conv2d(C, C, k, padding=k // 2)
    return relu(layer(y))
}
model M() {
    input x: [B, 8, 16, 16]
    first = Other(8, 3)
    return first(x)
}
""", name="other.arch").elaborate("M")
    assert model_hash(one) == model_hash(other)


def test_rolled_runs_equal_written_out_layers(arch):
    rolled = h(arch, model("    s = Sequential([Conv(8, 3) for i in range(3)])\n    return s(x)"))
    written = h(arch, model("    a = Conv(8, 3)\n    b = Conv(8, 3)\n    c = Conv(8, 3)\n    return c(b(a(x)))"))
    assert rolled == written


def test_a_multi_input_block_is_compared_by_what_it_computes_with_its_arguments(arch):
    text = """
block Pick(C: int, first: int, second: int) {
    input a: [B, C, H, W]
    input b: [B, C, H, W]
    input c: [B, C, H, W]
    conv = Conv2d(C, C, 3, padding=1)
    states = [a, b, c]
    return conv(states[first]) + states[second]
}
model M(order: list = [0, 1, 2], first: int = 1, second: int = 2) {
    input x: [B, 8, 16, 16]
    p = Conv(8, 1)
    q = Conv(8, 3)
    node = Pick(8, first, second)
    inputs = [x, p(x), q(x)]
    return node(inputs[order[0]], inputs[order[1]], inputs[order[2]])
}
"""
    program = arch.load(HEADER + text)
    hashes = {model_hash(program.elaborate("M", params={"order": order, "first": order.index(1),
                                                        "second": order.index(2)}))
              for order in ([0, 1, 2], [1, 0, 2], [2, 1, 0], [1, 2, 0])}
    assert len(hashes) == 1
    swapped = program.elaborate("M", params={"first": 2, "second": 1})  # conv on q(x), not p(x)
    assert model_hash(swapped) not in hashes


def test_a_free_space_is_not_hashed_as_a_model():
    space = archlang.space(archlang.loads("space S() {\n    input x: [B, 8]\n    op = choice(Identity(), ReLU())\n"
                                          "    return op(x)\n}\n"), "S")
    with pytest.raises(archlang.ArchError, match="still free"):
        model_hash(space.model)
    assert model_hash(space.fix_model(space.sample(seed=0))) in {space.canonical_hash(a) for a in space.enumerate()}


@pytest.mark.parametrize("naming", ['prefix="layer_"', 'prefix="block2-", start=1', ""])
def test_a_rolled_run_of_generated_names_hashes_as_its_unrolled_items(arch, naming):
    """A run of identical items is stored once; hashing applies its items by name, which keep
    their generated prefix (``layer_1``, ``block2-2``), as plain numbers do."""
    items = "Sequential([Conv(8, 3) for i in range(3)]" + (f", {naming})" if naming else ")")
    rolled = h(arch, model(f"    s = {items}\n    return s(x)"))
    chained = h(arch, model("    a = Conv(8, 3)\n    b = Conv(8, 3)\n    c = Conv(8, 3)\n    return c(b(a(x)))"))
    assert rolled == chained
