"""`archlang space` and `archlang sample`, and spaces whose choices break shapes: reported when
the space is checked, with a failing assignment."""

from __future__ import annotations

from pathlib import Path

import pytest

import archlang
from archlang.cli import main
from archlang.ir.params import count_params

SPACES = Path(__file__).resolve().parent.parent / "specs" / "spaces"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_space_prints_size_distinct_count_and_decisions(capsys):
    code, out, _ = run(capsys, "space", str(SPACES / "hybrid_space.arch"), "-m", "HybridNet")
    assert code == 0
    assert "size:     4,096 configurations" in out
    assert "distinct: 4,096 architectures" in out
    assert "stage1.conv0" in out and "stage1.kind = ConvStage" in out
    assert "stage1.kind        layer  ConvStage | AttentionStage  always" in out


def test_space_of_a_huge_space_does_not_count_distinct_architectures(capsys):
    code, out, _ = run(capsys, "space", str(SPACES / "darts.arch"), "-m", "DARTS", "--param", "C=8")
    assert code == 0
    assert "1,076,746,950,455,072,400 configurations" in out
    assert "not counted" in out
    assert "normal.5.inputs" in out and "subset of 2" in out
    # same-named options show the fewest arguments that tell them apart
    assert ("MaxPool2d | AvgPool2d | SkipConnect | SepConv(kernel_size=3) | SepConv(kernel_size=5) | "
            "DilConv(kernel_size=3) | DilConv(kernel_size=5)") in out


def test_sample_prints_one_architecture_that_loads(capsys):
    code, out, _ = run(capsys, "sample", str(SPACES / "nasbench201.arch"), "-m", "NASBench201", "--seed", "3")
    assert code == 0
    assert out.startswith("# NASBench201 from")
    program = archlang.loads(out, filename="sampled.arch")
    assert program.models == ["NASBench201"]


def test_sample_writes_files_within_bounds(capsys, tmp_path):
    code, out, _ = run(capsys, "sample", str(SPACES / "nasbench201.arch"), "-m", "NASBench201", "-n", "3",
                       "--seed", "1", "--max-params", "4e5", "-o", str(tmp_path))
    assert code == 0
    files = sorted(tmp_path.glob("*.arch"))
    assert [f.name for f in files] == ["NASBench201_0.arch", "NASBench201_1.arch", "NASBench201_2.arch"]
    for f in files:
        model = archlang.load(f).elaborate("NASBench201")
        assert count_params(model.graph) <= 400_000
    assert out.count("wrote") == 3


def test_sample_usage_errors(capsys):
    code, _, err = run(capsys, "sample", str(SPACES / "nasbench201.arch"), "-m", "NASBench201", "-n", "0")
    assert code == 2 and "-n: must be 1 or more" in err


# ---- shape mismatches that only some choices cause ----------------------------------------------


@pytest.mark.parametrize("body, message", [
    ("    conv = Conv2d(3, choice(8, 16, label=\"width\"), 3, padding=1)\n    fc = Linear(16, 10)\n"
     "    return fc(conv(x).mean(dim=[2, 3]))", r"\(when width=8\)"),
    ("    conv = Conv2d(3, 3, choice(3, 5, label=\"k\"), padding=1)\n    return x + conv(x)", r"\(when k=5\)"),
    ("    op = choice(Conv2d(3, 3, 3, padding=1), Conv2d(3, 3, 3), label=\"op\")\n    return x + op(x)",
     r"\(when op is option 1\)"),
])
def test_a_choice_that_breaks_a_shape_is_reported_with_a_failing_assignment(arch, body, message):
    text = "space S() {\n    input x: [B, 3, 32, 32]\n" + body + "\n}\n"
    with pytest.raises(archlang.ArchError, match=message):
        arch.load(text)
