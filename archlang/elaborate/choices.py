"""Search constructs while elaborating: ``choice(...)`` and ``choose(k, inputs)``.

A choice among integers becomes a symbolic size (a ``dims`` symbol whose domain is the
options), so shapes, parameter counts and MACs stay exact expressions over the decision.
A choice among layers becomes a ``ChoiceLayer``; among other values (floats, strings,
bools), a ``ChoiceValue`` that turns the layer it configures into a choice of layers.
Every decision is recorded once per absolute label in ``Context.choices``; when the context
carries an assignment (label → option index), the chosen option is returned instead.

Must not import a backend.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

from archlang.elaborate.builtins import describe, is_int
from archlang.elaborate.values import BlockLayer, ChoiceLayer, ChoiceValue, FixedChoice, Layer, OpLayer, TensorVal
from archlang.errors import ArchTypeError, LimitError, SpaceError
from archlang.errors.limits import LIMITS
from archlang.ir import ChoiceDecl, Node, dims


def make_choice(body, options: list, label: str, expr):
    if len(options) == 1 and isinstance(options[0], (list, tuple)):
        options = list(options[0])
    if not options:
        raise ArchTypeError("choice() needs at least one option", expr.span)
    kind = _kind(options, expr)
    _record(body.ctx, ChoiceDecl(label=label, kind=kind, options=_describe_options(options),
                                 display=_display(options) if kind == "layer" else (),
                                 when=(tuple(body.ctx.conditions),), span=expr.span))
    if label in body.ctx.assignment:
        index = _assigned_index(body.ctx, label, len(options), expr)
        return FixedChoice(options[index], index, expr.span) if kind == "layer" else options[index]
    if len(options) == 1:
        return options[0]
    if kind == "layer":
        return ChoiceLayer(label, tuple(options), expr.span)
    if all(is_int(o) and not isinstance(o, dims.Expr) for o in options):
        return dims.sym(label, tuple(options))
    return ChoiceValue(label, tuple(options))


def choice_label(body, kwargs: dict, expr) -> str:
    """The label of a choice: the one given, or the member path and argument where it is made."""
    extra = set(kwargs) - {"label"}
    if extra:
        raise ArchTypeError(f"choice() takes options and label=, not '{sorted(extra)[0]}'", expr.span)
    given = kwargs.get("label")
    if given is not None:
        if not isinstance(given, str) or not given:
            raise ArchTypeError("a choice's label must be a non-empty string", expr.span)
        return given
    parts = [p for p in (body.ctx.path, ".".join(body.labels)) if p]
    return _unique(body.ctx, ".".join(parts) or "choice", expr)


def _unique(ctx, label: str, expr) -> str:
    """Two unlabelled choices made at the same place (a loop, one call) get distinct labels."""
    if label not in ctx.choices:
        return label
    k = 2
    while f"{label}#{k}" in ctx.choices:
        k += 1
    return f"{label}#{k}"


def _kind(options: list, expr) -> str:
    layers = [isinstance(o, Layer) for o in options]
    if any(layers) and not all(layers):
        raise ArchTypeError("a choice mixes layers and values", expr.span)
    if any(isinstance(o, TensorVal) for o in options):
        raise ArchTypeError("choice() picks among values or layers; to pick among tensors use choose(k, [...])", expr.span)
    return "layer" if all(layers) else "value"


def _describe_options(options: list) -> tuple:
    return tuple(_describe(o) for o in options)


def _display(options: list) -> tuple[str, ...]:
    """Each layer option's name, with the fewest arguments (in order) that tell it apart from
    options of the same name (``SepConv(kernel_size=3)`` | ``SepConv(kernel_size=5)``)."""
    names = [_describe(o) for o in options]
    args = [_arguments(o) for o in options]
    keys_of = {name: _telling_keys([a for n, a in zip(names, args) if n == name]) for name in set(names)}
    return tuple(
        f"{name}({', '.join(f'{k}={_text(own[k])}' for k in keys_of[name] if k in own)})" if keys_of[name] else name
        for name, own in zip(names, args)
    )


def _telling_keys(group: list[dict]) -> list[str]:
    """Argument names, in order, until every pair of the group differs in one of them."""
    pending = {(i, j) for i in range(len(group)) for j in range(i + 1, len(group))}
    keys: list[str] = []
    for key in dict.fromkeys(k for a in group for k in a):
        split = {(i, j) for i, j in pending if group[i].get(key, _MISSING) != group[j].get(key, _MISSING)}
        if split:
            keys.append(key)
            pending -= split
        if not pending:
            break
    return keys


_MISSING = object()


def _arguments(option) -> dict:
    if isinstance(option, OpLayer):
        return dict(option.attrs)
    if isinstance(option, BlockLayer):
        return dict(option.args)
    return {}


def _text(value) -> str:
    if isinstance(value, dims.Expr):
        return dims.to_str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_text, value)) + "]"
    return describe(value) if isinstance(value, Layer) else repr(value) if isinstance(value, str) else str(value)


def _describe(option):
    if isinstance(option, Layer):
        if isinstance(option, OpLayer):
            return option.spec.name
        if isinstance(option, BlockLayer):
            return option.ref.definition.name
        return {"SeqLayer": "Sequential", "ChoiceLayer": "choice"}.get(type(option).__name__, type(option).__name__)
    if isinstance(option, list):
        return tuple(option)
    return option


def _record(ctx, decl: ChoiceDecl) -> None:
    existing = ctx.choices.get(decl.label)
    if existing is None:
        ctx.choices[decl.label] = decl
        return
    _check_shared(existing, decl)
    when = _simplify_when(ctx, existing.when + tuple(c for c in decl.when if c not in existing.when))
    ctx.choices[decl.label] = replace(existing, when=when)


def _simplify_when(ctx, when: tuple) -> tuple:
    """Merge conjunctions that differ only in the options of their last condition; drop a
    condition that allows every option (a decision made the same way under every option of
    its parent, e.g. inside each instance of a lifted choice, does not depend on it)."""
    if () in when:
        return ((),)
    merged: dict = {}
    for conj in when:
        prefix, (label, allowed) = conj[:-1], conj[-1]
        merged.setdefault((prefix, label), set()).update(allowed)
    result = []
    for (prefix, label), allowed in merged.items():
        parent = ctx.choices.get(label)
        if parent is not None and len(allowed) == _arity(parent):
            result.append(prefix)
        else:
            result.append(prefix + ((label, tuple(sorted(allowed))),))
    return ((),) if () in result else tuple(result)


def _arity(decl: ChoiceDecl) -> int:
    return math.comb(len(decl.options), decl.k) if decl.kind == "subset" else len(decl.options)


def _check_shared(existing: ChoiceDecl, decl: ChoiceDecl) -> None:
    if existing.options != decl.options or existing.kind != decl.kind:
        raise SpaceError(
            f"choice label '{decl.label}' is shared by choices with different options "
            f"({_options_text(existing)} vs {_options_text(decl)})", decl.span,
            notes=(f"first used at {existing.span.line}:{existing.span.col}",),
        )


def _options_text(decl: ChoiceDecl) -> str:
    return "(" + ", ".join(map(str, decl.options)) + ")"


def _assigned_index(ctx, label: str, n: int, expr) -> int:
    index = ctx.assignment[label]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
        raise SpaceError(f"assignment gives choice '{label}' option {index!r}, but it has {n} options", expr.span)
    return index


def choose_builtin(body, args, kwargs, expr):
    """``choose(k, [a, b, c])``: k of the candidate tensors (unordered), e.g. a DARTS node's inputs;
    or k of constant candidates (``choose(2, range(4))``), a value choice among the subsets."""
    label = choice_label(body, {"label": kwargs.pop("label")} if "label" in kwargs else {}, expr)
    if kwargs or len(args) != 2:
        raise ArchTypeError("choose takes k and a list of tensors: choose(2, [a, b, c])", expr.span)
    k, candidates = args
    if isinstance(candidates, (list, tuple)) and candidates and not any(isinstance(c, TensorVal) for c in candidates):
        return _choose_values(body, label, k, list(candidates), expr)
    _check_choose(k, candidates, expr)
    names = tuple(c.ref for c in candidates)
    _record(body.ctx, ChoiceDecl(label=label, kind="subset", options=names, k=k,
                                 when=(tuple(body.ctx.conditions),), span=expr.span))
    if label in body.ctx.assignment:
        return _assigned_subset(body.ctx, label, candidates, k, expr)
    node = Node(kind="choice", op="choose", name=body.b.fresh(body.target or "choose"), inputs=names,
                attrs={"k": k}, type=tuple([candidates[0].type] * k), label=label, span=expr.span)
    body.b.add(body.ctx, node)
    return [body._item(TensorVal(node.name, node.type), i, expr.span) for i in range(k)]


def _choose_values(body, label: str, k, candidates: list, expr):
    """``choose(2, [0, 1, 2])``: k of constant candidates, a list in candidate order.  Free, it
    is a value choice among the k-subsets (in ``itertools.combinations`` order, the order of
    the subset decision's option indices), so a block it configures becomes a choice among
    instances, one per subset: how a DARTS node picks its inputs by index."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ArchTypeError(f"choose's k must be a positive integer, got {describe(k)}", expr.args[0].span)
    if k > len(candidates):
        raise ArchTypeError(f"cannot choose {k} of {len(candidates)} candidates", expr.span)
    if len(set(map(repr, candidates))) != len(candidates):
        raise ArchTypeError("choose's candidates must be distinct", expr.args[1].span)
    _check_subset_count(body, k, len(candidates), expr)
    _record(body.ctx, ChoiceDecl(label=label, kind="subset", options=_describe_options(candidates), k=k,
                                 when=(tuple(body.ctx.conditions),), span=expr.span))
    if label in body.ctx.assignment:
        return _assigned_subset(body.ctx, label, candidates, k, expr)
    subsets = [list(s) for s in itertools.combinations(candidates, k)]
    return subsets[0] if len(subsets) == 1 else ChoiceValue(label, tuple(subsets))


def _check_subset_count(body, k: int, n: int, expr) -> None:
    """Counted before a single subset is built: ``choose(4, range(300))`` has 330 million."""
    count = math.comb(n, k)
    if count > LIMITS.max_repeat:
        shown = f"{count:,}" if count < 10**15 else f"about 10^{len(str(count)) - 1}"
        raise LimitError(
            f"choose({k}, …) of {n:,} candidates has {shown} subsets; the limit is {LIMITS.max_repeat:,}",
            expr.span,
        )
    body.ctx.built(count * k, expr.span)


def _check_choose(k, candidates, expr) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ArchTypeError(f"choose's k must be a positive integer, got {describe(k)}", expr.args[0].span)
    if not isinstance(candidates, (list, tuple)) or not all(isinstance(c, TensorVal) for c in candidates):
        raise ArchTypeError("choose's candidates must be a list of tensors", expr.args[1].span)
    if k > len(candidates):
        raise ArchTypeError(f"cannot choose {k} of {len(candidates)} candidates", expr.span)
    first = candidates[0].type
    for c, arg in zip(candidates, [expr.args[1]] * len(candidates)):
        if c.type != first:
            raise ArchTypeError(f"choose's candidates must share one type: {first} vs {c.type}", arg.span)


def _assigned_subset(ctx, label, candidates, k, expr):
    picked = ctx.assignment[label]
    if (not isinstance(picked, (list, tuple)) or len(picked) != k
            or not all(isinstance(i, int) and 0 <= i < len(candidates) for i in picked)
            or len(set(picked)) != k):
        raise SpaceError(f"assignment for '{label}' must be {k} distinct candidate indices", expr.span)
    return [candidates[i] for i in sorted(picked)]


def count_condition(ctx, count, index: int):
    """The condition under which item ``index`` of a searched-length list exists, or None."""
    names = dims.free_symbols(count)
    if len(names) != 1:
        return None
    label = next(iter(names))
    decl = ctx.choices.get(label)
    if decl is None:
        return None
    allowed = tuple(j for j, value in enumerate(decl.options)
                    if isinstance(value, int) and dims.evaluate(count, {label: value}) > index)
    return None if len(allowed) == len(decl.options) else (label, allowed)
