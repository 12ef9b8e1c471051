"""The small Python API shared by every backend entry point: turning "a spec" (a path, spec
text or a loaded Program) and a model name into an elaborated, checked ``ir.Model``, and the
lazily imported backend calls (``to_torch``).  Importing this module imports no backend.
"""

from __future__ import annotations

from pathlib import Path

from archlang.errors import ArchNameError, Span
from archlang.ir import Model
from archlang.program import Program, load_program, loads_program


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
    """The IR of ``model`` (default: the file's only model) with ``params`` applied."""
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
            functions: bool = False, path=None, seed: int | None = None, **params):
    """An ``onnx.ModelProto`` for ``model``, emitted from the IR (no tracing); written
    atomically to ``path`` when given.  ``weights``: a state dict, a ``.safetensors`` or a
    ``.pt`` file; without, the torch backend's initialisation with ``seed``."""
    return export_onnx(elaborate(source, model, inputs=inputs, **params), weights=weights, opset=opset,
                       functions=functions, path=path, seed=seed)


def export_onnx(ir_model: Model, *, weights=None, opset: int | None = None, functions: bool = False,
                path=None, seed: int | None = None):
    """``to_onnx`` for an already elaborated model (the CLI's ``export``)."""
    from archlang import __version__
    from archlang.backends.onnx import export_model, write_model

    proto = export_model(ir_model, _onnx_weights(ir_model, weights, seed), opset=opset, functions=functions,
                         producer_version=__version__)
    if path is not None:
        write_model(proto, path)
    return proto


def _onnx_weights(ir_model: Model, weights, seed: int | None) -> dict:
    """State-dict keys → numpy arrays, from a mapping, a weights file or a seeded torch build."""
    if weights is None:
        from archlang.backends.torch import build_module

        weights = build_module(ir_model, seed=seed).state_dict()
    elif isinstance(weights, (str, Path)):
        weights = _load_weights(Path(weights))
    return {key: _as_numpy(value) for key, value in weights.items()}


def _load_weights(path: Path) -> dict:
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


def space(source, name: str | None = None, *, inputs: dict | None = None, **params):
    """The search space ``name`` (default: the file's only space) as an ``archlang.search.Space``."""
    from archlang.search import Space

    program = as_program(source)
    if name is None:
        if len(program.spaces) != 1:
            raise ArchNameError(f"{program.file} defines {len(program.spaces)} spaces; name one", Span(program.file, 1, 1))
        name = program.spaces[0]
    return Space(program, name, params=params, inputs=inputs)
