"""A file being written as a stream of byte strings: ``Output(fd)`` on a descriptor opened for
writing (by ``archlang.files``, which creates, syncs and renames the file).

The bytes are gathered into page-aligned 4 MiB blocks; a worker thread writes each full
block while the next one fills.  Where the system allows it (Linux), the descriptor is switched to
``O_DIRECT`` (``fcntl``), so a block goes from its buffer to the disk without being copied into the page
cache first.  That copy is most of what a buffered write of a model costs: the 100 MB of
page cache a ResNet50 needs took 0.10–0.15 s to fill on the project's VM when memory was
cold (after torch.onnx's export), twice as long as the disk takes to write them (0.05 s).
With the data already on disk, the caller's fsync is left with metadata only.  The last
block is padded to the alignment ``O_DIRECT`` needs and the file truncated to its length.
When ``O_DIRECT`` is refused (a file system without it), the same blocks are written
through the page cache.  ``close`` leaves the descriptor open: its owner closes it.

Imports numpy and the standard library.
"""

from __future__ import annotations

import errno
import mmap
import os
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

BLOCK = 4 << 20
LARGE = 1 << 16  # copies from this size on release the GIL
ALIGN = 4096  # O_DIRECT offsets, lengths and buffers (a page; a multiple of every sector size)
_SPARE: list[mmap.mmap] = []  # up to 4 buffers kept between files (warm memory, no page faults)


class Output:
    """Byte strings (or any contiguous buffers) appended to an open file descriptor."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        _use_direct(fd)
        self.offset = 0  # bytes accepted so far
        self._blocks = [_take(), _take()]  # the one being filled first
        self._fill = 0  # bytes in the block being filled
        self._start = 0  # file offset of the block being filled
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="archlang-write")
        self._pending: Future | None = None

    def write(self, chunk) -> None:
        data = memoryview(chunk).cast("B")
        done = 0
        while done < len(data):
            take = min(BLOCK - self._fill, len(data) - done)
            _copy(self._blocks[0], self._fill, data[done:done + take])
            self._fill += take
            done += take
            if self._fill == BLOCK:
                self._send()
        self.offset += len(data)

    def rewind(self) -> None:
        """Start the file over, empty."""
        self._wait()
        os.ftruncate(self.fd, 0)
        self.offset = self._fill = self._start = 0

    def finish(self) -> None:
        """Write what is left; the file then holds exactly the bytes given (not yet fsynced)."""
        if self._fill:
            self._send()
        self._wait()
        os.ftruncate(self.fd, self.offset)  # drop the last block's padding

    def close(self) -> None:
        """Release the worker and buffers (also after a failure); the descriptor stays open."""
        self._worker.shutdown(wait=True)  # a block being written is not reused before it is done
        for block in self._blocks:
            if len(_SPARE) < 4:
                _SPARE.append(block)
        self._blocks = []

    # ---- blocks
    def _send(self) -> None:
        """Hand the filled block to the worker; fill the other one meanwhile."""
        self._wait()
        block, size = self._blocks[0], self._fill + (-self._fill % ALIGN)
        block[self._fill:size] = bytes(size - self._fill)  # padding, cut off by finish()
        self._pending = self._worker.submit(_write_at, self.fd, memoryview(block)[:size], self._start)
        self._start += size
        self._fill = 0
        self._blocks.reverse()

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()  # re-raises the worker's error


def _copy(block: mmap.mmap, at: int, data: memoryview) -> None:
    if len(data) < LARGE:
        block[at:at + len(data)] = data
    else:  # numpy copies without holding the GIL, so other threads run meanwhile
        np.copyto(np.frombuffer(block, np.uint8, len(data), at), np.frombuffer(data, np.uint8))


def _write_at(fd: int, data: memoryview, offset: int) -> None:
    while len(data):
        try:
            written = _pwrite(fd, data, offset)
        except OSError as error:
            if error.errno != errno.EINVAL or not _drop_direct(fd):
                raise
            continue  # refused at the first write, not at open: retry through the page cache
        data, offset = data[written:], offset + written


def _pwrite(fd: int, data: memoryview, offset: int) -> int:
    if hasattr(os, "pwrite"):
        return os.pwrite(fd, data, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # Windows: one worker, so nothing moves the position meanwhile
    return os.write(fd, data)


def _use_direct(fd: int) -> None:
    """Set O_DIRECT on ``fd`` where the system and the file system allow it."""
    direct = getattr(os, "O_DIRECT", 0)
    if not direct:
        return
    import fcntl

    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | direct)
    except OSError as error:
        if error.errno != errno.EINVAL:  # EINVAL: this file system has no direct I/O
            raise


def _drop_direct(fd: int) -> bool:
    """Clear O_DIRECT on ``fd``; False when it was not set (so EINVAL is a real error)."""
    import fcntl

    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    if not flags & getattr(os, "O_DIRECT", 0):
        return False
    fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_DIRECT)
    return True


def _take() -> mmap.mmap:
    try:
        return _SPARE.pop()
    except IndexError:
        return mmap.mmap(-1, BLOCK)  # anonymous: page-aligned, as O_DIRECT needs
