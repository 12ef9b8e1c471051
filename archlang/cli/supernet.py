"""``archlang supernet FILE -m SPACE --method M --data D --epochs N -o DIR``: one-shot NAS.

Trains SPACE's supernet with a one-shot method (``archlang.oneshot.trainer``), derives the
architecture and writes into DIR: ``best.arch`` (standalone, like ``sample``),
``best.safetensors`` (the weights it inherits, which load strictly into it), ``history.json``
and ``history.csv``, the plots (architecture weights by epoch, losses) and ``best.svg``, the
diagram (skipped with a note without Graphviz's ``dot``).  ``DIR/checkpoint.pt`` is written
after every epoch: the same command run again continues after the last complete epoch.
Under ``torchrun`` it trains data-parallel, and rank 0 writes.

Exit codes as every command: 1 for a spec error (or a method that does not apply to the
space: a located error), 2 for a bad option (unknown method or hyperparameter, bad --data,
a checkpoint of another run).  Imports torch only when the command runs.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

import archlang
from archlang.cli import inputs

METHODS = ("darts", "pcdarts", "gdas", "spos", "proxyless")
# The command's SPOS search: the paper's generation (population 50, 10 parents, 25 mutations,
# 25 crossovers) for 5 generations instead of 20, so that a run ends in minutes on a laptop's
# cores (docs/supernets.md); printed when the search starts, and --hp iterations=20 restores it.
SPOS_ITERATIONS = 5


class OptionError(Exception):
    """A bad option of this command (exit 2)."""


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "supernet", help="one-shot NAS: train a space's supernet, derive and save the best architecture",
        description="Train the weight-sharing supernet of SPACE with a one-shot method, derive the architecture and "
                    "write DIR/best.arch, DIR/best.safetensors (its inherited weights), the history, plots and a "
                    "diagram. A checkpoint is written after every epoch; the same command continues an interrupted "
                    "run. Runs data-parallel under torchrun.")
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("-m", "--model", required=True, metavar="SPACE", help="the space to search")
    parser.add_argument("--method", required=True, choices=METHODS, help="the one-shot method")
    parser.add_argument("--data", default="digits", metavar="DATA",
                        help="'digits' (scikit-learn's, fitted to the input) or FILE.py:FUNCTION / MODULE:FUNCTION "
                        "returning (train_loader, valid_loader) (default: digits)")
    parser.add_argument("--epochs", type=_positive, required=True, help="training epochs")
    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="where to write the results: a folder (created if missing)")
    parser.add_argument("--param", action="append", metavar="K=V", help="set a parameter of the space")
    parser.add_argument("--hp", action="append", metavar="K=V",
                        help="a hyperparameter of the method, a Python literal (population=10, order=2); spos runs "
                        f"iterations={SPOS_ITERATIONS} unless given (the paper's 20)")
    parser.add_argument("--seed", type=_seed, default=0, help="seed of the weights, the data order and the paths (default 0)")
    parser.add_argument("--batch-size", type=_positive, default=64, help="batch size of --data digits, and "
                        "of a data function that takes batch_size (default 64)")
    parser.add_argument("--limit-batches", type=_positive, default=None, metavar="N",
                        help="at most N training (and validation) batches per epoch")
    parser.add_argument("--no-plots", action="store_true", help="write no plots and no diagram (faster)")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(run=cmd_supernet)


def _positive(text: str) -> int:
    if not (text.strip().isascii() and text.strip().isdigit() and len(text.strip()) <= 18 and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"must be an integer of 1 or more, not '{text[:40]}'")
    return int(text)


def _seed(text: str) -> int:
    if not (text.strip().isascii() and text.strip().isdigit() and int(text) < 2**63):
        raise argparse.ArgumentTypeError(f"a seed is an integer from 0 to 2**63 - 1, not '{text[:40]}'")
    return int(text)


def cmd_supernet(args) -> int:
    try:
        return _run(args)
    except OptionError as error:
        print(f"archlang: error: {error}", file=sys.stderr)
        return 2


def _run(args) -> int:
    out = Path(args.output)
    hyperparameters = parse_hyperparameters(args.hp, args.method, args.seed)
    from archlang.nas import Space

    program = inputs.load(inputs.one_file(args.file, args.model), check=False)  # '-' and folders, as everywhere
    space = Space(program, args.model, params=_space_params(program, args.param))

    from archlang.oneshot import build_supernet, checkpoint, data, trainer  # imports torch
    from archlang.oneshot.distributed import Distributed

    try:
        method = _method(args.method, hyperparameters)
        distributed = Distributed.from_env()
        checkpoint.seed_everything(args.seed)
        net = build_supernet(space, method, seed=args.seed)
        train_loader, valid_loader = data.loaders(args.data, _input_shape(space), args.batch_size)
        data.check_batches(train_loader, _input_shape(space), args.data)
    except data.DataError as error:
        raise OptionError(str(error)) from None
    config = _config(args, space, method, distributed.world, checkpoint.fingerprint(Path(args.file).read_bytes()))
    run = trainer.Run(args.epochs, args.seed, out, config, args.limit_batches)
    progress = _progress(args.quiet or not distributed.main, space.name, args.method)
    try:
        with progress:
            result = trainer.train(net, train_loader, valid_loader, run, progress=progress, distributed=distributed)
    except checkpoint.CheckpointError as error:
        raise OptionError(str(error)) from None
    finally:
        distributed.close()
    if distributed.main:
        _write_outputs(net, result, out, args)
    return 0


# ---- options --------------------------------------------------------------------------------------


def parse_hyperparameters(items, method: str, seed: int) -> dict:
    """``--hp K=V`` with V a Python literal; SPOS' sampler seeded with ``--seed`` and its search
    ``SPOS_ITERATIONS`` generations long unless given."""
    values = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier():
            raise OptionError(f"--hp expects NAME=VALUE, got '{item[:80]}'")
        try:
            values[key] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise OptionError(f"--hp {item[:80]}: the value must be a Python literal (a number, string, "
                              "tuple, True/False/None)") from None
    if method == "spos":
        values.setdefault("seed", seed)
        values.setdefault("iterations", SPOS_ITERATIONS)
    return values


def _method(name: str, hyperparameters: dict):
    from archlang.oneshot import METHODS as classes
    from archlang.oneshot import method

    try:
        return method(name, **hyperparameters)
    except TypeError:
        known = ", ".join(classes[name]().hyperparameters())
        unknown = ", ".join(k for k in hyperparameters if k not in classes[name]().hyperparameters())
        raise OptionError(f"--hp: {name} has no hyperparameter {unknown or '(bad value type)'}; "
                          f"its hyperparameters: {known}") from None
    except ValueError as error:
        raise OptionError(f"--hp: {error}") from None


def _space_params(program, items) -> dict:
    params = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise OptionError(f"--param expects NAME=VALUE, got '{item[:80]}'")
        params[key] = program.argument(key, value)
    return params


def _input_shape(space) -> tuple:
    inputs = space.model.graph.input_nodes
    if len(inputs) != 1:
        raise OptionError(f"{space.name} has {len(inputs)} inputs; archlang supernet trains spaces of one input")
    return tuple(inputs[0].type.shape)


def _config(args, space, method, world: int, spec: str) -> dict:
    """What a resumed run must share with the run that wrote the checkpoint (``spec``: the
    fingerprint of the spec's text)."""
    return {"spec": spec, "space": space.name, "space_hash": space.hash,
            "method": method.name, "hyperparameters": repr(sorted(method.hyperparameters().items())),
            "data": args.data, "epochs": args.epochs, "seed": args.seed, "batch_size": args.batch_size,
            "limit_batches": args.limit_batches, "world": world}


# ---- outputs --------------------------------------------------------------------------------------


def _write_outputs(net, result, out: Path, args) -> None:
    from archlang.oneshot.report import write_results  # imports safetensors and torch

    info = {"file": args.file, "seed": args.seed, "data": args.data, "world": int(os.environ.get("WORLD_SIZE", "1"))}
    written = write_results(net, result, out, info, plots=not args.no_plots)
    if not args.no_plots:
        written += _diagram(out / "best.svg", net.space, result.assignment)
    count = sum(p.numel() for p in net.subnet(result.assignment).parameters())
    print(f"best architecture: {result.assignment.dumps()} ({count:,} parameters)")
    print(f"wrote {', '.join(p.name for p in written)} in {out}")


def _diagram(path: Path, space, assignment) -> list[Path]:
    """The derived architecture's diagram (through the API); a note instead without ``dot``."""
    from archlang.backends.graphviz import RenderError

    try:
        archlang.render(space.fix(assignment), path=path)
    except RenderError as error:
        print(f"archlang: note: diagram skipped ({error.message}); wrote {path.with_suffix('.dot').name}",
              file=sys.stderr)
        return []
    return [path]


# ---- progress -------------------------------------------------------------------------------------


def _progress(quiet: bool, space: str, method: str) -> "EpochProgress":
    return EpochProgress(f"{space} · {method}", quiet=quiet)


class EpochProgress:
    """A rich progress bar over the steps of the run on a terminal; elsewhere (CI logs) one
    line per epoch.  ``quiet``: nothing.  Reports to stderr; the results go to stdout."""

    def __init__(self, label: str, *, quiet: bool = False, stream=None) -> None:
        self.label, self.quiet = label, quiet
        self.stream = stream or sys.stderr
        self.bar = self.task = None
        self.epochs = 0

    def __enter__(self) -> "EpochProgress":
        if not self.quiet and self.stream.isatty() and os.environ.get("TERM") != "dumb":
            self.bar = _rich_bar(self.stream)
            if self.bar is not None:
                self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def begin(self, epochs: int, steps: int | None, done: int) -> None:
        self.epochs = epochs
        if self.bar is not None:
            total = epochs * steps if steps else None
            self.task = self.bar.add_task(self.label, total=total, completed=done * (steps or 0), info="")

    def step(self, epoch: int, step: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=1, info=f"epoch {epoch + 1}/{self.epochs} loss {loss:.4f}")

    def end_epoch(self, record: dict) -> None:
        if self.quiet:
            return
        accuracy = record.get("valid_accuracy")
        line = (f"{self.label}: epoch {record['epoch']}/{self.epochs}: train loss {record['train_loss']:.4f}"
                + (f", valid accuracy {accuracy:.4f}" if accuracy is not None else "") + f" ({record['seconds']:.1f}s)")
        self.note(line)

    def note(self, text: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.console.print(text)
        else:
            print(text, file=self.stream, flush=True)


def _rich_bar(stream):
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    except ImportError:  # rich is optional: plain lines then
        return None
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("{task.fields[info]}"), console=Console(file=stream), transient=False)
