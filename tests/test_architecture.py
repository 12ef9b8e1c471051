"""The house rules of docs/design.md ("Stages and imports"), checked on the source tree.

* the import-linter contracts of pyproject.toml hold (stages import only the stages below
  them; the leaves import no stage; the core never imports a backend; backends read only
  the IR, ops and errors and never each other);
* the import graph of archlang, counting imports inside functions, has no cycle;
* an import inside a function only defers a heavy optional dependency, a module of ours
  that imports one, or a backend (loaded when a command needs it), so it never hides a cycle;
* only the API and CLI layer names ``archlang.backends``;
* ``import archlang`` imports none of torch, onnx, graphviz, optuna.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "archlang"

# Third-party packages worth deferring: heavy to import, and optional (pip extras).
HEAVY = {"torch", "onnx", "onnxruntime", "onnxscript", "graphviz", "optuna", "matplotlib", "numpy",
         "sklearn", "safetensors", "rich", "sqlalchemy", "psycopg", "pygls", "lsprotocol",
         "pydantic", "lark"}  # these two: tens of ms at start-up, deferred by commands that need no spec
# archlang's own stages a command loads only when it runs (issue 15's start-up: ``--version``
# and ``fmt`` never load the elaborator, ``check`` never loads the search core or the op
# table's printers).  Deferring them hides no cycle: the cycle test below counts
# function-level imports too.
DEFERRED_STAGES = {"archlang.api", "archlang.nas", "archlang.elaborate.program", "archlang.ops"}
# Standard-library modules that exist on some platforms only.
PLATFORM_ONLY = {"fcntl", "msvcrt", "resource"}
# The API and CLI layer: the only code that may name a backend.
API_LAYER = ("api.py", "cli/", "objectives/", "oneshot/")


def _sources() -> dict[str, Path]:
    """Module name → file, for archlang and its backends (reached through archlang/backends)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


SOURCES = _sources()


def _resolve(module: str, node: ast.ImportFrom | ast.Import, alias: ast.alias) -> str:
    """The absolute module an import statement names (``from x import y``: x.y if y is a module)."""
    if isinstance(node, ast.Import):
        return alias.name
    base = node.module or ""
    if node.level:
        package = module.split(".") if SOURCES[module].name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([base] if base else []))
    candidate = f"{base}.{alias.name}"
    return candidate if candidate in SOURCES else base


def _imports(module: str, *, local: bool) -> set[str]:
    """The modules ``module`` imports at its top level (local=False) or inside functions (True)."""
    tree = ast.parse(SOURCES[module].read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)) and in_function == local:
                found.update(_resolve(module, child, alias) for alias in child.names)
            visit(child, inside)

    visit(tree, False)
    return found


def test_import_linter_contracts_hold(tmp_path):
    result = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                             "lint_imports_command()", "--no-cache"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout, result.stdout


def test_no_import_cycles_counting_imports_inside_functions():
    graph = grimp.build_graph("archlang")
    modules = sorted(graph.modules)
    assert "archlang.backends.onnx.export" in modules, "the backends must be part of the graph"
    assert "archlang.nas.engine" in graph.find_modules_directly_imported_by("archlang.api"), \
        "grimp must count imports inside functions"
    cycles = _cycles({m: graph.find_modules_directly_imported_by(m) for m in modules})
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c + c[:1]) for c in cycles)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in edges), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_cycles():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": {"e"}}
    assert sorted(_cycles(edges)) == [["a", "b", "c"], ["e", "e2"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _heavy(module: str, seen: set[str] | None = None) -> bool:
    """Whether importing ``module`` imports a heavy optional package (through top-level imports)
    or is one of the stages commands load on first use."""
    if module.split(".")[0] in HEAVY or module in DEFERRED_STAGES:
        return True
    if module not in SOURCES:
        return False
    seen = seen if seen is not None else set()
    if module in seen:
        return False
    seen.add(module)
    parent = module.rpartition(".")[0]  # importing a.b.c first runs a.b's __init__
    return any(_heavy(target, seen) for target in _imports(module, local=False)) or _heavy(parent, seen)


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_imports_inside_functions_only_defer_heavy_dependencies(module):
    for target in sorted(_imports(module, local=True)):
        if target.split(".")[0] in PLATFORM_ONLY or target.startswith("archlang.backends"):
            continue
        assert _heavy(target), (
            f"{module} imports {target} inside a function, but {target} is light: import it at the top "
            "(a function-local import only defers torch, onnx, graphviz, optuna … — never hides a cycle)"
        )


def test_only_the_api_and_cli_layer_names_a_backend():
    offenders = []
    for module, path in SOURCES.items():
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("backends/") or relative.startswith(API_LAYER):
            continue
        if "archlang.backends" in path.read_text(encoding="utf-8"):
            offenders.append(module)
    assert not offenders


def test_import_archlang_imports_no_heavy_package():
    code = ("import sys, archlang; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'onnx', 'onnxruntime', 'graphviz', 'optuna', 'matplotlib')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


def test_public_api_is_listed():
    import archlang

    assert {"load", "loads", "format_ir", "to_torch", "to_onnx", "summary", "space", "search", "supernet", "render",
            "ArchError", "Program"} <= set(archlang.__all__)
    for name in archlang.__all__:
        assert hasattr(archlang, name), name
    assert callable(archlang.search) and not isinstance(archlang.search, type(archlang))
    assert callable(archlang.supernet) and not isinstance(archlang.supernet, type(archlang))
