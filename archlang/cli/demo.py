"""``make demo``: the main job on real specs, end to end, as a user would run it.

Checks every spec in specs/, prints the definitions of the ResNet family and the IR of a
model, summarises ResNet50 (parameters and MACs, analytically), compiles it to PyTorch,
saves its weights, runs one forward pass, draws its diagram and exports ResNet18 to ONNX,
run once with onnxruntime; ends with a one-minute architecture search on handwritten digits
(the best .arch, trials.json, plots).

Every file it writes goes into ``./archlang-demo/`` in the current folder, never into the
package or the checkout's tree, and it says so first.  The specs are the checkout's
``specs/`` (they are not installed with the package).  A missing extra (torch, onnx, the
search's packages) is named, with the command that installs it, before anything runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import sys
from pathlib import Path

import archlang
from archlang.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]  # the checkout: archlang/cli/demo.py
SPECS = ROOT / "specs"
OUT = Path("archlang-demo")  # in the current folder
# What the demo's steps import, by the extra that installs it.
NEEDS = {"torch": ("torch", "safetensors"), "onnx": ("onnx", "onnxruntime"),
         "search": ("optuna", "numpy", "matplotlib", "sklearn", "rich")}


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


def missing_extras() -> dict[str, list[str]]:
    """Extra → the modules of it that cannot be imported here."""
    missing = {extra: [m for m in modules if importlib.util.find_spec(m) is None] for extra, modules in NEEDS.items()}
    return {extra: modules for extra, modules in missing.items() if modules}


def preflight() -> int:
    """0 when the demo can run; else says what is missing and how to install it (exit 1)."""
    if not SPECS.is_dir():
        print(f"archlang demo: error: the demo runs on the specs of a checkout ({SPECS} is missing); "
              "clone the repository and run `make demo` there", file=sys.stderr)
        return 1
    missing = missing_extras()
    if missing:
        names = ", ".join(m for modules in missing.values() for m in modules)
        print(f"archlang demo: error: missing {names}; nothing was run. Install them with:\n"
              f"  pip install 'archlang[{','.join(missing)}]'   (or: make setup)", file=sys.stderr)
        return 1
    return 0


def spec(relative: str = "") -> str:
    """A spec (or folder) of the checkout: relative to the current folder when inside it."""
    path = SPECS / relative
    shown = os.path.relpath(path)
    return str(path) if shown.startswith("..") else shown


def main() -> None:
    code = preflight()
    if code:
        sys.exit(code)
    OUT.mkdir(exist_ok=True)
    print(f"archlang demo — every file it writes goes into {OUT}/ ({OUT.resolve()})")
    step("check", ["check", spec()])  # a folder stands for every .arch file under it
    step("list", ["check", "--list", spec("vision/resnet.arch")])
    step("ir", ["ir", spec("vision/resnet.arch"), "-m", "ResNet50", "--input", "x=Bx3x224x224"], head=40)
    step("summary", ["summary", spec("vision/resnet.arch"), "-m", "ResNet50", "--input", "x=1x3x224x224", "--depth", "1"])
    step("compile", ["compile", spec("vision/resnet.arch"), "-m", "ResNet50", "--seed", "0",
                     "-o", str(OUT / "resnet50.safetensors")])
    forward_pass()
    step("sample", ["sample", spec("spaces/nasbench201.arch"), "-m", "NASBench201", "--seed", "0"], head=30)
    render_diagram(OUT)
    onnx_step(OUT)
    search_step(OUT)
    print(f"\nthe demo's files are in {OUT}/: " + ", ".join(sorted(p.name for p in OUT.iterdir())))


def render_diagram(out: Path) -> None:
    """One diagram: SVG when Graphviz's `dot` is installed (make system installs it), else DOT."""
    from archlang.backends.graphviz import find_dot

    target = out / ("resnet50.svg" if find_dot() else "resnet50.dot")
    if target.suffix == ".dot":
        print("\n(Graphviz's `dot` is not installed: writing the diagram as DOT instead of SVG)")
    step("render", ["render", spec("vision/resnet.arch"), "-m", "ResNet50", "--input", "x=Bx3x224x224",
                    "-o", str(target)])


def forward_pass() -> None:
    import torch

    resnet = spec("vision/resnet.arch")
    print(f"\n>>> model = archlang.to_torch('{resnet}', 'ResNet50', seed=0).eval()")
    model = archlang.to_torch(resnet, "ResNet50", seed=0).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 224, 224))
    print(f">>> model(torch.randn(2, 3, 224, 224)).shape\n{tuple(logits.shape)}")
    print(f">>> type(model.layer1[0]).__name__, model.layer1[0].conv1\n{type(model.layer1[0]).__name__} {model.layer1[0].conv1}")


def onnx_step(out: Path) -> None:
    """Export ResNet18 to ONNX (emitted from the IR, dynamic batch) and run it once with onnxruntime."""
    import numpy as np
    import onnxruntime

    target = out / "resnet18.onnx"
    step("export", ["export", spec("vision/resnet.arch"), "-m", "ResNet18", "--seed", "0", "-o", str(target)])
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"x": np.random.default_rng(0).standard_normal((2, 3, 224, 224), dtype=np.float32)})
    print(f">>> onnxruntime.InferenceSession('{target}').run(None, {{'x': <2×3×224×224>}})[0].shape\n{logits.shape}")


def search_step(out: Path) -> None:
    """A real search of about a minute: TPE over specs/spaces/digits_cnn.arch, each candidate
    trained briefly on scikit-learn's handwritten digits by two worker processes; prints the
    best architecture as .arch and writes trials.json and the plots under archlang-demo/search-digits."""
    target = out / "search-digits"
    shutil.rmtree(target, ignore_errors=True)  # a fresh study each demo (rerunning would resume it)
    step("search", ["search", spec("spaces/digits_cnn.arch"), "-m", "DigitsCNN", "--objective", "accuracy",
                    "--strategy", "tpe", "--budget", "30", "--workers", "2", "--seed", "0", "-o", str(target)])


if __name__ == "__main__":
    main()
