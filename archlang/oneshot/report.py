"""What a supernet run leaves in its folder (``write_results``): ``best.arch`` (standalone),
``best.safetensors`` (the weights it inherits), ``history.json`` and ``history.csv`` (one row
per epoch), and the plots — the architecture weights of each decision over the epochs (the
classic DARTS figure) and the losses — as PNG and SVG.

Plots use matplotlib's Agg backend, imported only when plotting; without matplotlib they are
skipped (``write_plots`` returns no path).  Every file goes through ``archlang.files``.
Imports safetensors (and torch through it).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from safetensors.torch import save as safetensors_bytes

from archlang import files

COLUMNS = ("epoch", "lr", "steps", "train_loss", "arch_loss", "valid_loss", "valid_accuracy", "seconds")


def write_results(net, result, out: Path, info: dict, plots: bool = True) -> list[Path]:
    """The architecture ``result`` derived, its weights, the history (``info``: what the run
    was, recorded in history.json) and, with ``plots``, the plots."""
    assignment = result.assignment
    state = net.subnet_state_dict(assignment)
    written = [files.write_text(out / "best.arch", net.space.to_arch(assignment)),
               files.write_bytes(out / "best.safetensors", safetensors_bytes({k: v.contiguous() for k, v in state.items()}))]
    written += write_history(out, {**info, "space": net.space.name, "method": net.method.name,
                                   "hyperparameters": net.method.hyperparameters(), "epochs": result.history,
                                   "best": assignment.values, "ranks_in_sync": result.in_sync,
                                   "evolution": [{"assignment": a.values, "score": s} for a, s in result.evolution[:20]]})
    if plots:
        written += write_plots(out, result.history, option_names(net), f"{net.space.name} · {net.method.name}")
    return written


def option_names(net) -> dict[str, list[str]]:
    """For each architecture key, the names of its options (``none`` for DARTS' added one)."""
    names = {}
    for key, info in net.keys.items():
        decl = net.space.tree.by_label[info.label].decl
        names[key] = ["none" if i is None else _option_name(decl, i) for i in info.options]
    return names


def _option_name(decl, index: int) -> str:
    if decl.display and index < len(decl.display):
        return str(decl.display[index])
    option = decl.options[index] if index < len(decl.options) else index
    return "[" + ", ".join(map(str, option)) + "]" if isinstance(option, (list, tuple)) else str(option)


def write_history(out: Path, summary: dict) -> list[Path]:
    """``history.json`` (``summary``: the run, its epochs, SPOS' evolution) and ``history.csv``."""
    paths = [files.write_text(out / "history.json", json.dumps(summary, indent=1, default=str) + "\n")]
    paths.append(files.write_text(out / "history.csv", history_csv(summary["epochs"])))
    return paths


def history_csv(epochs: list[dict]) -> str:
    """One row per epoch: the COLUMNS, then ``KEY=OPTION`` for every architecture weight."""
    weight_columns = [(key, i) for key, weights in (epochs[0]["arch_weights"] if epochs else {}).items()
                      for i in range(len(weights))]
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(list(COLUMNS) + [f"{key}={i}" for key, i in weight_columns])
    for record in epochs:
        writer.writerow([_cell(record.get(c)) for c in COLUMNS]
                        + [_cell(record["arch_weights"][key][i]) for key, i in weight_columns])
    return stream.getvalue()


def _cell(value) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


# ---- plots ----------------------------------------------------------------------------------------


def write_plots(out: Path, epochs: list[dict], names: dict[str, list[str]], title: str) -> list[Path]:
    """``arch_weights.png/svg`` (relaxed methods) and ``losses.png/svg``; [] without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    paths = _save(plt, losses_figure(plt, epochs, title), out / "losses")
    if epochs and epochs[-1]["arch_weights"]:
        paths += _save(plt, arch_weights_figure(plt, epochs, names, title), out / "arch_weights")
    return paths


def _save(plt, figure, stem: Path) -> list[Path]:
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    try:
        for path in paths:
            files.write_file(path, lambda stream, fmt=path.suffix[1:]: figure.savefig(stream, format=fmt, dpi=110,
                                                                                     bbox_inches="tight"))
    finally:
        plt.close(figure)
    return paths


def losses_figure(plt, epochs: list[dict], title: str):
    """Training, architecture and validation loss by epoch."""
    figure, axes = plt.subplots(figsize=(6, 3.6))
    xs = [r["epoch"] for r in epochs]
    for column, label in (("train_loss", "training"), ("arch_loss", "architecture step"), ("valid_loss", "validation")):
        points = [(x, r[column]) for x, r in zip(xs, epochs) if r.get(column) is not None]
        if points:
            axes.plot(*zip(*points), marker="o", label=label)
    axes.set(xlabel="epoch", ylabel="cross-entropy", title=f"{title}: losses")
    axes.legend(loc="best")
    axes.grid(alpha=0.3)
    return figure


def arch_weights_figure(plt, epochs: list[dict], names: dict[str, list[str]], title: str):
    """One panel per architecture key: the softmax weight of each option over the epochs."""
    keys = list(epochs[-1]["arch_weights"])
    columns = min(3, len(keys))
    rows = -(-len(keys) // columns)
    figure, grid = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows), squeeze=False, sharex=True)
    xs = [r["epoch"] for r in epochs]
    for panel, key in zip(grid.flat, keys):
        for i, option in enumerate(names.get(key) or []):
            panel.plot(xs, [r["arch_weights"][key][i] for r in epochs], marker=".", label=option)
        panel.set_title(key, fontsize=9)
        panel.margins(y=0.15)
        panel.xaxis.get_major_locator().set_params(integer=True)
        panel.grid(alpha=0.3)
        panel.legend(fontsize=6, loc="best")
    for panel in list(grid.flat)[len(keys):]:
        panel.set_visible(False)
    figure.suptitle(f"{title}: architecture weights (softmax) by epoch")
    figure.supxlabel("epoch")
    return figure
