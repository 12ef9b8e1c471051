"""The ONNX backend: an ir.Model and its weights become an ``onnx.ModelProto``, emitted
directly from the IR (no tracing).

    export_model(model, weights, *, opset=None, functions=False) -> onnx.ModelProto
    write_model(proto, path)                       atomic; external data over 2 GB

Weights are a mapping from state-dict keys to numpy arrays (the API layer loads files and
seeded initialisations).  Reads only archlang.ir/dims/types/ops/errors, onnx and numpy;
never another backend.
"""

from .export import DEFAULT_OPSET, export_model
from .lowerings import LOWERINGS, missing
from .save import write_model

__all__ = ["export_model", "write_model", "DEFAULT_OPSET", "LOWERINGS", "missing"]
