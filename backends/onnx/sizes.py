"""Symbolic sizes computed inside the ONNX graph.

A size the IR knows only symbolically (``B``, ``T``, ``(H + 1)//2``) is never baked in as an
example value: it is read from a tensor that has it as a dimension (``Shape`` with
start/end), or computed from such reads with ``Add``/``Mul``/``Div``/``Mod``/``Max``/``Min``
by running ``dims.evaluate_from`` over in-graph integers (``_Size``).  Every tensor the builder annotates
registers its symbolic dims as sources, inputs first, so the nearest cheap read is used.
Results are int64 tensors of shape [1], cached per expression.

Imports only archlang.ir.dims and archlang.errors; the builder is passed in.
"""

from __future__ import annotations

from archlang.errors import ShapeError
from archlang.ir import dims


class SizeError(Exception):
    """A symbolic size has no source in the graph (``missing`` names what is missing)."""

    def __init__(self, missing: str) -> None:
        super().__init__(missing)
        self.missing = missing


class Sizes:
    def __init__(self, builder) -> None:
        self.g = builder
        self.sources: dict = {}  # Expr -> (tensor name, axis), or None for a size input
        self.cache: dict = {}  # Expr -> int64[1] tensor name
        # A local function (--functions) may take sizes its tensors cannot give as extra
        # int64[1] inputs, which its callers pass: the symbols, in order, and their inputs.
        self.may_ask = False
        self.asked: list[str] = []
        self.size_inputs: list[str] = []

    def add_source(self, tensor: str, shape) -> None:
        for axis, d in enumerate(shape):
            if type(d) is not int and d not in self.sources:
                self.sources[d] = (tensor, axis)

    # ---- one size
    def dim(self, d) -> str:
        """An int64[1] tensor holding the size ``d``."""
        if type(d) is int:
            return self.g.const([d])
        if d not in self.cache:
            self.cache[d] = self.g.share(self._compute(d))
        return self.cache[d]

    def _compute(self, d) -> str:
        if d in self.sources:
            tensor, axis = self.sources[d]
            return self.g.op("Shape", [tensor], start=axis, end=axis + 1)
        while True:
            try:
                value = dims.evaluate_from(d, self.sources, self._read, self._pick)
            except KeyError as missing:
                self._ask(str(missing.args[0]), d)
                continue
            return value.name if isinstance(value, _Size) else self.g.const([value])

    def _ask(self, name: str, d) -> None:
        symbol = dims.sym(name)
        if not self.may_ask or name not in dims.free_symbols(d) or symbol in self.sources:
            raise SizeError(name)
        self.asked.append(name)
        self.size_inputs.append(self.g.unique(f"size.{name}"))
        self.sources[symbol] = None
        self.cache[symbol] = self.g.share(self.size_inputs[-1])

    def _read(self, d) -> "_Size":
        return _Size(self, self.dim(d), True)

    def _pick(self, name: str, values: list) -> "_Size":
        names = [v.name if isinstance(v, _Size) else self.g.const([v]) for v in values]
        nonneg = all(v.nonneg if isinstance(v, _Size) else v >= 0 for v in values)
        return _Size(self, self.g.op("Max" if name == "max" else "Min", names), nonneg)

    # ---- a shape
    def vector(self, items: list) -> str:
        """A 1-D int64 tensor of ``items`` (ints and symbolic sizes); constants stay constant."""
        if all(type(i) is int for i in items):
            return self.g.const(list(items))
        pieces, run = [], []
        for item in items:
            if type(item) is int:
                run.append(item)
                continue
            if run:
                pieces.append(self.g.const(run))
                run = []
            pieces.append(self.dim(item))
        if run:
            pieces.append(self.g.const(run))
        return pieces[0] if len(pieces) == 1 else self.g.op("Concat", pieces, axis=0)


def located(error: SizeError, what: str, span) -> ShapeError:
    return ShapeError(
        f"ONNX export: {what} needs the size {error.missing} at run time, but no tensor in scope has a "
        f"dimension it can be computed from", span)


class _Size:
    """An int64[1] tensor in the graph that ``dims.evaluate`` can do arithmetic on."""

    def __init__(self, sizes: Sizes, name: str, nonneg: bool) -> None:
        self.sizes, self.name, self.nonneg = sizes, name, nonneg

    def _other(self, other) -> tuple[str, bool]:
        if isinstance(other, _Size):
            return other.name, other.nonneg
        return self.sizes.g.const([other]), other >= 0

    def _emit(self, op_type: str, a: str, b: str, nonneg: bool, **attrs) -> "_Size":
        return _Size(self.sizes, self.sizes.g.op(op_type, [a, b], **attrs), nonneg)

    def __add__(self, other):
        if type(other) is int and other == 0:
            return self
        name, nonneg = self._other(other)
        return self._emit("Add", self.name, name, self.nonneg and nonneg)

    __radd__ = __add__

    def __mul__(self, other):
        if type(other) is int and other in (0, 1):
            return self if other == 1 else 0
        name, nonneg = self._other(other)
        return self._emit("Mul", self.name, name, self.nonneg and nonneg)

    __rmul__ = __mul__

    def __sub__(self, other):
        if type(other) is int and other == 0:
            return self
        name, _ = self._other(other)
        return self._emit("Sub", self.name, name, False)

    def __rsub__(self, other):
        name, _ = self._other(other)
        return self._emit("Sub", name, self.name, False)

    def __neg__(self):
        return self._emit("Sub", self.sizes.g.const([0]), self.name, False)

    def __floordiv__(self, other):
        name, positive = self._other(other)
        if self.nonneg and positive:  # Div truncates, which is floor here
            return self._emit("Div", self.name, name, True)
        rest = self._emit("Mod", self.name, name, False, fmod=0)  # Python's sign rule
        exact = self._emit("Sub", self.name, rest.name, False)
        return self._emit("Div", exact.name, name, False)

    def __rfloordiv__(self, other):
        return _Size(self.sizes, self._other(other)[0], other >= 0) // self

    def __mod__(self, other):
        name, positive = self._other(other)
        return self._emit("Mod", self.name, name, positive, fmod=0)

    def __rmod__(self, other):
        return _Size(self.sizes, self._other(other)[0], other >= 0) % self

    def _no_order(self, other):
        raise TypeError("an in-graph size cannot be compared")

    __lt__ = __le__ = __gt__ = __ge__ = _no_order
