"""The zoo is reachable from any spec (issue 14, item 8): ``import zoo.text.gpt2``,
``import zoo.vision.resnet as resnet``, ``from zoo.text.gpt2 import GPT2Block``.

The specs here live in a temporary folder, outside the repository; the zoo comes from the
installed package (``archlang.zoo``), and its files keep importing each other (moe.arch
imports "gpt2.arch") inside the zoo, while a spec's own quoted imports still may not leave
the spec's folder.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import archlang
from archlang.cli import main
from archlang.errors import ArchImportError
from archlang.ir.params import state_dict_entries
from archlang.resolve.loader import ZOO_SHELVES

ROOT = Path(__file__).resolve().parents[1]

USES_THE_ZOO = """
from zoo.text.gpt2 import GPT2Block
import zoo.vision.resnet as resnet
import zoo.text.moe

model Decoder() {
    input ids: int64[B, T]
    wte = Embedding(64, 32)
    block = GPT2Block(32, 2)
    return block(wte(ids))
}

model SmallResNet = resnet.ResNet(resnet.BasicBlock, [1, 1, 1, 1], num_classes=10)
model Experts = moe.MoETransformer(vocab_size=64, block_size=16, n_layer=2, n_head=2, n_embd=32, num_experts=2)
"""


@pytest.fixture()
def spec(tmp_path) -> Path:
    path = tmp_path / "mine.arch"
    path.write_text(USES_THE_ZOO, encoding="utf-8")
    return path


def test_a_spec_outside_the_repository_builds_on_zoo_blocks(spec):
    program = archlang.load(spec)
    assert set(program.models) == {"Decoder", "SmallResNet", "Experts"}
    decoder = dict(state_dict_entries(program.elaborate("Decoder").graph))
    assert decoder["block.attn.c_attn.weight"].shape == (32, 96)       # zoo GPT-2's Conv1D layout
    resnet = dict(state_dict_entries(program.elaborate("SmallResNet").graph))
    assert resnet["layer4.0.conv2.weight"].shape == (512, 512, 3, 3)
    assert resnet["fc.weight"].shape == (10, 512)
    experts = program.elaborate("Experts")  # moe.arch's own import of "gpt2.arch" stays in the zoo
    assert str(experts.graph.output_types[0]) == "float32[B, T, 64]"


def test_the_cli_checks_a_spec_that_imports_the_zoo(spec, capsys):
    assert main(["check", str(spec)]) == 0
    assert "ok (3 models)" in capsys.readouterr().out


def _load_error(tmp_path: Path, text: str) -> ArchImportError:
    path = tmp_path / "main.arch"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ArchImportError) as raised:
        archlang.load(path)
    return raised.value


@pytest.mark.parametrize("line, message", [
    ("import zoo.text.gtp2", "the zoo has no 'zoo.text.gtp2': did you mean 'zoo.text.gpt2'?"),
    ("import zoo.text", "'zoo.text' is not a zoo file: name one as zoo.<shelf>.<file>"),
    ("import zoo", "'zoo' is not a zoo file"),
    ("import zoo.std.blocks", "'zoo.std.blocks' is not a zoo file"),
    ("from zoo.vision.resnet import Bottlenek", "'zoo.vision.resnet' defines no 'Bottlenek'; did you mean 'Bottleneck'?"),
    ("import numpy", "unknown library 'numpy': import files by path in quotes, the standard library 'std' or the "
                     "model zoo 'zoo'"),
])
def test_zoo_import_errors_say_what_exists(tmp_path, line, message):
    error = _load_error(tmp_path, line + "\n")
    assert message in str(error)
    assert error.span.line == 1


def test_a_specs_own_imports_still_stay_in_its_folder(tmp_path):
    error = _load_error(tmp_path, 'import zoo.text.gpt2\nimport "../gpt2.arch"\n')
    assert "leaves the spec's folder" in str(error)


def test_the_zoo_ships_every_file_of_its_shelves():
    """pyproject ships each of the zoo's shelves as a data package holding its .arch files."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert config["package-dir"]["archlang.zoo"] == "specs"
    shelves = {p.parent.name for p in (ROOT / "specs").glob("*/*.arch")} - {"std"}
    assert set(ZOO_SHELVES) == shelves
    for shelf in ZOO_SHELVES:
        assert f"archlang.zoo.{shelf}" in config["packages"]
        assert config["package-data"][f"archlang.zoo.{shelf}"] == ["*.arch"]
