"""Writing files: every file archlang writes (formatted specs, weights, ONNX models, diagrams,
search reports) goes through ``archlang.files.write``.  A leaf: it imports only
``archlang.errors`` and the standard library, so the backends may use it.
"""

from archlang.files.write import (
    Staged,
    WriteError,
    check_target,
    discard_pending,
    stage,
    uninterrupted,
    write_bytes,
    write_file,
    write_text,
)

__all__ = ["Staged", "WriteError", "check_target", "discard_pending", "stage", "uninterrupted", "write_bytes",
           "write_file", "write_text"]
