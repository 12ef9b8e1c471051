"""Writing a ModelProto to disk atomically, with external data for models over 2 GB.

The file is written next to its destination under a temporary name and moved into place
with ``os.replace``: a failure leaves no partial file and an existing file untouched.
The bytes are streamed (``_stream``): the model is serialised without the initializers'
data, which is written straight from the tensors, so a 100 MB model is never held twice
as one serialised string.  Above ``EXTERNAL_DATA_THRESHOLD`` bytes of initializers
(protobuf's 2 GB limit), every large initializer is stored in ``<name>.data`` beside the
model, written the same way.  The proto handed in is restored afterwards.

Imports onnx only; never another backend.
"""

from __future__ import annotations

import os
from pathlib import Path

import onnx

EXTERNAL_DATA_THRESHOLD = 2**31 - 2**24  # bytes of initializer data, with room for the graph
EXTERNAL_TENSOR_MIN = 1024  # tensors smaller than this stay inside the model file


def write_model(proto: onnx.ModelProto, path) -> Path:
    path = Path(path)
    total = sum(_data_bytes(t) for t in proto.graph.initializer)
    if total <= EXTERNAL_DATA_THRESHOLD:
        _atomic_write(path, lambda f: _stream(proto, f))
        return path
    data = path.with_name(path.name + ".data")
    moved = _externalise(proto, data.name)
    try:
        _atomic_write(data, lambda f: _write_blobs(f, moved))
        _atomic_write(path, lambda f: _stream(proto, f))
    finally:
        _restore(moved)
    return path


def _data_bytes(tensor: onnx.TensorProto) -> int:
    """Bytes of a tensor's data, from its shape (reading raw_data would copy it)."""
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        return 0
    itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    count = 1
    for d in tensor.dims:
        count *= d
    return count * itemsize


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _stream(proto: onnx.ModelProto, f) -> None:
    """The model's protobuf encoding, with each initializer's raw data written as is.

    Protobuf fields may come in any order, so this is: the model's other fields, then the
    graph field (tag 7) holding the graph's other fields and each initializer (tag 5), whose
    raw_data (tag 9) follows its small header.  Nothing large is copied but the raw data."""
    model, graph = onnx.ModelProto(), onnx.GraphProto()
    _copy_fields(proto, model, skip="graph")
    _copy_fields(proto.graph, graph, skip="initializer")
    graph_bytes = graph.SerializeToString()
    tensors = [_tensor_parts(t) for t in proto.graph.initializer]
    sizes = [len(header) + (len(_key(9, len(blob))) + len(blob) if blob else 0) for header, blob in tensors]
    f.write(model.SerializeToString())
    f.write(_key(7, len(graph_bytes) + sum(len(_key(5, n)) + n for n in sizes)))
    f.write(graph_bytes)
    for (header, blob), size in zip(tensors, sizes):
        f.write(_key(5, size) + header)
        if blob:
            f.write(_key(9, len(blob)))
            f.write(blob)


def _copy_fields(source, target, skip: str) -> None:
    """Every field set in ``source`` but ``skip``, which is never read (so never copied)."""
    for field in source.DESCRIPTOR.fields:
        name = field.name
        if name == skip:
            continue
        if field.is_repeated:
            if len(getattr(source, name)):
                getattr(target, name).extend(getattr(source, name))
        elif source.HasField(name):
            if field.message_type is not None:
                getattr(target, name).CopyFrom(getattr(source, name))
            else:
                setattr(target, name, getattr(source, name))


def _tensor_parts(tensor: onnx.TensorProto) -> tuple[bytes, bytes | None]:
    """(the tensor without its raw data, serialised; the raw data)."""
    if not tensor.HasField("raw_data"):
        return tensor.SerializeToString(), None
    header = onnx.TensorProto()
    _copy_fields(tensor, header, skip="raw_data")
    return header.SerializeToString(), tensor.raw_data


def _key(field: int, length: int) -> bytes:
    """A length-delimited field's tag and length (varints)."""
    return _varint(field << 3 | 2) + _varint(length)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _externalise(proto: onnx.ModelProto, location: str) -> list:
    """Point large initializers at ``location`` (offsets in order); returns what was moved."""
    moved, offset = [], 0
    for tensor in proto.graph.initializer:
        blob = tensor.raw_data
        if len(blob) < EXTERNAL_TENSOR_MIN:
            continue
        moved.append((tensor, blob))
        tensor.ClearField("raw_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", str(offset)), ("length", str(len(blob)))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        offset += len(blob)
    return moved


def _write_blobs(f, moved: list) -> None:
    for _, blob in moved:
        f.write(blob)


def _restore(moved: list) -> None:
    for tensor, blob in moved:
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT
        tensor.raw_data = blob
