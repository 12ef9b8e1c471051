"""Checking the arguments of archlang's public Python functions: a wrong type is a
``TypeError`` and a wrong value a ``ValueError``, each naming the argument
(``seed must be an int from 0 to 2**63 - 1, not 'a'``), raised before any work; never an
AttributeError from inside, never a silently accepted value.

Must not import anything from archlang beyond the standard library.
"""

from __future__ import annotations

import math
import os
import random
from typing import Any

MAX_SEED = 2**63 - 1


def shown(value: Any) -> str:
    """A short description of a bad value for a message: its repr when short, else its type."""
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__}"


def need_str(value, name: str, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {shown(value)}")
    if not empty and not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value


def need_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {shown(value)}")
    return value


def need_int(value, name: str, low: int | None = None, high: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {shown(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"from {low} to {high}" if low is not None and high is not None else \
            f"{low} or more" if low is not None else f"{high} or less"
        raise ValueError(f"{name} must be {bounds}, not {value}")
    return value


def need_seed(value, name: str = "seed") -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int from 0 to 2**63 - 1 or None, not {shown(value)}")
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"{name} must be an int from 0 to 2**63 - 1, not {value}")
    return value


def need_rng(value, name: str = "rng"):
    """A ``random.Random``, an int seed or None (a fresh generator)."""
    if value is None or isinstance(value, random.Random):
        return value
    return need_seed(value, name)


def need_number(value, name: str, *, positive: bool = False) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not {shown(value)}")
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{name} must be a {'positive ' if positive else ''}finite number, not {value}")
    return value


def need_mapping(value, name: str, *, keys: str = "names") -> dict:
    """A dict whose keys are str (``None`` is an empty one)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict of {keys}, not {shown(value)}")
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"{name} must be a dict keyed by {keys} (str), not by {shown(key)}")
    return value


def need_path(value, name: str):
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or pathlib.Path), not {shown(value)}")
    if not os.fspath(value) or "\0" in os.fspath(value):
        raise ValueError(f"{name} must name a file, not {shown(os.fspath(value))}")
    return value


def need_choice(value, name: str, options) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(str, options))}, not {shown(value)}")
    return value
