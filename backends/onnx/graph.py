"""The emission context every lowering writes into: ``GraphBuilder``.

It owns one ONNX graph (or function body) under construction: its nodes, deduplicated
constants, ``value_info`` and unique names.  ``op()`` makes one node with
``onnx.helper.make_node`` (attributes sorted) named after the IR path being lowered;
``const()`` makes a ``Constant``; ``sizes`` (a ``Sizes``) computes symbolic sizes in-graph.

Imports only onnx, numpy and archlang.ir.types/dims; never the IR walker, a lowering or
another backend.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from archlang.ir import dims
from archlang.ir.types import TensorType

from .sizes import Sizes

ELEM = {
    "float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16,
    "float64": TensorProto.DOUBLE, "int64": TensorProto.INT64, "int32": TensorProto.INT32,
    "bool": TensorProto.BOOL,
}
NUMPY = {"float32": np.float32, "float16": np.float16, "float64": np.float64, "int64": np.int64,
         "int32": np.int32, "bool": np.bool_}


def value_info(name: str, t: TensorType) -> onnx.ValueInfoProto:
    """A typed value whose symbolic dims are named by their expression (``(H + 1)//2``)."""
    shape = [d if type(d) is int else dims.to_str(d) for d in t.shape]
    return helper.make_tensor_value_info(name, ELEM[t.dtype], shape)


class GraphBuilder:
    """Nodes of one graph or function body, with the naming scope of the IR path in hand."""

    def __init__(self, opset: int, names: set[str] | None = None) -> None:
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.value_info: dict[str, onnx.ValueInfoProto] = {}
        self.names: set[str] = names if names is not None else set()
        self.path = ""  # IR path of the node being lowered; helper nodes are named under it
        self._consts: dict[tuple, str] = {}
        self._shared: set[str] = set()  # names of cached constants and sizes
        self.sizes = Sizes(self)

    def child(self) -> "GraphBuilder":
        """A builder for a subgraph (a Scan body): its own nodes, the same namespace."""
        sub = GraphBuilder(self.opset, self.names)
        sub.path = self.path
        return sub

    def is_shared(self, name: str) -> bool:
        """A cached constant or size, which other nodes may reuse: never renamed."""
        return name in self._shared

    # ---- names
    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.names:
            name = f"{base}:{k}"
            k += 1
        self.names.add(name)
        return name

    # ---- nodes
    def op(self, op_type: str, inputs, outputs: int = 1, domain: str = "", **attrs):
        """One node; returns its output name (or a list of names when ``outputs`` > 1)."""
        base = f"{self.path}/{op_type}" if self.path else op_type
        name = self.unique(base)
        outs = [name if outputs == 1 else self.unique(f"{name}.{i}") for i in range(outputs)]
        node = helper.make_node(op_type, [i or "" for i in inputs], outs, name=name, domain=domain or None,
                                **{k: v for k, v in attrs.items() if v is not None})
        self.nodes.append(node)
        return outs[0] if outputs == 1 else outs

    def remove(self, doomed) -> None:
        """Drop the nodes ``doomed``; constants they made are no longer offered for reuse."""
        gone = {id(n) for n in doomed}
        outputs = {out for n in self.nodes if id(n) in gone for out in n.output}
        self.nodes[:] = [n for n in self.nodes if id(n) not in gone]
        self._consts = {k: name for k, name in self._consts.items() if name not in outputs}
        self._shared -= outputs

    def const(self, value, dtype: str = "int64") -> str:
        """A ``Constant`` holding ``value`` (a number, list or array), shared by equal values."""
        array = np.asarray(value, dtype=NUMPY[dtype]) if dtype in NUMPY else np.asarray(value)
        key = (dtype, array.shape, array.tobytes())
        if key not in self._consts:
            tensor = numpy_helper.from_array(array) if dtype != "bfloat16" else _bf16(array)
            name = self.unique(f"const/{dtype}{list(array.shape)}")
            self.nodes.append(helper.make_node("Constant", [], [name], name=name, value=tensor))
            self._consts[key] = name
            self._shared.add(name)
        return self._consts[key]

    def share(self, name: str) -> str:
        """Mark ``name`` as reused by later nodes (never renamed after an IR node)."""
        self._shared.add(name)
        return name

    def ints(self, values) -> str:
        """A 1-D int64 tensor of ``values``: ints and symbolic sizes (computed in-graph)."""
        return self.sizes.vector(list(values))

    def scalar(self, value, dtype: str) -> str:
        return self.const(np.asarray(value, dtype=NUMPY.get(dtype, np.float32)), dtype)

    # ---- outputs of the IR node being lowered
    def finish(self, produced: str, start: int, name: str) -> None:
        """Rename ``produced`` (made since node ``start``) and the node making it to ``name``."""
        made = False
        for node in self.nodes[start:]:
            for field in (node.input, node.output):
                for i, value in enumerate(field):
                    if value == produced:
                        field[i] = name
            if name in node.output:
                node.name, made = name, True
        assert made, f"{produced} was not produced here"

    def produced_since(self, tensor: str, start: int) -> bool:
        return any(tensor in node.output for node in self.nodes[start:])

    def rename(self, old: str, new: str) -> None:
        for node in self.nodes:
            for field in (node.input, node.output):
                for i, value in enumerate(field):
                    if value == old:
                        field[i] = new
        self.value_info.pop(old, None)

    def annotate(self, name: str, t: TensorType) -> None:
        self.value_info[name] = value_info(name, t)


def reader_counts(nodes) -> dict[str, int]:
    """How many node inputs read each value, subgraph bodies included (they read outer values)."""
    counts: dict[str, int] = {}
    for node in nodes:
        for name in node.input:
            counts[name] = counts.get(name, 0) + 1
        for attribute in node.attribute:
            for body in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
                for inner, count in reader_counts(body.node).items():
                    counts[inner] = counts.get(inner, 0) + count
    return counts


def _bf16(array: np.ndarray) -> onnx.TensorProto:
    return helper.make_tensor("", TensorProto.BFLOAT16, array.shape, array.astype(np.float32).flatten().tolist())
