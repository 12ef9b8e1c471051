"""A ModelProto's protobuf encoding as a stream of pieces, without serialising its weights.

``model_chunks(proto)`` yields byte strings whose concatenation is exactly
``proto.SerializeToString()``.  upb, like every protobuf runtime, writes a message's fields
in field-number order, so a message is [fields numbered below F][field F][fields above F]:
the model is cut at its graph (field 7), the graph at its initializers (field 5) and each
initializer at its raw data (field 9).  Protobuf serialises everything but the raw data
(small); each initializer's raw data is read when its turn comes and yielded as is, so a
100 MB model is never held as one serialised string (upb's ``SerializeToString`` of one
costs four copies of it).

A message with fields unknown to this onnx, or raw data whose size does not fit its tensor's
shape and type, raises ``NotStreamable`` (possibly after pieces were yielded): protobuf's own
serialisation is then the way to write it.

Imports onnx and google.protobuf only.
"""

from __future__ import annotations

from typing import Callable, Iterator, Mapping

import onnx
from onnx import TensorProto

try:
    from google.protobuf.unknown_fields import UnknownFieldSet
except ImportError:
    UnknownFieldSet = None


class NotStreamable(ValueError):
    """The pieces would not reproduce protobuf's bytes; serialise the model whole."""


def _number(message, field: str) -> int:
    return message.DESCRIPTOR.fields_by_name[field].number


GRAPH = _number(onnx.ModelProto, "graph")  # 7
INITIALIZER = _number(onnx.GraphProto, "initializer")  # 5
RAW_DATA = _number(TensorProto, "raw_data")  # 9

# bytes per element of the types whose raw data is a plain array (the packed 2-, 4- and 6-bit
# types and strings are measured by reading the data instead)
ITEMSIZE = {
    TensorProto.FLOAT: 4, TensorProto.UINT8: 1, TensorProto.INT8: 1, TensorProto.UINT16: 2,
    TensorProto.INT16: 2, TensorProto.INT32: 4, TensorProto.INT64: 8, TensorProto.BOOL: 1,
    TensorProto.FLOAT16: 2, TensorProto.DOUBLE: 8, TensorProto.UINT32: 4, TensorProto.UINT64: 8,
    TensorProto.COMPLEX64: 8, TensorProto.COMPLEX128: 16, TensorProto.BFLOAT16: 2,
    TensorProto.FLOAT8E4M3FN: 1, TensorProto.FLOAT8E4M3FNUZ: 1, TensorProto.FLOAT8E5M2: 1,
    TensorProto.FLOAT8E5M2FNUZ: 1,
}


# ---------------------------------------------------------------------------- the stream


def model_chunks(proto: onnx.ModelProto, substitutes: Mapping[int, TensorProto] | None = None) -> Iterator[bytes]:
    """The bytes of ``proto.SerializeToString()``, in pieces.  ``substitutes`` maps an
    initializer's index to a tensor encoded in its place (an external-data reference)."""
    yield from Layout(proto, substitutes).chunks()


class Layout:
    """A model's encoding planned up front: everything but the initializers' raw data is
    serialised and the raw data's sizes are known (from shapes), none of it read.

    ``supplied`` maps an initializer's index to the size of raw data it does not hold yet:
    ``chunks(data)`` then takes it from ``data(index)``, so the model can be written while
    its initializers are being filled in (the proto is not read after planning)."""

    def __init__(self, proto: onnx.ModelProto, substitutes: Mapping[int, TensorProto] | None = None,
                 supplied: Mapping[int, int] | None = None) -> None:
        self.whole = None if proto.HasField("graph") else proto.SerializeToString()
        if self.whole is not None:
            return
        graph = proto.graph
        _require_known(proto)
        _require_known(graph)
        model_low, self.model_high = split(proto, "graph")
        graph_low, self.graph_high = split(graph, "initializer")
        substitutes, supplied = substitutes or {}, supplied or {}
        self.tensors = list(graph.initializer)
        self.pieces = [_Piece.whole(substitutes[i]) if i in substitutes
                       else _Piece.supplied(t, supplied[i]) if i in supplied else _Piece.streamed(t)
                       for i, t in enumerate(self.tensors)]
        body = sum(len(key(INITIALIZER, p.size)) + p.size for p in self.pieces)
        self.head = model_low + key(GRAPH, len(graph_low) + body + len(self.graph_high)) + graph_low
        self.supplied = set(supplied)

    def chunks(self, data: Callable[[int], object] | None = None) -> Iterator:
        """The pieces; supplied raw data comes from ``data(index)`` (any contiguous buffer)."""
        if self.whole is not None:
            yield self.whole
            return
        yield self.head
        for i, (piece, tensor) in enumerate(zip(self.pieces, self.tensors)):
            yield key(INITIALIZER, piece.size) + piece.head
            if piece.raw is not None:
                yield key(RAW_DATA, piece.raw)
                # alone: prefixing the data would copy it
                yield piece.check(data(i) if i in self.supplied else tensor.raw_data)
                yield piece.tail
        yield self.graph_high + self.model_high


class _Piece:
    """One initializer's encoding: ``head`` (and, when its raw data is streamed, the data's
    length ``raw`` and the fields after it, ``tail``); ``size`` is its whole length."""

    __slots__ = ("head", "name", "raw", "size", "tail")

    @classmethod
    def whole(cls, tensor: TensorProto) -> _Piece:
        piece = cls()
        piece.name, piece.raw, piece.tail = tensor.name, None, b""
        piece.head = tensor.SerializeToString()
        piece.size = len(piece.head)
        return piece

    @classmethod
    def supplied(cls, tensor: TensorProto, size: int) -> _Piece:
        """Cut where raw data of ``size`` bytes will be (the tensor holds none yet)."""
        _require_known(tensor)
        piece = cls()
        piece.name, piece.raw = tensor.name, size
        piece.head, piece.tail = split(tensor, "raw_data")
        piece.size = len(piece.head) + len(key(RAW_DATA, size)) + size + len(piece.tail)
        return piece

    @classmethod
    def streamed(cls, tensor: TensorProto) -> _Piece:
        """Cut at the raw data, which is read only when written (a tensor without any: whole)."""
        if not tensor.HasField("raw_data"):
            return cls.whole(tensor)
        _require_known(tensor)
        piece = cls()
        piece.name = tensor.name
        piece.head, piece.tail = split(tensor, "raw_data")
        piece.raw = raw_size(tensor)
        if piece.raw is None:  # a packed type: measure the data itself (these are rare and small)
            piece.raw = len(tensor.raw_data)
        piece.size = len(piece.head) + len(key(RAW_DATA, piece.raw)) + piece.raw + len(piece.tail)
        return piece

    def check(self, blob):
        size = memoryview(blob).nbytes
        if size != self.raw:
            raise NotStreamable(f"initializer {self.name!r} has {size} bytes of raw data; its shape "
                                f"and type take {self.raw}")
        return blob


def raw_size(tensor: TensorProto) -> int | None:
    """Bytes of raw data ``tensor``'s shape and type take (None for packed types)."""
    itemsize = ITEMSIZE.get(tensor.data_type)
    if itemsize is None:
        return None
    count = 1
    for d in tensor.dims:
        count *= d
    return count * itemsize


# ---------------------------------------------------------------------------- encoding


def split(message, field: str) -> tuple[bytes, bytes]:
    """``message`` without ``field``, serialised as the fields numbered below it and above it.

    The field itself is never read (reading raw data or a graph would copy it)."""
    cut = _number(message, field)
    low, high = type(message)(), type(message)()
    for descriptor in message.DESCRIPTOR.fields:
        if descriptor.number != cut:
            _copy_field(message, low if descriptor.number < cut else high, descriptor)
    return low.SerializeToString(), high.SerializeToString()


def without(message, field: str):
    """A copy of ``message`` without ``field`` (which is never read)."""
    copy = type(message)()
    for descriptor in message.DESCRIPTOR.fields:
        if descriptor.name != field:
            _copy_field(message, copy, descriptor)
    return copy


def _copy_field(source, target, descriptor) -> None:
    name = descriptor.name
    if descriptor.is_repeated:
        values = getattr(source, name)
        if len(values):
            getattr(target, name).extend(values)
    elif source.HasField(name):
        if descriptor.message_type is not None:
            getattr(target, name).CopyFrom(getattr(source, name))
        else:
            setattr(target, name, getattr(source, name))


def _require_known(message) -> None:
    """Fields this onnx does not know are written last by protobuf, which ``split`` would lose."""
    if _unknown_count(message):
        raise NotStreamable(f"a {type(message).__name__} has fields unknown to onnx {onnx.__version__}")


def _unknown_count(message) -> int:
    if UnknownFieldSet is None:  # protobuf < 4.22
        return len(message.UnknownFields())
    return len(UnknownFieldSet(message))


def key(field: int, length: int) -> bytes:
    """A length-delimited field's tag and length (varints)."""
    return varint(field << 3 | 2) + varint(length)


def varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)
