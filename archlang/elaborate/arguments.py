"""The arguments of ``Program.elaborate`` (and so of every API function that elaborates):
``name`` a str, ``params`` a dict of parameter names, ``inputs`` a dict of input names to
shapes, ``assignment`` a dict of decision labels or None.  A shape is a tuple or list of sizes:
positive ints, symbolic sizes (``archlang.ir.dims``) or names (``"B"``, made symbolic) — not a
string such as ``"1x3x8x8"``, which the CLI's ``--input`` parses but Python does not.

Wrong types are TypeErrors and wrong values ValueErrors naming the argument
(``archlang.errors.arguments``).  Imports archlang.errors and archlang.ir only.
"""

from __future__ import annotations

from archlang.errors.arguments import need_mapping, need_str, shown
from archlang.ir import dims

MAX_SIZE = 2**63 - 1


def check_elaborate(name, params, inputs, assignment) -> tuple[dict, dict, dict | None]:
    """(params, inputs with their shapes as tuples of sizes, assignment), checked."""
    need_str(name, "name")
    params = need_mapping(params, "params", keys="parameter names")
    inputs = {key: shape_of(value, f"inputs[{key!r}]")
              for key, value in need_mapping(inputs, "inputs", keys="input names").items()}
    if assignment is not None:
        need_mapping(assignment, "assignment", keys="decision labels")
    return params, inputs, assignment


def shape_of(value, name: str) -> tuple:
    """A shape as a tuple of sizes (names become symbolic sizes)."""
    if isinstance(value, str):
        raise TypeError(f"{name} must be a tuple of sizes such as (1, 3, 224, 224) or ('B', 3, 224, 224), "
                        f"not the string {shown(value)}")
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of sizes, not {shown(value)}")
    return tuple(_size(size, f"{name}[{i}]") for i, size in enumerate(value))


def _size(size, name: str):
    if isinstance(size, bool):
        raise TypeError(f"{name} must be a positive int, a symbolic size or a name, not {size}")
    if isinstance(size, int):
        if not 1 <= size <= MAX_SIZE:
            raise ValueError(f"{name} must be a positive int below 2**63, not {size}")
        return size
    if isinstance(size, dims.Expr):
        return size
    if isinstance(size, str):
        if not (size.isascii() and size.isidentifier()):
            raise ValueError(f"{name} must be a name such as 'B', not {shown(size)}")
        return dims.sym(size)
    raise TypeError(f"{name} must be a positive int, a symbolic size or a name, not {shown(size)}")
