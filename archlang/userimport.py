"""Importing the user's code named on the command line: ``FILE.py`` or ``MODULE`` of
``--objective FILE.py:FUNCTION`` and ``--data FILE.py:FUNCTION`` (and their ``MODULE:`` forms).

Running the user's code is what naming it on the command line asks for; a spec never does.
A failure is raised as the caller's error class, prefixed with the caller's flag and the
text the user gave (``--data loaders.py:make: importing loaders.py failed: …``), without our
traceback.  A leaf: imports nothing of archlang.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys


def import_file(file: str, spec: str, *, flag: str, error: type[Exception], prefix: str, shown: str | None = None):
    """The module of the Python file ``file`` (an absolute path), imported once per process
    under ``prefix`` + a hash of the path; ``shown``: how messages name the file."""
    shown = shown or file
    name = prefix + hashlib.sha256(file.encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    loader_spec = importlib.util.spec_from_file_location(name, file)
    if loader_spec is None or loader_spec.loader is None:
        raise error(f"{flag} {spec}: {shown} is not a Python file")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    try:
        loader_spec.loader.exec_module(module)
    except BaseException as failure:  # the user's code failed: say where, without our traceback
        del sys.modules[name]
        if isinstance(failure, KeyboardInterrupt):
            raise
        raise error(f"{flag} {spec}: importing {shown} failed: {describe(failure, file)}") from None
    return module


def import_module(module: str, spec: str, *, flag: str, error: type[Exception]):
    """The importable module ``module`` (on the Python path)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as failure:
        if failure.name and module.startswith(failure.name):
            raise error(f"{flag} {spec}: no module named '{failure.name}' "
                        "(give a FILE.py path, or a module on the Python path)") from None
        raise error(f"{flag} {spec}: importing {module} failed: {describe(failure, module)}") from None
    except Exception as failure:  # noqa: BLE001 — the user's module failed to import
        raise error(f"{flag} {spec}: importing {module} failed: {describe(failure, module)}") from None


def describe(failure: BaseException, where: str) -> str:
    """``Type: message (line N)``, the line in ``where`` when the traceback passes there."""
    line = getattr(failure, "lineno", None)
    if line is None:
        tb = failure.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == where:
                line = tb.tb_lineno
            tb = tb.tb_next
    at = f" (line {line})" if line else ""
    return f"{type(failure).__name__}: {failure}{at}"
