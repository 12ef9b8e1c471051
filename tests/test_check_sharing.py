"""``check`` elaborates every entry point of a file once, sharing block instances between
them (``archlang.elaborate.sharing``): the variants of a model reuse each other's graphs, and
the models are those elaborating each one alone gives — a block holding a constraint or a
search choice is never shared, so every entry point still checks and records its own.
"""

from __future__ import annotations

from pathlib import Path

import archlang
from archlang.elaborate.entry import check_program

ROOT = Path(__file__).resolve().parents[1]
TWO_MODELS = """
block Small(c: int) {
    input x: [B, c]
    fc = Linear(c, c)
    constrain params <= 10
    return fc(x)
}
block Plain(c: int) {
    input x: [B, c]
    fc = Linear(c, c)
    return relu(fc(x))
}
model A() {
    input x: [B, 8]
    p = Plain(8)
    s = Small(8)
    return s(p(x))
}
model Z() {
    input x: [B, 8]
    p = Plain(8)
    s = Small(8)
    return relu(s(p(x)))
}
"""


def _graph_ids(graph, found=None) -> set[int]:
    """The ids of ``graph`` and of every block and sequence body in it."""
    found = set() if found is None else found
    if id(graph) not in found:
        found.add(id(graph))
        for node in graph.nodes:
            if node.body is not None:
                _graph_ids(node.body, found)
    return found


def test_variants_share_block_graphs_and_equal_their_lone_elaboration():
    program = archlang.load(ROOT / "specs" / "vision" / "resnet.arch", check=False)
    models = {m.name: m for m in check_program(program.unit)}
    shared = _graph_ids(models["ResNet18"].graph) & _graph_ids(models["ResNet34"].graph)
    assert len(shared) >= 4, "ResNet34 reuses no BasicBlock graph of ResNet18"
    for name, model in models.items():
        assert model == program.elaborate(name), name


def test_a_block_with_a_constraint_is_checked_in_every_model_that_uses_it():
    try:
        archlang.loads(TWO_MODELS)
    except archlang.ArchError as error:
        message = str(error)
    else:
        raise AssertionError("the constraint was not checked")
    assert "A: the constraint 'params <= 10' does not hold" in message
    assert "Z: the constraint 'params <= 10' does not hold" in message


def test_a_block_with_a_search_choice_is_recorded_in_every_space_that_uses_it():
    text = TWO_MODELS.replace("    constrain params <= 10\n", "").replace("Linear(c, c)\n    return fc", "Linear(c, choice(4, 8))\n    return fc", 1)
    text = text.replace("model A", "space A").replace("model Z", "space Z")
    program = archlang.loads(text)
    models = {m.name: m for m in check_program(program.unit)}
    assert [c.label for c in models["A"].choices] == [c.label for c in models["Z"].choices] == ["s.fc.out_features"]
