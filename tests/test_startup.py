"""Start-up weight (issue 15, item 4): what a fresh process imports and builds, not how long it
takes (the times are in benchmarks/startup.py and docs/benchmarks.md).

* ``import archlang`` imports the version and the error types only: no pydantic, no lark;
* ``archlang --version`` and ``archlang fmt`` never import the IR or pydantic;
* ``archlang check`` imports none of torch, onnx, optuna, rich, numpy, nor the search core, the
  objectives or the backends, and no pydantic at all: the IR classes are plain dataclasses
  (pydantic is their schema and validator at the boundary, ``archlang.ir.schema``);
  it parses with the generated tables (``archlang/syntax/_tables.py``): no lark, no ``regex``,
  no grammar compiled, no per-user cache written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESNET = str(ROOT / "specs" / "vision" / "resnet.arch")
HEAVY = ("torch", "onnx", "onnxruntime", "optuna", "rich", "numpy", "graphviz", "sqlalchemy", "matplotlib")


def _probe(code: str, cache: Path | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; it sets ``found`` (a dict), which comes back as JSON."""
    env = dict(os.environ)
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
    script = f"import json, sys\nfound = {{}}\n{code}\nprint(json.dumps(found))\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def _tops(modules) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_import_archlang_imports_only_the_version_and_the_errors():
    found = _probe("import archlang\nfound['modules'] = sorted(sys.modules)")
    ours = {m for m in found["modules"] if m.split(".")[0] == "archlang"}
    assert ours <= {"archlang", "archlang._version", "archlang.errors"}, ours
    assert not _tops(found["modules"]) & {"pydantic", "pydantic_core", "lark", *HEAVY}


def test_the_lazy_api_still_answers_every_public_name():
    found = _probe("import archlang\n"
                   "found['all'] = all(getattr(archlang, n) is not None for n in archlang.__all__)\n"
                   "found['same'] = archlang.load is __import__('archlang.api').api.load\n"
                   "found['sub'] = archlang.objectives.__name__\n"
                   "found['dir'] = set(archlang.__all__) <= set(dir(archlang))\n")
    assert found == {"all": True, "same": True, "sub": "archlang.objectives", "dir": True}


def test_version_and_fmt_never_import_the_ir(tmp_path):
    spec = tmp_path / "m.arch"
    spec.write_text("model M() {\n    input x: [B, 4]\n    return relu(x)\n}\n")
    for argv in (["--version"], ["fmt", "--check", str(spec)]):
        found = _probe("from archlang.cli import main\n"
                       "try:\n    found['code'] = main(%r)\nexcept SystemExit as e:\n    found['code'] = e.code\n"
                       "found['modules'] = sorted(sys.modules)" % (argv,))
        assert found["code"] == 0, argv
        assert not _tops(found["modules"]) & {"pydantic", *HEAVY}, argv
        assert "archlang.ir" not in found["modules"] and "archlang.elaborate" not in found["modules"], argv


CHECK = """
from archlang.cli import main
found['code'] = main(['check', '-q', %r])
found['modules'] = sorted(sys.modules)
""" % RESNET


def test_check_imports_only_what_it_uses(tmp_path):
    found = _probe(CHECK, cache=tmp_path)
    assert found["code"] == 0
    modules = set(found["modules"])
    assert not _tops(modules) & set(HEAVY)
    unused = ("archlang.nas", "archlang.objectives", "archlang.backends", "archlang.oneshot", "archlang.lsp",
              "archlang.report.printer", "archlang.report.summary", "archlang.report.html")
    assert not {m for m in modules if m.startswith(unused)}
    assert "archlang.ir.graph" in modules  # it did elaborate, with the IR ...
    assert not _tops(modules) & {"pydantic", "pydantic_core", "annotated_types", "typing_inspection"}  # ... alone
    assert not {"shutil", "lzma", "bz2"} & modules  # argparse's help width comes without shutil


def test_every_dataclass_check_builds_has_its_own_docstring(tmp_path):
    """Without one, ``dataclass`` writes a docstring from ``inspect.signature`` of the new
    ``__init__``: 0.2 ms per class, at every start-up.  A class of ours made by ``check``'s
    imports must say what it is itself."""
    found = _probe(CHECK + """
import dataclasses
found['generated'] = sorted(
    f"{name}.{key}" for name, module in list(sys.modules.items()) if name.startswith("archlang")
    for key, value in vars(module).items()
    if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == name
    and (value.__doc__ or "").startswith(value.__name__ + "("))
""", cache=tmp_path)
    assert found["code"] == 0 and found["generated"] == []


def test_check_parses_without_lark_or_regex(tmp_path):
    """The parser runs on generated tables (archlang/syntax/_tables.py): ``archlang check``
    imports neither Lark nor the ``regex`` module Lark pulls in, not even to word a syntax
    error, and writes no table cache."""
    bad = tmp_path / "bad.arch"
    bad.write_text("model M() {\n    x = f(a b)\n}\n")
    for spec, code in ((RESNET, 0), (str(bad), 1)):
        found = _probe("from archlang.cli import main\n"
                       "found['code'] = main(['check', '-q', %r])\n"
                       "found['modules'] = sorted(sys.modules)" % spec, cache=tmp_path / "cache")
        assert found["code"] == code, spec
        assert not _tops(found["modules"]) & {"lark", "regex"}, spec
    assert not (tmp_path / "cache").exists()
