"""The ``archlang`` command's entry point, outside the ``archlang`` package on purpose.

Importing ``archlang`` takes a noticeable fraction of a second.  The console script imports
its entry point's module before it calls anything, so an entry point inside the package could
not catch a Ctrl-C that arrives during that import: Python would print a ``KeyboardInterrupt``
traceback.  This module therefore installs its Ctrl-C handler as its very first statement,
through the built-in ``_signal`` module (already loaded by the interpreter, so installing it
imports nothing), which leaves only the interpreter's own start-up and the lookup of this
file unguarded.  ``main`` imports the CLI while a Ctrl-C is only noted (the one reason for
that local import), and once the command is done, Ctrl-C during the interpreter's shutdown
ends the process quietly.

A process started with Ctrl-C ignored (``cmd &`` in a script, ``nohup``) keeps ignoring it,
as Python itself does: the handlers are installed only over Python's default one.
"""

import _signal

# While archlang is being imported a Ctrl-C is only noted: raised inside a compiled
# extension's initialisation it could make that extension panic with a traceback.
_noted: list[int] = []
_TAKES_CTRL_C = _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler
if _TAKES_CTRL_C:
    _signal.signal(_signal.SIGINT, lambda signum, frame: _noted.append(signum))


def main() -> int:
    try:
        from archlang.cli.app import main as run
    finally:
        if _TAKES_CTRL_C:
            _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    if _noted:
        return 130
    try:
        code = run()
    except KeyboardInterrupt:  # the command itself handles its own; this is the last resort
        code = 130
    if _TAKES_CTRL_C:
        _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
    return code
