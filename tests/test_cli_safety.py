"""Issue 12, items 5 and 10 on the command line: every output goes through the safe writer
(no planted link is followed, modes are kept, bad targets are clear errors), Ctrl-C at any
moment leaves no partial file and prints no traceback, bad weights files and models too large
to allocate are located errors.  Each case runs ``archlang`` in a subprocess under
``prlimit --as=4 GiB`` and ends in success or a clear error, never a traceback.
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import archlang  # noqa: E402
from archlang.ir.memory import check_fits, weight_bytes  # noqa: E402
from archlang.syntax.fmt import format_source  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESNET = ROOT / "specs" / "vision" / "resnet.arch"
ARCHLANG = str(Path(sys.executable).with_name("archlang"))
LIMIT = ["prlimit", "--as=4294967296"] if shutil.which("prlimit") else []
SMALL = "model M() {\n    input x: [B, 4]\n    fc = Linear(4, 2)\n    return fc(x)\n}\n"
UGLY = "model M(){\n  input x:[B,4]\n  fc=Linear(4,2)\n  return fc(x)\n}\n"
FORMATTED = format_source(UGLY, "m.arch")
BIG = "model Big() {\n    input x: [B, 1000000]\n    fc = Linear(1000000, 100000)\n    return fc(x)\n}\n"


def cli(args, cwd: Path) -> subprocess.CompletedProcess:
    """Run archlang; no traceback, and at most 20 s of CPU (the issue's bound; CPU, not wall time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([*LIMIT, ARCHLANG, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                            timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert "Traceback" not in result.stderr, result.stderr
    spent = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert spent < 20, f"{args[0]} used {spent:.1f} s of CPU"
    return result


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith((".archlang-tmp", ".partial")))


# ---- fmt ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_fmt_keeps_the_mode_of_the_spec(tmp_path, mode):
    spec = tmp_path / "m.arch"
    spec.write_text(UGLY)
    spec.chmod(mode)
    assert cli(["fmt", spec], tmp_path).returncode == 0
    assert spec.read_text() != UGLY and stat.S_IMODE(spec.stat().st_mode) == mode
    assert leftovers(tmp_path) == []


def test_fmt_refuses_a_read_only_spec(tmp_path):
    spec = tmp_path / "m.arch"
    spec.write_text(UGLY)
    spec.chmod(0o444)
    result = cli(["fmt", spec], tmp_path)
    assert result.returncode == 1 and "it is read-only (mode 0444)" in result.stderr
    assert spec.read_text() == UGLY and stat.S_IMODE(spec.stat().st_mode) == 0o444


def test_fmt_writes_through_a_symlinked_spec(tmp_path):
    real = tmp_path / "specs" / "m.arch"
    real.parent.mkdir()
    real.write_text(UGLY)
    link = tmp_path / "link.arch"
    link.symlink_to(real)
    assert cli(["fmt", link], tmp_path).returncode == 0
    assert link.is_symlink() and real.read_text() == FORMATTED
    assert leftovers(tmp_path) == []


# ---- planted links -----------------------------------------------------------------------------


OUTPUTS = {  # command -> (arguments, output file)
    "fmt": (["fmt", "m.arch"], "m.arch"),
    "render": (["render", "m.arch", "-m", "M", "-o", "out.dot"], "out.dot"),
    "compile": (["compile", "m.arch", "-m", "M", "-o", "out.pt"], "out.pt"),
    "export": (["export", "m.arch", "-m", "M", "-o", "out.onnx"], "out.onnx"),
}


@pytest.mark.parametrize("command", sorted(OUTPUTS))
def test_a_link_planted_at_the_old_temporary_names_is_not_followed(tmp_path, command):
    args, output = OUTPUTS[command]
    (tmp_path / "m.arch").write_text(UGLY)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    for name in (f".{output}.archlang-tmp", f".{output}.partial"):
        (tmp_path / name).symlink_to(victim)
    result = cli(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious"
    assert (tmp_path / output).is_file() and not (tmp_path / output).is_symlink()


# ---- bad targets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["render", "compile", "export"])
@pytest.mark.parametrize("target, message", [
    ("missing/out.{ext}", "the folder missing does not exist"),
    ("folder.{ext}", "it is a folder"),
    ("readonly.{ext}", "it is read-only"),
])
def test_bad_outputs_are_clear_errors_and_nothing_is_written(tmp_path, command, target, message):
    ext = {"render": "dot", "compile": "pt", "export": "onnx"}[command]
    (tmp_path / "m.arch").write_text(SMALL)
    (tmp_path / f"folder.{ext}").mkdir()
    readonly = tmp_path / f"readonly.{ext}"
    readonly.write_text("keep me")
    readonly.chmod(0o444)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli([command, "m.arch", "-m", "M", "-o", target.format(ext=ext)], tmp_path)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before and readonly.read_text() == "keep me"


def test_a_sample_folder_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "out").write_text("x")
    result = cli(["sample", ROOT / "specs" / "spaces" / "tiny_cnn.arch", "-m", "TinyCNN", "-o", "out"], tmp_path)
    assert result.returncode == 1 and "it is a file, not a folder" in result.stderr


# ---- Ctrl-C -----------------------------------------------------------------------------------


def test_ctrl_c_during_a_large_export_leaves_no_partial_file_and_no_traceback(tmp_path):
    """ResNet-50 (100 MB): a reference export, then one run interrupted at each of 12 moments
    spread over start-up, building and writing.  Each run ends with exit 130 and no file, or
    (interrupted after the command finished) with the complete file — never a part of it.
    The first few milliseconds belong to the interpreter (it imports ``site`` and looks up the
    launcher before any code of ours runs); a Ctrl-C there is Python's own message, and nothing
    is written.  The launcher's own window is tested deterministically below."""
    args = [*LIMIT, ARCHLANG, "export", RESNET, "-m", "ResNet50", "--seed", "0", "-o"]
    start = time.perf_counter()
    reference = subprocess.run([*args, tmp_path / "reference.onnx"], capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    assert reference.returncode == 0, reference.stderr
    digest = hashlib.sha256((tmp_path / "reference.onnx").read_bytes()).hexdigest()
    runs = tmp_path / "runs"
    runs.mkdir()
    outcomes = []
    for i in range(12):
        delay = 0.05 + elapsed * 1.1 * i / 11  # from just after start-up to past the end
        target = runs / f"m{i}.onnx"
        process = subprocess.Popen([*args, target], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=600)
        assert leftovers(runs) == [], (delay, leftovers(runs))
        if interrupted_before_our_code(err):  # the interpreter's own start-up window
            assert not target.exists()
            continue
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, (delay, err)
        if target.exists():
            assert hashlib.sha256(target.read_bytes()).hexdigest() == digest, "a partial file"
            target.unlink()
        else:
            assert process.returncode in (130, -signal.SIGINT), (delay, process.returncode, err)
        outcomes.append(process.returncode)
    assert outcomes.count(130) >= 5, outcomes  # most runs were interrupted while working


def interrupted_before_our_code(err: str) -> bool:
    """A Ctrl-C the interpreter took before the first statement of ``archlang_launcher`` ran:
    during ``site`` (a fatal start-up error) or while the console script looked the launcher
    up.  Its traceback holds no frame of archlang's own files."""
    if "init_import_site" in err:
        return True
    ours = re.search(r'File "[^"]*(archlang_launcher\.py|/archlang/[^"]*\.py)"', err)
    return err.rstrip().endswith("KeyboardInterrupt") and ours is None


def test_the_launcher_takes_ctrl_c_from_its_first_statement_on():
    """Deterministic: a Ctrl-C that arrives once the launcher is imported (before archlang is),
    or during the command, ends with 130 and no traceback."""
    for when in ("before main", "inside the command"):
        code = ("import os, signal, sys\n"
                "import archlang_launcher\n"
                "if WHEN == 'before main': os.kill(os.getpid(), signal.SIGINT)\n"
                "else: sys.argv = ['archlang', 'check', '-']\n"
                "sys.exit(archlang_launcher.main())\n").replace("WHEN", repr(when))
        process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if when == "inside the command":  # check waits on stdin; interrupt it there
            time.sleep(3)
            process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
        assert process.returncode == 130 and "Traceback" not in err, (when, process.returncode, err)


def test_a_command_started_with_ctrl_c_ignored_keeps_ignoring_it():
    """``archlang … &`` from a script (no job control) starts with SIGINT ignored; as Python
    itself, the launcher leaves it so: the command finishes its work."""
    process = subprocess.Popen([ARCHLANG, "check", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    time.sleep(3)  # at any point of start-up or of waiting on stdin: ignored either way
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(SMALL, timeout=120)
    assert process.returncode == 0 and "ok" in out + err, (process.returncode, err)


def test_interrupts_before_our_code_are_told_apart_from_ours():
    site = "Fatal Python error: init_import_site: Failed to import the site module\nKeyboardInterrupt\n"
    lookup = ('Traceback (most recent call last):\n  File "/v/bin/archlang", line 5, in <module>\n'
              '    from archlang_launcher import main\n  File "<frozen importlib._bootstrap>", line 1176\n'
              'KeyboardInterrupt\n')
    ours = ('Traceback (most recent call last):\n  File "/v/bin/archlang", line 8, in <module>\n'
            '  File "/r/archlang/cli/app.py", line 3, in main\nKeyboardInterrupt\n')
    launcher = lookup.replace("<frozen importlib._bootstrap>", "/r/archlang_launcher.py")
    assert interrupted_before_our_code(site) and interrupted_before_our_code(lookup)
    assert not interrupted_before_our_code(ours) and not interrupted_before_our_code(launcher)
    assert not interrupted_before_our_code("error: something else\n")


def test_ctrl_c_during_fmt_of_many_files_leaves_every_file_whole(tmp_path):
    """Each spec is the old text or the formatted one, never a part; no temporary file stays."""
    specs = [tmp_path / f"m{i}.arch" for i in range(300)]
    for delay in (0.3, 0.5, 0.7, 0.9):
        for spec in specs:
            spec.write_text(UGLY)
        process = subprocess.Popen([*LIMIT, ARCHLANG, "fmt", *specs], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=300)
        assert "Traceback" not in err and leftovers(tmp_path) == [], (delay, err)
        assert {spec.read_text() for spec in specs} <= {UGLY, FORMATTED}


# ---- weights and size ------------------------------------------------------------------------


@pytest.mark.parametrize("content, message", [
    ("list", "holds a list, not a state dict"),
    ("numbers", "is not a state dict of tensors: 'fc.weight' is a int"),
    ("garbage", "cannot read weights from"),
    ("missing", "no such file"),
])
def test_bad_weights_files_are_located_errors(tmp_path, content, message):
    (tmp_path / "m.arch").write_text(SMALL)
    weights = tmp_path / "w.pt"
    if content == "list":
        torch.save([torch.zeros(2, 4)], weights)
    elif content == "numbers":
        torch.save({"fc.weight": 3, "fc.bias": torch.zeros(2)}, weights)
    elif content == "garbage":
        weights.write_bytes(os.urandom(300))
    result = cli(["export", "m.arch", "-m", "M", "--weights", "w.pt", "-o", "out.onnx"], tmp_path)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert "w.pt:1:1: error:" in result.stderr and not (tmp_path / "out.onnx").exists()
    with pytest.raises(archlang.ArchError, match=message.split(":")[0]):
        archlang.to_onnx(SMALL, weights=str(weights))


@pytest.mark.parametrize("command", ["compile", "export"])
def test_a_model_too_large_to_allocate_is_refused_with_its_size_in_bytes(tmp_path, command):
    (tmp_path / "big.arch").write_text(BIG)
    result = cli([command, "big.arch", "-m", "Big", "-o", f"big.{'pt' if command == 'compile' else 'onnx'}"],
                 tmp_path)
    assert result.returncode == 1
    assert "big.arch:1:1: error: cannot" in result.stderr and "400,000,400,000 bytes" in result.stderr
    assert "its largest member, fc, takes 400,000,400,000 bytes" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["big.arch"]


def test_the_size_check_counts_parameters_and_buffers():
    model = archlang.loads("model M() {\n    input x: [B, 3, 8, 8]\n    c = Conv2d(3, 4, 3)\n"
                           "    n = BatchNorm2d(4)\n    return n(c(x))\n}\n").elaborate("M")
    module = archlang.to_torch(archlang.loads("model M() {\n    input x: [B, 3, 8, 8]\n    c = Conv2d(3, 4, 3)\n"
                                              "    n = BatchNorm2d(4)\n    return n(c(x))\n}\n"))
    expected = sum(t.numel() * t.element_size() for t in module.state_dict().values())
    assert weight_bytes(model) == expected
    assert check_fits(model, "build it", room=expected) == expected
    with pytest.raises(archlang.ArchError, match=f"take {expected:,} bytes"):
        check_fits(model, "build it", room=expected - 1)
    with pytest.raises(archlang.ArchError, match="400,000,400,000 bytes"):
        archlang.to_torch(BIG)
