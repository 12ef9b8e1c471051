"""Writing files: every file archlang writes (formatted specs, weights, ONNX models, diagrams,
search reports) goes through ``archlang.files.write``.  A leaf: it imports only
``archlang.errors`` and the standard library, so the backends may use it.
"""

from archlang.files.write import (
    Staged,
    WriteError,
    as_path,
    check_target,
    discard_pending,
    make_folder,
    stage,
    uninterrupted,
    write_bytes,
    write_file,
    write_text,
)

__all__ = ["Staged", "WriteError", "as_path", "check_target", "discard_pending", "make_folder", "stage",
           "uninterrupted", "write_bytes", "write_file", "write_text"]
