"""The ``archlang`` command's entry point, outside the ``archlang`` package on purpose.

Importing ``archlang`` takes about 0.3 s.  The console script imports its entry point's
module before it calls anything, so an entry point inside the package could not catch a
Ctrl-C that arrives during that import: Python would print a ``KeyboardInterrupt``
traceback.  This module imports nothing of archlang at its top; ``main`` imports the CLI
inside its ``try`` (the one reason for that local import), and once the command is done,
Ctrl-C during the interpreter's shutdown ends the process quietly.
"""

from __future__ import annotations

import signal


def main() -> int:
    try:
        from archlang.cli.app import main as run

        code = run()
    except KeyboardInterrupt:  # during start-up (the command itself handles its own)
        code = 130
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return code
