"""Plots of a study and its notebook display: the best-so-far curve, the Pareto front,
parameter importance and parallel coordinates, each a matplotlib figure (Agg backend,
imported only when plotting); ``study_html`` puts the best trials and the plots (inline SVG)
together for ``Study._repr_html_``.

Decisions are shown by option name (``NorConv3x3``): the trials' Optuna params where the
study stores names, else the space's decision table read from the space file when it is the
same space, else the option index.  An axis turns logarithmic when its positive values span
more than three decades (parameter counts, latencies).  Never imports torch.
"""

from __future__ import annotations

import io
import math
import warnings

import optuna

from archlang.nas.report import (
    arch_text,
    best_so_far_figure,
    choices,
    counts_line,
    format_values,
    pareto_figure,
    ranked,
    wants_log,
)
from archlang.nas.study import Study
from archlang.report import html

KINDS = ("history", "pareto", "importance", "parallel")


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


# ---- figures --------------------------------------------------------------------------------


def importance(study: Study, index: int = 0) -> dict[str, float]:
    """Each always-active decision's importance for objective ``index`` (Optuna's fANOVA
    evaluator over the complete trials, by option name); empty with fewer than two trials."""
    records = [r for r in study.complete() if r.values is not None]
    rows = [choices(r) for r in records]
    labels = sorted(set.intersection(*(set(c) for c in rows))) if rows else []
    labels = [label for label in labels if len({str(c[label]) for c in rows}) > 1]
    if len(records) < 2 or not labels:
        return {}
    options = {label: tuple(sorted({str(c[label]) for c in rows})) for label in labels}
    scratch = _scratch_study(study.directions)
    for record, row in zip(records, rows):
        scratch.add_trial(optuna.trial.create_trial(
            params={label: str(row[label]) for label in labels}, values=list(record.values),
            distributions={label: optuna.distributions.CategoricalDistribution(options[label]) for label in labels}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(optuna.importance.get_param_importances(
            scratch, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0), target=lambda t: t.values[index]))


def _scratch_study(directions) -> optuna.Study:
    """An in-memory study to hand Optuna's evaluators (without its "new study" log line)."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.create_study(directions=list(directions))
    finally:
        optuna.logging.set_verbosity(verbosity)


def importance_figure(plt, study: Study, index: int = 0):
    """A horizontal bar per decision: how much of objective ``index``'s variance it explains."""
    found = importance(study, index)
    figure, axes = plt.subplots(figsize=(6, 0.35 * max(len(found), 3) + 1.2))
    labels = list(reversed(found))
    axes.barh(labels, [found[label] for label in labels], color="C0")
    axes.set(xlabel="importance (fANOVA)", title=f"{study.name}: what matters for {study.objectives[index]}")
    if not found:
        axes.text(0.5, 0.5, "needs at least two complete trials that differ", ha="center", transform=axes.transAxes)
    axes.grid(alpha=0.3, axis="x")
    return figure


def parallel_figure(plt, study: Study, index: int = 0):
    """One line per complete trial through each decision's option (by name), coloured by
    objective ``index``; the last axis is the objective itself."""
    records = [r for r in study.complete() if r.values is not None]
    rows = [choices(r) for r in records]
    labels = sorted({label for row in rows for label in row})
    axes_options = {label: sorted({str(row[label]) for row in rows if label in row}) for label in labels}
    values = [r.values[index] for r in records]
    log = wants_log(values)
    scaled = [math.log10(v) if log else v for v in values]
    low, high = (min(scaled), max(scaled)) if scaled else (0.0, 1.0)
    figure, axes = plt.subplots(figsize=(max(6.0, 1.1 * (len(labels) + 1)), 4))
    colour = plt.get_cmap("viridis")
    for row, value in zip(rows, scaled):
        share = (value - low) / (high - low) if high > low else 0.5
        ys = [_position(axes_options[label], row.get(label)) for label in labels] + [share]
        axes.plot(range(len(ys)), ys, color=colour(share), alpha=0.6, linewidth=1)
    for x, label in enumerate(labels):
        for option in axes_options[label]:
            axes.text(x, _position(axes_options[label], option), f" {option}", fontsize=7, va="center")
    name = study.objectives[index]
    axes.set_xticks(range(len(labels) + 1), labels + [f"{name}{' (log)' if log else ''}"], rotation=30, ha="right")
    axes.set_yticks([0, 1], [format_values((_unscaled(low, log),)), format_values((_unscaled(high, log),))])
    axes.set(title=f"{study.name}: decisions and {name}")
    for x in range(len(labels) + 1):
        axes.axvline(x, color="#999", linewidth=0.5)
    return figure


def _position(options: list[str], option) -> float:
    if option is None or str(option) not in options:
        return float("nan")  # inactive in this trial: the line breaks
    return options.index(str(option)) / max(len(options) - 1, 1)


def _unscaled(value: float, log: bool) -> float:
    return 10 ** value if log else value


def figure(plt, study: Study, kind: str, index: int = 0):
    """The figure of plot ``kind`` (one of ``KINDS``)."""
    if kind == "history":
        return best_so_far_figure(plt, study, index)
    if kind == "pareto":
        if len(study.objectives) < 2:
            raise ValueError(f"study '{study.name}' has one objective: a Pareto front needs two")
        return pareto_figure(plt, study)
    if kind == "importance":
        return importance_figure(plt, study, index)
    if kind == "parallel":
        return parallel_figure(plt, study, index)
    raise ValueError(f"unknown plot kind '{kind}' (one of {', '.join(KINDS)})")


def svg(plt, fig) -> str:
    """A figure as SVG text (closed afterwards), without the XML prolog, to inline in HTML."""
    stream = io.StringIO()
    try:
        fig.savefig(stream, format="svg", bbox_inches="tight")
    finally:
        plt.close(fig)
    text = stream.getvalue()
    return text[text.find("<svg"):]


# ---- notebook -------------------------------------------------------------------------------


def study_html(study: Study, limit: int = 5) -> str:
    """A study in a notebook: counts, the best ``limit`` trials by option name and the plots."""
    header = html.facts(f"study {study.name}", [
        ("objectives", ", ".join(f"{n} ({d})" for n, d in zip(study.objectives, study.directions))),
        ("trials", counts_line(study))])
    rows = [[f"#{r.number}", *[format_values((v,)) for v in r.values],
             arch_text(r)] for r in ranked(study)[:limit]]
    table = html.table(["trial", *study.objectives, "architecture"], rows,
                       numeric=tuple(range(1, 1 + len(study.objectives))), caption="best trials")
    plt = pyplot()
    if plt is None or not study.complete():
        return header + table
    kinds = ["history"] + (["pareto"] if len(study.objectives) > 1 else []) + ["importance", "parallel"]
    plots = "".join(f"<div style='display:inline-block;vertical-align:top'>{svg(plt, figure(plt, study, k))}</div>"
                    for k in kinds)
    return header + table + f"<div>{plots}</div>"
