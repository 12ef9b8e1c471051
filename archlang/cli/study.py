"""``archlang study list`` and ``archlang study plot``: the studies a storage holds, and one
study's plots written to a file.

``study list`` without ``--storage`` looks for the SQLite files ``archlang search`` leaves
(``study.db`` here and one folder down, as in ``search-SPACE/study.db``).  ``study plot``
draws the best-so-far curve (``history``), the Pareto front, parameter importance or
parallel coordinates (``archlang.nas.plots``) as .png, .svg or .pdf.  Bad arguments are
usage errors (exit 2).  Imports optuna and matplotlib only when a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from archlang import files
from archlang.errors import ArchError

PLOT_KINDS = ("history", "pareto", "importance", "parallel")
PLOT_FORMATS = (".png", ".svg", ".pdf")


def add_parsers(actions) -> None:
    """``list`` and ``plot`` under the ``study`` command's actions."""
    listing = actions.add_parser("list", help="the studies of a storage: space, objectives, trials, best values",
                                 description="List the studies of a storage (default: ./study.db and ./*/study.db, "
                                 "where archlang search writes them).")
    listing.add_argument("--storage", metavar="URL", help="the storage (URL or SQLite file)")
    listing.set_defaults(run=cmd_study_list)
    plot = actions.add_parser("plot", help="draw a study: history, pareto, importance or parallel coordinates",
                              description="Draw a plot of study STUDY to FILE (.png, .svg or .pdf).")
    plot.add_argument("study", metavar="STUDY")
    plot.add_argument("--storage", required=True, metavar="URL", help="the study's storage (URL or SQLite file)")
    plot.add_argument("--kind", choices=PLOT_KINDS, default="history",
                      help="history (best so far, default), pareto (two objectives), importance (fANOVA, per "
                      "decision) or parallel (parallel coordinates by option name)")
    plot.add_argument("--objective", metavar="NAME", help="the objective to plot (default: the first)")
    plot.add_argument("-o", "--output", metavar="OUT",
                      help="where to write the plot: out.png, out.svg or out.pdf (default STUDY-KIND.png)")
    plot.set_defaults(run=cmd_study_plot)


def _fail(message: str) -> int:
    print(f"archlang: error: {message}", file=sys.stderr)
    return 2


# ---- list -----------------------------------------------------------------------------------


def cmd_study_list(args) -> int:
    import optuna

    from archlang.nas.progress import format_values
    from archlang.nas.study import SearchError, Study, open_storage, storage_url

    storages = [args.storage] if args.storage else _found_storages(Path.cwd())
    if not storages:
        return _fail("no --storage given and no study.db here or one folder down (archlang search -o DIR writes "
                     "DIR/study.db)")
    rows = [("study", "space", "objectives", "evaluations", "best", "storage")]
    for where in storages:
        url = storage_url(where, create=False)
        try:
            storage = open_storage(url, create=False)
            names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
            studies = [Study.load(name, url, storage) for name in names]
        except SearchError as error:
            return _fail(str(error))
        for study in studies:
            best = study.best_records()
            rows.append((study.name, (study.info.get("space") or {}).get("name") or "–",
                         ", ".join(f"{n} ({d[:3]})" for n, d in zip(study.objectives, study.directions)),
                         str(len(study.evaluated())),
                         format_values(best[0].values) + (f" (+{len(best) - 1} Pareto)" if len(best) > 1 else "")
                         if best else "–", str(where)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def _found_storages(here: Path) -> list[Path]:
    found = [here / "study.db"] + sorted(here.glob("*/study.db"))
    return [path.relative_to(here) for path in found if path.is_file()]


# ---- plot -----------------------------------------------------------------------------------


def cmd_study_plot(args) -> int:
    from archlang.nas import plots
    from archlang.nas.study import SearchError, Study, storage_url

    output = Path(args.output or f"{args.study}-{args.kind}.png")
    if output.suffix not in PLOT_FORMATS:
        return _fail(f"cannot tell the format of {output}: give a file ending in {', '.join(PLOT_FORMATS)}")
    try:
        study = Study.load(args.study, storage_url(args.storage, create=False))
    except SearchError as error:
        return _fail(str(error))
    index = 0
    if args.objective is not None:
        if args.objective not in study.objectives:
            return _fail(f"study '{study.name}' has no objective '{args.objective}' "
                         f"(objectives: {', '.join(study.objectives)})")
        index = study.objectives.index(args.objective)
    if not study.complete():
        return _fail(f"study '{study.name}' has no complete trial to plot yet")
    plt = plots.pyplot()
    if plt is None:
        return _fail("plots need matplotlib: pip install 'archlang[search]'")
    try:
        figure = plots.figure(plt, study, args.kind, index)
    except ValueError as error:
        return _fail(str(error))
    try:
        files.write_file(output, lambda stream: figure.savefig(stream, format=output.suffix[1:], dpi=120,
                                                               bbox_inches="tight"))
    finally:
        plt.close(figure)
    print(f"wrote {output}")
    return 0


# ---- show (option names of older studies) ------------------------------------------------------


def space_options(study) -> dict | None:
    """label -> option names, read from the study's space file when it still defines the very
    space the study searched (same hash); None otherwise.  Names the options of studies made
    before trials stored names."""
    from archlang.elaborate.program import load_program
    from archlang.nas import Space
    from archlang.nas.describe import option_names

    info = study.info.get("space") or {}
    file, name = info.get("file"), info.get("name")
    if not file or not name or not Path(file).is_file():
        return None
    try:
        space = Space(load_program(file, check=False), name)
    except ArchError:
        return None
    if space.hash != info.get("hash"):
        return None
    return {decision.label: option_names(decision) for decision in space.tree.by_label.values()}
