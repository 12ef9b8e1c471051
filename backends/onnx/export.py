"""IR model + weights → ``onnx.ModelProto``: graph inputs with named symbolic dims, the walk,
graph outputs, initializers (state-dict keys; a tie is one initializer read twice) and the
opset/IR version.  Bytes are deterministic: names come from IR paths, orders from the IR.

Imports onnx, numpy, archlang.ir/errors and this package; never another backend.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import onnx
from onnx import helper, numpy_helper

from archlang.errors import ArchError, SpaceError
from archlang.ir import Model

from .functions import DOMAIN, Library
from .graph import GraphBuilder, value_info
from .params import ParamTable
from .walk import Emitter

DEFAULT_OPSET = 18
MIN_OPSET = 17  # LayerNormalization


def export_model(model: Model, weights: Mapping[str, np.ndarray], *, opset: int | None = None,
                 functions: bool = False, producer_version: str = "") -> onnx.ModelProto:
    """The ONNX model of a concrete ``model`` with ``weights`` (state-dict keys → arrays)."""
    require_concrete(model)
    opset = _check_opset(model, DEFAULT_OPSET if opset is None else opset)
    table = ParamTable(model)
    arrays = table.check(weights)
    g = GraphBuilder(opset)
    inputs = model.graph.input_nodes
    g.names.update(n.target for n in inputs)
    g.names.update(table.specs)
    used: dict[str, None] = {}

    def param(path: str) -> str:
        source = table.source(path)
        if source not in arrays:
            raise ArchError(f"ONNX export: no weights for {source}", model.graph.span)
        used[source] = None
        return source

    library = Library(opset) if functions else None
    outs = Emitter(g, param, library).run(model.graph, "", [n.target for n in inputs])
    outputs = _outputs(g, model, outs, {n.target for n in inputs} | set(used))
    proto = _model(opset, library, model, producer_version)
    graph = proto.graph
    graph.name = model.name
    graph.input.extend(value_info(n.target, n.type) for n in inputs)
    graph.output.extend(value_info(name, t) for name, t in zip(outputs, model.graph.output_types))
    graph.node.extend(g.nodes)
    graph.value_info.extend(v for k, v in g.value_info.items() if k not in outputs)
    for key in table.specs:
        if key in used:
            _initializer(graph, key, arrays[key])
    return proto


def _initializer(graph, name: str, array: np.ndarray) -> None:
    """Added in place (a 100 MB model is copied once, not three times as by make_graph)."""
    if array.dtype.byteorder == ">" or array.dtype == np.bool_ or array.dtype.kind not in "fiu":
        graph.initializer.append(numpy_helper.from_array(array, name))
        return
    tensor = graph.initializer.add()
    tensor.name = name
    tensor.data_type = helper.np_dtype_to_tensor_dtype(array.dtype)
    tensor.dims.extend(array.shape)
    tensor.raw_data = array.tobytes()


def _outputs(g: GraphBuilder, model: Model, outs: list, taken: set) -> list[str]:
    """Rename the producing tensors to the IR's output names (Identity when that cannot be)."""
    names = [n.name for n in model.graph.nodes if n.kind == "output"]
    result = []
    for value, name in zip(outs, names):
        final = g.unique(name)
        if value in taken or value in result or g.is_shared(value) or value not in g.value_info:
            g.path = ""
            g.nodes.append(helper.make_node("Identity", [value], [final], name=final))
        else:
            g.rename(value, final)  # the node keeps its IR path as its name
        result.append(final)
    return result


def _model(opset: int, library, model: Model, producer_version: str) -> onnx.ModelProto:
    proto = onnx.ModelProto()
    opsets = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(DOMAIN, 1)] if library else [])
    proto.opset_import.extend(opsets)
    proto.ir_version = max(8, helper.find_min_ir_version_for(opsets, ignore_unknown=True))
    proto.producer_name, proto.producer_version = "archlang", producer_version
    proto.model_version = 1
    proto.doc_string = model.graph.doc or ""
    if library:
        proto.functions.extend(library.protos)
    return proto


def _check_opset(model: Model, opset: int) -> int:
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ArchError(f"ONNX export: opset {opset} is not supported (use {MIN_OPSET} … {newest})", model.graph.span)
    return opset


def require_concrete(model: Model) -> None:
    if not model.choices:
        return
    labels = ", ".join(c.label for c in model.choices[:8]) + (" …" if len(model.choices) > 8 else "")
    raise SpaceError(
        f"{model.kind} {model.name} has {len(model.choices)} free choice"
        f"{'s' if len(model.choices) != 1 else ''} ({labels}); fix them before exporting "
        "(archlang sample, or an assignment)", model.choices[0].span,
    )
