"""Values a spec computes while it is elaborated (never stored in the IR).

Constants are plain Python values (int, float, bool, str, None, list, tuple) or symbolic
``dims.Expr``.  Everything else is one of the small classes below: tensors flowing through
a graph, unapplied layers (the things that become members), references to ops and blocks,
and search choices.  Must not import the parser, the elaborator or any backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archlang.errors import Span
from archlang.ir.types import TensorType
from archlang.resolve.units import BlockRef, ImportedModule  # noqa: F401  (values too: re-exported for the elaborator)


@dataclass(frozen=True)
class TensorVal:
    """A tensor value in the graph being built: the name of the node that made it."""

    ref: str
    type: TensorType

    def __repr__(self) -> str:  # what a message that quotes the value shows; never the fields
        return f"{len(self.type)} tensors" if isinstance(self.type, tuple) else f"tensor {self.type}"


@dataclass(frozen=True)
class OpRef:
    """A primitive op named in the spec but not yet called (``Conv2d``, ``relu``)."""

    spec: Any  # archlang.ops.OpSpec


@dataclass(frozen=True)
class Builtin:
    """A builtin function of the language (range, len, choice, Sequential …)."""

    name: str
    fn: Any


class Layer:
    """An unapplied module: becomes a member when bound to a name or applied."""

    span: Span

    def __repr__(self) -> str:  # what a message that quotes the value shows; never the fields
        path = getattr(self, "path", None)
        return f"layer '{path}'" if path else "layer"


@dataclass(frozen=True, eq=False, repr=False)
class OpLayer(Layer):
    """An op made a layer with its attributes bound: ``Conv2d(3, 64, 7)``."""

    spec: Any
    attrs: dict[str, Any]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class BlockLayer(Layer):
    """A block instantiated with its arguments: ``Bottleneck(64, 256)``."""

    ref: BlockRef
    args: dict[str, Any]
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class SeqLayer(Layer):
    """``Sequential(…)``: layers applied one after another; its length may be searched."""

    items: tuple[Layer, ...]
    prefix: str
    span: Span
    count: Any = None  # a Dim over a choice when the length is searched
    start: int = 0  # the number of the first generated name (``denselayer1``: prefix and start=1)
    names: tuple[str, ...] = ()  # the items' own names (``("conv0", Conv2d(…))``), else generated

    def item_name(self, index: int) -> str:
        """The member name of item ``index``: its own, or ``prefix`` + its number."""
        return self.names[index] if self.names else f"{self.prefix}{self.start + index}"


@dataclass(frozen=True, eq=False, repr=False)
class ChoiceLayer(Layer):
    """A searched layer: ``choice(label, …)`` over layers, one option per architecture."""

    label: str
    options: tuple[Layer, ...]
    span: Span
    lifted: bool = False  # made from a value choice (``Dropout(p=choice(…))``), not written


@dataclass(frozen=True, eq=False, repr=False)
class FixedChoice(Layer):
    """Option ``index`` of a layer choice that an assignment fixed.  It is the option itself,
    but the decisions inside it keep the labels they have in the space (``op.1.k``)."""

    layer: Layer
    index: int
    span: Span


@dataclass(eq=False, repr=False)
class MemberRef(Layer):
    """A layer already declared as a member of the block being elaborated (or a child of one)."""

    path: str
    layer: Layer
    span: Span


@dataclass(frozen=True)
class ChoiceValue:
    """A free choice among non-integer values (floats, strings, bools, lists)."""

    label: str
    options: tuple[Any, ...]


@dataclass(frozen=True)
class SymbolicList:
    """A list whose length is a search decision: ``[f(i) for i in range(choice(2, 3, 4))]``."""

    items: tuple[Any, ...]  # built for the largest length
    count: Any  # Dim over the length choice


@dataclass(frozen=True)
class Poison:
    """The value of a name whose definition failed; using it reports nothing more."""


POISON = Poison()
