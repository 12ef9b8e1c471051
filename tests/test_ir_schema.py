"""The IR's schema (``archlang.ir.schema``) keeps the plain-dataclass IR honest.

* every model and space of every spec in the repository elaborates to an IR that pydantic
  accepts, strictly, against the classes' declared field types: an elaborator that builds a
  list where a tuple is declared, or a kind outside its ``Literal``, fails here;
* a wrongly typed field is rejected wherever it hides — in a body shared by many nodes, in a
  second graph after an identical first one — and the error names its path;
* the IR classes stay frozen values: equal field by field, hashable when their fields are;
* ``json_schema`` describes the IR and ``to_json`` dumps a model, sizes as their text.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

import archlang
from archlang.errors import Span
from archlang.ir import Model, Node, schema
from archlang.ir.types import ParamSpec, TensorType

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").rglob("*.arch"))
TWO_BLOCKS = """
block Basic(c: int) {
    input x: [B, c, H, W]
    conv = Conv2d(c, c, 3, padding=1)
    return relu(conv(x)) + x
}
model Net() {
    input x: [B, 8, H, W]
    first = Basic(8)
    second = Basic(8)
    return relu(second(relu(first(x))))
}
"""
ENTRY_POINTS = [p for p in SPECS if p.parent.name != "std"]  # std: a library of blocks, checked through its users


@pytest.mark.parametrize("path", ENTRY_POINTS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_every_model_and_space_of_every_spec_fits_the_schema(path):
    program = archlang.load(path)
    entries = program.models + program.spaces
    assert entries, path
    for name in entries:
        model = program.elaborate(name)
        assert schema.validate(model) is model, name


def _net() -> Model:
    return archlang.loads(TWO_BLOCKS).elaborate("Net")


def _with(model: Model, **graph_fields) -> Model:
    return dataclasses.replace(model, graph=dataclasses.replace(model.graph, **graph_fields))


def _replace_node(nodes: tuple, index: int, **fields) -> tuple:
    return nodes[:index] + (dataclasses.replace(nodes[index], **fields),) + nodes[index + 1:]


def _calls(model: Model) -> list[int]:
    return [i for i, n in enumerate(model.graph.nodes) if n.body is not None]


def test_a_list_where_a_tuple_is_declared_is_rejected_with_its_path():
    model = _net()
    with pytest.raises(ValidationError, match=r"graph\.outputs\n.*valid tuple"):
        schema.validate(_with(model, outputs=list(model.graph.outputs)))


def test_a_wrong_field_in_a_shared_body_is_rejected():
    model = _net()
    first, second = _calls(model)
    shared = model.graph.nodes[first].body
    assert model.graph.nodes[second].body is shared, "identical block instances share one Graph"
    broken = dataclasses.replace(shared, members=list(shared.members))
    nodes = _replace_node(_replace_node(model.graph.nodes, first, body=broken), second, body=broken)
    members = tuple((name, dataclasses.replace(m, graph=broken)) for name, m in model.graph.members)
    with pytest.raises(ValidationError, match=r"graph\.members\.0\.1\.graph\.members\n"):
        schema.validate(_with(model, nodes=nodes, members=members))
    with pytest.raises(ValidationError, match=rf"graph\.nodes\.{first}\.body\.members\n"):
        schema.validate(_with(model, nodes=nodes))


def test_checking_a_shared_object_once_does_not_skip_a_different_equal_looking_one():
    model = _net()
    first, second = _calls(model)
    broken = dataclasses.replace(model.graph.nodes[second].body, guards=[])  # the second call's body only
    with pytest.raises(ValidationError, match=rf"graph\.nodes\.{second}\.body\.guards\n"):
        schema.validate(_with(model, nodes=_replace_node(model.graph.nodes, second, body=broken)))


@pytest.mark.parametrize("change", [
    {"kind": "spaceship"},  # outside the Literal
    {"span": None},  # a node always has a span
    {"name": 3},  # strict: no int → str
    {"inputs": ("x", 1)},
])
def test_a_wrongly_typed_node_field_is_rejected(change):
    model = _net()
    with pytest.raises(ValidationError, match=rf"graph\.nodes\.0\.{next(iter(change))}"):
        schema.validate(_with(model, nodes=_replace_node(model.graph.nodes, 0, **change)))


def test_the_leaf_types_are_checked_too():
    schema.validate(ParamSpec(name="weight", shape=(8, 8, 3, 3)))
    with pytest.raises(ValidationError, match="buffer"):
        schema.validate(ParamSpec(name="weight", shape=(8,), buffer="yes"))
    with pytest.raises(ValidationError, match="shape"):
        schema.validate(TensorType(shape=[1, 2]))


def test_ir_objects_are_frozen_values():
    a, b = _net(), _net()
    assert a is not b and a == b and a.graph.nodes == b.graph.nodes
    assert a != dataclasses.replace(a, name="Other")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = "Other"
    assert hash(TensorType(shape=(1, 2))) == hash(TensorType(shape=(1, 2)))
    assert len({ParamSpec(name="w", shape=(3,)), ParamSpec(name="w", shape=(3,))}) == 1
    span = Span("m.arch", 1, 1)
    with pytest.raises(TypeError):  # keyword-only, as the pydantic models were
        Node("input", "x", type=None, span=span)


def test_json_schema_and_json_dump():
    described = schema.json_schema(Model)
    assert described["$ref"] == "#/$defs/Model"
    assert {"Model", "Graph", "Node", "Member", "ParamSpec", "Span"} <= set(described["$defs"])
    assert described["$defs"]["Node"]["properties"]["kind"]["enum"] == ["input", "op", "call", "choice", "output"]
    dumped = json.loads(schema.to_json(_net()))
    assert dumped["name"] == "Net" and dumped["kind"] == "model"
    assert dumped["graph"]["nodes"][0]["type"] == {"dtype": "float32", "shape": ["B", 8, "H", "W"]}
    assert dumped["graph"]["members"][0][0] == "first" and dumped["graph"]["members"][0][1]["op"] == "Basic"
