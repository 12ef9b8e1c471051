"""Adding initializers to a GraphProto with one copy of their data.

Setting ``TensorProto.raw_data`` takes a ``bytes`` object, which costs two copies of every
weight (``tobytes``, then protobuf's own); protobuf parsing the field from a buffer copies
once.  So each tensor's data is put, after its field key, into one reused buffer (memory
already touched, so cheap to fill) and merged into the tensor.  The result is the same
message as the setter gives.  A folded weight (``fold.Scaled``) is computed straight into
the buffer.

A tensor can be added in two steps, ``header`` then ``fill``, so that the model can be
planned and written while the data is being filled in (``save.write_exported``).

Imports numpy, onnx and this package's ``fold`` and ``wire``.
"""

from __future__ import annotations

import numpy as np
from onnx import helper, numpy_helper

from .fold import Scaled
from .wire import RAW_DATA, key

OFFSET = 16  # where the data starts in the buffer: aligned for numpy, room for the key before it


class Initializers:
    """Appends tensors (arrays or ``Scaled``) of at most ``largest`` bytes to ``graph``."""

    def __init__(self, graph, largest: int) -> None:
        self.graph = graph
        self.buffer = np.empty(OFFSET + largest, np.uint8)

    def add(self, name: str, array) -> None:
        tensor = self.header(name, array)
        if tensor is not None:
            self.fill(tensor, array)

    def header(self, name: str, array):
        """The tensor without its data (None when it went in whole: a type kept as numpy has it)."""
        if not raw_bytes(array.dtype):
            self.graph.initializer.append(numpy_helper.from_array(np.asarray(array), name))
            return None
        tensor = self.graph.initializer.add()
        tensor.name = name
        tensor.data_type = helper.np_dtype_to_tensor_dtype(array.dtype)
        tensor.dims.extend(array.shape)
        return tensor

    def fill(self, tensor, array) -> None:
        size = nbytes(array)
        head = key(RAW_DATA, size)
        start = OFFSET - len(head)
        self.buffer[start:OFFSET] = np.frombuffer(head, np.uint8)
        data = self.buffer[OFFSET:OFFSET + size].view(array.dtype).reshape(array.shape)
        if isinstance(array, Scaled):
            array.into(data)
        else:
            np.copyto(data, array, casting="no")
        tensor.MergeFromString(memoryview(self.buffer)[start:OFFSET + size])


def raw_bytes(dtype: np.dtype) -> bool:
    """Whether the dtype's bytes are ONNX's raw data as they are (little-endian numbers)."""
    return dtype.byteorder != ">" and dtype != np.bool_ and dtype.kind in "fiu"


def nbytes(array) -> int:
    return int(np.prod(array.shape, dtype=np.int64)) * array.dtype.itemsize


def largest(arrays) -> int:
    return max((nbytes(a) for a in arrays), default=0)
