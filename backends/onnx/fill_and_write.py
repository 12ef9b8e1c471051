"""Adding a model's initializers and writing the model to disk at the same time.

``fill_and_write(proto, weights, path)`` is ``export_model``'s path for a model that will
be written (``export_model(..., path=...)``).  The initializers go into ``proto`` without
their data, the file's layout is planned from their shapes (``wire.Layout``), and a worker
thread streams the file — each tensor's bytes straight from its array — while this thread
copies the same arrays into the proto.  Both are copies of ~100 MB for a ResNet50, and the
disk write (most of the worker's time) does not hold the GIL, so the file costs little more
than the proto alone.  The bytes are exactly those of ``proto.SerializeToString()`` once
filled, and the file is written like any other (``atomic.stage``, on ``archlang.files``:
atomic, fsynced; a failure or Ctrl-C in either thread stops both and leaves no file).

Models over the external-data threshold, and anything the layout cannot stream, are
filled first and then written by ``save.write_model``.

Imports numpy, archlang.files and this package's ``atomic``, ``fold``, ``initializers``, ``save`` and ``wire``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from archlang import files

from . import save
from .atomic import stage
from .fold import Scaled
from .initializers import Initializers, largest, nbytes
from .wire import Layout, NotStreamable


def fill_and_write(proto, weights: list, path) -> None:
    """Add ``weights`` ((name, array or ``Scaled``) pairs) to ``proto`` and write it to ``path``."""
    path = files.check_target(path).path  # a bad target fails before any work
    adding = Initializers(proto.graph, largest(array for _, array in weights))
    first = len(proto.graph.initializer)
    headers = [adding.header(name, array) for name, array in weights]
    pending = [(first + k, tensor, array) for k, (tensor, (_, array)) in enumerate(zip(headers, weights))
               if tensor is not None]
    if save.needs_external_data(proto):
        _fill(adding, pending)
        save.write_model(proto, path)
        return
    layout = Layout(proto, supplied={i: nbytes(array) for i, _, array in pending})
    data = _Source({i: array for i, _, array in pending})
    cancelled = threading.Event()

    def write(out) -> None:
        for chunk in layout.chunks(data):
            if cancelled.is_set():  # this thread failed (or Ctrl-C): stop writing at once
                raise _Cancelled()
            out.write(chunk)

    with ThreadPoolExecutor(1, thread_name_prefix="archlang-export") as worker:
        writing = worker.submit(stage, path, write)
        try:
            _fill(adding, pending)
            staged = _result(writing)
            if staged is not None:
                staged.commit()
        except BaseException:
            cancelled.set()
            with files.uninterrupted():  # a second Ctrl-C must not cut the clean-up short
                _discard(writing)
            raise
    if staged is None:  # the layout could not stream it: protobuf serialises it, filled
        save.write_model(proto, path)


class _Cancelled(Exception):
    """The writing thread stops: the filling thread failed."""


def _fill(adding: Initializers, pending: list) -> None:
    for _, tensor, array in pending:
        adding.fill(tensor, array)


def _result(writing):
    try:
        return writing.result()
    except NotStreamable:
        return None


def _discard(writing) -> None:
    """Wait for the file being written (it stops at the next tensor) and remove it."""
    try:
        staged = writing.result()
    except BaseException:
        return
    if staged is not None:
        staged.discard()


class _Source:
    """The raw bytes of each supplied initializer, for the writing thread: an array's own
    memory, or a folded weight computed into a buffer reused from one tensor to the next
    (its bytes are copied out before the next one is asked for)."""

    def __init__(self, arrays: dict) -> None:
        self.arrays = arrays
        self.buffer = np.empty(largest(a for a in arrays.values() if isinstance(a, Scaled)), np.uint8)

    def __call__(self, index: int):
        array = self.arrays[index]
        if isinstance(array, Scaled):
            out = self.buffer[:nbytes(array)].view(array.dtype).reshape(array.shape)
            array = array.into(out)
        return np.ascontiguousarray(array).reshape(-1).view(np.uint8)
