"""The one way archlang writes a file.

    write_text(path, text)       write_bytes(path, data)       write_file(path, fill)
    staged = stage(path, fill)   … then staged.commit() (or staged.discard())

``fill(stream)`` writes the contents to a binary stream (``stream.fileno()`` for writers that
work on the descriptor).  How every file is written:

1. **The target is checked first** (``check_target``): its folder must exist and be a folder;
   an existing target must be a regular file with write permission.  A folder, a device, a
   FIFO, a read-only file (no write bit: archlang does not overwrite what its owner protected)
   or a missing folder is a ``WriteError`` naming the path, and nothing is written.  A
   symbolic link at the target is *replaced* by the new file, never followed — except with
   ``follow_symlinks=True`` (``archlang fmt`` rewriting a spec), which writes the file the
   link points to and leaves the link as it is.
2. **The contents go to a new temporary file** in the target's folder, created with
   ``O_CREAT | O_EXCL | O_NOFOLLOW`` under a random name (``.NAME.<hex>.archlang-tmp``):
   whatever already sits in the folder — a planted symbolic link, a stale temporary file — is
   never opened, followed or overwritten.
3. **Modes are kept.**  The temporary file gets the replaced file's permission bits (and its
   owner, where the process may set it); a new file gets 0666 minus the umask, as with any
   other program.  It is fsynced, then renamed over the target (``os.replace``), and the
   folder is fsynced: readers see the old file or the new one, never a part of either.
4. **Nothing partial survives.**  Any failure, Ctrl-C included, removes the temporary file.
   Ctrl-C while a temporary file is being created, renamed or removed is held back until the
   step is done (``uninterrupted``), so the bookkeeping is never cut in half.  Temporary files
   still pending when a command is interrupted elsewhere (a staged file not yet committed)
   are removed by ``discard_pending``, which the CLI calls on its way out.

Imports only ``archlang.errors`` and the standard library (a leaf: the backends use it).
"""

from __future__ import annotations

import os
import signal
import stat
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from archlang.errors import ArchError, Span

SUFFIX = ".archlang-tmp"
HOLD_FROM = 16 << 20  # a replaced file this large is closed in the background (freeing it takes ms)

_PENDING: set[str] = set()  # temporary files created and neither renamed nor removed yet
_LOCK = threading.Lock()


class WriteError(ArchError):
    """A file archlang was asked to write cannot be written (nothing was written)."""

    kind = "write"


def _error(path, message: str, notes=()) -> WriteError:
    return WriteError(message, Span(str(path), 1, 1), tuple(notes))


@dataclass(frozen=True)
class Target:
    """Where a file will end up and what the new file keeps of the one it replaces."""

    path: Path
    mode: int | None  # permission bits of the file replaced; None when there is none
    owner: tuple[int, int] | None  # (uid, gid) of the file replaced


# ---- checking the target ----------------------------------------------------------------


def check_target(path, *, follow_symlinks: bool = False) -> Target:
    """The checked target of a write to ``path``; a ``WriteError`` saying why it cannot be
    written (see the module docstring).  Commands call it before long work, to fail early."""
    path = as_path(path)
    if follow_symlinks:
        path = Path(os.path.realpath(path))
    _check_folder(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise _error(path, f"cannot write {path}: {_reason(error)}") from None
    if info is None or stat.S_ISLNK(info.st_mode):  # a link is replaced, not followed
        return Target(path, None, None)
    if stat.S_ISDIR(info.st_mode):
        raise _error(path, f"cannot write {path}: it is a folder", ["give the path of a file"])
    if not stat.S_ISREG(info.st_mode):
        raise _error(path, f"cannot write {path}: it is not a regular file (a device, FIFO or socket)",
                     ["give the path of a file"])
    if not info.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise _error(path, f"cannot write {path}: it is read-only (mode {stat.S_IMODE(info.st_mode):04o})",
                     ["make it writable (chmod u+w) or write somewhere else"])
    return Target(path, stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid))


def as_path(path) -> Path:
    """``path`` as a Path: a str or os.PathLike naming a file (TypeError / ValueError otherwise)."""
    text = _text(path)
    if text.endswith(("/", os.sep)):
        raise _error(text, f"cannot write {text}: the path names a folder", ["give the path of a file"])
    return Path(text)


def _text(path) -> str:
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"a path to write is a str or a pathlib.Path, not {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"a path to write is a str or a pathlib.Path, not {type(path).__name__}")
    if not text or "\0" in text:
        raise ValueError(f"not a file name: {text!r}")
    return text


def make_folder(path) -> Path:
    """The folder ``path``, created with its parents when missing (an output folder such as a
    search's ``-o DIR``); a WriteError when it is a file or cannot be created."""
    path = Path(_text(path))
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise _error(path, f"cannot write into {path}: it is a file, not a folder") from None
    except OSError as error:
        raise _error(path, f"cannot create the folder {path}: {_reason(error)}") from None
    return path


def _check_folder(path: Path) -> None:
    folder = path.parent
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        raise _error(path, f"cannot write {path}: the folder {folder} does not exist",
                     ["create it first (mkdir -p), or write somewhere else"]) from None
    except OSError as error:
        raise _error(path, f"cannot write {path}: {folder}: {_reason(error)}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise _error(path, f"cannot write {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _error(path, f"cannot write {path}: no permission to create files in {folder}")


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


# ---- writing ------------------------------------------------------------------------------


class Staged:
    """A complete, fsynced temporary file waiting to replace its target."""

    def __init__(self, target: Target, tmp: str) -> None:
        self.target, self.tmp = target, tmp

    @property
    def path(self) -> Path:
        return self.target.path

    def commit(self) -> Path:
        """Rename the temporary file over the target; the target's path."""
        path = self.target.path
        with uninterrupted():
            held = _hold(path)
            try:
                os.replace(self.tmp, path)
            except OSError as error:
                _remove(self.tmp)
                raise _error(path, f"cannot write {path}: {_reason(error)}") from None
            finally:
                _forget(self.tmp)
                if held is not None:
                    threading.Thread(target=os.close, args=(held,), name="archlang-release-replaced").start()
            _sync_folder(path.parent)
        return path

    def discard(self) -> None:
        """Remove the temporary file; the target stays as it was."""
        with uninterrupted():
            _remove(self.tmp)


def stage(path, fill: Callable, *, follow_symlinks: bool = False) -> Staged:
    """``fill(stream)`` the contents of ``path`` into a temporary file beside it, durably; the
    ``Staged`` file replaces ``path`` on ``commit()``.  Staging two files before committing
    either lets them be replaced together (a model and its external data)."""
    target = check_target(path, follow_symlinks=follow_symlinks)
    fd, tmp = -1, None
    try:
        with uninterrupted():
            fd, tmp = _create_temporary(target)
        stream = os.fdopen(fd, "wb", closefd=False)  # the descriptor is closed below, once
        try:
            fill(stream)
            stream.flush()
        finally:
            stream.close()
        _keep_mode(fd, target)
        os.fsync(fd)
    except BaseException as error:
        if tmp is not None:
            with uninterrupted():
                _remove(tmp)
        if isinstance(error, OSError):
            raise _error(target.path, f"cannot write {target.path}: {_reason(error)}") from None
        raise
    finally:
        if fd >= 0:
            os.close(fd)
    return Staged(target, tmp)


def write_file(path, fill: Callable, *, follow_symlinks: bool = False) -> Path:
    """Write ``path`` with ``fill(stream)``, safely (module docstring); the path written."""
    return stage(path, fill, follow_symlinks=follow_symlinks).commit()


def write_bytes(path, data, *, follow_symlinks: bool = False) -> Path:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data to write are bytes, not {type(data).__name__}")
    return write_file(path, lambda stream: stream.write(data), follow_symlinks=follow_symlinks)


def write_text(path, text: str, *, follow_symlinks: bool = False, encoding: str = "utf-8") -> Path:
    if not isinstance(text, str):
        raise TypeError(f"text to write is a str, not {type(text).__name__}")
    return write_bytes(path, text.encode(encoding), follow_symlinks=follow_symlinks)


def random_suffix() -> str:
    """Twelve random hex digits for a temporary name (os.urandom: the ``secrets`` module would
    cost every command's start-up hmac's and OpenSSL's import)."""
    return os.urandom(6).hex()


def _create_temporary(target: Target) -> tuple[int, str]:
    """A new file beside the target, opened for writing, that nothing else could have put there."""
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
             | getattr(os, "O_BINARY", 0))
    mode = 0o600 if target.mode is not None else 0o666  # a new file: 0666 minus the umask
    for _ in range(100):
        tmp = str(target.path.parent / f".{target.path.name[:96]}.{random_suffix()}{SUFFIX}")
        try:
            fd = os.open(tmp, flags, mode)
        except FileExistsError:
            continue
        except OSError as error:
            raise _error(target.path, f"cannot write {target.path}: {_reason(error)}") from None
        with _LOCK:
            _PENDING.add(tmp)
        return fd, tmp
    raise _error(target.path, f"cannot write {target.path}: no free temporary name in {target.path.parent}")


def _keep_mode(fd: int, target: Target) -> None:
    if target.mode is None:
        return
    if target.owner is not None and hasattr(os, "fchown") and target.owner != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, *target.owner)  # changing the owner clears set-id bits: before fchmod
        except PermissionError:
            pass  # only root may give a file away: the new file is the writer's
    os.fchmod(fd, target.mode)


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    _forget(tmp)


def _forget(tmp: str) -> None:
    with _LOCK:
        _PENDING.discard(tmp)


def discard_pending() -> list[str]:
    """Remove every temporary file this process created and has not renamed or removed yet
    (an interrupted command's); the paths removed."""
    with _LOCK:
        pending = sorted(_PENDING)
    for tmp in pending:
        _remove(tmp)
    return pending


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX): fsync the folder that holds the entry."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _hold(path: Path) -> int | None:
    """A descriptor on a large regular file about to be replaced, or None.  Its last close frees
    its pages and blocks (≈ 25 ms for 100 MB): closing it in a background thread spares the
    caller that wait; a crash in between loses nothing, the kernel closes it."""
    if os.name != "posix":  # elsewhere an open file cannot be replaced
        return None
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # non-blocking: a FIFO must not hang us; a link is left alone
    except OSError:
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size < HOLD_FROM:
        os.close(fd)
        return None
    return fd


# ---- Ctrl-C --------------------------------------------------------------------------------


@contextmanager
def uninterrupted():
    """Hold Ctrl-C (SIGINT) back until the block is done, then deliver it.  Python runs
    signal handlers in the main thread only; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # a handler installed outside Python: leave it alone
        yield
        return
    caught: list[int] = []
    try:
        signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt
