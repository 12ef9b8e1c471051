"""The functional hash is sound: two architectures with one functional hash compute the same
outputs for every choice of weights (docs/safety.md).

For each shipped space, architectures are drawn and mutated one decision at a time; pairs
with one functional hash but different fixed models are built with torch, the weights of
corresponding layers (``hashing.instance_keys``: layers with equal instance keys) set to the
same random values, and their outputs compared on a random input.  The check itself is
checked: on the merges the old zero rule and the old twin-blind terms made, the outputs differ.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import archlang  # noqa: E402
from archlang.backends.torch import build_module  # noqa: E402
from archlang.nas.hashing import exact_hash, instance_keys, model_exact_hash, model_hash  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPACES = [  # (file, space, small parameters, draws, mutations per draw, pairs found at least)
    ("darts.arch", "DARTS", dict(C=4, layers=3), 40, 6, 0),  # none found: no dead code, no zero op
    ("digits_cnn.arch", "DigitsCNN", {}, 60, 6, 3),
    ("flexibert.arch", "FlexiBERT", dict(layers=2, vocab_size=50, embed_dim=16), 100, 8, 0),
    ("hybrid_space.arch", "HybridNet", dict(num_classes=10, image_size=32), 100, 8, 0),
    ("nasbench101.arch", "NASBench101", dict(C=4, cells=1), 25, 6, 8),
    ("nasbench201.arch", "NASBench201", dict(C=4, N=1), 60, 6, 8),
    ("proxylessnas.arch", "ProxylessNAS", dict(num_classes=10, image_size=16, max_macs=1e12), 80, 8, 1),
    ("tiny_cnn.arch", "TinyCNN", {}, 60, 6, 8),
]
PAIRS_PER_SPACE = 6


def test_every_shipped_space_is_covered():
    shipped = {p.name for p in (ROOT / "specs" / "spaces").glob("*.arch")}
    assert shipped == {file for file, *_ in SPACES}


def colliding_pairs(space, draws: int, moves: int, seed: int = 0) -> list:
    """Pairs (a, b) of assignments with one functional hash and different fixed models."""
    rng = random.Random(seed)
    pairs, seen = [], set()
    for _ in range(draws):
        a = space.sample(rng)
        for _ in range(moves):
            b = space.mutate(a, rng)
            if b.key() == a.key() or space.canonical_hash(b) != space.canonical_hash(a):
                continue
            exact = tuple(sorted((exact_hash(space, a), exact_hash(space, b))))
            if exact[0] != exact[1] and exact not in seen:
                seen.add(exact)
                pairs.append((a, b))
    return pairs


def keyed_module(model, seed: int = 0):
    """The model's module with every parameter of a layer the outputs read set from its
    instance key: corresponding layers of two architectures get equal weights."""
    found, keys = instance_keys(model)
    assert found == model_hash(model)
    module = build_module(model, seed=seed).eval()
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            owner = max((p for p in keys if name.startswith(p + ".")), key=len, default=None)
            text = f"{keys[owner]}/{name[len(owner) + 1:]}" if owner is not None else f"dead:{name}"
            generator = torch.Generator().manual_seed(int(hashlib.sha256(text.encode()).hexdigest()[:15], 16))
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return module, keys


def example(model, seed: int = 1) -> tuple:
    generator = torch.Generator().manual_seed(seed)
    tensors = []
    for node in model.graph.input_nodes:
        shape = tuple(d if isinstance(d, int) else (2 if i == 0 else 8) for i, d in enumerate(node.type.shape))
        tensors.append(torch.randint(0, 8, shape, generator=generator) if node.type.dtype == "int64"
                       else torch.randn(shape, generator=generator))
    return tuple(tensors)


def outputs(model):
    module, keys = keyed_module(model)
    with torch.no_grad():
        result = module(*example(model))
    return (result if isinstance(result, tuple) else (result,)), keys


def assert_same_function(one, other) -> None:
    first, keys_one = outputs(one)
    second, keys_other = outputs(other)
    # every layer the outputs read is one instance: no two layers of a model share a key
    assert len(set(keys_one.values())) == len(keys_one) and len(set(keys_other.values())) == len(keys_other)
    assert set(keys_one.values()) == set(keys_other.values())
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("file, name, params, draws, moves, least", SPACES, ids=[s[1] for s in SPACES])
def test_architectures_with_one_functional_hash_compute_the_same_outputs(file, name, params, draws, moves, least):
    space = archlang.space(str(ROOT / "specs" / "spaces" / file), name, **params)
    pairs = colliding_pairs(space, draws, moves)
    assert len(pairs) >= least, "the search for pairs with one hash found fewer than it used to"
    for a, b in pairs[:PAIRS_PER_SPACE]:
        assert_same_function(space.fix_model(a), space.fix_model(b))


def test_the_brief_example_is_one_function_with_two_parameter_counts():
    """Issue 12's NAS-Bench-201 cells: one functional hash (node 1 is dead), 344,346 and
    101,306 parameters, different exact hashes."""
    from archlang.nas import formats

    space = archlang.space(str(ROOT / "specs" / "spaces" / "nasbench201.arch"))
    cells = ("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|",
             "|avg_pool_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|")
    a, b = (formats.nb201_to_assignment(space, text) for text in cells)
    assert space.canonical_hash(a) == space.canonical_hash(b)
    assert exact_hash(space, a) != exact_hash(space, b)
    small = archlang.space(str(ROOT / "specs" / "spaces" / "nasbench201.arch"), C=4, N=1)
    assert_same_function(*(small.fix_model(formats.nb201_to_assignment(small, text)) for text in cells))


BAD_MERGES = {  # pairs the old hash called one architecture
    "zero into Linear / into an MLP": ("""
block MLP(d: int) {
    input x: [B, d]
    up = Linear(d, 4 * d)
    down = Linear(4 * d, d)
    return down(relu(up(x)))
}
model One() {
    input x: [B, 6]
    z = Zero()
    f = Linear(6, 6)
    return f(z(x))
}
model Two() {
    input x: [B, 6]
    z = Zero()
    f = MLP(6)
    return f(z(x))
}
""", "One", "Two"),
    "one layer read twice / two equal layers": ("""
model One() {
    input x: [B, 6]
    a = Linear(6, 6)
    b = Linear(6, 6)
    return a(x) + a(x)
}
model Two() {
    input x: [B, 6]
    a = Linear(6, 6)
    b = Linear(6, 6)
    return a(x) + b(x)
}
""", "One", "Two"),
}


@pytest.mark.parametrize("case", sorted(BAD_MERGES))
def test_the_check_catches_what_the_old_hash_merged(case):
    text, one, two = BAD_MERGES[case]
    program = archlang.loads(text)
    first, second = program.elaborate(one), program.elaborate(two)
    assert model_hash(first) != model_hash(second)
    with pytest.raises(AssertionError):
        assert_same_function(first, second)


def test_the_exact_hash_is_the_fixed_model():
    program = archlang.loads("model M(k: int = 3) {\n    input x: [B, 4, 8, 8]\n"
                             "    c = Conv2d(4, 4, k, padding=k // 2)\n    d = Conv2d(4, 4, 5, padding=2)\n"
                             "    unused = d(x)\n    return c(x)\n}\n")
    three, again, five = program.elaborate("M"), program.elaborate("M"), program.elaborate("M", params={"k": 5})
    assert model_exact_hash(three) == model_exact_hash(again) != model_exact_hash(five)
    without_dead = archlang.loads("model M() {\n    input x: [B, 4, 8, 8]\n"
                                  "    c = Conv2d(4, 4, 3, padding=1)\n    return c(x)\n}\n").elaborate("M")
    assert model_hash(without_dead) == model_hash(three)  # dead code: one function …
    assert model_exact_hash(without_dead) != model_exact_hash(three)  # … two models
