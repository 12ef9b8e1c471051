"""The data a supernet trains on: ``(train_loader, valid_loader)`` from ``--data``.

``digits``                scikit-learn's 1,797 handwritten 8×8 digits (shipped with scikit-learn,
                          no download): a fixed stratified 80/20 split, standardised, fitted to
                          the space's input — ``[B, 64]``, ``[B, 1, 8, 8]`` or ``[B, 1|3, H, W]``
                          upscaled bilinearly (NAS-Bench-201's 32×32 RGB).  For tests and demos.
``FILE.py:FUNCTION``      a function of yours (a file, or an importable ``MODULE:FUNCTION``)
``MODULE:FUNCTION``       returning ``(train_loader, valid_loader)``: any iterables of
                          ``(inputs, targets)`` batches, e.g. ``torch.utils.data.DataLoader``.
                          It is called as ``FUNCTION(batch_size=…)`` when it takes a
                          ``batch_size`` argument, else with no argument.

Importing a user's file runs its code; naming it on the command line asks for that (a spec
never does).  A bad name is a ``DataError``.  Imports torch.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import torch

from archlang import datasets, userimport


class DataError(ValueError):
    """``--data`` names nothing usable (a usage error)."""


def loaders(spec: str, input_shape: tuple, batch_size: int):
    """``(train_loader, valid_loader)`` for ``--data spec`` (see the module docstring)."""
    if spec == "digits":
        return digits_loaders(input_shape, batch_size)
    return _user_loaders(spec, batch_size)


def check_batches(loader, input_shape: tuple, spec: str) -> None:
    """The first batch of ``loader`` must be ``(inputs, targets)`` tensors whose inputs fit
    ``input_shape`` (its fixed sizes; the batch and symbolic sizes may be anything)."""
    batch = next(iter(loader), None)
    if batch is None:
        raise DataError(f"--data {spec}: the training loader yields no batch")
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2 and all(isinstance(t, torch.Tensor) for t in batch)):
        raise DataError(f"--data {spec}: a batch must be (inputs, targets), two tensors; got {type(batch).__name__}")
    shape = tuple(batch[0].shape)
    fits = len(shape) == len(input_shape) and all(not isinstance(want, int) or want == got
                                                   for want, got in zip(input_shape[1:], shape[1:]))
    if not fits:
        wanted = "[" + ", ".join(str(d) for d in input_shape) + "]"
        raise DataError(f"--data {spec}: the inputs of a batch have shape {list(shape)}; the space takes {wanted}")


# ---- digits -------------------------------------------------------------------------------


def digits_loaders(input_shape: tuple, batch_size: int):
    """Shuffled training batches and in-order validation batches of the digits, fitted to
    ``input_shape`` (the batch size first, ignored).  Shuffling draws from torch's global
    generator, so a seeded run (and a resumed one, which restores it) sees the same order."""
    from torch.utils.data import DataLoader, TensorDataset

    x_train, y_train, x_valid, y_valid = _digits()
    train = TensorDataset(fit(x_train, input_shape), y_train)
    valid = TensorDataset(fit(x_valid, input_shape), y_valid)
    return (DataLoader(train, batch_size=batch_size, shuffle=True, drop_last=True),
            DataLoader(valid, batch_size=batch_size, shuffle=False))


def _digits():
    try:
        return datasets.digits()
    except ImportError as error:
        raise DataError("--data digits needs scikit-learn (pip install 'archlang[search]')") from error


def fit(x: torch.Tensor, shape: tuple) -> torch.Tensor:
    """Digits ``[N, 1, 8, 8]`` as the input ``shape`` asks."""
    rest = [d if isinstance(d, int) else None for d in shape[1:]]
    if rest == [64]:
        return x.reshape(len(x), 64)
    if len(rest) == 3 and rest[0] in (1, 3) and all(isinstance(s, int) and s >= 8 for s in rest[1:]):
        channels, height, width = rest
        if (height, width) != (8, 8):
            x = torch.nn.functional.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
        return x.expand(-1, channels, -1, -1).contiguous()
    shown = "[" + ", ".join(str(d) for d in shape) + "]"
    raise DataError(f"--data digits: handwritten digits do not fit the input {shown}; the space's input must be "
                    "[B, 64], [B, 1, 8, 8] or [B, 1|3, H≥8, W≥8] (or give --data MODULE:FUNCTION)")


# ---- a function of the user's ---------------------------------------------------------------


def _user_loaders(spec: str, batch_size: int):
    function = load_function(spec)
    takes_batch = "batch_size" in _parameters(function)
    try:
        result = function(batch_size=batch_size) if takes_batch else function()
    except Exception as error:  # noqa: BLE001 — the user's function failed: say so, without our traceback
        raise DataError(f"--data {spec}: the function raised {type(error).__name__}: {error}") from None
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise DataError(f"--data {spec}: the function must return (train_loader, valid_loader), "
                        f"not {type(result).__name__}")
    return tuple(result)


def _parameters(function) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()


def load_function(spec: str):
    """The function ``FUNCTION`` of ``FILE.py:FUNCTION`` or ``MODULE:FUNCTION``."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise DataError(f"--data {spec}: expected 'digits', FILE.py:FUNCTION or MODULE:FUNCTION")
    module = _import_file(where, spec) if where.endswith(".py") or "/" in where else _import_module(where, spec)
    found = getattr(module, name, None)
    if not callable(found):
        raise DataError(f"--data {spec}: {where} has no function '{name}'")
    return found


def _import_file(where: str, spec: str):
    path = Path(where).expanduser()
    if not path.is_file():
        raise DataError(f"--data {spec}: no such file {where}")
    return userimport.import_file(str(path.resolve()), spec, flag="--data", error=DataError,
                                  prefix="archlang_user_data_", shown=where)


def _import_module(where: str, spec: str):
    return userimport.import_module(where, spec, flag="--data", error=DataError)
