"""The ``examples:`` section of each command's ``--help``: command lines a user can paste.

Paths are the zoo's specs (``specs/…``, relative to a checkout).  tests/test_cli_conventions.py
parses every line with the real parser, so an example cannot name an option that is gone, and
runs the ones that only read, so none names a model that is not there.
Imports nothing.
"""

from __future__ import annotations

EXAMPLES: dict[str, tuple[str, ...]] = {
    "check": (
        "archlang check specs/vision/resnet.arch",
        "archlang check specs/                      # every .arch file under the folder",
        "cat net.arch | archlang check -            # - reads the spec from stdin",
        "archlang check --format sarif specs/ > archlang.sarif",
    ),
    "ops": (
        "archlang ops                               # the whole reference",
        "archlang ops Conv2d",
    ),
    "fmt": (
        "archlang fmt specs/",
        "archlang fmt --check specs/                # for CI: exit 1 if a file would change",
        "archlang fmt --diff specs/vision/resnet.arch",
        "archlang fmt - < net.arch > formatted.arch",
    ),
    "ir": (
        "archlang ir specs/vision/resnet.arch -m ResNet18",
        "archlang ir specs/vision/resnet.arch -m ResNet --param block=Bottleneck --param 'layers=[1, 1, 1, 1]' "
        "--input x=Bx3x224x224",
    ),
    "compile": (
        "archlang compile specs/vision/resnet.arch -m ResNet50 -o resnet50.safetensors --seed 0",
    ),
    "export": (
        "archlang export specs/vision/resnet.arch -m ResNet18 -o resnet18.onnx --input x=Bx3x224x224",
        "archlang export specs/vision/resnet.arch -m ResNet18 -o resnet18.onnx --weights resnet18.pt",
    ),
    "summary": (
        "archlang summary specs/vision/resnet.arch -m ResNet50 --input x=1x3x224x224 --depth 1",
        "archlang summary specs/vision/resnet.arch -m ResNet50 --json",
    ),
    "render": (
        "archlang render specs/vision/resnet.arch -m ResNet18 -o resnet18.svg",
        "archlang render specs/vision/resnet.arch -m ResNet18 --format png   # writes ResNet18.png",
        "archlang render specs/vision/resnet.arch -m ResNet18 | dot -Tpdf > resnet18.pdf",
    ),
    "space": (
        "archlang space specs/spaces/tiny_cnn.arch -m TinyCNN",
        "archlang space specs/spaces/nasbench201.arch -m NASBench201 --unique-limit 0   # its size only",
    ),
    "sample": (
        "archlang sample specs/spaces/tiny_cnn.arch -m TinyCNN --seed 1",
        "archlang sample specs/spaces/tiny_cnn.arch -m TinyCNN -n 10 -o samples/ --max-params 50000",
    ),
    "search": (
        "archlang search specs/spaces/tiny_cnn.arch -m TinyCNN --objective naswot,params --budget 50",
        "archlang search specs/spaces/digits_cnn.arch -m DigitsCNN --objective accuracy --strategy tpe "
        "--workers 2 -o runs/digits",
    ),
    "supernet": (
        "archlang supernet specs/spaces/nasbench201.arch -m NASBench201 --method darts --epochs 2 -o runs/nb201-darts --param C=8 --param N=1",
        "archlang supernet specs/spaces/digits_cnn.arch -m DigitsCNN --method spos --epochs 5 -o runs/digits-spos --hp population=20",
    ),
    "study show": (
        "archlang study show --storage runs/digits/study.db --study DigitsCNN-tpe",
    ),
    "study list": (
        "archlang study list                        # ./study.db and ./*/study.db",
        "archlang study list --storage runs/digits/study.db",
    ),
    "study plot": (
        "archlang study plot DigitsCNN-tpe --storage runs/digits/study.db --kind importance -o importance.png",
    ),
    "lsp": (
        "archlang lsp --stdio                       # editors start it this way",
    ),
    "completion": (
        "archlang completion bash > ~/.local/share/bash-completion/completions/archlang",
        "archlang completion zsh > ~/.zfunc/_archlang",
        "archlang completion fish > ~/.config/fish/completions/archlang.fish",
    ),
}
