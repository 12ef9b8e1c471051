"""The small Python API shared by every backend entry point: turning "a spec" (a path, spec
text or a loaded Program) and a model name into an elaborated, checked ``ir.Model``, and the
lazily imported backend calls (``to_torch``, ``render``).  Importing this module imports no backend.
"""

from __future__ import annotations

from pathlib import Path

from archlang import objectives
from archlang._version import __version__
from archlang.elaborate.program import Program, load_program, loads_program
from archlang.errors import ArchNameError, Span
from archlang.ir import Model, display
from archlang.nas import Space
from archlang.report.printer import format_model
from archlang.report.summary import Summary, summarize


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
    raise TypeError(f"a spec is a path, spec text or a Program, not {type(source).__name__}")


def elaborate(source, model: str | None = None, *, inputs: dict | None = None,
              assignment: dict | None = None, **params) -> Model:
    """The IR of ``model`` (default: the file's only model) with ``params`` applied.  An
    already elaborated ``ir.Model`` (``space.fix_model(a)``) is returned as it is."""
    if isinstance(source, Model):
        if model is not None or inputs or assignment or params:
            raise TypeError("an elaborated ir.Model takes no model name, inputs, assignment or parameters")
        return source
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

    return build_module(elaborate(source, model, inputs=inputs, **params), seed=seed)


def to_onnx(source, model: str | None = None, *, weights=None, opset: int | None = None, inputs: dict | None = None,
            functions: bool = False, fold: bool = True, path=None, seed: int | None = None, **params):
    """An ``onnx.ModelProto`` for ``model``, emitted from the IR (no tracing); written
    atomically to ``path`` when given.  ``weights``: a state dict, a ``.safetensors`` or a
    ``.pt`` file; without, the torch backend's initialisation with ``seed``.  ``fold``: an
    eval-mode BatchNorm after a convolution becomes part of it (as torch.onnx does)."""
    return export_onnx(elaborate(source, model, inputs=inputs, **params), weights=weights, opset=opset,
                       functions=functions, fold=fold, path=path, seed=seed)


def export_onnx(ir_model: Model, *, weights=None, opset: int | None = None, functions: bool = False,
                fold: bool = True, path=None, seed: int | None = None):
    """``to_onnx`` for an already elaborated model (the CLI's ``export``)."""
    from archlang.backends.onnx import export_model

    # the weights are built or read only once the graph is emitted, so a model ONNX cannot
    # express fails at once; given the path, the backend writes the file while it copies them
    return export_model(ir_model, lambda: _onnx_weights(ir_model, weights, seed), opset=opset,
                        functions=functions, producer_version=__version__, fold=fold, path=path)


def _onnx_weights(ir_model: Model, weights, seed: int | None) -> dict:
    """State-dict keys → numpy arrays, from a mapping, a weights file or a seeded torch build."""
    if weights is None:
        from archlang.backends.torch import build_module

        weights = build_module(ir_model, seed=seed).state_dict()
    elif isinstance(weights, (str, Path)):
        weights = load_weights(Path(weights))
    return {key: _as_numpy(value) for key, value in weights.items()}


def load_weights(path: Path) -> dict:
    """A state dict from a ``.safetensors`` file or a ``.pt`` file (``weights_only=True``)."""
    if path.suffix == ".safetensors":
        from safetensors.numpy import load_file

        return load_file(str(path))
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def _as_numpy(value):
    if hasattr(value, "detach"):  # a torch tensor (bfloat16 has no numpy dtype: widen it)
        value = value.detach().cpu()
        return (value.float() if str(value.dtype) == "torch.bfloat16" else value).numpy()
    return value


def format_ir(model: Model) -> str:
    """The IR of an elaborated model as text, one line per node (the golden-file format)."""
    return format_model(model)


def summary(source, model: str | None = None, *, inputs: dict | None = None, **params) -> Summary:
    """Per-layer output shapes, parameters and MACs, computed analytically from the IR."""
    return summarize(elaborate(source, model, inputs=inputs, **params))


def space(source, name: str | None = None, *, inputs: dict | None = None, **params):
    """The search space ``name`` (default: the file's only space) as an ``archlang.nas.Space``."""
    program = as_program(source)
    if name is None:
        if len(program.spaces) != 1:
            raise ArchNameError(f"{program.file} defines {len(program.spaces)} spaces; name one", Span(program.file, 1, 1))
        name = program.spaces[0]
    return Space(program, name, params=params, inputs=inputs)


def supernet(source, name: str | None = None, *, method="darts", inputs: dict | None = None,
             seed: int | None = None, **params):
    """The weight-sharing supernet of the search space ``name`` (default: the file's only
    space) with ``params`` applied: an ``archlang.oneshot.Supernet`` (a ``torch.nn.Module``).
    ``method``: ``"darts"``, ``"pcdarts"``, ``"gdas"``, ``"spos"``, ``"proxyless"``, or a method
    object with its hyperparameters (``archlang.oneshot.PCDarts(k=2)``); ``seed`` makes the
    initialisation reproducible.  ``source`` may also be an ``archlang.nas.Space``."""
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
    from archlang.backends.graphviz import RenderOptions, to_dot, write_diagram

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
    from archlang.nas.engine import search as run  # imports optuna

    if not isinstance(space, Space):
        space = _space(space)
    if isinstance(objective, str) or (isinstance(objective, (list, tuple)) and objective
                                      and all(isinstance(o, str) for o in objective)):
        objective = objectives.combine([objective] if isinstance(objective, str) else list(objective))
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
