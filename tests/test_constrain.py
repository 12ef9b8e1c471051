"""`constrain` statements: parsed, formatted, checked by name, decided on the spot when they
read only constants, and otherwise kept in the IR and honoured by every space operation."""

from __future__ import annotations

import collections
import itertools
import random
from pathlib import Path

import pytest

import archlang
from archlang.cli import main
from archlang.elaborate.builtins import b_live_edges
from archlang.errors import OpError
from archlang.ir.params import count_params
from archlang.nas import formats
from archlang.nas.hashing import nb101_prune
from archlang.nas.space import Assignment
from archlang.syntax.fmt import format_source

SPACES = Path(__file__).resolve().parent.parent / "specs" / "spaces"

SPACE = """
block Head(w: int, classes: int) {
    input x: [B, w]
    fc = Linear(w, classes)
    constrain classes * w <= 320
    return fc(x)
}

space S(classes: int = 10) {
    input x: [B, 16]
    w = choice([8, 16, 32, 64], label="w")
    act = choice(["relu", "gelu", "tanh"], label="act")
    body = Linear(16, w)
    head = choice(Head(w, classes), Linear(w, classes), label="head")
    constrain params <= 1700
    constrain w >= 16 or act == "relu"
    return head(body(x))
}
"""


def space(text: str = SPACE, name: str = "S", **params):
    return archlang.space(archlang.loads(text), name, **params)


def expected_feasible(values: dict, classes: int = 10) -> bool:
    """The constraints of SPACE, computed by hand."""
    w = [8, 16, 32, 64][values["w"]]
    act = ["relu", "gelu", "tanh"][values["act"]]
    params = 16 * w + w + w * classes + classes
    head_ok = values["head"] == 1 or classes * w <= 320  # Head's own constraint, when Head is taken
    return params <= 1700 and (w >= 16 or act == "relu") and head_ok


def all_values(s) -> list[dict]:
    return list(s.tree.enumerate())


# ---- syntax, formatting, names ------------------------------------------------------------


def test_constrain_is_formatted_and_round_trips():
    text = "space S() {\n    input x: [B, 4]\n    constrain   params<=5e6  and macs <= 600e6\n    return x\n}\n"
    out = format_source(text)
    assert "    constrain params <= 5e6 and macs <= 6e8\n" in out
    assert format_source(out) == out


@pytest.mark.parametrize("body, message", [
    ("constrain widht <= 4", "unknown name 'widht'; did you mean 'width'?"),
    ("y = params + 1", "unknown name 'params'"),  # metrics exist only inside constrain
    ("constrain fc <= 4", "a constraint reads numbers, strings, lists and search choices; 'fc' is"),
    ("constrain x <= 4", "a constraint reads numbers, strings, lists and search choices; 'x' is"),
    ("constrain width > 64", "the constraint 'width > 64' does not hold"),
])
def test_bad_constraints_are_located_errors(body, message):
    text = f"model M(width: int = 32) {{\n    input x: [B, 4]\n    fc = Linear(4, width)\n    {body}\n    return fc(x)\n}}\n"
    with pytest.raises(archlang.ArchError) as caught:
        archlang.loads(text, filename="m.arch").elaborate("M")
    diagnostic = caught.value.diagnostics[0]
    assert message in diagnostic.message
    assert (diagnostic.span.file, diagnostic.span.line) == ("m.arch", 4)


def test_a_constraint_on_a_symbolic_size_is_refused():
    text = "model M() {\n    input x: [B, C]\n    n = x.shape[1]\n    constrain n <= 4\n    return x\n}\n"
    with pytest.raises(archlang.ArchError, match="depends on the size C of an input"):
        archlang.loads(text).elaborate("M")


def test_constant_constraints_that_hold_leave_nothing_in_the_ir():
    text = "model M(width: int = 32) {\n    input x: [B, 4]\n    constrain width % 8 == 0\n    return x\n}\n"
    model = archlang.loads(text).elaborate("M")
    assert model.graph.constraints == ()


# ---- models: metrics checked when the model is elaborated ---------------------------------------


@pytest.mark.parametrize("bound, holds", [(200, True), (100, False)])
def test_a_model_is_checked_against_its_metric_constraints(bound, holds):
    text = f"model M() {{\n    input x: [B, 4]\n    fc = Linear(4, 32)\n    constrain params <= {bound}\n    return fc(x)\n}}\n"
    if holds:
        assert count_params(archlang.loads(text, filename="m.arch").elaborate("M").graph) == 160
        return
    with pytest.raises(archlang.ArchError) as caught:
        archlang.loads(text, filename="m.arch")  # checking a file elaborates its models
    assert str(caught.value).startswith("m.arch:4:15: error: M: the constraint 'params <= 100' does not hold (params = 160)")


def test_check_exits_1_on_a_model_over_its_budget(tmp_path, capsys):
    path = tmp_path / "m.arch"
    path.write_text("model M() {\n    input x: [B, 4]\n    fc = Linear(4, 32)\n    constrain macs <= 64\n    return fc(x)\n}\n")
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "m.arch:4:15: error: M: the constraint 'macs <= 64' does not hold (macs = 128)" in err
    assert "Traceback" not in err


# ---- spaces ------------------------------------------------------------------------------------


def test_enumerate_yields_exactly_the_feasible_configurations():
    s = space()
    assert s.size() == 24
    got = [a.values for a in s.enumerate()]
    want = [v for v in all_values(s) if expected_feasible(v)]
    assert got == want and 0 < len(want) < 24
    assert s.size(feasible=True) == len(want)


def test_the_fixed_architecture_agrees_with_the_constraints():
    s = space()
    for values in all_values(s):
        a = Assignment(values, s.hash)
        if expected_feasible(values):
            assert count_params(s.fix_model(a).graph) <= 1700
            assert archlang.loads(s.to_arch(a)).elaborate("S")  # the frozen text loads alone
        else:
            with pytest.raises(archlang.ArchError, match="does not hold"):
                s.fix_model(a)


def test_sampling_is_uniform_over_the_feasible_configurations():
    s = space()
    feasible = {Assignment(v, s.hash).key() for v in all_values(s) if expected_feasible(v)}
    counts = collections.Counter(s.sample(seed=seed).key() for seed in range(2400))
    assert set(counts) == feasible
    expected = 2400 / len(feasible)
    assert all(abs(c - expected) < 0.35 * expected for c in counts.values())
    assert s.sample(seed=7) == s.sample(seed=7)


def test_mutation_and_crossover_stay_feasible():
    s = space()
    rng = random.Random(0)
    for _ in range(200):
        a, b = s.sample(rng), s.sample(rng)
        m = s.mutate(a, rng)
        assert expected_feasible(m.values) and expected_feasible(s.crossover(a, b, rng).values)
        changed = [k for k in a.values if a.values[k] != m.values.get(k)]
        assert len(changed) <= 1 or "head" in changed  # one decision (and what hangs under it)


def test_a_constraint_inside_an_option_binds_only_when_it_is_taken():
    s = space(classes=20)  # Head's 20·w <= 320 allows w <= 16; a plain Linear head allows w = 32
    taken = {(a.values["w"], a.values["head"]) for a in s.enumerate()}
    assert (1, 0) in taken and (2, 0) not in taken and (2, 1) in taken
    assert [a.values for a in s.enumerate()] == [v for v in all_values(s) if expected_feasible(v, classes=20)]


def test_a_constraint_in_a_lifted_block_rules_out_options_instead_of_failing():
    text = """
block Pick(sizes: list[int]) {
    input x: [B, 4]
    constrain len(sizes) <= 2
    fc = Linear(4, sum(sizes))
    return fc(x)
}

space S() {
    input x: [B, 4]
    sizes = choice([[1], [1, 2], [1, 2, 3]], label="sizes")
    p = Pick(sizes)
    return p(x)
}
"""
    s = space(text)
    assert s.size() == 3
    assert [a.values for a in s.enumerate()] == [{"sizes": 0}, {"sizes": 1}]


def test_space_command_lists_constraints_and_counts_the_feasible(tmp_path, capsys):
    path = tmp_path / "s.arch"
    path.write_text(SPACE)
    assert main(["space", str(path), "-m", "S"]) == 0
    out = capsys.readouterr().out
    n = sum(expected_feasible(v) for v in all_values(space()))
    assert f"feasible: {n} configurations meet the constraints" in out
    assert "constraints (3), honoured by sample, enumerate and search:" in out
    assert f"  params <= 1700  ({path}:15)" in out


def test_printed_ir_shows_what_a_constraint_reads():
    from archlang.report.printer import format_model

    lines = format_model(archlang.loads(SPACE).elaborate("S")).splitlines()
    assert '  constrain w >= 16 or act == "relu"  where w = w, act = [act]' in lines
    assert "  constrain params <= 1700" in lines


# ---- live_edges and NAS-Bench-101 -------------------------------------------------------------


@pytest.mark.parametrize("inputs, edges", [
    ([[], [0]], 1),
    ([[], [0], [0, 1]], 3),
    ([[], [0], [0], [0]], 1),  # vertices 1 and 2 reach no output: their edges are pruned
    ([[], [0], [1], [0, 1]], 3),  # vertex 2 does not reach the output (3 reads 0 and 1 only)
    ([[], [0], [0, 1], [2]], 4),
])
def test_live_edges_counts_the_edges_on_input_to_output_paths(inputs, edges):
    assert b_live_edges(inputs) == edges


@pytest.mark.parametrize("inputs, message", [
    ([], "non-empty list"),
    ([[], [1]], "vertex 1 can only read vertices 0…0"),
    ([[], 3], "inputs of vertex 1 must be a list"),
])
def test_live_edges_rejects_what_is_not_a_dag(inputs, message):
    with pytest.raises(OpError, match=message):
        b_live_edges(inputs)


def nb101():
    return archlang.space(SPACES / "nasbench101.arch", C=8, cells=1)


def test_nas_bench_101_samples_have_at_most_9_edges_after_pruning():
    s = nb101()
    rng = random.Random(0)
    for _ in range(60):
        matrix, ops = nb101_prune(*formats.assignment_to_nb101(s.sample(rng)))
        assert sum(map(sum, matrix)) <= 9 and len(matrix) <= 7


def test_nas_bench_101_constraint_rejects_exactly_the_cells_over_9_edges():
    s = nb101()
    rng = random.Random(1)
    seen = collections.Counter()
    for _ in range(150):
        a = Assignment(s.tree.sample(rng), s.hash)
        pruned = nb101_prune(*formats.assignment_to_nb101(a))
        over = sum(map(sum, pruned[0])) > 9
        assert s.feasible(a) is not over
        seen[over] += 1
    assert seen[True] and seen[False]


def test_a_nas_bench_101_cell_over_9_edges_does_not_import():
    full = [[1 if j > i else 0 for j in range(6)] for i in range(6)]  # 15 edges on 6 vertices
    ops = ["input"] + [formats.NB101_OPS[0]] * 4 + ["output"]
    with pytest.raises(archlang.ArchError, match="at most 9 edges"):
        formats.nb101_to_assignment(nb101(), full, ops)


def test_every_small_dag_cell_gets_live_edges_equal_to_nb101_pruning():
    for bits in itertools.product([0, 1], repeat=6):  # every 4-vertex upper-triangular matrix
        matrix = [[0] * 4 for _ in range(4)]
        for (i, j), bit in zip(itertools.combinations(range(4), 2), bits):
            matrix[i][j] = bit
        pruned = nb101_prune(matrix, ["input", "a", "b", "output"])
        inputs = [[i for i in range(v) if matrix[i][v]] for v in range(4)]
        assert b_live_edges(inputs) == (sum(map(sum, pruned[0])) if pruned else 0)


def test_violations_name_each_broken_constraint_with_what_it_measured():
    s = space()
    assert s.violations(Assignment({"w": 3, "act": 1, "head": 0}, s.hash)) == [
        "params <= 1700 (params = 1,738)", "classes * w <= 320"]
    assert s.violations(s.sample(seed=0)) == []


# ---- search --------------------------------------------------------------------------------------


def width_score(assignment) -> float:
    """Prefers wide layers: the constraints are what stops a search at w = 64 with a Head."""
    return float(assignment.values["w"] * 10 + assignment.values["act"] + assignment.values["head"])


width_score.takes, width_score.directions = "assignment", ("maximize",)


@pytest.mark.parametrize("strategy", ["random", "evolution", "local", "tpe", "nsga2"])
def test_every_strategy_evaluates_only_feasible_architectures(strategy, tmp_path):
    from archlang.nas.engine import search

    s = space()
    n = sum(expected_feasible(v) for v in all_values(s))
    study = search(s, width_score, strategy=strategy, budget=n, seed=0, out_dir=tmp_path)
    evaluated = study.evaluated()
    assert evaluated and all(expected_feasible(r.assignment().values) for r in evaluated)
    for record in study.skipped("infeasible"):  # a sampler's proposal, recorded with the reason
        assert not expected_feasible(record.assignment().values)
        assert record.reason.startswith("breaks ") and record.state == "FAIL"
