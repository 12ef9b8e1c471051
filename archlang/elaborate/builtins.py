"""The language's builtin functions over constants: range, len, min, max, abs, int, float,
str, round, sum, zip, enumerate, any, all, and live_edges (for cell-DAG constraints).

Each takes already-evaluated arguments and returns a constant; sizes are bounded by
``LIMITS`` so a spec cannot build an enormous list.  Raise ``OpError`` for bad arguments
(the caller locates it).  ``choice``, ``choose`` and ``Sequential`` are not here: they build
layers and search decisions (archlang.elaborate.body).  Must not import the elaborator.
"""

from __future__ import annotations

from archlang.elaborate.values import SymbolicList
from archlang.errors import OpError
from archlang.errors.limits import LIMITS
from archlang.ir import dims


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OpError(f"{what} must be an integer, got {describe(value)}")
    return value


def describe(value) -> str:
    """A value as a message shows it: its text and its kind."""
    if isinstance(value, bool):
        return f"bool {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, dims.Expr):
        return f"symbolic size {dims.to_str(value)}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)}"
    if value is None:
        return "none"
    return _describe_object(value)


def _describe_object(value) -> str:
    kind = type(value).__name__
    if kind == "MemberRef":
        return f"layer '{value.path}'"
    if kind == "TensorVal":
        if isinstance(value.type, tuple):  # a multi-output op's result, not yet unpacked
            return f"{len(value.type)} tensors"
        return f"tensor {value.type}"
    if kind == "BlockRef":
        return f"block {value.definition.name}"
    if kind == "ConstTensor":
        return f"constant tensor {value.dtype}[{', '.join(map(str, value.shape))}]"
    if kind.endswith("Layer"):
        return "layer"
    return {"OpRef": "op", "Builtin": "builtin function", "ImportedModule": "module",
            "ChoiceValue": "choice", "SymbolicList": "searched-length list"}.get(kind, kind.lower())

def is_int(value) -> bool:
    return isinstance(value, dims.Expr) or (isinstance(value, int) and not isinstance(value, bool))


def is_number(value) -> bool:
    return is_int(value) or isinstance(value, float)


class OpLimit(OpError):
    """A builtin would build more than ``LIMITS`` allows: reported as a LimitError."""


def b_range(*args):
    if not 1 <= len(args) <= 3:
        raise OpError("range takes 1 to 3 integers")
    if len(args) == 1 and _is_choice_size(args[0]):
        return _searched_range(args[0])
    ints = [_int(a, "range argument") for a in args]
    if len(ints) == 3 and ints[2] == 0:
        raise OpError("range step must not be zero")
    r = range(*ints)
    count = r.stop - r.start if r.step == 1 else (r.stop - r.start + r.step - (1 if r.step > 0 else -1)) // r.step
    if count > LIMITS.max_repeat:  # computed: len() itself overflows past 2**63 elements
        raise OpLimit(f"range of {count:,} elements exceeds the limit of {LIMITS.max_repeat:,}")
    return list(r)


def _is_choice_size(value) -> bool:
    found = dims.symbols(value) if isinstance(value, dims.Expr) else {}
    return bool(found) and all(domain is not None for domain in found.values())


def _searched_range(count):
    """``range(choice(2, 3, 4))``: the items for the largest count, and the count itself."""
    low, high = dims.bounds(count)
    if low < 0:
        raise OpError(f"range of a searched length needs non-negative options, got {dims.to_str(count)}")
    if high > LIMITS.max_repeat:
        raise OpLimit(f"range of {high:,} elements exceeds the limit of {LIMITS.max_repeat:,}")
    return SymbolicList(tuple(range(high)), count)


def b_len(value):
    if not isinstance(value, (list, tuple, str)):
        raise OpError(f"len() needs a list, tuple or string, got {describe(value)}")
    return len(value)


def _numbers(args, name):
    items = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
    if not items:
        raise OpError(f"{name}() of nothing")
    return items


def b_min(*args):
    return _extreme(_numbers(args, "min"), dims.dmin, min)


def b_max(*args):
    return _extreme(_numbers(args, "max"), dims.dmax, max)


def _extreme(items, symbolic, concrete):
    if any(isinstance(i, dims.Expr) for i in items):
        result = items[0]
        for item in items[1:]:
            result = symbolic(result, item)
        return result
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise OpError(f"min/max need numbers, got {describe(item)}")
    return concrete(items)


def b_abs(x):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise OpError(f"abs() needs a number, got {describe(x)}")
    return abs(x)


def b_int(x):
    if isinstance(x, dims.Expr):
        return x
    if isinstance(x, (bool, int, float)):
        return int(x)
    raise OpError(f"int() needs a number, got {describe(x)}")


def b_float(x):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise OpError(f"float() needs a number, got {describe(x)}")
    return float(x)


def b_str(x):
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (int, float, str)) or isinstance(x, dims.Expr):
        return str(x)
    raise OpError(f"str() needs a number or string, got {describe(x)}")


def b_round(x, ndigits=None):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise OpError(f"round() needs a number, got {describe(x)}")
    if ndigits is None:
        return round(x)
    ndigits = _int(ndigits, "ndigits")
    if isinstance(x, int) and ndigits < 0 and -ndigits > len(str(abs(x))):
        return 0  # 10 ** -ndigits > 2 |x|; Python would compute that power first, for ever
    return round(x, ndigits)


def b_sum_numbers(items):
    total = 0
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float, dims.Expr)):
            raise OpError(f"sum() of numbers got {describe(item)}")
        total = total + item
    return dims.simplify(total) if isinstance(total, dims.Expr) else total


def b_zip(*lists):
    for item in lists:
        if not isinstance(item, (list, tuple)):
            raise OpError(f"zip() needs lists, got {describe(item)}")
    return [tuple(group) for group in zip(*lists)]


def b_enumerate(items):
    if not isinstance(items, (list, tuple)):
        raise OpError(f"enumerate() needs a list, got {describe(items)}")
    return [(i, item) for i, item in enumerate(items)]


def b_any(items):
    return any(_bools(items, "any"))


def b_all(items):
    return all(_bools(items, "all"))


def _bools(items, name):
    if not isinstance(items, (list, tuple)):
        raise OpError(f"{name}() needs a list, got {describe(items)}")
    for item in items:
        if not isinstance(item, bool):
            raise OpError(f"{name}() needs a list of bools, got {describe(item)}")
    return items


def b_live_edges(inputs):
    """The edges of a DAG that lie on a path from vertex 0 to the last vertex.  ``inputs[v]``
    lists the vertices vertex v reads, each before v.  NAS-Bench-101 bounds this count: the
    edges of vertices that reach no output, or that nothing feeds, are pruned away."""
    graph = _dag_inputs(inputs)
    fed = {0}  # reachable from vertex 0
    for v in range(1, len(graph)):
        if any(i in fed for i in graph[v]):
            fed.add(v)
    feeding = {len(graph) - 1}  # reaching the last vertex
    for v in range(len(graph) - 1, -1, -1):
        if v in feeding:
            feeding.update(graph[v])
    live = fed & feeding
    return sum(1 for v in live for i in graph[v] if i in live)


def _dag_inputs(inputs) -> list[list[int]]:
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise OpError(f"live_edges() needs a non-empty list of input lists, got {describe(inputs)}")
    graph = []
    for v, reads in enumerate(inputs):
        if not isinstance(reads, (list, tuple)):
            raise OpError(f"live_edges(): the inputs of vertex {v} must be a list, got {describe(reads)}")
        for i in reads:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < v:
                raise OpError(f"live_edges(): vertex {v} can only read vertices 0…{v - 1}, not {i!r}")
        graph.append(list(reads))
    return graph


CONSTANT_BUILTINS = {
    "range": b_range,
    "len": b_len,
    "min": b_min,
    "max": b_max,
    "abs": b_abs,
    "int": b_int,
    "float": b_float,
    "str": b_str,
    "round": b_round,
    "zip": b_zip,
    "enumerate": b_enumerate,
    "any": b_any,
    "all": b_all,
    "live_edges": b_live_edges,
}
