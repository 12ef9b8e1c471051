"""What a finished search leaves behind: a results table, the best architecture(s) as .arch
files (the Pareto set for several objectives), a JSON export of every trial and plots
(best-so-far curve; Pareto front) as PNG and SVG, each written by ``archlang.files``.

    write_report(study, space, out_dir) -> {"best": [paths], "trials": path, "plots": [paths]}

Plots use matplotlib's Agg backend, imported only here and only when plotting (without
matplotlib the plots are skipped with a note).  Never imports torch.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from archlang import files
from archlang.nas.formats import notation
from archlang.nas.progress import format_seconds, format_values
from archlang.nas.study import Record, Study

# ---- the table ------------------------------------------------------------------------------


def results_table(study: Study, limit: int = 10, options: dict | None = None, width: int = 60) -> str:
    """The best ``limit`` complete evaluations (several objectives: the Pareto set first) and the
    counts; ``options`` (label -> option names) names the options of a study that stored indices;
    an architecture is cut at ``width`` characters (never a benchmark's arch string)."""
    names = study.objectives
    rows = ranked(study)[:limit]
    header = ["trial", *names, "seconds", "architecture"]
    lines = [[f"#{r.number}", *[format_values((v,)) for v in r.values], _secs(r), _short(r, options, width)] for r in rows]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines)] if lines else [len(h) for h in header]
    out = [_row(header, widths), _row(["-" * w for w in widths], widths)] + [_row(line, widths) for line in lines]
    return "\n".join(out) + "\n" + counts_line(study) + "\n"


def ranked(study: Study) -> list[Record]:
    """Complete evaluations, best first (several objectives: Pareto set, then the rest, by value)."""
    sign = study.sign
    front = {r.number for r in study.pareto()} if len(sign) > 1 else set()
    return sorted(study.complete(), key=lambda r: (r.number not in front, tuple(-s * v for s, v in zip(sign, r.values)),
                                                   r.number))


def counts_line(study: Study) -> str:
    c = study.counts()
    return (f"{c['evaluations']} evaluations ({c['complete']} complete, {c['failed']} failed), "
            f"{c['duplicates_avoided']} duplicates avoided, {c['stale']} interrupted trials re-run"
            + (f", {c['infeasible']} proposals breaking a constraint skipped" if c.get("infeasible") else "")
            + (f", {c['running']} still running" if c["running"] else ""))


def failures_table(study: Study, limit: int = 5) -> str:
    failed = study.failed()
    lines = [f"  #{r.number}: {r.reason}" for r in failed[-limit:]]
    return ("failed trials (last %d):\n" % len(lines) + "\n".join(lines) + "\n") if lines else ""


def _row(cells, widths) -> str:
    return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()


def _secs(record: Record) -> str:
    seconds = record.attrs.get("seconds")
    return f"{seconds:.2f}" if isinstance(seconds, (int, float)) else "–"


def _short(record: Record, names: dict | None = None, width: int = 60) -> str:
    text = arch_text(record, names)
    return text if len(text) <= width or text.startswith(("|", "Genotype")) else text[:width - 1] + "…"


def arch_text(record: Record, names: dict | None = None) -> str:
    """A trial's architecture as its benchmark writes it (a NAS-Bench-201 arch string, a DARTS
    genotype: ``formats.notation``), else ``label=option`` by option name."""
    assigned = (record.attrs.get("assignment") or {}).get("choices", {})
    written = notation(assigned)
    return written if written is not None else " ".join(f"{k}={v}" for k, v in choices(record, names).items())


def choices(record: Record, names: dict | None = None) -> dict:
    """label -> option of a trial: its option name as stored (the ``options`` attribute, or a
    sampler's Optuna param), else the option index looked up in ``names`` (label -> option
    names: studies made before names were stored), else the index itself."""
    assigned = (record.attrs.get("assignment") or {}).get("choices", {})
    stored = record.attrs.get("options") or {}
    shown = {}
    for label, value in assigned.items():
        param = stored.get(label, record.params.get(label))
        if isinstance(param, str) or (param is not None and param != value):
            shown[label] = param
        elif names and label in names and isinstance(value, int) and 0 <= value < len(names[label]):
            shown[label] = names[label][value]
        else:
            shown[label] = _choice(value)
    return shown


def _choice(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


# ---- files --------------------------------------------------------------------------------


def write_report(study: Study, space, out_dir) -> dict:
    """The .arch files of the best architecture(s), trials.json and the plots, under ``out_dir``."""
    out = files.make_folder(out_dir)
    written = {"best": write_best(study, space, out), "trials": write_trials(study, out / "trials.json")}
    written["plots"] = write_plots(study, out)
    return written


def write_best(study: Study, space, out: Path) -> list[Path]:
    """best.arch (one objective) or pareto/trial_N.arch (several), each a standalone .arch file."""
    records = study.best_records()
    folder = out if len(study.sign) == 1 else out / "pareto"
    files.make_folder(folder)
    paths = []
    for record in records:
        name = "best.arch" if len(study.sign) == 1 else f"trial_{record.number:05d}.arch"
        text = space.to_arch(record.assignment())
        values = format_values(record.values, study.objectives)
        header = f"# study {study.name}, trial #{record.number}: {values}\n"
        path = folder / name
        files.write_text(path, header + text)
        paths.append(path)
    return paths


def write_trials(study: Study, path: Path) -> Path:
    return files.write_text(path, json.dumps(study.to_json(), indent=1, default=str) + "\n")


# ---- plots ----------------------------------------------------------------------------------

LOG_SPAN = 1e3  # an axis whose positive values span more than this factor is drawn on a log scale


def wants_log(values) -> bool:
    """Whether ``values`` (all positive) span more than three decades."""
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > LOG_SPAN



def write_plots(study: Study, out: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    paths = []
    for i, name in enumerate(study.objectives):
        paths += _save(plt, best_so_far_figure(plt, study, i), out / f"best_so_far_{_slug(name)}"
                       if len(study.objectives) > 1 else out / "best_so_far")
    if len(study.objectives) >= 2:
        paths += _save(plt, pareto_figure(plt, study), out / "pareto")
    return paths


def _save(plt, figure, stem: Path) -> list[Path]:
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    try:
        for path in paths:
            files.write_file(path, lambda stream: figure.savefig(stream, format=path.suffix[1:], dpi=120,
                                                                 bbox_inches="tight"))
    finally:
        plt.close(figure)
    return paths


def best_so_far_figure(plt, study: Study, index: int = 0):
    """Each evaluation's value (dots) and the best so far (step line), by evaluation count."""
    sign = study.sign[index]
    xs, ys, best_x, best_y, best = [], [], [], [], None
    for count, record in enumerate(study.evaluated(), start=1):
        if not record.ok:
            continue
        value = record.values[index]
        xs.append(count), ys.append(value)
        best = value if best is None or sign * value > sign * best else best
        best_x.append(count), best_y.append(best)
    figure, axes = plt.subplots(figsize=(6, 3.6))
    axes.scatter(xs, ys, s=8, alpha=0.35, label="evaluation")
    axes.step(best_x, best_y, where="post", color="C3", label="best so far")
    name = study.objectives[index]
    axes.set(xlabel="evaluations", ylabel=name, title=f"{study.name}: best {name} so far "
             f"({'max' if sign > 0 else 'min'})")
    if wants_log(ys):
        axes.set_yscale("log")
    axes.legend(loc="best")
    axes.grid(alpha=0.3)
    return figure


def pareto_figure(plt, study: Study):
    """All complete evaluations on the first two objectives, the Pareto set highlighted."""
    names, sign = study.objectives, study.sign
    complete, front = study.complete(), sorted(study.pareto(), key=lambda r: r.values[0])
    figure, axes = plt.subplots(figsize=(5.5, 4.2))
    axes.scatter([r.values[0] for r in complete], [r.values[1] for r in complete], s=10, alpha=0.35,
                 label="evaluated")
    axes.plot([r.values[0] for r in front], [r.values[1] for r in front], "o-", color="C3", label="Pareto set")
    axes.set(xlabel=f"{names[0]} ({'max' if sign[0] > 0 else 'min'})",
             ylabel=f"{names[1]} ({'max' if sign[1] > 0 else 'min'})", title=f"{study.name}: Pareto front")
    for index, scale in enumerate((axes.set_xscale, axes.set_yscale)):
        if wants_log([r.values[index] for r in complete]):
            scale("log")
    axes.legend(loc="best")
    axes.grid(alpha=0.3)
    return figure


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def summary_text(study: Study) -> str:
    """The table, recent failures and the timing, as the CLI prints them."""
    records = study.evaluated()
    seconds = sum(r.attrs.get("seconds", 0) or 0 for r in records)
    return results_table(study) + failures_table(study) + f"objective time: {format_seconds(seconds)}\n"
