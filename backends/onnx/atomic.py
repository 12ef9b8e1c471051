"""ONNX files through archlang's one safe writer: ``stage(path, write)`` then
``Staged.commit()`` (``archlang.files``: a temporary file created with ``O_EXCL|O_NOFOLLOW``
beside ``path``, fsynced, renamed into place; modes kept; a failure or Ctrl-C leaves no
partial file and an existing file untouched).  ``write`` fills an ``output.Output``, the
block writer, on the temporary file's descriptor.  Staging two files and committing them in
order lets a model and its external data be replaced together.

Imports archlang.files, the standard library and this package's ``output``.
"""

from __future__ import annotations

from typing import Callable

from archlang import files

from .output import Output

Staged = files.Staged


def stage(path, write: Callable[[Output], None]) -> files.Staged:
    """``write`` the file's contents to a temporary file beside ``path``, durably."""

    def fill(stream) -> None:
        out = Output(stream.fileno())
        try:
            write(out)
            out.finish()
        finally:
            out.close()

    return files.stage(path, fill)


def atomic_write(path, write: Callable[[Output], None]) -> None:
    stage(path, write).commit()
