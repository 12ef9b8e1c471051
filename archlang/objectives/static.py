"""Static objectives from the IR, without torch: ``params`` (trainable parameters) and
``macs`` (multiply-accumulates of one sample, torchvision's convention), both minimised.
Both are counted on the shared IR (each shared graph once), so a model too large to write
out (``max_expanded``) is still measured.
"""

from __future__ import annotations

from archlang.ir import dims
from archlang.ir.params import count_params
from archlang.objectives.base import Objective, ObjectiveError
from archlang.report.counts import model_macs


class Params(Objective):
    name = "params"
    direction = "minimize"
    cost = True

    def __call__(self, model) -> float:
        return float(concrete(count_params(model.graph), model, "parameter count"))


class MACs(Objective):
    name = "macs"
    direction = "minimize"
    cost = True

    def __call__(self, model) -> float:
        return float(concrete(model_macs(model), model, "MAC count"))


def concrete(value, model, what: str) -> int:
    """``value`` with the batch size set to 1; an error if other sizes are still symbolic."""
    if isinstance(value, int):
        return value
    batch = batch_symbol(model)
    env = {batch: 1} if batch else {}
    left = dims.free_symbols(value) - set(env)
    if left:
        raise ObjectiveError(f"the {what} of {model.name} depends on {', '.join(sorted(left))}; "
                             "give the input a concrete shape (--input)")
    return dims.evaluate(value, env)


def batch_symbol(model) -> str | None:
    """The name of the symbolic batch size (the first size of the first input), if any."""
    inputs = model.graph.input_nodes
    if not inputs or not inputs[0].type.shape:
        return None
    first = inputs[0].type.shape[0]
    names = dims.free_symbols(first) if not isinstance(first, int) else ()
    return next(iter(names)) if len(names) == 1 else None
