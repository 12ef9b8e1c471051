"""The IR's schema: pydantic checks an IR object against the classes' declared field types.

The IR classes are plain frozen dataclasses, so building one checks nothing: elaborating a spec
stays cheap and never imports pydantic.  Here pydantic reads the same declarations and checks a
whole model at the boundary — every field of every node, member, graph and body it reaches —
strictly: a list where the IR declares a tuple, a kind outside its ``Literal`` or a missing
span is an error, not a value to coerce.  ``tests/test_ir_schema.py`` runs it over every model
of every spec in the repository, so an elaborator that builds a wrongly typed field fails there.

``validate`` checks; ``json_schema`` describes the IR as JSON Schema; ``to_json`` dumps an IR
object as JSON (sizes and other values JSON cannot hold are written as their text).

pydantic is imported inside the functions: a command that never asks for the schema never
pays for it.
"""

from __future__ import annotations

import json
from typing import Any

# strict: the elaborator must build the declared types (no list → tuple coercion);
# revalidate_instances: check the fields of the dataclass instances given, not just their
# class; arbitrary_types_allowed: the IR holds Dims (sizes) and AST nodes in ``Any`` fields
_CONFIG = {"strict": True, "revalidate_instances": "always", "arbitrary_types_allowed": True}
_adapters: dict[type, Any] = {}


def _adapter(cls: type):
    """A TypeAdapter for a one-element tuple of ``cls``: the IR classes take the adapter's
    configuration only as members of a container (pydantic refuses a config for a dataclass
    itself, and the IR classes carry none of their own)."""
    adapter = _adapters.get(cls)
    if adapter is None:
        from pydantic import ConfigDict, TypeAdapter

        adapter = _adapters[cls] = TypeAdapter(tuple[cls], config=ConfigDict(**_CONFIG))
    return adapter


def validate(obj):
    """Check ``obj`` (a Model, Graph or any IR object) and everything it holds against the IR's
    declared types; return it unchanged, or raise ``pydantic.ValidationError`` naming the path
    of each wrong field (``0.graph.nodes.5.body.members``)."""
    _adapter(type(obj)).validate_python((obj,), context={"seen": set()})
    return obj


def once(schema: dict) -> dict:
    """``schema`` (a pydantic core schema of an IR class) checking each object once per
    ``validate`` call: the IR is frozen, so an object shared by many parents (a block's Graph,
    a Member) is as valid at its second use as at its first.  A plain dict, so that defining
    it imports nothing."""
    return {"type": "function-wrap", "function": {"type": "with-info", "function": _check_once}, "schema": schema}


def _check_once(value, check, info):
    seen = info.context.get("seen") if info.context else None
    if seen is None:  # not from validate(): check every occurrence
        return check(value)
    if id(value) in seen:  # ids are stable: the root keeps every object alive during the call
        return value
    seen.add(id(value))
    return check(value)


def json_schema(cls: type) -> dict:
    """The JSON Schema of an IR class (``json_schema(Model)``), its nested classes in ``$defs``."""
    schema = _adapter(cls).json_schema()
    [item] = schema.pop("prefixItems")
    for key in ("maxItems", "minItems", "type"):
        schema.pop(key, None)
    return {**schema, **item}


def to_json(obj, *, indent: int | None = None) -> str:
    """``obj`` as JSON: dataclasses as objects, tuples as arrays, sizes (``Dim``s) and other
    values JSON cannot hold as their text (``"H // 4"``)."""
    [plain] = _adapter(type(obj)).dump_python((obj,))
    return json.dumps(plain, indent=indent, default=str, ensure_ascii=False)
