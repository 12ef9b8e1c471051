"""The per-epoch checkpoint of a supernet's training: everything a resumed run needs to
continue exactly where the last complete epoch ended.

    DIR/checkpoint.pt = {format, config, epoch, supernet, optimizers, scheduler, method, rng, history}

``supernet``: the state dict (weights, batch-norm statistics, architecture parameters);
``optimizers`` and ``scheduler``: their state dicts; ``method``: the method's run-time state
(GDAS' temperature, ProxylessNAS' step count, SPOS' sampler); ``rng``: torch's and Python's
global generators and the loaders' own generators; ``config``: what the run was started with,
so that a different command never continues it.  Written atomically through
``archlang.files`` (a killed run leaves the previous checkpoint whole) and read back with
``torch.load(weights_only=True)`` (a checkpoint is data, never code).  Imports torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import random
from pathlib import Path

import torch

from archlang import files

FORMAT = 1
NAME = "checkpoint.pt"
_PLAIN = (int, float, str, bool, type(None))


class CheckpointError(ValueError):
    """A checkpoint that this run cannot continue (another run's, or unreadable)."""


def seed_everything(seed: int) -> None:
    """Seed the global generators the data order and the sampled paths draw from (Python's and
    torch's), which ``rng_state`` saves with every checkpoint."""
    random.seed(seed)
    torch.manual_seed(seed)


def fingerprint(data: bytes) -> str:
    """What a run's ``config`` records of its spec's text: its SHA-256."""
    return hashlib.sha256(data).hexdigest()


def save(path: Path, state: dict) -> Path:
    """Write ``state`` to ``path`` atomically (the old checkpoint stays until the new one is whole)."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buffer)
    return files.write_bytes(path, buffer.getvalue())


def load(path: Path, config: dict) -> dict | None:
    """The checkpoint at ``path`` (None when there is none); a ``CheckpointError`` when it was
    written by a run with another ``config``."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 — a foreign or damaged file
        raise CheckpointError(f"{path}: not a readable archlang supernet checkpoint ({type(error).__name__}); "
                              "delete it or use another output folder") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an archlang supernet checkpoint (format {FORMAT})")
    differences = [key for key in sorted(set(config) | set(state["config"]))
                   if config.get(key) != state["config"].get(key)]
    if differences:
        shown = "; ".join(f"{k}: {state['config'].get(k)!r} there, {config.get(k)!r} now" for k in differences[:3])
        raise CheckpointError(f"{path} belongs to another run ({shown}); use another output folder, or delete "
                              "the checkpoint to start over")
    return state


# ---- the run's random state ---------------------------------------------------------------------


def rng_state(loaders) -> dict:
    """torch's and Python's global generators, and each loader's own generator (if it has one)."""
    return {"torch": torch.get_rng_state(), "python": random.getstate(),
            "loaders": [_generator(loader).get_state() if _generator(loader) is not None else None
                        for loader in loaders]}


def set_rng_state(state: dict, loaders) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_tuples(state["python"]))
    for loader, saved in zip(loaders, state["loaders"]):
        if saved is not None and _generator(loader) is not None:
            _generator(loader).set_state(saved)


def _generator(loader):
    generator = getattr(loader, "generator", None)
    return generator if isinstance(generator, torch.Generator) else None


def _tuples(value):
    """Python's random state as ``random.setstate`` wants it (tuples, not lists)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


# ---- the method's run-time state ------------------------------------------------------------------


def method_state(method) -> dict:
    """The method's run-time fields (those not shown in its repr) that are plain values, and
    its private sampler's state (SPOS)."""
    state = {f.name: getattr(method, f.name) for f in dataclasses.fields(method)
             if not f.repr and isinstance(getattr(method, f.name), _PLAIN)}
    rng = getattr(method, "_rng", None)
    if isinstance(rng, random.Random):
        state["_rng"] = rng.getstate()
    return state


def set_method_state(method, state: dict) -> None:
    for name, value in state.items():
        if name == "_rng":
            method._rng.setstate(_tuples(value))
        else:
            setattr(method, name, value)
