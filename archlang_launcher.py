"""The ``archlang`` command's entry point, outside the ``archlang`` package on purpose.

Importing ``archlang`` takes about 0.3 s.  The console script imports its entry point's
module before it calls anything, so an entry point inside the package could not catch a
Ctrl-C that arrives during that import: Python would print a ``KeyboardInterrupt``
traceback.  This module imports nothing of archlang at its top; ``main`` imports the CLI
while a Ctrl-C is only noted (the one reason for that local import), and once the command is done,
Ctrl-C during the interpreter's shutdown ends the process quietly.
"""

from __future__ import annotations

import signal


def main() -> int:
    # While archlang is being imported a Ctrl-C is only noted: raised inside a compiled
    # extension's initialisation (pydantic-core's) it would make it panic with a traceback.
    noted: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    try:
        from archlang.cli.app import main as run
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if noted:
        return 130
    try:
        code = run()
    except KeyboardInterrupt:  # the command itself handles its own; this is the last resort
        code = 130
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return code
