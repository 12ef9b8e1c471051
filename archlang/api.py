"""The small Python API shared by every backend entry point: turning "a spec" (a path, spec
text or a loaded Program) and a model name into an elaborated, checked ``ir.Model``, and the
lazily imported backend calls (``to_torch``, ``render``).  Importing this module imports no backend.

Every public function checks its arguments first: a wrong type is a TypeError, a wrong value a
ValueError, each naming the argument (``archlang.errors.arguments``); what the spec says is
wrong is an ArchError.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from archlang._version import __version__
from archlang.elaborate.program import Program, load_program, loads_program
from archlang.errors import ArchError, ArchNameError, Span
from archlang.errors.arguments import need_bool, need_choice, need_int, need_path, need_seed, need_str, shown
from archlang.ir import Model, display
from archlang.ir.memory import check_fits

if TYPE_CHECKING:
    from archlang.report.summary import Summary

# Start-up: the search core, the objectives and the report printers are imported by the calls
# that use them, so loading and checking a spec (``archlang check``) does not import them.


def load(path, *, check: bool = True) -> Program:
    """The .arch file at ``path``, parsed, its imports resolved, its models and spaces checked."""
    need_path(path, "path"), need_bool(check, "check")
    return load_program(path, check=check)


def loads(text, filename: str = "<string>", *, check: bool = True) -> Program:
    """Spec ``text`` (imports resolve beside ``filename``), parsed and checked."""
    need_str(text, "text", empty=True), need_str(filename, "filename"), need_bool(check, "check")
    return loads_program(text, filename, check=check)


def as_program(source) -> Program:
    """A Program from a Program, a path to an .arch file, or spec text.

    Only the static checks run here; the entry point used is checked when it is elaborated
    (so compiling one model of a zoo file does not elaborate all the others)."""
    if isinstance(source, Program):
        return source
    if isinstance(source, Path):
        return load_program(source, check=False)
    if isinstance(source, str) and "\n" not in source and (source.endswith(".arch") or Path(source).is_file()):
        return load_program(source, check=False)
    if isinstance(source, str):
        return loads_program(source, check=False)
    raise TypeError(f"source (a spec) must be a path, spec text or a Program, not {shown(source)}")


def elaborate(source, model: str | None = None, *, inputs: dict | None = None,
              assignment: dict | None = None, **params) -> Model:
    """The IR of ``model`` (default: the file's only model) with ``params`` applied.  An
    already elaborated ``ir.Model`` (``space.fix_model(a)``) is returned as it is."""
    if isinstance(source, Model):
        if model is not None or inputs or assignment or params:
            raise TypeError("an elaborated ir.Model takes no model name, inputs, assignment or parameters")
        return source
    if model is not None:
        need_str(model, "model")
    program = as_program(source)
    name = model or default_model(program)
    return program.elaborate(name, params=params, inputs=inputs or {}, assignment=assignment)


def default_model(program: Program) -> str:
    entries = program.models + program.spaces
    if len(entries) == 1:
        return entries[0]
    listing = ", ".join(entries) or "none"
    raise ArchNameError(f"{program.file} defines several entry points ({listing}); name one", Span(program.file, 1, 1))


def to_torch(source, model: str | None = None, *, seed: int | None = None, inputs: dict | None = None, **params):
    """An ``nn.Module`` for ``model``; parameter names come from the spec."""
    from archlang.backends.torch import build_module

    need_seed(seed)
    ir_model = elaborate(source, model, inputs=inputs, **params)
    check_fits(ir_model, "build it as a PyTorch module")  # refused before torch allocates anything
    return build_module(ir_model, seed=seed)


def to_onnx(source, model: str | None = None, *, weights=None, opset: int | None = None, inputs: dict | None = None,
            functions: bool = False, fold: bool = True, path=None, seed: int | None = None, **params):
    """An ``onnx.ModelProto`` for ``model``, emitted from the IR (no tracing); written
    atomically to ``path`` when given.  ``weights``: a state dict, a ``.safetensors`` or a
    ``.pt`` file; without, the torch backend's initialisation with ``seed``.  ``fold``: an
    eval-mode BatchNorm after a convolution becomes part of it (as torch.onnx does)."""
    _check_onnx_options(weights, opset, functions, fold, path, seed)
    return export_onnx(elaborate(source, model, inputs=inputs, **params), weights=weights, opset=opset,
                       functions=functions, fold=fold, path=path, seed=seed)


def _check_onnx_options(weights, opset, functions, fold, path, seed) -> None:
    if weights is not None and not isinstance(weights, (dict, str, Path)) and not hasattr(weights, "items"):
        raise TypeError(f"weights must be a state dict, a .pt or .safetensors path or None, not {shown(weights)}")
    if opset is not None:
        need_int(opset, "opset")
    need_bool(functions, "functions"), need_bool(fold, "fold"), need_seed(seed)
    if path is not None:
        need_path(path, "path")


def export_onnx(ir_model: Model, *, weights=None, opset: int | None = None, functions: bool = False,
                fold: bool = True, path=None, seed: int | None = None):
    """``to_onnx`` for an already elaborated model (the CLI's ``export``)."""
    from archlang.backends.onnx import export_model

    _check_model(ir_model)
    _check_onnx_options(weights, opset, functions, fold, path, seed)
    # the weights are built or read only once the graph is emitted, so a model ONNX cannot
    # express fails at once; given the path, the backend writes the file while it copies them
    return export_model(ir_model, lambda: _onnx_weights(ir_model, weights, seed), opset=opset,
                        functions=functions, producer_version=__version__, fold=fold, path=path)


def _onnx_weights(ir_model: Model, weights, seed: int | None) -> dict:
    """State-dict keys → numpy arrays, from a mapping, a weights file or a seeded torch build."""
    if weights is None:
        from archlang.backends.torch import build_module

        check_fits(ir_model, "initialise its weights for ONNX")  # refused before torch allocates anything
        weights = build_module(ir_model, seed=seed).state_dict()
    elif isinstance(weights, (str, Path)):
        weights = load_weights(Path(weights))
    return {key: _as_numpy(value, key) for key, value in weights.items()}


def load_weights(path: Path) -> dict:
    """A state dict from a ``.safetensors`` file or a ``.pt`` file (``weights_only=True``):
    a dict of parameter names to tensors, or a WeightsError saying what the file holds instead."""
    need_path(path, "path")
    path = Path(path)
    where = Span(str(path), 1, 1)
    if not path.is_file():
        raise WeightsError(f"cannot read weights from {path}: " + ("it is a folder" if path.is_dir() else "no such file"),
                           where)
    try:
        if path.suffix == ".safetensors":
            from safetensors.numpy import load_file

            state = load_file(str(path))
        else:
            import torch

            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 — torch, pickle and safetensors raise many kinds
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsError(f"cannot read weights from {path}: {text[:300]}", where) from None
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict (a dict of parameter "
                           "names to tensors)", where)
    for key, value in state.items():
        if not isinstance(key, str) or not (hasattr(value, "shape") and hasattr(value, "dtype")):
            what = f"key {key!r}" if not isinstance(key, str) else f"'{key}' is a {type(value).__name__}"
            raise WeightsError(f"{path} is not a state dict of tensors: {what}", where)
    return state


class WeightsError(ArchError):
    """A weights file that cannot be used (missing, unreadable, or not a state dict of tensors)."""

    kind = "weights"


def _as_numpy(value, key: str = "weights"):
    if hasattr(value, "detach"):  # a torch tensor (bfloat16 has no numpy dtype: widen it)
        value = value.detach().cpu()
        return (value.float() if str(value.dtype) == "torch.bfloat16" else value).numpy()
    if not (hasattr(value, "shape") and hasattr(value, "dtype")):
        raise TypeError(f"weights[{key!r}] must be an array or a tensor, not {shown(value)}")
    return value


def _check_model(model) -> None:
    if not isinstance(model, Model):
        raise TypeError(f"model must be an archlang.ir.Model (Program.elaborate gives one), not {shown(model)}")


def format_ir(model: Model) -> str:
    """The IR of an elaborated model as text, one line per node (the golden-file format)."""
    from archlang.report.printer import format_model

    _check_model(model)
    return format_model(model)


def summary(source, model: str | None = None, *, inputs: dict | None = None, **params) -> Summary:
    """Per-layer output shapes, parameters and MACs, computed analytically from the IR."""
    from archlang.report.summary import summarize

    return summarize(elaborate(source, model, inputs=inputs, **params))


def space(source, name: str | None = None, *, inputs: dict | None = None, **params):
    """The search space ``name`` (default: the file's only space) as an ``archlang.nas.Space``."""
    from archlang.nas import Space

    if name is not None:
        need_str(name, "name")
    program = as_program(source)
    if name is None:
        if len(program.spaces) != 1:
            raise ArchNameError(f"{program.file} defines {len(program.spaces)} spaces; name one", Span(program.file, 1, 1))
        name = program.spaces[0]
    definition = program.definition(name)
    if definition.kind != "space":
        raise ArchNameError(f"{name} is a {definition.kind}, not a space (archlang.space takes a space; "
                            "archlang.to_torch, summary … take models)", definition.span)
    return Space(program, name, params=params, inputs=inputs)


def supernet(source, name: str | None = None, *, method="darts", inputs: dict | None = None,
             seed: int | None = None, **params):
    """The weight-sharing supernet of the search space ``name`` (default: the file's only
    space) with ``params`` applied: an ``archlang.oneshot.Supernet`` (a ``torch.nn.Module``).
    ``method``: ``"darts"``, ``"pcdarts"``, ``"gdas"``, ``"spos"``, ``"proxyless"``, or a method
    object with its hyperparameters (``archlang.oneshot.PCDarts(k=2)``); ``seed`` makes the
    initialisation reproducible.  ``source`` may also be an ``archlang.nas.Space``."""
    from archlang.nas import Space
    from archlang.oneshot import build_supernet  # imports torch

    target = source if isinstance(source, Space) else space(source, name, inputs=inputs, **params)
    if isinstance(source, Space) and (name is not None or inputs or params):
        raise TypeError("a Space is already elaborated: give no name, inputs or parameters with it")
    return build_supernet(target, method, seed=seed)


def render(source, model: str | None = None, *, path=None, format: str | None = None, depth: int | None = None,
           expand: bool = False, direction: str = "TB", inputs: dict | None = None, **params) -> str:
    """The DOT source of ``model``'s diagram; with ``path`` also writes it (.svg/.png/.pdf via
    Graphviz's ``dot``, .dot as is; ``format`` overrides the suffix).  ``depth`` collapses
    blocks below that level, ``expand`` draws every repetition of a rolled run."""
    from archlang.backends.graphviz import FORMATS, RenderOptions, to_dot, write_diagram

    need_bool(expand, "expand")
    if format is not None:
        need_choice(format, "format", FORMATS)
    if path is not None:
        need_path(path, "path")
    options = RenderOptions(depth=depth, expand=expand, direction=direction)
    text = to_dot(elaborate(source, model, inputs=inputs, **params), options)
    if path is not None:
        write_diagram(text, path, format)
    return text


def render_svg(source, model: str | None = None, **kwargs) -> str:
    """The diagram of ``model`` as SVG text (needs Graphviz's ``dot``; RenderError without it)."""
    from archlang.backends.graphviz import pipe

    return pipe(render(source, model, **kwargs), "svg").decode("utf-8")


def search(space, objective, **options):
    """Search ``space`` (a ``Space``, or a spec whose only space it is) for architectures that
    optimise ``objective``: a callable, or the name(s) of built-in objectives
    (``"accuracy"``, ``["accuracy", "params"]``; see ``archlang.objectives``).  Options and the
    objective protocol: ``archlang.nas.engine.search``.  Returns an
    ``archlang.nas.study.Study``."""
    from archlang import objectives
    from archlang.nas import Space
    from archlang.nas.engine import search as run  # imports optuna

    if not isinstance(space, Space):
        space = _space(space)
    if isinstance(objective, str):
        objective = objectives.parse(objective)
    elif isinstance(objective, (list, tuple)) and objective and all(isinstance(o, str) for o in objective):
        objective = objectives.combine(list(objective))
    elif not callable(objective):
        raise TypeError(f"objective must be a callable, a built-in objective's name or a list of names, not "
                        f"{shown(objective)}")
    return run(space, objective, **options)


_space = space


def _program_svg(program: Program) -> str | None:
    """A program's diagram in a notebook: its first model or space (None without one, or without `dot`)."""
    from archlang.backends.graphviz import RenderError

    entries = [name for name, d in program.unit.definitions.items() if d.kind in ("model", "space")]
    if not entries:
        return None
    try:
        return render_svg(program, entries[0])
    except RenderError:
        return None


display.register("program.svg", _program_svg)
