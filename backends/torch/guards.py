"""A model's input guard: declared input shapes and the spec's asserts on symbolic sizes,
checked by the generated forward.

A model's forward starts with ``check_inputs(self._archlang_guard, x)`` (``.code`` shows
it).  The guard is the model's ``archlang.ir.guards.InputGuard``: it compares the inputs'
shapes with the last ones that passed (one tuple comparison when they are the same, as in a
training loop) and checks them only when they are new: rank and concrete sizes of each
``input``, then the asserts (``assert T <= block_size``), raising ``InputGuardError`` (a
ValueError) that names the spec's line, the condition and the sizes.  While torch.compile or torch.export trace the
forward the check is left out: a traced graph is specialised or carries its own shape guards.

Imports archlang.ir and torch only; never another backend.
"""

from __future__ import annotations

import torch

from archlang.ir import Model
from archlang.ir.guards import InputGuard, model_guards

GUARD = "_archlang_guard"  # the attribute of a model's module that holds its InputGuard


def input_guard(model: Model) -> InputGuard:
    """The guard of ``model``'s inputs: their declared shapes and the spec's size asserts."""
    return InputGuard(model_guards(model.graph), model.graph.input_nodes, model.name)


def check_inputs(guard: InputGuard, *tensors: torch.Tensor) -> None:
    """Raise InputGuardError if the tensors' sizes break one of the spec's asserts."""
    if torch.compiler.is_compiling():
        return
    guard(tuple(t.shape for t in tensors))
