"""How each architecture key is taken in one forward pass of a supernet.

A supernet place that holds a decision (a layer choice, a DARTS edge, a searched size, a
searched depth) asks the forward pass for the ``Selection`` of its key:

``Path(index)``                  exactly option ``index`` (``set_path``, SPOS, ProxylessNAS' weight step);
``Soft(weights)``                every option, weighted (DARTS, PC-DARTS);
``Hard(index, weights)``         option ``index`` only; ``weights[index]`` is 1 in value and carries
                                 the gradient to the architecture parameters (GDAS' straight-through
                                 Gumbel-softmax);
``Gated(active, inactive, gates)`` ProxylessNAS' binary gates: ``active`` is computed, ``inactive``
                                 only for the gradient of its gate; ``gates`` is 1 at ``active``.

``Forward`` holds the selections of one pass, made on first use by the method's policy, so a
decision shared by many places (NAS-Bench-201's edges in all cells) is softmaxed or drawn once
per pass.  It also answers the values of searched sizes: the chosen one, or under ``Soft`` the
largest (the supernet computes at the largest sizes and mixes at the layers).

Imports torch; must not import a backend.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class Path:
    index: int


@dataclass(frozen=True)
class Soft:
    weights: torch.Tensor


@dataclass(frozen=True)
class Hard:
    index: int
    weights: torch.Tensor


@dataclass(frozen=True)
class Gated:
    active: int
    inactive: int
    gates: torch.Tensor


Selection = Path | Soft | Hard | Gated


def chosen(selection: Selection) -> int | None:
    """The one option a selection computes with gradients (None for ``Soft``)."""
    if isinstance(selection, (Path, Hard)):
        return selection.index
    if isinstance(selection, Gated):
        return selection.active
    return None


def scale_of(selection: Selection):
    """The factor (1 in value) that carries the gradient of a one-option selection, or None."""
    if isinstance(selection, Hard):
        return selection.weights[selection.index]
    if isinstance(selection, Gated):
        return selection.gates[selection.active]
    return None


class Forward:
    """The selections of one forward pass.

    ``choose(key)`` makes the selection of a key (the method's policy, or the fixed path);
    ``values`` is the full assignment when the pass computes one architecture (a path), else
    None; ``sizes`` maps every size decision's label to its integer options.
    """

    def __init__(self, choose: Callable[[str], Selection], sizes: dict[str, tuple[int, ...]],
                 values: dict | None = None, edge_weights: Callable | None = None) -> None:
        self._choose = choose
        self.sizes = sizes
        self.values = values
        self._edge_weights = edge_weights
        self._selections: dict[str, Selection] = {}
        self._normalised: dict = {}
        self.env = _SizeEnv(self)

    def select(self, key: str) -> Selection:
        found = self._selections.get(key)
        if found is None:
            found = self._selections[key] = self._choose(key)
        return found

    def edge_weights(self, keys: tuple[str, ...]):
        """The weights of the edges ``keys`` summed into one node (PC-DARTS' normalised edge
        weights), or None when the method has none or the pass is a path."""
        if self._edge_weights is None or self.values is not None:
            return None
        if keys not in self._normalised:
            self._normalised[keys] = self._edge_weights(keys)
        return self._normalised[keys]

    def joint(self, labels: tuple[str, ...]) -> tuple[list[tuple[object, dict]], object]:
        """The joint options of the size decisions ``labels``: ``([(weight, env)], scale)``.

        One option (weight None) under a path, ``Hard`` or ``Gated``, with ``scale`` the product
        of their gradient-carrying factors; every combination under ``Soft``, each weighted by
        the product of its options' weights."""
        selections = [self.select(label) for label in labels]
        if not any(isinstance(s, Soft) for s in selections):
            env = {}
            scale = None
            for label, selection in zip(labels, selections):
                _bind(env, label, self.sizes[label], chosen(selection))
                factor = scale_of(selection)
                if factor is not None:
                    scale = factor if scale is None else scale * factor
            return [(None, env)], scale
        per_label = []
        for label, selection in zip(labels, selections):
            if isinstance(selection, Soft):
                per_label.append([(i, selection.weights[i]) for i in range(len(self.sizes[label]))])
            else:
                per_label.append([(chosen(selection), scale_of(selection))])
        options = []
        for combination in itertools.product(*per_label):
            env, weight = {}, None
            for label, (index, factor) in zip(labels, combination):
                _bind(env, label, self.sizes[label], index)
                if factor is not None:
                    weight = factor if weight is None else weight * factor
            options.append((weight, env))
        return options, None


def _bind(env: dict, label: str, options: tuple[int, ...], index: int) -> None:
    env[label] = options[index]
    env[label + "#"] = index


class _SizeEnv(dict):
    """Symbol values of the searched sizes in one pass: the chosen option, or the largest one
    under ``Soft`` (filled on first lookup)."""

    def __init__(self, forward: Forward) -> None:
        super().__init__()
        self.forward = forward

    def __missing__(self, name: str):
        label = name[:-1] if name.endswith("#") else name
        options = self.forward.sizes.get(label)
        if options is None:
            raise KeyError(name)
        index = chosen(self.forward.select(label))
        if index is None:
            index = max(range(len(options)), key=lambda i: options[i])
        _bind(self, label, options, index)
        return self[name]
