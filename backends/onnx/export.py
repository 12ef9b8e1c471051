"""IR model + weights → ``onnx.ModelProto``: graph inputs with named symbolic dims, the walk,
graph outputs, initializers (state-dict keys; a tie is one initializer read twice) and the
opset/IR version.  Bytes are deterministic: names come from IR paths, orders from the IR.

Imports onnx, numpy, archlang.ir/errors and this package; never another backend.
"""

from __future__ import annotations

from typing import Callable, Mapping, Union

import numpy as np
import onnx
from onnx import helper

from archlang.errors import ArchError, ShapeError, SpaceError
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

Weights = Union[Mapping[str, np.ndarray], Callable[[], Mapping[str, np.ndarray]]]


def export_model(model: Model, weights: Weights, *, opset: int | None = None,
                 functions: bool = False, producer_version: str = "", fold: bool = True,
                 path=None) -> onnx.ModelProto:
    """The ONNX model of a concrete ``model`` with ``weights`` (state-dict keys → arrays).

    ``weights`` may be a function returning them: it is called only once the whole graph is
    emitted, so a model ONNX cannot express fails before any weight is built or read.
    ``fold``: a BatchNormalization after a Conv becomes part of it (``fold.fold_batchnorm``).
    ``path``: also written there, as ``write_model`` would, while the weights are being copied
    into the model (``fill_and_write``): faster than exporting, then writing."""
    g, outs, used, table, opset, library = _lower(model, opset, functions)
    arrays = table.check(weights() if callable(weights) else weights)
    _require_weights(model, table, arrays, used)
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


def check_exportable(model: Model, *, opset: int | None = None, functions: bool = False) -> None:
    """Raise the ArchError ``export_model`` would raise for the graph itself (an op with no
    lowering, a size ONNX cannot compute, a symbolic parameter shape), without any weights."""
    _lower(model, opset, functions)


def _lower(model: Model, opset: int | None, functions: bool) -> tuple:
    """Everything export does before it needs weights: (builder, outputs, weights read, the
    parameter table, the opset, the function library)."""
    require_concrete(model)
    check_expanded(model, "export to ONNX")
    opset = _check_opset(model, DEFAULT_OPSET if opset is None else opset)
    table = ParamTable(model)
    table.require_concrete()
    library = Library(opset) if functions else None
    try:
        g, outs, used = _emit(model, table, opset, library)
    except ShapeError as error:  # a size only the exporter can fix: say how
        raise _with_input_hint(error, model) from None
    return g, outs, used, table, opset, library


def _with_input_hint(error: ShapeError, model: Model) -> ShapeError:
    """Add how to give the inputs concrete sizes, with the model's own first input as the example."""
    inputs = model.graph.input_nodes
    if not inputs:
        return error
    first = inputs[0]
    example = [d if type(d) is int else (d if i == 0 else 224) for i, d in enumerate(first.type.shape)]
    cli = "x".join(str(d) for d in example)
    python = ", ".join(str(d if type(d) is int else 1) for d in example)
    return error.with_note(
        f"export with concrete input sizes: --input {first.target}={cli} (a name such as B stays "
        f"symbolic), or inputs={{'{first.target}': ({python}{',' if len(example) == 1 else ''})}} in Python")


def _emit(model: Model, table: ParamTable, opset: int, library) -> tuple:
    """The walk: (the builder holding the nodes, the output values, the weights read)."""
    g = GraphBuilder(opset)
    inputs = model.graph.input_nodes
    g.names.update(n.target for n in inputs)
    g.names.update(table.specs)
    used: dict[str, None] = {}

    def param(path: str) -> str:
        source = table.source(path)
        used[source] = None
        return source

    outs = Emitter(g, param, library).run(model.graph, "", [n.target for n in inputs])
    return g, outs, list(used)


def _require_weights(model: Model, table: ParamTable, arrays: dict, used: list) -> None:
    for source in used:
        if source not in arrays:
            raise ArchError(f"ONNX export: no weights for {source}", model.graph.span)


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
