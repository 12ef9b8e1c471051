"""The discrete architecture of a relaxed supernet: ``derive``.

* A decision with an architecture vector takes its strongest option (argmax; the first
  maximum on ties).  An added ``none`` is never taken: it is not an option of the space.
* A DARTS cell node compiled edge by edge takes DARTS' rule (``cnn/model_search.py``,
  ``genotype``): the k incoming edges whose strongest non-``none`` op is strongest (ties to the
  lower input, as the original's stable sort), and on each the strongest non-``none`` op.
  PC-DARTS ranks edges by softmax(alpha) × the normalised edge weight (its ``genotype``).
* A decision with a single option takes it.

Only the decisions active under the result are kept, so it is an assignment of the space.
Imports torch only through the tensors it is given.
"""

from __future__ import annotations

from archlang.nas.assignment import Assignment


def derive(supernet, strengths, edge_scale=None) -> Assignment:
    """The assignment ``strengths(key) -> option weights`` selects; ``edge_scale(keys)``: the
    weights of a node's edges (PC-DARTS) or None."""
    decisions = supernet.space.tree.by_label
    values: dict = {}
    for label, spec in supernet.edge_nodes.items():
        values.update(_darts_node(supernet, spec, strengths, edge_scale))
    for key, info in supernet.keys.items():
        if info.edge is not None or info.label in values:
            continue
        weights = strengths(key).tolist()
        best = _argmax(weights, [i for i, o in enumerate(info.options) if o is not None])
        values[info.label] = decisions[info.label].value(info.options[best])
    for label, decision in decisions.items():
        values.setdefault(label, decision.value(0))
    active = {d.label for d in supernet.space.tree.active(values)}
    return Assignment({k: v for k, v in values.items() if k in active}, supernet.space.hash)


def _darts_node(supernet, spec, strengths, edge_scale) -> dict:
    edges = sorted(spec.edges.items())
    scale = edge_scale(tuple(key for _, key in edges)) if edge_scale is not None else None
    ranked, best_ops = [], {}
    for position, (j, key) in enumerate(edges):
        weights = strengths(key)
        if scale is not None:
            weights = weights * scale[position]
        weights = weights.tolist()
        options = supernet.keys[key].options
        real = [i for i, o in enumerate(options) if o is not None]
        best = _argmax(weights, real)
        best_ops[j] = options[best]
        ranked.append((max(weights[i] for i in real), j))
    order = sorted(range(len(ranked)), key=lambda e: -ranked[e][0])[:spec.k]
    picked = sorted(ranked[e][1] for e in order)
    values = {spec.label: tuple(spec.options.index(j) for j in picked)}
    for place, j in enumerate(picked):
        values[spec.positions[place][1]] = best_ops[j]
    return values


def _argmax(weights: list[float], allowed: list[int]) -> int:
    best = allowed[0]
    for i in allowed[1:]:
        if weights[i] > weights[best]:
            best = i
    return best
