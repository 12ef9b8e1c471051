"""Differential runs: one elaborated model through the torch backend and through ONNX
(onnxruntime), at concrete sizes, with the same weights; the outputs must agree.

    sizes = choose_sizes(model)                 # values for the model's symbolic sizes
    compare(source, name, sizes)                # torch vs ONNX, with and without functions
    meta_forward(model, sizes)                  # torch on the meta device: shapes only

A size assignment is usable when every dimension of every tensor of the IR (nested bodies
included) is at least 1 there (``positive_everywhere``).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import archlang  # noqa: E402
from archlang.backends.torch import build_module  # noqa: E402
from archlang.ir import Model, dims  # noqa: E402
from archlang.ir.types import TensorType  # noqa: E402


def symbols(model: Model) -> list[str]:
    names: dict[str, None] = {}
    for node in model.graph.input_nodes:
        for d in node.type.shape:
            names.update(dict.fromkeys(sorted(dims.free_symbols(d))))
    return list(names)


def _types(graph):
    for node in graph.nodes:
        t = node.type
        for item in (t if isinstance(t, tuple) else (t,)):
            if isinstance(item, TensorType):
                yield item
        if getattr(node, "body", None) is not None:
            yield from _types(node.body)


def positive_everywhere(model: Model, sizes: dict) -> bool:
    """Every dimension of every IR tensor is >= 1 at ``sizes``."""
    for t in _types(model.graph):
        for d in t.shape:
            if type(d) is not int and dims.evaluate(d, sizes) < 1:
                return False
    return True


def choose_sizes(model: Model, batch: int = 2, candidates=(8, 12, 16, 24, 32, 48, 64)) -> dict:
    """B (the first dim of the first input) = batch; every other symbol the smallest
    candidate at which every tensor has a positive size and the spec's asserts on sizes hold
    (GPT-2's ``T <= block_size``); failing that, a smaller size that does."""
    from archlang.ir.guards import holds, model_guards

    names = symbols(model)
    first = model.graph.input_nodes[0].type.shape if model.graph.input_nodes else ()
    batch_name = str(first[0]) if first and type(first[0]) is not int else None
    guards = model_guards(model.graph)
    smaller = [v for v in (6, 4, 3, 2) if v < min(candidates)]
    for value in [*candidates, *smaller]:
        sizes = {n: (batch if n == batch_name else value) for n in names}
        if positive_everywhere(model, sizes) and all(holds(g, sizes) is not False for g in guards):
            return sizes
    raise AssertionError(f"no candidate size makes every tensor of {model.name} non-empty and its asserts hold")


def feeds(model: Model, sizes: dict, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for node in model.graph.input_nodes:
        shape = tuple(dims.evaluate(d, sizes) for d in node.type.shape)
        if node.type.dtype in ("int64", "int32"):
            out[node.target] = rng.integers(0, 8, shape).astype(node.type.dtype)
        elif node.type.dtype == "bool":
            out[node.target] = rng.random(shape) > 0.3
        else:
            out[node.target] = rng.standard_normal(shape).astype(np.float32)
    return out


def random_weights(module) -> dict:
    """The initialisation plus noise, so no parameter hides behind a default (BatchNorm's ones
    and zeros, a zero-initialised Parameter) while deep stacks keep their scale: random weights
    of unit variance make a 20-layer network chaotic, and float32 rounding then differs by %."""
    gen = torch.Generator().manual_seed(0)
    state = {}
    for key, value in module.state_dict().items():
        if value.is_floating_point():
            noise = 0.1 * torch.randn(value.shape, generator=gen)
            value = value + (noise.abs() if key.endswith("running_var") else noise)
        state[key] = value
    module.load_state_dict(state)
    return module.state_dict()  # a tied parameter holds whichever copy was loaded last


def _as_list(result) -> list:
    if isinstance(result, torch.Tensor):
        return [result]
    return [r for item in result for r in _as_list(item)]


class Pair:
    """A model built once in torch and exported once to ONNX (symbolic sizes stay dynamic)."""

    def __init__(self, source, name: str | None = None, functions: bool = False, **elaborate) -> None:
        self.model = source if isinstance(source, Model) else archlang.api.elaborate(source, name, **elaborate)
        self.module = build_module(self.model, seed=0).eval()
        state = random_weights(self.module)
        proto = archlang.api.export_onnx(self.model, weights=state, functions=functions)
        onnx.checker.check_model(proto, full_check=True)
        self.session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])

    def run(self, sizes: dict, seed: int = 1) -> None:
        inputs = feeds(self.model, sizes, seed)
        with torch.no_grad():
            expected = _as_list(self.module(*(torch.from_numpy(inputs[n.target]) for n in self.model.graph.input_nodes)))
        got = self.session.run(None, inputs)
        assert len(got) == len(expected)
        for e, g in zip(expected, got):
            assert_close(e.numpy(), g)


def compare(source, name: str | None = None, sizes: dict | None = None, functions: bool = False, **elaborate) -> None:
    pair = Pair(source, name, functions=functions, **elaborate)
    pair.run(sizes if sizes is not None else choose_sizes(pair.model))


def assert_close(expected: np.ndarray, got: np.ndarray) -> None:
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if expected.dtype.kind in "iub":
        np.testing.assert_array_equal(got, expected)
        return
    tolerance = 1e-4 * max(1.0, float(np.abs(expected).max()) if expected.size else 1.0)
    assert float(np.abs(got - expected).max() if expected.size else 0.0) <= tolerance


def meta_forward(model: Model, sizes: dict) -> None:
    """Build on the meta device (no weights) and run the generated forward on meta tensors:
    every run-time size is computed, every output has the IR's shape at ``sizes``."""
    with torch.device("meta"):
        module = build_module(model)
        args = []
        for node in model.graph.input_nodes:
            shape = tuple(dims.evaluate(d, sizes) for d in node.type.shape)
            args.append(torch.empty(shape, dtype=getattr(torch, node.type.dtype)))
        outputs = _as_list(module(*args))
    expected = [t for t in model.graph.output_types]
    assert len(outputs) == len(expected)
    for out, t in zip(outputs, expected):
        assert tuple(out.shape) == tuple(dims.evaluate(d, sizes) for d in t.shape)
