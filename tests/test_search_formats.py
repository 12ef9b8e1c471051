"""Benchmark formats: NAS-Bench-201 arch strings, DARTS genotypes, NAS-Bench-101 cells — and the
canonical hash against the benchmarks' own notions of "the same architecture"."""

from __future__ import annotations

import itertools
import random
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archlang
from archlang.nas import Assignment, formats
from archlang.nas.hashing import nb101_hash, nb101_prune

SPACES = Path(__file__).resolve().parent.parent / "specs" / "spaces"
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


@lru_cache(maxsize=None)
def nb201():
    return archlang.space(SPACES / "nasbench201.arch")


@lru_cache(maxsize=None)
def darts():
    return archlang.space(SPACES / "darts.arch", C=8, layers=5)


@lru_cache(maxsize=None)
def nb101():
    return archlang.space(SPACES / "nasbench101.arch", C=8, cells=1)


def all_nb201_strings():
    for ops in itertools.product(formats.NB201_OPS, repeat=6):
        edges = iter(zip(ops, [0, 0, 1, 0, 1, 2]))
        yield "+".join("|" + "|".join(f"{op}~{j}" for op, j in itertools.islice(edges, i)) + "|" for i in (1, 2, 3))


# ---- NAS-Bench-201 -------------------------------------------------------------------------------


def test_nb201_arch_string_round_trip():
    a = formats.nb201_to_assignment(nb201(), EXAMPLE)
    assert a.values == {"1<-0": 3, "2<-0": 3, "2<-1": 4, "3<-0": 1, "3<-1": 3, "3<-2": 1}
    assert formats.assignment_to_nb201(a) == EXAMPLE
    for text in itertools.islice(all_nb201_strings(), 0, 15_625, 97):
        assert formats.assignment_to_nb201(formats.nb201_to_assignment(nb201(), text)) == text


@pytest.mark.parametrize("bad", ["|nor_conv_3x3~0|", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                                 "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|"])
def test_nb201_bad_arch_strings_are_errors(bad):
    with pytest.raises(archlang.ArchError):
        formats.nb201_to_assignment(nb201(), bad)


def test_the_functional_hash_refines_the_benchmarks_classes():
    """NAS-Bench-201's to_unique_str makes 6,466 classes of its 15,625 cells; the functional
    hash never merges two cells the benchmark tells apart, and splits the classes the
    benchmark merges without proof: a convolution applied to a zero node (BatchNorm's shift
    survives) and one layer read twice against two equal layers (twins)."""
    space = nb201()
    classes: dict[str, set] = {}
    benchmark_of: dict[str, str] = {}
    for text in all_nb201_strings():
        h = space.canonical_hash(formats.nb201_to_assignment(space, text))
        unique = formats.nb201_unique_str(text)
        classes.setdefault(unique, set()).add(h)
        assert benchmark_of.setdefault(h, unique) == unique, "the hash merged cells the benchmark tells apart"
    assert len(classes) == 6466
    assert len(benchmark_of) == FUNCTIONALLY_DISTINCT_NB201 == space.size(unique=True)
    conv_on_zero = ("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|",
                    "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|")
    assert len({formats.nb201_unique_str(t) for t in conv_on_zero}) == 1
    assert len({space.canonical_hash(formats.nb201_to_assignment(space, t)) for t in conv_on_zero}) == 2


FUNCTIONALLY_DISTINCT_NB201 = 7698


def test_isomorphic_nb201_cells_share_a_hash():
    space = nb201()
    same = [  # node 1 unused (edges out of it are none) whatever its op; skip is a wire
        "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|",
        "|avg_pool_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|",
    ]
    hashes = {space.canonical_hash(formats.nb201_to_assignment(space, t)) for t in same}
    assert len(hashes) == 1
    other = "|avg_pool_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"
    assert space.canonical_hash(formats.nb201_to_assignment(space, other)) not in hashes


# ---- DARTS -----------------------------------------------------------------------------------------


def test_darts_v2_imports_and_compiles():
    torch = pytest.importorskip("torch")
    space = darts()
    a = formats.genotype_to_assignment(space, formats.DARTS_V2)
    assert a.values["normal.5.inputs"] == (0, 2)
    assert a.values["normal.5.op0"] == formats.DARTS_OPS.index("skip_connect")
    assert a.values["normal.5.op1"] == formats.DARTS_OPS.index("dil_conv_3x3")
    model = archlang.to_torch(space.fix(a), "DARTS", seed=0).eval()
    with torch.no_grad():
        assert tuple(model(torch.randn(2, 3, 32, 32)).shape) == (2, 10)


def test_genotype_text_round_trip_and_range_concat():
    g = formats.parse_genotype(formats.DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)"))
    assert g.normal_concat == [2, 3, 4, 5]
    assert g.normal[7] == ("dil_conv_3x3", 2)
    assert formats.parse_genotype(str(g)) == g
    assert str(formats.parse_genotype(formats.DARTS_V1)) == formats.DARTS_V1


def test_genotype_assignment_round_trip_up_to_edge_order():
    space = darts()
    for seed in range(20):
        a = space.sample(seed=seed)
        g = formats.assignment_to_genotype(a)
        assert formats.genotype_to_assignment(space, str(g)).values == a.values
    v2 = formats.parse_genotype(formats.DARTS_V2)
    back = formats.assignment_to_genotype(formats.genotype_to_assignment(space, v2))
    for kind in ("normal", "reduce"):
        pairs, again = getattr(v2, kind), getattr(back, kind)
        assert [sorted(pairs[i:i + 2], key=lambda p: p[1]) for i in range(0, 8, 2)] == \
               [again[i:i + 2] for i in range(0, 8, 2)]


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('true')", "cannot read|expected"),
    ("Genotype(normal=[('none', 0)] * 8)", "cannot read|expected|unexpected"),
    (formats.DARTS_V2.replace("('dil_conv_3x3', 2)", "('none', 2)"), "not one of"),
    (formats.DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 0)"), "two different"),
    (formats.DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[4, 5]"), "concatenates"),
])
def test_genotypes_are_read_as_data_and_checked(text, message):
    with pytest.raises(archlang.ArchError, match=message):
        formats.genotype_to_assignment(darts(), text)


def test_darts_hash_ignores_the_order_of_a_nodes_two_edges():
    space = darts()
    g = formats.parse_genotype(formats.DARTS_V2)
    swapped = formats.Genotype(normal=[p for i in range(0, 8, 2) for p in reversed(g.normal[i:i + 2])],
                               reduce=g.reduce)
    assert space.canonical_hash(formats.genotype_to_assignment(space, g)) == \
        space.canonical_hash(formats.genotype_to_assignment(space, swapped))


# ---- NAS-Bench-101 ---------------------------------------------------------------------------------

CONV3, CONV1, POOL = formats.NB101_OPS
# The example cell of NAS-Bench-101's README.
README_MATRIX = [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                 [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
README_OPS = ["input", CONV1, CONV3, CONV3, CONV3, POOL, "output"]


def labels(ops):
    return [-1] + [formats.NB101_OPS.index(o) for o in ops[1:-1]] + [-2]


def permuted(matrix, ops, order):
    """The same cell with its vertices renumbered: vertex order[i] becomes i."""
    n = len(matrix)
    return [[matrix[order[i]][order[j]] for j in range(n)] for i in range(n)], [ops[order[i]] for i in range(n)]


def is_upper(matrix) -> bool:
    return all(not matrix[i][j] for i in range(len(matrix)) for j in range(i + 1))


def test_nb101_hash_is_invariant_under_renumbering_and_tells_cells_apart():
    base = nb101_hash(README_MATRIX, labels(README_OPS))
    swapped = permuted(README_MATRIX, README_OPS, [0, 2, 1, 3, 4, 5, 6])  # two parallel convs
    assert nb101_hash(swapped[0], labels(swapped[1])) == base
    ops = list(README_OPS)
    ops[5] = CONV3
    assert nb101_hash(README_MATRIX, labels(ops)) != base


def brute_canonical(matrix, ops):
    n = len(matrix)
    forms = []
    for order in itertools.permutations(range(1, n - 1)):
        order = (0,) + order + (n - 1,)
        m, o = permuted(matrix, ops, order)
        forms.append((tuple(map(tuple, m)), tuple(o)))
    return min(forms)


def test_nb101_hash_matches_brute_force_isomorphism_on_small_cells():
    cells = {}
    for n in (3, 4, 5):
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        for bits in itertools.product((0, 1), repeat=len(pairs)):
            matrix = [[0] * n for _ in range(n)]
            for (i, j), bit in zip(pairs, bits):
                matrix[i][j] = bit
            for inner in itertools.product(formats.NB101_OPS, repeat=n - 2):
                ops = ["input", *inner, "output"]
                pruned = nb101_prune(matrix, ops)
                if pruned is not None and len(pruned[0]) == n:
                    cells[(tuple(map(tuple, matrix)), tuple(ops))] = pruned
    by_hash, by_form = {}, {}
    for matrix, ops in cells.values():
        by_hash.setdefault(nb101_hash(matrix, labels(ops)), set()).add(brute_canonical(matrix, ops))
        by_form.setdefault(brute_canonical(matrix, ops), set()).add(nb101_hash(matrix, labels(ops)))
    assert all(len(v) == 1 for v in by_hash.values()) and all(len(v) == 1 for v in by_form.values())
    assert len(by_hash) == len(by_form) > 100


def test_nb101_cells_import_export_and_prune():
    space = nb101()
    a = formats.nb101_to_assignment(space, README_MATRIX, README_OPS)
    matrix, ops = formats.assignment_to_nb101(a)
    assert (matrix, ops) == (README_MATRIX, README_OPS)
    small = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]  # input → conv → output, padded with dead vertices
    b = formats.nb101_to_assignment(space, small, ["input", CONV3, "output"])
    pruned = nb101_prune(*formats.assignment_to_nb101(b))
    assert pruned == (small, ["input", CONV3, "output"])
    with pytest.raises(archlang.ArchError, match="not reachable"):
        formats.nb101_to_assignment(space, [[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", CONV3, "output"])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_renumbered_nb101_cells_have_one_canonical_hash_and_one_nb101_hash(seed):
    space = nb101()
    rng = random.Random(seed)
    matrix, ops = formats.assignment_to_nb101(space.sample(rng))
    for _ in range(20):  # a random renumbering of the inner vertices that keeps the matrix upper-triangular
        order = [0] + rng.sample(range(1, 6), 5) + [6]
        m, o = permuted(matrix, ops, order)
        if is_upper(m):
            break
    else:
        m, o = matrix, ops
    a, b = formats.nb101_to_assignment(space, matrix, ops), formats.nb101_to_assignment(space, m, o)
    assert space.canonical_hash(a) == space.canonical_hash(b)
    pa, pb = nb101_prune(matrix, ops), nb101_prune(m, o)
    assert nb101_hash(pa[0], labels(pa[1])) == nb101_hash(pb[0], labels(pb[1]))


def test_dead_nb101_vertices_do_not_change_the_hash():
    space = nb101()
    a = formats.nb101_to_assignment(space, [[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", CONV3, "output"])
    values = dict(a.values)
    values["v5.op"] = formats.NB101_OPS.index(POOL)  # vertex 5 feeds nothing: dead code
    b = space.check(Assignment(values, a.space))
    assert space.canonical_hash(a) == space.canonical_hash(b)
    values["output.inputs"] = values["output.inputs"] | (1 << 5)  # now it feeds the output
    c = space.check(Assignment(values, a.space))
    assert space.canonical_hash(c) != space.canonical_hash(a)


def test_the_constrained_nb101_space_holds_exactly_the_benchmarks_423624_cells():
    """Every feasible configuration, pruned: its distinct cells up to isomorphism, with 3 ops on
    the inner vertices, counted by Burnside's lemma per unlabelled cell — NAS-Bench-101 reports
    423,624 unique graphs.  The input subsets are read from the space's decisions; the 9-edge
    rule is the spec's live_edges constraint (bitwise here: 1.3 M subset combinations)."""
    space = nb101()
    subsets = [[sum(1 << u for u in option) for option in space.tree.by_label[label].decl.options]
               for label in ["v1.inputs", "v2.inputs", "v3.inputs", "v4.inputs", "v5.inputs", "output.inputs"]]
    cells = set()
    for masks in itertools.product(*subsets):
        live, reads = live_vertices((0,) + masks)
        if sum(bin(reads[v] & live).count("1") for v in range(7) if live >> v & 1) <= 9:
            kept = [v for v in range(7) if live >> v & 1]
            cells.add(tuple(frozenset(kept.index(u) for u in kept if reads[v] >> u & 1) for v in kept))
    classes = {}
    for cell in cells:
        canonical, automorphisms = symmetries(cell)
        classes[canonical] = (len(cell), automorphisms)
    total = 0
    for n, automorphisms in classes.values():
        fixed = sum(3 ** cycles(perm, range(1, n - 1)) for perm in automorphisms)
        assert fixed % len(automorphisms) == 0
        total += fixed // len(automorphisms)
    assert total == 423_624


def live_vertices(reads: tuple) -> tuple[int, tuple]:
    """Bitmask of the vertices on an input → output path of the 7-vertex cell."""
    fed = 1
    for v in range(1, 7):
        if reads[v] & fed:
            fed |= 1 << v
    feeding = 1 << 6
    for v in range(6, 0, -1):
        if feeding >> v & 1:
            feeding |= reads[v]
    return fed & feeding, reads


def symmetries(cell: tuple) -> tuple[tuple, list[dict]]:
    """The smallest edge list over renumberings of the inner vertices, and the renumberings
    that map the cell onto itself."""
    n = len(cell)
    edges = frozenset((u, v) for v in range(n) for u in cell[v])
    inner = list(range(1, n - 1))
    best, automorphisms = None, []
    for order in itertools.permutations(inner):
        perm = {0: 0, n - 1: n - 1, **dict(zip(inner, order))}
        moved = frozenset((perm[u], perm[v]) for u, v in edges)
        key = (n, tuple(sorted(moved)))
        best = key if best is None or key < best else best
        if moved == edges:
            automorphisms.append(perm)
    return best, automorphisms


def cycles(perm: dict, vertices) -> int:
    seen, count = set(), 0
    for v in vertices:
        if v not in seen:
            count += 1
            while v not in seen:
                seen.add(v)
                v = perm[v]
    return count
