"""``archlang render`` as users run it: outputs, exit codes and messages, including a machine
without Graphviz's ``dot`` (simulated two ways: an empty PATH, and the backend's lookup
replaced) and a ``dot`` that fails."""

from __future__ import annotations

from pathlib import Path

import graphviz
import pytest

from archlang.backends.graphviz import find_dot, output
from archlang.cli import main

ROOT = Path(__file__).resolve().parent.parent
RESNET = str(ROOT / "specs" / "vision" / "resnet.arch")
SPACE = str(ROOT / "specs" / "spaces" / "tiny_cnn.arch")
needs_dot = pytest.mark.skipif(find_dot() is None, reason="Graphviz's `dot` is not installed")


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_dot_output_needs_no_binary(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(output, "find_dot", lambda: None)
    target = tmp_path / "r18.dot"
    code, out, err = run(["render", RESNET, "-m", "ResNet18", "-o", str(target)], capsys)
    assert code == 0, err
    assert out.startswith(f"wrote {target} (dot: 64 nodes, 14 blocks, 7 skip connections)")
    assert target.read_text(encoding="utf-8").startswith("digraph ResNet18 {")


def test_without_output_prints_dot(capsys):
    code, out, err = run(["render", RESNET, "-m", "ResNet18", "--depth", "0", "--direction", "LR"], capsys)
    assert code == 0 and err == ""
    assert out.startswith("digraph ResNet18 {") and "rankdir=LR" in out


def test_options_reach_the_diagram(capsys):
    code, rolled, _ = run(["render", RESNET, "-m", "ResNet18", "--depth", "2"], capsys)
    code2, expanded, _ = run(["render", RESNET, "-m", "ResNet18", "--depth", "2", "--expand"], capsys)
    assert code == code2 == 0
    assert "×2</font>" in rolled and '"cluster_layer1.1"' in expanded
    code, shaped, _ = run(["render", RESNET, "-m", "ResNet18", "--depth", "0", "--input", "x=1x3x224x224",
                           "--param", "num_classes=10"], capsys)
    assert code == 0 and "1×64×56×56" in shaped and "512→10<" in shaped


def test_space_renders(capsys):
    code, out, err = run(["render", SPACE, "-m", "TinyCNN"], capsys)
    assert code == 0, err
    assert "search space · 8 decisions" in out and out.count("<b>choice</b>") == 4


@needs_dot
@pytest.mark.parametrize("suffix,magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_image_formats(tmp_path, capsys, suffix, magic):
    target = tmp_path / f"r18{suffix}"
    code, out, err = run(["render", RESNET, "-m", "ResNet18", "--depth", "1", "-o", str(target)], capsys)
    assert code == 0, err
    assert target.read_bytes().startswith(magic)
    assert f"({suffix[1:]}: " in out
    assert not list(tmp_path.glob(".*archlang-tmp"))


@needs_dot
def test_format_flag_overrides_suffix(tmp_path, capsys):
    target = tmp_path / "diagram.out"
    code, _, err = run(["render", RESNET, "-m", "ResNet18", "--depth", "0", "--format", "svg", "-o", str(target)], capsys)
    assert code == 0, err
    assert b"<svg" in target.read_bytes()


def _assert_fell_back(code, out, err, target: Path):
    assert code == 1
    assert out == ""
    assert f"{target}:1:1: error: cannot render {target.suffix[1:].upper()}: Graphviz's `dot` program was not found" in err
    assert f"note: wrote the diagram as DOT to {target.with_suffix('.dot')} instead" in err
    assert "apt-get install graphviz" in err
    assert "Traceback" not in err
    assert not target.exists()
    assert target.with_suffix(".dot").read_text(encoding="utf-8").startswith("digraph ResNet18")


def test_missing_dot_on_path(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    target = tmp_path / "r18.svg"
    code, out, err = run(["render", RESNET, "-m", "ResNet18", "-o", str(target)], capsys)
    _assert_fell_back(code, out, err, target)


def test_missing_dot_lookup(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(output, "find_dot", lambda: None)
    target = tmp_path / "r18.png"
    code, out, err = run(["render", RESNET, "-m", "ResNet18", "--depth", "1", "-o", str(target)], capsys)
    _assert_fell_back(code, out, err, target)


def test_dot_disappearing_after_lookup(tmp_path, capsys, monkeypatch):
    """``dot`` found by the lookup but not runnable: the package's ExecutableNotFound."""
    monkeypatch.setattr(output, "find_dot", lambda: "/usr/bin/dot")

    def missing(self, *args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Source, "pipe", missing)
    target = tmp_path / "r18.pdf"
    code, out, err = run(["render", RESNET, "-m", "ResNet18", "-o", str(target)], capsys)
    assert code == 1 and "`dot` program was not found" in err
    assert target.with_suffix(".dot").exists() and not target.exists()


def test_dot_failing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(output, "find_dot", lambda: "/usr/bin/dot")

    def fails(self, *args, **kwargs):
        raise graphviz.CalledProcessError(1, ["dot"], stderr=b"Error: trouble in init_rank\n")

    monkeypatch.setattr(graphviz.Source, "pipe", fails)
    target = tmp_path / "r18.svg"
    code, out, err = run(["render", RESNET, "-m", "ResNet18", "-o", str(target)], capsys)
    assert code == 1
    assert "Graphviz's `dot` failed to lay out the diagram: Error: trouble in init_rank" in err
    assert "a smaller --depth usually helps" in err
    assert target.with_suffix(".dot").exists() and not target.exists()


@pytest.mark.parametrize("argv,message", [
    (["-o", "r18.jpg"], "cannot tell the diagram format from the suffix of 'r18.jpg'"),
    (["--depth", "-1"], "--depth: must be 0 or more"),
])
def test_usage_errors(capsys, argv, message):
    code, out, err = run(["render", RESNET, "-m", "ResNet18", *argv], capsys)
    assert code == 2 and message in err and out == ""


def test_bad_direction_is_a_usage_error(capsys):
    code, _, err = run(["render", RESNET, "-m", "ResNet18", "--direction", "UP"], capsys)
    assert code == 2 and "invalid choice" in err


def test_unknown_model_is_a_spec_error(tmp_path, capsys):
    code, out, err = run(["render", RESNET, "-m", "ResNet19", "-o", str(tmp_path / "x.dot")], capsys)
    assert code == 1 and "defines no 'ResNet19'" in err and "did you mean 'ResNet18'" in err
    assert not (tmp_path / "x.dot").exists()


def test_help_lists_render(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "render" in out
    code, out, _ = run(["render", "--help"], capsys)
    assert code == 0 and "--depth" in out and "--expand" in out and "--direction" in out
