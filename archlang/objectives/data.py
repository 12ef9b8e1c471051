"""Handwritten digits for the trained objective and the proxies: scikit-learn's 1,797 8×8
images (shipped with scikit-learn, no download), a fixed stratified train/validation split,
standardised with the training statistics, and fitted to a model's input shape.

Shapes that fit: ``[B, 64]`` (flattened), ``[B, 1, 8, 8]``, and ``[B, C, H, W]`` with C of 1 or
3 and H, W ≥ 8 (bilinear upsampling, the grey channel repeated) — so NAS-Bench-201's
``[B, 3, 32, 32]`` works.  The model must return ``[B, K]`` logits with K ≥ 10.  Needs torch.
"""

from __future__ import annotations

import contextlib

import torch

from archlang import datasets
from archlang.ir import dims
from archlang.objectives.base import ObjectiveError

CLASSES = datasets.CLASSES


def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_val, y_val): x as [N, 1, 8, 8] float32, standardised."""
    try:
        return datasets.digits()
    except ImportError as error:
        raise ObjectiveError("the digits objectives need scikit-learn (pip install 'archlang[search]')") from error


def input_shape(model) -> tuple:
    """The model's single input shape, its first size (the batch) left as given."""
    inputs = model.graph.input_nodes
    if len(inputs) != 1:
        raise ObjectiveError(f"{model.name} has {len(inputs)} inputs; the digits objectives need one")
    return tuple(inputs[0].type.shape)


def check_output(model) -> None:
    outputs = model.graph.output_types
    if len(outputs) != 1 or outputs[0].rank != 2:
        raise ObjectiveError(f"{model.name} must return [B, K] logits for the digits objectives")
    classes = outputs[0].shape[1]
    if not isinstance(classes, int) or classes < CLASSES:
        raise ObjectiveError(f"{model.name} returns {dims.to_str(classes)} logits; the digits need ≥ {CLASSES}")


def fit(x: torch.Tensor, shape: tuple) -> torch.Tensor:
    """Digits [N, 1, 8, 8] as the input ``shape`` asks (see the module docstring)."""
    rest = [d if isinstance(d, int) else None for d in shape[1:]]
    if rest == [64]:
        return x.reshape(len(x), 64)
    if len(rest) == 3 and rest[0] in (1, 3) and all(isinstance(s, int) and s >= 8 for s in rest[1:]):
        channels, height, width = rest
        if (height, width) != (8, 8):
            x = torch.nn.functional.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
        return x.expand(-1, channels, -1, -1).contiguous()
    shown = "[" + ", ".join(dims.to_str(d) if not isinstance(d, int) else str(d) for d in shape) + "]"
    raise ObjectiveError(f"handwritten digits do not fit the input {shown}; "
                         "the space's input must be [B, 64], [B, 1, 8, 8] or [B, 1|3, H≥8, W≥8]")


def batch(model, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``size`` training digits (a fixed draw for ``seed``), fitted to the model's input."""
    check_output(model)
    x, y, _, _ = digits()
    generator = torch.Generator().manual_seed(seed)
    picked = torch.randperm(len(x), generator=generator)[:size]
    return fit(x[picked], input_shape(model)), y[picked]


def fitted(model) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The train and validation sets fitted to the model's input."""
    check_output(model)
    shape = input_shape(model)
    x_train, y_train, x_val, y_val = digits()
    return fit(x_train, shape), y_train, fit(x_val, shape), y_val


@contextlib.contextmanager
def threads(count: int | None):
    """Run torch ops on ``count`` threads (None: as set).  One thread is the default of the
    objectives: their networks are small, and on a busy machine several threads wait on each
    other far longer than they compute."""
    previous = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
