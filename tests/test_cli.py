"""The command line as users run it: exit codes, output, diagnostics, help, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archlang.cli import main

ROOT = Path(__file__).resolve().parent.parent
RESNET = str(ROOT / "specs" / "vision" / "resnet.arch")

GOOD = """\
block Mlp(d: int) {
    input x: [B, d]
    fc = Linear(d, d)
    return relu(fc(x))
}

model Tiny(width: int = 8) {
    input x: [B, 4]
    proj = Linear(4, width)
    body = Mlp(width)
    return body(proj(x))
}
"""

BAD_SHAPE = """\
model Net() {
    input x: [B, 16, 32, 32]
    conv1 = Conv2d(16, 32, 3, padding=1)
    conv2 = Conv2d(64, 32, 3, padding=1)
    return conv2(conv1(x))
}
"""


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.arch"
    path.write_text(GOOD)
    return str(path)


def test_check_ok(good, capsys):
    code, out, err = run(["check", good], capsys)
    assert code == 0
    assert out == f"{good}: ok (1 model, 1 block)\n"
    assert err == ""


def test_check_quiet_prints_nothing(good, capsys):
    assert run(["check", "-q", good], capsys) == (0, "", "")


def test_check_list(good, capsys):
    code, out, _ = run(["check", "--list", good], capsys)
    assert code == 0
    assert out.splitlines() == ["block  Mlp(d: int)", "model  Tiny(width: int)"]


def test_check_shape_error_is_located_with_caret_and_chain(tmp_path, capsys):
    path = tmp_path / "bad.arch"
    path.write_text(BAD_SHAPE)
    code, out, err = run(["check", str(path)], capsys)
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == (f"{path}:5:12: error: Conv2d expects 64 input channels, got input "
                        "float32[B, 32, 32, 32] (expected [B, 64, 32, 32])")
    assert lines[1] == "      return conv2(conv1(x))"
    assert lines[2] == "             ^~~~~~~~~~~~~~~"
    assert lines[3] == "  note: in Net › conv2"
    assert "\033[" not in err  # no colour when not a terminal


def test_check_reports_every_file_and_fails_if_any_fails(good, tmp_path, capsys):
    bad = tmp_path / "bad.arch"
    bad.write_text(BAD_SHAPE)
    code, out, err = run(["check", good, str(bad)], capsys)
    assert code == 1
    assert f"{good}: ok" in out
    assert f"{bad}:5:12: error:" in err


def test_missing_file_is_a_located_error(tmp_path, capsys):
    code, _, err = run(["check", str(tmp_path / "nope.arch")], capsys)
    assert code == 1
    assert err.startswith(f"{tmp_path / 'nope.arch'}:1:1: error: no such file")


def test_a_folder_without_specs_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(["check", str(tmp_path)], capsys)
    assert code == 2 and f"{tmp_path} holds no .arch file" in err


@pytest.mark.parametrize("argv", [[], ["frob"], ["ir", "x.arch"], ["check"], ["ir", "x.arch", "-m"]])
def test_usage_errors_exit_2(argv, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2
    assert "usage:" in err


@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"], ["fmt", "--help"], ["ir", "--help"]])
def test_help(argv, capsys):
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert out.startswith("usage: archlang")


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip().startswith("archlang 0.")


def test_ir_with_param_and_input(good, capsys):
    code, out, _ = run(["ir", good, "-m", "Tiny", "--param", "width=16", "--input", "x=2x4"], capsys)
    assert code == 0
    assert out.splitlines()[0] == "model Tiny(width=16) {"
    assert "%x: float32[2, 4] = input x" in out
    assert out.rstrip().splitlines()[-2].strip().startswith("return %")
    assert "float32[2, 16]" in out


def test_ir_param_value_is_an_expression_in_the_file_scope(capsys):
    code, out, _ = run(["ir", RESNET, "-m", "ResNet", "--param", "block=Bottleneck",
                        "--param", "layers=[1, 1, 1, 1]", "--param", "num_classes=5"], capsys)
    assert code == 0
    assert "block ResNet(block=Bottleneck, layers=(1, 1, 1, 1), num_classes=5)" in out
    assert "float32[B, 5]" in out


@pytest.mark.parametrize("argv, message", [
    (["--param", "nope=1"], "Tiny has no parameter 'nope'"),
    (["--param", "width=[1"], "expected ']' to close"),
    (["--input", "y=1x4"], "Tiny has no input 'y'"),
    (["--input", "x=1x5"], "input x of Tiny expects [B, 4], got float32[1, 5]"),
    (["-m", "Tiney"], "defines no 'Tiney'; did you mean 'Tiny'?"),
])
def test_ir_bad_arguments_are_errors_not_tracebacks(good, argv, message, capsys):
    args = ["ir", good] + (argv if argv[0] == "-m" else ["-m", "Tiny"] + argv)
    code, _, err = run(args, capsys)
    assert code == 1, err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["x=1xx4", "x=1x-4", "x"])
def test_ir_malformed_input_flag_is_usage_error(good, value, capsys):
    code, _, err = run(["ir", good, "-m", "Tiny", "--input", value], capsys)
    assert code == 2 and "--input" in err


def test_fmt_check_and_rewrite(tmp_path, capsys):
    path = tmp_path / "ugly.arch"
    path.write_text("model   M( ) {\n  input x : [B,4]\n  return relu( x )  # keep me\n}\n")
    code, out, _ = run(["fmt", "--check", str(path)], capsys)
    assert code == 1 and out == f"would reformat {path}\n"
    code, out, _ = run(["fmt", str(path)], capsys)
    assert code == 0 and out == f"reformatted {path}\n"
    text = path.read_text()
    assert "# keep me" in text
    assert run(["fmt", "--check", str(path)], capsys)[0] == 0
    assert not list(tmp_path.glob(".*tmp"))  # no temporary left behind


def test_fmt_leaves_a_file_with_a_syntax_error_untouched(tmp_path, capsys):
    path = tmp_path / "broken.arch"
    original = "model M() {\n  input x: [B, 4\n  return x\n}\n"
    path.write_text(original)
    code, _, err = run(["fmt", str(path)], capsys)
    assert code == 1 and "error:" in err
    assert path.read_text() == original


def test_python_m_archlang_runs_without_traceback(tmp_path):
    bad = tmp_path / "bad.arch"
    bad.write_text(BAD_SHAPE)
    result = subprocess.run([sys.executable, "-m", "archlang", "check", str(bad)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert ":5:12: error:" in result.stderr


def test_import_archlang_and_check_do_not_import_torch_or_onnx(good):
    probe = (
        "import sys, archlang\n"
        "from archlang.cli import main\n"
        f"main(['check', '-q', {good!r}])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnx', 'onnxruntime'))\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
