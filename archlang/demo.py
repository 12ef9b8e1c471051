"""``make demo``: the main job on real specs, end to end, as a user would run it.

Checks every spec in specs/, prints the definitions of the ResNet family and the IR of a
model, summarises ResNet50 (parameters and MACs, analytically), compiles it to PyTorch,
saves its weights and runs one forward pass.
"""

from __future__ import annotations

import sys
from pathlib import Path

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
    import contextlib
    import io

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


def forward_pass() -> None:
    import torch

    import archlang

    print("\n>>> model = archlang.to_torch('specs/vision/resnet.arch', 'ResNet50', seed=0).eval()")
    model = archlang.to_torch("specs/vision/resnet.arch", "ResNet50", seed=0).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 224, 224))
    print(f">>> model(torch.randn(2, 3, 224, 224)).shape\n{tuple(logits.shape)}")
    print(f">>> type(model.layer1[0]).__name__, model.layer1[0].conv1\n{type(model.layer1[0]).__name__} {model.layer1[0].conv1}")


if __name__ == "__main__":
    import os

    os.chdir(ROOT)
    main()
