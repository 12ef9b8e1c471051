"""Checking actual inputs against a model's declared input shapes and its guards (``Guard``:
asserts on symbolic sizes).

``model_guards`` gathers the guards of a graph and of every block it calls, each once.
``InputGuard`` checks the shapes of the tensors a model is given: the rank and the concrete
sizes each ``input`` declares (a model elaborated for 224×224 images was shape-checked for
those only), one value per size symbol (``B`` of two inputs), then the guards.  It remembers
the last shapes that passed, so a model called again with the same shapes pays one tuple
comparison.  Plain Python over shape tuples: the torch backend calls it from the generated
forward; any runtime can.

Imports only ``archlang.ir`` and ``archlang.errors``.
"""

from __future__ import annotations

import operator

from archlang.errors import ShapeError
from archlang.ir import dims
from archlang.ir.graph import Graph, Guard, Member

_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


class InputGuardError(ShapeError, ValueError):
    """An input's sizes break an ``assert`` of the spec (a ValueError to PyTorch code)."""


def holds(guard: Guard, env: dict[str, int]) -> bool | None:
    """Whether ``guard`` holds for the sizes ``env``; None when they do not decide it."""
    try:
        return _OPS[guard.op](dims.evaluate(guard.left, env), dims.evaluate(guard.right, env))
    except (KeyError, ZeroDivisionError):
        return None


def failure(guard: Guard, env: dict[str, int]) -> InputGuardError:
    """The error for sizes ``env`` that break ``guard``: the spec's line, the condition, the sizes."""
    names = sorted(dims.free_symbols(guard.left) | dims.free_symbols(guard.right))
    sizes = ", ".join(f"{name}={env[name]}" for name in names)
    values = f"{dims.evaluate(guard.left, env)} {guard.op} {dims.evaluate(guard.right, env)}"
    what = f"{guard.message}: {guard.text}" if guard.message else f"assert {guard.text}"
    return InputGuardError(f"{what} fails for {sizes} ({values})", guard.span)


def model_guards(graph: Graph) -> tuple[Guard, ...]:
    """The guards of ``graph`` and of every graph it calls, each once, callers' first."""
    found: dict[tuple, Guard] = {}
    seen: set[int] = set()

    def visit(g: Graph) -> None:
        if id(g) in seen:
            return
        seen.add(id(g))
        for guard in g.guards:
            found.setdefault((guard.op, guard.left, guard.right, guard.span), guard)
        for _, member in g.members:
            visit_member(member)
        for node in g.nodes:
            if node.body is not None:
                visit(node.body)

    def visit_member(member: Member) -> None:
        if member.graph is not None:
            visit(member.graph)
        for _, child in member.members:
            visit_member(child)

    visit(graph)
    return tuple(found.values())


class InputGuard:
    """Checks the shapes of a model's inputs against their declarations and the model's
    guards, once per new shape tuple.  ``inputs`` are the model graph's input nodes."""

    def __init__(self, guards: tuple[Guard, ...], inputs, model: str = "the model") -> None:
        self.guards = guards
        self.model = model
        self.inputs = tuple(inputs)
        self.sources: dict[dims.Expr, tuple[int, int]] = {}  # a symbolic input size -> (input, axis)
        for i, node in enumerate(self.inputs):
            for axis, size in enumerate(node.type.shape):
                if isinstance(size, dims.Expr):
                    self.sources.setdefault(size, (i, axis))
        sides = [side for g in guards for side in (g.left, g.right)] + list(self.sources)
        self.symbols = sorted({name for side in sides for name in dims.free_symbols(side)})
        self.last: tuple | None = None  # the shapes that passed last

    def __call__(self, shapes: tuple) -> None:
        """Raise InputGuardError if ``shapes`` (one per input) break a declaration or a guard."""
        if shapes == self.last:
            return
        for node, shape in zip(self.inputs, shapes):
            self._check_declared(node, shape)
        env = self.sizes(shapes)
        self._check_symbols(shapes, env)
        for guard in self.guards:
            if holds(guard, env) is False:
                raise failure(guard, env)
        self.last = shapes

    def _check_declared(self, node, shape) -> None:
        declared = node.type.shape
        if len(shape) != len(declared):
            raise self._mismatch(node, shape, f"rank {len(declared)} expected, got rank {len(shape)}")
        for axis, (want, got) in enumerate(zip(declared, shape)):
            if type(want) is int and want != got:
                raise self._mismatch(node, shape, f"dim {axis}: expected {want}, got {got}")

    def _check_symbols(self, shapes: tuple, env: dict[str, int]) -> None:
        """Every symbolic size has one value: ``B`` of two inputs, ``H`` and ``2*H`` of one."""
        for i, node in enumerate(self.inputs):
            for axis, want in enumerate(node.type.shape):
                if type(want) is int:
                    continue
                try:
                    value = dims.evaluate(want, env)
                except (KeyError, ZeroDivisionError):
                    continue
                if value != shapes[i][axis]:
                    raise self._mismatch(node, shapes[i], f"dim {axis}: {dims.to_str(want)} is {value} here, got {shapes[i][axis]}")

    def _mismatch(self, node, shape, why: str) -> InputGuardError:
        declared = ", ".join(dims.to_str(d) for d in node.type.shape)
        got = ", ".join(str(int(s)) for s in shape)
        return InputGuardError(f"input {node.target} of {self.model} expects [{declared}], got [{got}] ({why})", node.span)

    def sizes(self, shapes: tuple) -> dict[str, int]:
        """The value of every size symbol the inputs' shapes determine."""
        def read(expr):
            i, axis = self.sources[expr]
            return int(shapes[i][axis])

        env = {}
        for name in self.symbols:
            try:
                env[name] = dims.evaluate_from(dims.sym(name), self.sources, read)
            except (KeyError, IndexError, ZeroDivisionError):  # a size no input shows: not checked
                pass
        return env
