"""Folding eval-mode BatchNormalization into the convolution that feeds it.

Per output channel, with s = γ / √(var + ε):

    BN(conv(x, W) + b) = conv(x, W·s) + (b − mean)·s + β

so the pair becomes one Conv with new weights (``<weight>.folded``, ``<conv>.bias.folded``),
each rounded once to the weights' dtype.  The state-dict tensors stay untouched and are
dropped only when nothing else reads them.  A folded bias that is exactly
zero (untrained statistics) is left out, as torch.onnx's optimiser does.  onnxruntime fuses
the same pairs when it loads a model; folding at export gives it a graph it needs not
rewrite, with the node layout torch.onnx produces.

A pair is folded only when it is certainly the same computation: the BatchNormalization
(inference form: one output) reads the output of a Conv that nothing else reads and that is
no graph output, and the weights, bias and statistics are all concrete float tensors
(initializers or Constants).

Imports numpy, onnx and this package's ``graph``; works on a ``GraphBuilder``'s nodes.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
from onnx import numpy_helper

from .graph import reader_counts

FLOATS = (np.float16, np.float32, np.float64)


def fold_batchnorm(g, arrays: Mapping[str, np.ndarray], keep: set) -> dict:
    """Fold every eligible Conv → BatchNormalization pair of ``g`` (a GraphBuilder) in place.

    ``arrays`` are the initializers by name; values in ``keep`` (graph outputs) are never
    folded away.  Returns the new initializers, name → (the conv weight they replace, the
    array: a bias, or ``Scaled`` for a weight)."""
    constants = {n.output[0]: n for n in g.nodes if n.op_type == "Constant"}
    value = _lookup(arrays, constants)
    producer = {out: n for n in g.nodes for out in n.output}
    readers = reader_counts(g.nodes)
    created: dict = {}
    removed = []
    for bn in g.nodes:
        conv = producer.get(bn.input[0]) if bn.op_type == "BatchNormalization" else None
        if conv is None or not _foldable(conv, bn, readers, keep, value):
            continue
        weight, bias = _folded(conv, bn, value)
        _rewire(g, conv, bn, weight, bias, created)
        removed.append(bn)
    if removed:
        g.remove(removed)
        g.remove(_unread_constants(g, keep))  # γ = 1, β = 0 of a BatchNorm without affine
    return created


# ---------------------------------------------------------------------------- matching


def _foldable(conv, bn, readers: dict, keep: set, value: Callable) -> bool:
    produced = conv.output[0]
    if conv.op_type != "Conv" or conv.domain or bn.domain or len(bn.output) != 1:
        return False
    if readers.get(produced, 0) != 1 or produced in keep or len(conv.output) != 1:
        return False
    tensors = [value(name) for name in list(conv.input[1:]) + list(bn.input[1:5])]
    return all(t is not None and t.dtype in FLOATS for t in tensors) and len({t.dtype for t in tensors}) == 1


def _folded(conv, bn, value: Callable) -> tuple[Scaled, np.ndarray | None]:
    weight = value(conv.input[1])
    bias = value(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else np.zeros(weight.shape[0])
    gamma, beta, mean, var = (value(name).astype(np.float64) for name in bn.input[1:5])
    epsilon = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
    scale = gamma / np.sqrt(var + np.float64(epsilon))
    folded_bias = (bias.astype(np.float64) - mean) * scale + beta
    return Scaled(weight, scale), (folded_bias.astype(weight.dtype) if np.any(folded_bias) else None)


class Scaled:
    """``weight`` times ``scale`` along its first axis, computed when it is written.

    The product is formed in float32 (float64 for float64 weights), as onnxruntime folds:
    within an ulp of the float64 one at about half its cost.  ``into`` writes it into a
    reused buffer, so folding the model's convolutions allocates no second copy of them."""

    __slots__ = ("scale", "weight")

    def __init__(self, weight: np.ndarray, scale: np.ndarray) -> None:
        self.weight = weight
        wide = np.promote_types(weight.dtype, np.float32)
        self.scale = scale.astype(wide).reshape((-1,) + (1,) * (weight.ndim - 1))

    @property
    def shape(self) -> tuple:
        return self.weight.shape

    @property
    def dtype(self) -> np.dtype:
        return self.weight.dtype

    def into(self, out: np.ndarray) -> np.ndarray:
        """The product, in ``out`` (the weight's shape and dtype)."""
        return np.multiply(self.weight, self.scale, out=out, dtype=self.scale.dtype)


# ---------------------------------------------------------------------------- rewriting


def _rewire(g, conv, bn, weight: Scaled, bias: np.ndarray | None, created: dict) -> None:
    """The Conv reads the folded tensors and produces what the BatchNormalization did."""
    g.value_info.pop(conv.output[0], None)
    source = conv.input[1]
    names = [_new(g, source + ".folded", weight, source, created)]
    if bias is not None:
        base = conv.input[2] if len(conv.input) > 2 and conv.input[2] else source.rsplit(".", 1)[0] + ".bias"
        names.append(_new(g, base + ".folded", bias, source, created))
    del conv.input[1:]
    conv.input.extend(names)
    conv.output[0] = bn.output[0]


def _new(g, base: str, array, source: str, created: dict) -> str:
    name = g.unique(base)
    created[name] = (source, array)
    return name


def _unread_constants(g, keep: set) -> list:
    read = reader_counts(g.nodes)
    return [n for n in g.nodes if n.op_type == "Constant" and n.output[0] not in read and n.output[0] not in keep]


# ---------------------------------------------------------------------------- helpers


def _lookup(arrays: Mapping[str, np.ndarray], constants: dict) -> Callable[[str], np.ndarray | None]:
    def value(name: str):
        if name in arrays:
            return arrays[name]
        node = constants.get(name)
        if node is None:
            return None
        attribute = next((a for a in node.attribute if a.name == "value"), None)
        return numpy_helper.to_array(attribute.t) if attribute is not None else None

    return value
