"""archlang.files: the one safe writer (docs/safety.md).

Planted symbolic links are never followed, modes are kept, read-only targets, folders,
devices and missing folders are clear errors, and no failure (Ctrl-C included) leaves a
temporary file behind or touches the target.
"""

from __future__ import annotations

import os
import re
import signal
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archlang.files import WriteError, check_target, discard_pending, stage, uninterrupted, write_bytes, write_text
from archlang.files import write as files_write


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(files_write.SUFFIX))


def test_writes_the_contents_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "out.txt"
    assert write_text(target, "hello\n") == target
    assert target.read_text() == "hello\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


@pytest.mark.parametrize("planted", [".out.txt.archlang-tmp", ".out.txt.partial", ".out.txt.fixed.archlang-tmp"])
def test_a_link_planted_at_a_temporary_name_is_never_followed(tmp_path, monkeypatch, planted):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    names = iter(["fixed", "other"])
    monkeypatch.setattr(files_write, "random_suffix", lambda: next(names))
    (tmp_path / planted).symlink_to(victim)
    write_text(tmp_path / "out.txt", "new")
    assert victim.read_text() == "precious"
    assert (tmp_path / "out.txt").read_text() == "new"
    assert (tmp_path / planted).is_symlink()


def test_a_link_at_the_target_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "out.onnx"
    link.symlink_to(victim)
    write_bytes(link, b"model")
    assert not link.is_symlink() and link.read_bytes() == b"model"
    assert victim.read_text() == "precious"


def test_follow_symlinks_writes_the_file_the_link_names(tmp_path):
    real = tmp_path / "real" / "spec.arch"
    real.parent.mkdir()
    real.write_text("old")
    real.chmod(0o600)
    link = tmp_path / "spec.arch"
    link.symlink_to(real)
    write_text(link, "new", follow_symlinks=True)
    assert link.is_symlink() and real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert _leftovers(tmp_path) == [] and _leftovers(real.parent) == []


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o755, 0o700])
def test_the_replaced_file_keeps_its_mode(tmp_path, mode):
    target = tmp_path / "f"
    target.write_text("old")
    target.chmod(mode)
    write_text(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == mode and target.read_text() == "new"


def test_a_new_file_gets_0666_minus_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_text(tmp_path / "f", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o640


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o000])
def test_a_read_only_target_is_an_error_and_stays_as_it_was(tmp_path, mode):
    target = tmp_path / "f"
    target.write_text("protected")
    target.chmod(mode)
    with pytest.raises(WriteError, match="read-only"):
        write_text(target, "new")
    target.chmod(0o600)
    assert target.read_text() == "protected" and _leftovers(tmp_path) == []


def test_bad_targets_are_clear_errors(tmp_path):
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("x")
    cases = {
        tmp_path / "missing" / "out.onnx": "the folder .* does not exist",
        tmp_path / "folder": "it is a folder",
        tmp_path / "fifo": "not a regular file",
        tmp_path / "file" / "out.onnx": "is not a folder",
        str(tmp_path / "folder") + "/": "names a folder",
    }
    for path, message in cases.items():
        with pytest.raises(WriteError, match=message) as caught:
            write_text(path, "x")
        assert caught.value.span.file.startswith(str(tmp_path)), caught.value.span
        with pytest.raises(WriteError, match=message):
            check_target(path)
    assert _leftovers(tmp_path) == [] and (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize("path", [None, 42, b"bytes", ["a"]])
def test_a_path_that_is_not_a_path_is_a_type_error(path):
    with pytest.raises(TypeError, match="str or a pathlib.Path"):
        write_text(path, "x")


@pytest.mark.parametrize("path", ["", "a\0b"])
def test_an_empty_or_nul_path_is_a_value_error(path):
    with pytest.raises(ValueError, match="not a file name"):
        write_text(path, "x")


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_a_failure_while_writing_leaves_the_target_untouched_and_no_temporary_file(tmp_path, error):
    target = tmp_path / "f"
    target.write_text("old")

    def fill(stream):
        stream.write(b"partial contents")
        raise error

    with pytest.raises((type(error), WriteError)) as caught:
        stage(target, fill)
    if isinstance(error, OSError):
        assert isinstance(caught.value, WriteError) and "no space left" in str(caught.value)
    assert target.read_text() == "old" and _leftovers(tmp_path) == []


def test_staged_files_replace_their_targets_on_commit_only(tmp_path):
    a, b = tmp_path / "model.onnx", tmp_path / "model.onnx.data"
    first = stage(b, lambda s: s.write(b"data"))
    second = stage(a, lambda s: s.write(b"model"))
    assert not a.exists() and not b.exists() and len(_leftovers(tmp_path)) == 2
    first.commit(), second.commit()
    assert a.read_bytes() == b"model" and b.read_bytes() == b"data" and _leftovers(tmp_path) == []
    third = stage(a, lambda s: s.write(b"other"))
    third.discard()
    assert a.read_bytes() == b"model" and _leftovers(tmp_path) == []


def test_discard_pending_removes_what_an_interrupted_command_staged(tmp_path):
    stage(tmp_path / "x", lambda s: s.write(b"x"))
    assert len(_leftovers(tmp_path)) == 1
    removed = discard_pending()
    assert len(removed) == 1 and _leftovers(tmp_path) == [] and not (tmp_path / "x").exists()


def test_uninterrupted_holds_ctrl_c_until_the_block_ends():
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with uninterrupted():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the signal is handled between bytecodes: give it many
                pass
            reached.append(True)
    assert reached == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_while_the_contents_are_written_removes_the_temporary_file(tmp_path):
    target = tmp_path / "f"

    def fill(stream):
        stream.write(b"x" * 1000)
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10_000):
            stream.write(b"y")

    with pytest.raises(KeyboardInterrupt):
        stage(target, fill)
    assert not target.exists() and _leftovers(tmp_path) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), before=st.sampled_from(["none", "file", "link", "dangling"]),
       mode=st.sampled_from([0o600, 0o644, 0o664, 0o700]))
def test_property_the_target_ends_up_holding_exactly_the_data(tmp_path_factory, data, before, mode):
    folder = tmp_path_factory.mktemp("w")
    target, victim = folder / "t", folder / "victim"
    victim.write_bytes(b"v")
    if before == "file":
        target.write_bytes(b"old")
        target.chmod(mode)
    elif before == "link":
        target.symlink_to(victim)
    elif before == "dangling":
        target.symlink_to(folder / "nowhere")
    write_bytes(target, data)
    assert target.read_bytes() == data and not target.is_symlink()
    assert victim.read_bytes() == b"v" and not (folder / "nowhere").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["t", "victim"]
    if before == "file":
        assert stat.S_IMODE(target.stat().st_mode) == mode


WRITERS = re.compile(r"(?<!files)\.write_(text|bytes)\(|os\.(replace|rename)\(|O_CREAT|\bopen\([^)]*['\"][wax]b?\+?['\"]"
                     r"|\.savefig\((?!stream)|torch\.save\([^)]*\b(path|tmp)\b|save_file\(")


def test_no_module_writes_a_file_but_through_archlang_files():
    root = Path(__file__).resolve().parent.parent
    offenders = []
    for folder in (root / "archlang", root / "backends"):
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative.startswith(("archlang/files/", "archlang/backends/")):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if WRITERS.search(line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "write through archlang.files:\n" + "\n".join(offenders)
