"""``make demo``: the main job on real specs, end to end, as a user would run it.

Checks every spec in specs/, prints the definitions of the ResNet family and the IR of a
model, summarises ResNet50 (parameters and MACs, analytically), compiles it to PyTorch,
saves its weights, runs one forward pass, draws its diagram (out/resnet50.svg) and exports
ResNet18 to ONNX, run once with onnxruntime; ends with a one-minute architecture search on
handwritten digits (out/search-digits: the best .arch, trials.json, plots).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
from pathlib import Path

import archlang
from archlang.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def step(title: str, argv: list[str], head: int | None = None) -> None:
    print(f"\n$ archlang {' '.join(argv)}", flush=True)
    if head is None:
        code = cli(argv)
    else:
        code = _head(argv, head)
    if code != 0:
        print(f"demo step failed: {title}", file=sys.stderr)
        sys.exit(code)


def _head(argv: list[str], lines: int) -> int:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = cli(argv)
    text = buffer.getvalue().splitlines()
    print("\n".join(text[:lines]))
    if len(text) > lines:
        print(f"… ({len(text) - lines} more lines)")
    return code


def main() -> None:
    specs = sorted(str(p.relative_to(ROOT)) for p in SPECS.rglob("*.arch") if "std" not in p.parts)
    print("archlang demo — checking every spec, then showing one model's IR")
    step("check", ["check", *specs])
    step("list", ["check", "--list", "specs/vision/resnet.arch"])
    step("ir", ["ir", "specs/vision/resnet.arch", "-m", "ResNet50", "--input", "x=Bx3x224x224"], head=40)
    step("summary", ["summary", "specs/vision/resnet.arch", "-m", "ResNet50", "--input", "x=1x3x224x224", "--depth", "1"])
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    step("compile", ["compile", "specs/vision/resnet.arch", "-m", "ResNet50", "--seed", "0", "-o", str(out / "resnet50.safetensors")])
    forward_pass()
    step("sample", ["sample", "specs/spaces/nasbench201.arch", "-m", "NASBench201", "--seed", "0"], head=30)
    render_diagram(out)
    onnx_step(out)
    search_step(out)


def render_diagram(out: Path) -> None:
    """One diagram: SVG when Graphviz's `dot` is installed (make system installs it), else DOT."""
    from archlang.backends.graphviz import find_dot

    target = out / ("resnet50.svg" if find_dot() else "resnet50.dot")
    if target.suffix == ".dot":
        print("\n(Graphviz's `dot` is not installed: writing the diagram as DOT instead of SVG)")
    step("render", ["render", "specs/vision/resnet.arch", "-m", "ResNet50", "--input", "x=Bx3x224x224",
                    "-o", str(target.relative_to(ROOT))])


def forward_pass() -> None:
    import torch


    print("\n>>> model = archlang.to_torch('specs/vision/resnet.arch', 'ResNet50', seed=0).eval()")
    model = archlang.to_torch("specs/vision/resnet.arch", "ResNet50", seed=0).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 224, 224))
    print(f">>> model(torch.randn(2, 3, 224, 224)).shape\n{tuple(logits.shape)}")
    print(f">>> type(model.layer1[0]).__name__, model.layer1[0].conv1\n{type(model.layer1[0]).__name__} {model.layer1[0].conv1}")


def onnx_step(out: Path) -> None:
    """Export ResNet18 to ONNX (emitted from the IR, dynamic batch) and run it once with onnxruntime."""
    import numpy as np
    import onnxruntime

    target = out / "resnet18.onnx"
    step("export", ["export", "specs/vision/resnet.arch", "-m", "ResNet18", "--seed", "0", "-o", str(target.relative_to(ROOT))])
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"x": np.random.default_rng(0).standard_normal((2, 3, 224, 224), dtype=np.float32)})
    print(f">>> onnxruntime.InferenceSession('{target.relative_to(ROOT)}').run(None, {{'x': <2×3×224×224>}})[0].shape\n{logits.shape}")


def search_step(out: Path) -> None:
    """A real search of about a minute: TPE over specs/spaces/digits_cnn.arch, each candidate
    trained briefly on scikit-learn's handwritten digits by two worker processes; prints the
    best architecture as .arch and writes trials.json and the plots under out/search-digits."""
    target = out / "search-digits"
    shutil.rmtree(target, ignore_errors=True)  # a fresh study each demo (rerunning would resume it)
    step("search", ["search", "specs/spaces/digits_cnn.arch", "-m", "DigitsCNN", "--objective", "accuracy",
                    "--strategy", "tpe", "--budget", "30", "--workers", "2", "--seed", "0",
                    "-o", str(target.relative_to(ROOT))])


if __name__ == "__main__":
    import os

    os.chdir(ROOT)
    main()
