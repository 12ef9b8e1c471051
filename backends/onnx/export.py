"""IR model + weights → ``onnx.ModelProto``: graph inputs with named symbolic dims, the walk,
graph outputs, initializers (state-dict keys; a tie is one initializer read twice) and the
opset/IR version.  Bytes are deterministic: names come from IR paths, orders from the IR.

Imports onnx, numpy, archlang.ir/errors and this package; never another backend.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import onnx
from onnx import helper

from archlang.errors import ArchError, SpaceError
from archlang.ir import Model
from archlang.ir.expanded import check_expanded

from .fill_and_write import fill_and_write
from .fold import fold_batchnorm
from .functions import DOMAIN, Library
from .graph import GraphBuilder, reader_counts, value_info
from .initializers import Initializers, largest
from .params import ParamTable
from .walk import Emitter

DEFAULT_OPSET = 18
MIN_OPSET = 17  # LayerNormalization


def export_model(model: Model, weights: Mapping[str, np.ndarray], *, opset: int | None = None,
                 functions: bool = False, producer_version: str = "", fold: bool = True,
                 path=None) -> onnx.ModelProto:
    """The ONNX model of a concrete ``model`` with ``weights`` (state-dict keys → arrays).

    ``fold``: a BatchNormalization after a Conv becomes part of it (``fold.fold_batchnorm``).
    ``path``: also written there, as ``write_model`` would, while the weights are being copied
    into the model (``fill_and_write``): faster than exporting, then writing."""
    require_concrete(model)
    check_expanded(model, "export to ONNX")
    opset = _check_opset(model, DEFAULT_OPSET if opset is None else opset)
    table = ParamTable(model)
    arrays = table.check(weights)
    library = Library(opset) if functions else None
    g, outs, used = _emit(model, table, arrays, opset, library)
    folded = fold_batchnorm(g, arrays, set(outs)) if fold else {}
    if folded:  # the state-dict tensors only the folded pairs read are left out
        read = reader_counts(g.nodes)
        used = [key for key in used if key in read]
    inputs = [n.target for n in model.graph.input_nodes]
    outputs = _outputs(g, model, outs, set(inputs) | set(used) | set(folded))
    proto = _model(opset, library, model, producer_version)
    _fill_graph(proto.graph, model, g, outputs)
    weights = _in_order(table.specs, set(used), arrays, folded)
    if path is not None:
        fill_and_write(proto, weights, path)
        return proto
    initializers = Initializers(proto.graph, largest(array for _, array in weights))
    for key, array in weights:
        initializers.add(key, array)
    return proto


def _emit(model: Model, table: ParamTable, arrays: dict, opset: int, library) -> tuple:
    """The walk: (the builder holding the nodes, the output values, the weights read)."""
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

    outs = Emitter(g, param, library).run(model.graph, "", [n.target for n in inputs])
    return g, outs, list(used)


def _fill_graph(graph, model: Model, g: GraphBuilder, outputs: list[str]) -> None:
    graph.name = model.name
    graph.input.extend(value_info(n.target, n.type) for n in model.graph.input_nodes)
    graph.output.extend(value_info(name, t) for name, t in zip(outputs, model.graph.output_types))
    graph.node.extend(g.nodes)
    graph.value_info.extend(v for k, v in g.value_info.items() if k not in outputs)


def _in_order(specs, used, arrays: dict, folded: dict) -> list[tuple[str, object]]:
    """The initializers in state-dict order, a folded tensor where the weight it replaces is."""
    by_source: dict[str, list] = {}
    for name, (source, array) in folded.items():
        by_source.setdefault(source, []).append((name, array))
    ordered = []
    for key in specs:
        ordered += [(key, arrays[key])] if key in used else []
        ordered += by_source.pop(key, [])
    return ordered + [item for items in by_source.values() for item in items]


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
