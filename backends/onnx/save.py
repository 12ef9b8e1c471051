"""Writing a ModelProto to disk: atomically, durably, with exactly the bytes of
``proto.SerializeToString()``, and with external data for models over 2 GB.

The bytes are streamed (``wire.model_chunks``): protobuf serialises the model without its
initializers' raw data, which is written straight from each tensor, so a 100 MB model is
never held twice as one serialised string.  Files are written by ``atomic.stage``, on
archlang's one safe writer (``archlang.files``): under a new temporary name, fsynced, then
moved into place; a failure or Ctrl-C leaves no partial file and an existing file untouched.

Above ``EXTERNAL_DATA_THRESHOLD`` bytes of initializers (protobuf's 2 GB limit), every
initializer of at least ``EXTERNAL_TENSOR_MIN`` bytes is stored in ``<name>.data`` beside
the model, at increasing offsets, and the model refers to it (``data_location`` EXTERNAL);
both files are staged before either replaces anything.  The proto handed in is never
modified.

Imports onnx, archlang.files and this package's ``wire`` and ``atomic``; never another backend.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from archlang import files

from .atomic import Output, atomic_write, stage
from .wire import NotStreamable, model_chunks, raw_size, without

EXTERNAL_DATA_THRESHOLD = 2**31 - 2**24  # bytes of initializer data, with room for the graph
EXTERNAL_TENSOR_MIN = 1024  # tensors smaller than this stay inside the model file


def write_model(proto: onnx.ModelProto, path) -> Path:
    path = Path(path)
    if not needs_external_data(proto):
        atomic_write(path, lambda out: _write_inline(proto, out))
        return path
    data = path.with_name(path.name + ".data")
    references: dict[int, onnx.TensorProto] = {}
    staged = []
    try:
        staged.append(stage(data, lambda out: references.update(_write_external(proto, out, data.name))))
        staged.append(stage(path, lambda out: _write_chunks(proto, out, references)))
        for file in staged:
            file.commit()
    except BaseException:
        with files.uninterrupted():  # a committed file has nothing left to discard
            for file in staged:
                file.discard()
        raise
    return path


def needs_external_data(proto: onnx.ModelProto) -> bool:
    return _inline_bytes(proto) > EXTERNAL_DATA_THRESHOLD


def _inline_bytes(proto: onnx.ModelProto) -> int:
    """Bytes of the initializers' data held in the model (from shapes: reading it copies it)."""
    total = 0
    for tensor in proto.graph.initializer:
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            size = raw_size(tensor)
            total += size if size is not None else len(tensor.raw_data)
    return total


def _write_inline(proto: onnx.ModelProto, out: Output) -> None:
    try:
        _write_chunks(proto, out)
    except NotStreamable:  # protobuf's own serialisation writes what streaming cannot
        out.rewind()
        out.write(proto.SerializeToString())


def _write_chunks(proto: onnx.ModelProto, out: Output, substitutes=None) -> None:
    for chunk in model_chunks(proto, substitutes):
        out.write(chunk)


def _write_external(proto: onnx.ModelProto, out: Output, location: str) -> dict[int, onnx.TensorProto]:
    """Write the large initializers' data to ``out``; returns, by initializer index, the
    tensor to store in the model instead (its fields but the data, and where the data is)."""
    references = {}
    for i, tensor in enumerate(proto.graph.initializer):
        if not tensor.HasField("raw_data"):
            continue
        blob = tensor.raw_data
        if len(blob) < EXTERNAL_TENSOR_MIN:
            continue
        references[i] = _reference(tensor, location, out.offset, len(blob))
        out.write(blob)
    return references


def _reference(tensor: onnx.TensorProto, location: str, offset: int, length: int) -> onnx.TensorProto:
    reference = without(tensor, "raw_data")
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = reference.external_data.add()
        entry.key, entry.value = key, value
    reference.data_location = onnx.TensorProto.EXTERNAL
    return reference
