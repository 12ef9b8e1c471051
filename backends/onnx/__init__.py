"""The ONNX backend: an ir.Model and its weights become an ``onnx.ModelProto``, emitted
directly from the IR (no tracing).

    export_model(model, weights, *, opset=None, functions=False, fold=True, path=None)
                                                   -> onnx.ModelProto (written to path if given)
    check_exportable(model, *, opset=None, functions=False)
                                                   the graph's errors, without weights
    write_model(proto, path)                       atomic; external data over 2 GB

A file holds exactly ``proto.SerializeToString()``, streamed (``wire``) through O_DIRECT
blocks (``output``) into a temporary file moved into place (``atomic``, on archlang's one
safe writer ``archlang.files``); with ``path``,
``export_model`` writes it while it copies the weights into the proto (``fill_and_write``).
``fold`` folds eval-mode BatchNorm into the Conv before it (``fold``).

Weights are a mapping from state-dict keys to numpy arrays, or a function returning one that
is called once the graph is emitted (the API layer loads files and seeded initialisations).  Reads only archlang.ir/dims/types/ops/errors, onnx and numpy;
never another backend.
"""

from .export import DEFAULT_OPSET, check_exportable, export_model
from .lowerings import LOWERINGS, describe, missing
from .save import write_model

__all__ = ["export_model", "check_exportable", "write_model", "DEFAULT_OPSET", "LOWERINGS", "describe", "missing"]
