"""The ``archlang`` command line: check, fmt, ir, summary, compile, export, render, search, study, completion.

Exit codes: 0 success, 1 a spec error (printed as located diagnostics) or a file that cannot
be written, a bad weights file, a model too large to allocate, a missing package, a search
with no completed trial; 2 a usage error; 130 Ctrl-C (nothing partial left: archlang.files).
A Python traceback means a bug in archlang itself.  What every command shares (``-`` and
folders as files, -q/-v, examples in --help, colour: NO_COLOR and FORCE_COLOR) lives in
``archlang.cli.conventions`` and ``archlang.cli.inputs``.
Backends are looked up lazily, so ``archlang check`` never imports torch.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import sys
import time
from pathlib import Path

import archlang
from archlang import files
from archlang.cli import check_report, completion, conventions, inputs
from archlang.cli import ops as ops_command
from archlang.cli import study as study_command
from archlang.cli import supernet as supernet_command
from archlang.cli.conventions import note, say
from archlang.cli.lsp import add_lsp_parser
from archlang.errors import ArchError
from archlang.errors.render import printable, render_error

# Start-up: a command imports what it uses when it runs (the front end pulls in lark, the IR
# pydantic), so ``archlang --version`` and ``archlang fmt`` never pay for the elaborator.


class UsageError(Exception):
    """A bad command line (exit 2)."""


# ---- argument types: a bad number is a usage error (exit 2), never a traceback ---------------

MAX_SEED = 2**63 - 1


def _integer(text: str) -> int:
    digits = text.strip().lstrip("+-").replace("_", "")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        raise argparse.ArgumentTypeError(f"not an integer (at most 19 digits): '{text[:40]}'")
    return int(text.strip().replace("_", ""))


def positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def nonnegative_int(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def seed(text: str) -> int:
    value = _integer(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed is an integer from 0 to 2**63 - 1, not {value}")
    return value


def positive_number(text: str) -> float:
    try:
        value = float(text.strip().replace("_", "")) if len(text) <= 64 else math.nan
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: '{text[:40]}'") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, not '{text[:40]}'")
    return value


def _color(stream) -> bool:
    return conventions.use_color(stream)


# ---- check -------------------------------------------------------------------------------


def cmd_check(args) -> int:
    if args.list and args.format != "text":
        raise UsageError(f"--list prints text; it cannot be combined with --format {args.format}")
    paths = inputs.expand(args.files)
    note(args, f"checking {len(paths)} file{'s' if len(paths) != 1 else ''}")
    failures = {}
    for path in paths:
        try:
            program = inputs.load(path)
        except ArchError as error:
            failures[path] = error
            if args.format == "text":
                print(render_error(error, _color(sys.stderr)), file=sys.stderr)
            continue
        if args.list:
            _print_definitions(program)
        elif args.format == "text":
            say(args, f"{inputs.display(path)}: ok ({_counts(program)})")
    if args.format == "json":
        print(check_report.to_json([inputs.display(p) for p in paths], _displayed(failures)))
    elif args.format == "sarif":
        print(check_report.to_sarif([inputs.display(p) for p in paths], _displayed(failures), archlang.__version__))
    elif args.format == "github" and failures:
        print(check_report.to_github([inputs.display(p) for p in paths], _displayed(failures)))
    return 1 if failures else 0


def _displayed(failures: dict) -> dict:
    return {inputs.display(path): error for path, error in failures.items()}


def _counts(program) -> str:
    parts = []
    for kind, names in (("model", program.models), ("space", program.spaces), ("block", program.blocks)):
        if names:
            parts.append(f"{len(names)} {kind}{'s' if len(names) != 1 else ''}")
    return ", ".join(parts) or "no definitions"


def _print_definitions(program) -> None:
    for name, definition in program.definitions.items():
        params = ", ".join(p.name + (f": {p.type}" if p.type else "") for p in definition.params)
        doc = f"  — {printable(definition.doc.splitlines()[0])}" if definition.doc else ""
        signature = f"({params})" if params or definition.alias is None else ""
        print(f"{definition.kind:<6} {name}{signature}{doc}")


# ---- fmt ---------------------------------------------------------------------------------


def cmd_fmt(args) -> int:
    """Rewrite FILEs canonically; ``--check`` / ``--diff`` change nothing and exit 1 when a file
    would change; ``-`` formats stdin to stdout."""
    from archlang.syntax.fmt import format_source

    dry = args.check or args.diff
    changed, failed = [], False
    paths = inputs.expand(args.files)
    note(args, f"formatting {len(paths)} file{'s' if len(paths) != 1 else ''}")
    for path in paths:
        try:
            text = inputs.read_text(path)
            formatted = format_source(text, inputs.display(path))
        except ArchError as error:
            print(render_error(error, _color(sys.stderr)), file=sys.stderr)
            failed = True
            continue
        if args.diff:
            sys.stdout.writelines(_unified_diff(text, formatted, inputs.display(path)))
        elif path == inputs.STDIN and not args.check:  # a filter, as black - and ruff format - are
            sys.stdout.write(formatted)
            continue
        if formatted != text:
            if not dry:
                try:  # the spec keeps its mode; a symlinked spec is rewritten where it lives
                    files.write_text(path, formatted, follow_symlinks=True)
                except ArchError as error:
                    print(render_error(error, _color(sys.stderr)), file=sys.stderr)
                    failed = True
                    continue
            changed.append(path)
    for path in changed:  # with --diff, stdout holds the diff alone
        say(args, f"{'would reformat' if dry else 'reformatted'} {inputs.display(path)}",
            file=sys.stderr if args.diff else None)
    return 1 if failed or (dry and changed) else 0


def _unified_diff(before: str, after: str, name: str) -> list[str]:
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 f"{name}\t(original)", f"{name}\t(formatted)")
    return [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines]


# ---- ir ----------------------------------------------------------------------------------


def cmd_ir(args) -> int:
    model = _model_from_args(args)
    sys.stdout.write(archlang.format_ir(model))
    return 0


def parse_params(program, items: list[str]) -> dict:
    """``--param k=v``: v is a constant expression of the language, evaluated in the file's scope."""
    params = {}
    for item in items or ():
        key, value = _split_assignment(item, "--param")
        params[key] = program.argument(key, value)
    return params


def parse_inputs(items: list[str]) -> dict:
    """``--input x=1x3x224x224`` (a name like ``B`` keeps that size symbolic)."""
    from archlang.ir import dims

    inputs = {}
    for item in items or ():
        key, value = _split_assignment(item, "--input")
        shape = []
        for part in value.lower().replace("×", "x").split("x") if value else []:
            if part.isascii() and part.isdigit() and len(part) <= 18 and int(part) > 0:
                shape.append(int(part))
            elif part.isascii() and part.isidentifier():
                shape.append(dims.sym(part.upper() if len(part) == 1 else part))
            else:
                raise UsageError(f"--input {item[:80]}: sizes are positive integers (at most 18 digits) or "
                                 "names, separated by 'x'")
        inputs[key] = tuple(shape)
    return inputs


def _split_assignment(item: str, flag: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.isidentifier():
        raise UsageError(f"{flag} expects NAME=VALUE, got '{item}'")
    return key, value


# ---- compile and summary --------------------------------------------------------------


def _program(args):
    """The file of a command about one entry point: statically checked here; the entry point
    itself is checked when it is elaborated (the file's other models are not elaborated)."""
    return inputs.load(inputs.one_file(args.file, args.model), check=False)


def _model_from_args(args):
    program = _program(args)
    return program.elaborate(args.model, params=parse_params(program, args.param),
                             inputs=parse_inputs(getattr(args, "input", None)))


def cmd_compile(args) -> int:
    files.check_target(args.output)  # a bad output fails before torch is imported and the model built
    model = _model_from_args(args)  # and so does a bad spec or file argument
    from archlang.backends.torch import build_module
    from archlang.backends.torch.checkpoint import save_state_dict
    from archlang.ir.memory import check_fits
    from archlang.nas.progress import spinner

    check_fits(model, "build it as a PyTorch module")  # refused before torch allocates anything
    fmt = args.format or ("safetensors" if args.output.endswith(".safetensors") else "pt")
    with spinner(f"building {args.model} and writing {args.output}", quiet=args.quiet):
        module = build_module(model, seed=args.seed)
        save_state_dict(module, Path(args.output), fmt)
    count = sum(p.numel() for p in module.parameters())
    say(args, f"wrote {args.output} ({fmt}, {count:,} parameters, {len(module.state_dict())} tensors)")
    return 0


def cmd_export(args) -> int:
    from archlang.api import export_onnx
    from archlang.nas.progress import spinner

    files.check_target(args.output)  # a bad output fails before the model is built
    model = _model_from_args(args)
    with spinner(f"exporting {args.model} to {args.output}", quiet=args.quiet):
        proto = export_onnx(model, weights=_weights_file(args.weights), opset=args.opset, functions=args.functions,
                            fold=not args.no_fold, path=Path(args.output), seed=args.seed)
    opset = next(o.version for o in proto.opset_import if o.domain == "")
    functions = f", {len(proto.functions)} functions" if proto.functions else ""
    say(args, f"wrote {args.output} (ONNX opset {opset}, {len(proto.graph.node)} nodes{functions}, "
        f"{len(proto.graph.initializer)} initializers)")
    return 0


def _weights_file(path: str | None):
    """``--weights``: a state dict read from the file, or a located error saying why it cannot be."""
    from archlang.api import load_weights

    if path is None:
        return None
    return load_weights(Path(path))  # a WeightsError (exit 1) says what the file holds instead


def cmd_summary(args) -> int:
    from archlang.report.summary import format_summary, summarize

    summary = summarize(_model_from_args(args))
    if args.json:
        print(json.dumps(summary.to_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(format_summary(summary, depth=args.depth))
    return 0


def cmd_render(args) -> int:
    """A diagram: DOT on stdout without -o or --format; .svg/.png/.pdf need Graphviz's `dot`."""
    from archlang.backends.graphviz import RenderOptions, build_diagram, format_of, write_diagram

    output = args.output or _default_diagram(args)
    try:
        fmt = format_of(output, args.format) if output else "dot"
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if output:
        files.check_target(output)  # a bad output fails before the diagram is built
    options = RenderOptions(depth=args.depth, expand=args.expand, direction=args.direction)
    diagram = build_diagram(_model_from_args(args), options)
    if not output:
        sys.stdout.write(diagram.source)
        return 0
    write_diagram(diagram.source, Path(output), fmt)
    say(args, f"wrote {output} ({fmt}: {diagram.nodes} nodes, {diagram.clusters} blocks, "
        f"{diagram.skips} skip connections)")
    return 0


def _default_diagram(args) -> str | None:
    """``--format png`` without -o: MODEL.png in the current folder (a picture is never printed);
    DOT, which is text, still goes to stdout."""
    return f"{args.model}.{args.format}" if args.format not in (None, "dot") else None


# ---- space and sample --------------------------------------------------------------------


def _space_from_args(args):
    from archlang.nas import Space

    program = _program(args)
    return Space(program, args.model, params=parse_params(program, args.param), inputs=parse_inputs(args.input))


def cmd_space(args) -> int:
    from archlang.nas.describe import describe_space
    from archlang.nas.progress import spinner

    space = _space_from_args(args)
    with spinner(f"counting the architectures of {args.model}", quiet=args.quiet):
        text = describe_space(space, unique_limit=args.unique_limit)
    sys.stdout.write(text)
    return 0


def cmd_sample(args) -> int:
    from archlang.nas.describe import sample_files

    constraints = {"max_params": args.max_params, "max_macs": args.max_macs}
    space = _space_from_args(args)
    out = Path(args.output) if args.output else None
    for line in sample_files(space, args.n, args.seed, constraints, out):
        if out is None:
            print(line)  # the architecture itself: printed even with -q
        else:
            say(args, line)
    return 0


def _space_parsers(sub) -> None:
    space = sub.add_parser("space", help="a search space's size, distinct architectures and decisions",
                           description="Describe SPACE: its exact number of configurations, the number of "
                           "distinct architectures (canonical hashes) when tractable, and a table of its "
                           "decisions (label, kind, options, when each is active).")
    _model_arguments(space, "SPACE")
    space.add_argument("--unique-limit", type=nonnegative_int, default=20_000, metavar="N",
                       help="count distinct architectures when the space has at most N configurations (default 20,000)")
    space.set_defaults(run=cmd_space)

    sample = sub.add_parser("sample", help="draw architectures from a space and write them as .arch files",
                            description="Draw architectures uniformly from SPACE (among those within the "
                            "bounds, if given) and write each as a standalone .arch file; without -o, print "
                            "the first.")
    _model_arguments(sample, "SPACE")
    sample.add_argument("--seed", type=seed, default=0, help="seed of the draws (default 0)")
    sample.add_argument("-n", type=positive_int, default=1, help="how many architectures (default 1)")
    sample.add_argument("-o", "--output", metavar="DIR", help="where to write the SPACE_<i>.arch files "
                        "(default: print the first architecture)")
    sample.add_argument("--max-params", type=positive_number, default=None, metavar="N", help="at most N parameters")
    sample.add_argument("--max-macs", type=positive_number, default=None, metavar="N",
                        help="at most N MACs per example")
    sample.set_defaults(run=cmd_sample)


# ---- search and study -------------------------------------------------------------------


def cmd_search(args) -> int:
    from archlang import objectives
    from archlang.nas import Space
    from archlang.nas.engine import search
    from archlang.nas.progress import Progress
    from archlang.nas.study import SearchError
    from archlang.objectives import MissingDependency, ObjectiveError

    try:
        objective = objectives.parse(args.objective)  # a user's file fails here, before the spec is read
    except ObjectiveError as error:
        raise UsageError(str(error)) from None
    program = _program(args)
    space = Space(program, args.model, params=parse_params(program, args.param), inputs=parse_inputs(args.input))
    out = Path(args.output or f"search-{args.model}")
    try:
        label = f"{args.model} · {args.strategy}"
        with Progress(args.budget, label=label, objectives=list(objective.names), quiet=args.quiet) as progress:
            study = search(space, objective, strategy=args.strategy, budget=args.budget, seed=args.seed,
                           storage=args.storage, study=args.study, workers=args.workers, timeout=args.timeout,
                           out_dir=out, progress=progress, dedup=args.dedup)
    except MissingDependency as error:
        print(f"archlang: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_resume_hint(args, space, out), file=sys.stderr)
        raise
    except (SearchError, ObjectiveError, ValueError) as error:
        raise UsageError(str(error)) from None
    _report_search(study, space, out, args.quiet)
    for reason in study.stopped:
        print(f"archlang: stopped: {reason}", file=sys.stderr)
    if not study.complete():
        print(f"archlang: error: no trial of study '{study.name}' completed"
              + ("" if study.stopped or study.failed() else " (its budget is spent: raise --budget)"),
              file=sys.stderr)
        return 1
    return 0


def _resume_hint(args, space, out: Path) -> str:
    """What a Ctrl-C leaves: the finished trials, stored, and the way to go on."""
    from archlang.nas.engine import default_study_name

    storage = args.storage or out / "study.db"
    name = args.study or default_study_name(space, args.strategy)
    return (f"archlang: interrupted; every finished trial is stored in {storage} (study '{name}'): "
            "run the same command again to resume it")


def _report_search(study, space, out: Path, quiet: bool) -> None:
    from archlang.nas.report import counts_line, summary_text, write_report

    written = write_report(study, space, out)
    if quiet:
        print(counts_line(study))
    else:
        print(summary_text(study), end="")
    best = written["best"]
    if len(best) == 1 and not quiet:
        print(f"\nbest architecture ({best[0]}):\n")
        print(best[0].read_text(encoding="utf-8"))
    where = ", ".join(str(p) for p in best[:3]) + (f" … ({len(best)} files)" if len(best) > 3 else "")
    print(f"wrote {where or 'no architecture (nothing completed)'}; {written['trials']}; "
          f"{len(written['plots'])} plot files in {out}")


def cmd_study_show(args) -> int:
    from archlang.nas.report import failures_table, results_table
    from archlang.nas.study import SearchError, Study, storage_url

    try:
        study = Study.load(args.study, storage_url(args.storage, create=False))
    except SearchError as error:
        raise UsageError(str(error)) from None
    if args.json:
        print(json.dumps(study.to_json(), indent=1, default=str))
        return 0
    info = study.info.get("space") or {}
    print(f"study {study.name}: space {info.get('name')} ({info.get('file')}), "
          f"{', '.join(f'{n} ({d})' for n, d in zip(study.objectives, study.directions))}")
    print(results_table(study, limit=args.top, options=study_command.space_options(study),
                        width=400), end="")
    print(failures_table(study), end="")
    return 0


def _search_parsers(sub) -> None:
    search = sub.add_parser("search", help="search a space for the best architectures (resumable, several workers)",
                            description="Search SPACE in FILE with a strategy, scoring each architecture with "
                            "built-in objectives. Every trial is stored (SQLite in -o DIR, or --storage); "
                            "rerunning the same command resumes the study.")
    search.add_argument("file", metavar="FILE", help="an .arch file, a folder holding the one that defines -m, or - (stdin)")
    search.add_argument("-m", "--model", required=True, metavar="SPACE", help="the space to search")
    search.add_argument("--objective", required=True, metavar="NAME[,NAME…]",
                        help="params, macs, latency, synflow, grad_norm, snip, naswot, gradsign, accuracy, or a "
                        "function of yours: FILE.py:FUNCTION or MODULE:FUNCTION (several: a multi-objective "
                        "search)")
    search.add_argument("--strategy", default="evolution", choices=("random", "evolution", "local", "tpe", "nsga2"))
    search.add_argument("--budget", type=positive_int, default=100, help="evaluations in the study (default 100)")
    search.add_argument("--workers", type=positive_int, default=1, help="worker processes sharing the study")
    search.add_argument("--storage", metavar="URL", help="sqlite:///file.db or postgresql+psycopg://… "
                        "(default: DIR/study.db)")
    search.add_argument("--study", metavar="NAME", help="study name (default SPACE-STRATEGY)")
    search.add_argument("--seed", type=seed, default=0)
    search.add_argument("--timeout", type=positive_number, default=None, metavar="SECONDS",
                        help="time limit of one trial")
    search.add_argument("--dedup", choices=("functional", "exact", "off"), default="functional",
                        help="when two proposals are one architecture: functional (default: provably the same "
                        "outputs for all weights; exact when an objective measures a cost), exact (the "
                        "identical model) or off (evaluate every proposal)")
    search.add_argument("-o", "--output", metavar="DIR", help="where to write the study, the best architectures "
                        "and the plots (default: search-SPACE)")
    search.add_argument("--quiet", action="store_true", help="no progress display, a one-line summary")
    search.add_argument("--param", action="append", metavar="K=V", help="set a parameter of the space")
    search.add_argument("--input", action="append", metavar="X=SHAPE", help="give an input a shape")
    search.set_defaults(run=cmd_search)

    study = sub.add_parser("study", help="inspect a stored search study", description="Inspect a stored study.")
    actions = study.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    show = actions.add_parser("show", help="the best trials, counts and failures of a study")
    show.add_argument("--storage", required=True, metavar="URL", help="the study's storage (URL or SQLite file)")
    show.add_argument("--study", required=True, metavar="NAME")
    show.add_argument("--top", type=positive_int, default=10, help="rows to show")
    show.add_argument("--json", action="store_true", help="every trial as JSON")
    show.set_defaults(run=cmd_study_show)
    study_command.add_parsers(actions)


# ---- main --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = conventions.Parser(
        prog="archlang",
        description="A declarative language for neural-network architectures and search spaces.",
        epilog="examples:\n  archlang check specs/\n  archlang summary specs/vision/resnet.arch -m ResNet50\n"
        "  archlang COMMAND --help",
    )
    parser.add_argument("--version", action="version", version=f"archlang {archlang.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    check = sub.add_parser("check", help="parse and check .arch files (names, types, shapes)",
                           description="Parse and check .arch files: names, types and symbolic shapes of every model and space. Exit 1 on any error.")
    check.add_argument("files", nargs="+", metavar="FILE", help="files, folders (every .arch file under them) or - (stdin)")
    check.add_argument("--list", action="store_true", help="print the blocks, models and spaces each file defines")
    check.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    check.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text",
                       help="text diagnostics on stderr (default), or every diagnostic with its start and "
                       "end on stdout: JSON, SARIF 2.1.0, or GitHub Actions annotations")
    check.set_defaults(run=cmd_check)
    ops_command.add_parser(sub)

    fmt = sub.add_parser("fmt", help="format .arch files canonically (keeps comments)",
                         description="Rewrite .arch files in the canonical style, keeping comments. Idempotent.")
    fmt.add_argument("files", nargs="+", metavar="FILE",
                     help="files, folders (every .arch file under them) or - (stdin to stdout)")
    fmt.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would be reformatted")
    fmt.add_argument("--diff", action="store_true",
                     help="change nothing; print a unified diff of the changes and exit 1 if there are any")
    fmt.set_defaults(run=cmd_fmt)

    ir = sub.add_parser("ir", help="print the elaborated IR of a model or space, one line per node",
                        description="Elaborate MODEL from FILE and print its IR: one line per node with inferred types.")
    ir.add_argument("file", metavar="FILE", help="an .arch file, a folder holding the one that defines -m, or - (stdin)")
    ir.add_argument("-m", "--model", required=True, metavar="MODEL", help="the model, space or block to elaborate")
    ir.add_argument("--param", action="append", metavar="K=V", help="set a parameter (a constant expression: 10, [2, 2], Bottleneck)")
    ir.add_argument("--input", action="append", metavar="X=SHAPE", help="give an input a shape, e.g. x=1x3x224x224")
    ir.set_defaults(run=cmd_ir)

    compile_ = sub.add_parser("compile", help="build the PyTorch module of a model and save its state dict",
                              description="Build MODEL as a torch.nn.Module (parameter names from the spec, "
                              "PyTorch's default initialisation) and save its state dict.")
    _model_arguments(compile_)
    compile_.add_argument("-o", "--output", required=True, metavar="OUT",
                          help="where to write the weights (.pt or .safetensors)")
    compile_.add_argument("--seed", type=seed, default=None, help="seed for a reproducible initialisation")
    compile_.add_argument("--format", choices=("pt", "safetensors"), help="file format (default: from the suffix)")
    compile_.set_defaults(run=cmd_compile)

    export = sub.add_parser("export", help="export a model to ONNX, emitted from the IR (no tracing)",
                            description="Emit MODEL as an ONNX graph straight from the IR: symbolic input sizes "
                            "stay dynamic (named dims), weights come from --weights or the PyTorch backend's "
                            "seeded initialisation. The file is written atomically.")
    _model_arguments(export)
    export.add_argument("-o", "--output", required=True, metavar="OUT", help="where to write the model (.onnx)")
    export.add_argument("--weights", metavar="W", help="a state dict to export (.pt or .safetensors)")
    export.add_argument("--opset", type=int, default=None, help="ONNX opset (default 18)")
    export.add_argument("--functions", action="store_true", help="emit each block as an ONNX local function")
    export.add_argument("--no-fold", action="store_true",
                        help="keep each BatchNorm as its own node (by default one after a convolution is folded into it)")
    export.add_argument("--seed", type=seed, default=None, help="seed for the initialisation when no --weights")
    export.set_defaults(run=cmd_export)

    summary = sub.add_parser("summary", help="per-layer output shapes, parameters and MACs (analytic)",
                             description="A table of every layer and block call: output shape, parameters, "
                             "buffers, MACs and activation bytes, computed from the IR (no weights, no forward "
                             "pass); for a search space, a row per option of each searched layer and the "
                             "smallest and largest architecture.")
    _model_arguments(summary)
    summary.add_argument("--depth", type=nonnegative_int, default=None,
                         help="show blocks down to this depth (0 = top level; torchinfo's depth=1)")
    summary.add_argument("--json", action="store_true", help='print {"params": …, "macs": …, "layers": […]}')
    summary.set_defaults(run=cmd_summary)

    render = sub.add_parser("render", help="draw a model or space as a diagram (svg, png, pdf or dot)",
                            description="Draw MODEL: blocks as nested clusters, edges labelled with symbolic "
                            "shapes, skip connections dashed, search decisions as choice nodes. .dot needs "
                            "nothing else; .svg/.png/.pdf need Graphviz's `dot` (without it the .dot is written "
                            "and the exit code is 1).")
    _model_arguments(render)
    render.add_argument("-o", "--output", metavar="OUT", help="where to write the diagram: .svg, .png, .pdf or "
                        ".dot (default: MODEL.FORMAT with --format, else DOT on stdout)")
    render.add_argument("--format", choices=("svg", "png", "pdf", "dot"), help="file format (default: from the suffix)")
    render.add_argument("--depth", type=nonnegative_int, default=None,
                        help="draw blocks open down to this depth (0 = top level only)")
    render.add_argument("--expand", action="store_true", help="draw each repetition of a repeated block (default: once, ×N)")
    render.add_argument("--direction", choices=("TB", "LR"), default="TB", help="top to bottom (default) or left to right")
    render.set_defaults(run=cmd_render)
    _space_parsers(sub)
    _search_parsers(sub)
    supernet_command.add_parser(sub)
    add_lsp_parser(sub)
    completion.add_parser(sub, parser)
    conventions.apply(parser)  # -q/-v, examples and labels on every command, whoever added it
    return parser


def _model_arguments(parser: argparse.ArgumentParser, what: str = "MODEL") -> None:
    parser.add_argument("file", metavar="FILE", help="an .arch file, a folder holding the one that defines -m, or - (stdin)")
    parser.add_argument("-m", "--model", required=True, metavar=what, help=f"the {what.lower()} to use")
    parser.add_argument("--param", action="append", metavar="K=V", help="set a parameter (a constant expression)")
    parser.add_argument("--input", action="append", metavar="X=SHAPE", help="give an input a shape, e.g. x=1x3x224x224")


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code.  Ctrl-C ends it with 130 and no traceback, and removes
    any file it had started writing (``archlang.files``)."""
    try:
        return _run(argv)
    except KeyboardInterrupt:
        return 130
    finally:
        with files.uninterrupted():  # a second Ctrl-C must not cut the clean-up short
            files.discard_pending()


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    started = time.perf_counter()
    try:
        code = args.run(args)
        note(args, f"{args.command} done in {time.perf_counter() - started:.2f} s")
        return code
    except ArchError as error:
        print(render_error(error, _color(sys.stderr)), file=sys.stderr)
        return 1
    except (UsageError, inputs.InputError) as error:
        print(f"archlang: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
