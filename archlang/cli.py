"""The ``archlang`` command line: check, fmt, ir, summary and compile.

Exit codes: 0 success, 1 a spec error (printed as located diagnostics), 2 a usage error.
A Python traceback means a bug in archlang itself.  Colour only on a terminal.
Backends are looked up lazily, so ``archlang check`` never imports torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import archlang
from archlang.diagnostics import render_error
from archlang.errors import ArchError, ArchTypeError, Span


class UsageError(Exception):
    """A bad command line (exit 2)."""


def _color(stream) -> bool:
    return stream.isatty() and os.environ.get("NO_COLOR") is None and os.environ.get("TERM") != "dumb"


# ---- check -------------------------------------------------------------------------------


def cmd_check(args) -> int:
    failed = False
    for path in args.files:
        try:
            program = archlang.load(path)
        except ArchError as error:
            print(render_error(error, _color(sys.stderr)), file=sys.stderr)
            failed = True
            continue
        if args.list:
            _print_definitions(program)
        elif not args.quiet:
            print(f"{path}: ok ({_counts(program)})")
    return 1 if failed else 0


def _counts(program) -> str:
    parts = []
    for kind, names in (("model", program.models), ("space", program.spaces), ("block", program.blocks)):
        if names:
            parts.append(f"{len(names)} {kind}{'s' if len(names) != 1 else ''}")
    return ", ".join(parts) or "no definitions"


def _print_definitions(program) -> None:
    for name, definition in program.definitions.items():
        params = ", ".join(p.name + (f": {p.type}" if p.type else "") for p in definition.params)
        doc = f"  — {definition.doc.splitlines()[0]}" if definition.doc else ""
        signature = f"({params})" if params or definition.alias is None else ""
        print(f"{definition.kind:<6} {name}{signature}{doc}")


# ---- fmt ---------------------------------------------------------------------------------


def cmd_fmt(args) -> int:
    from archlang.fmt import format_source

    changed, failed = [], False
    for path in args.files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            print(f"{path}: error: cannot read: {exc.strerror or exc}", file=sys.stderr)
            failed = True
            continue
        try:
            formatted = format_source(text, path)
        except ArchError as error:
            print(render_error(error, _color(sys.stderr)), file=sys.stderr)
            failed = True
            continue
        if formatted != text:
            changed.append(path)
            if not args.check:
                _write_atomically(Path(path), formatted)
    for path in changed:
        print(f"{'would reformat' if args.check else 'reformatted'} {path}")
    return 1 if failed or (args.check and changed) else 0


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.archlang-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ---- ir ----------------------------------------------------------------------------------


def cmd_ir(args) -> int:
    program = archlang.load(args.file)
    model = program.elaborate(args.model, params=parse_params(program, args.param), inputs=parse_inputs(args.input))
    sys.stdout.write(archlang.format_ir(model))
    return 0


def parse_params(program, items: list[str]) -> dict:
    """``--param k=v``: v is a constant expression of the language, evaluated in the file's scope."""
    from archlang import syntax
    from archlang.elaborate import Body, Context
    from archlang.sources import register_source
    from archlang.values import BlockRef
    from archlang import ast

    params = {}
    for item in items or ():
        key, value = _split_assignment(item, "--param")
        file = f"<--param {key}>"
        text = f"let {key} = {value}"
        register_source(file, text)
        let = syntax.parse(text, file).items[0]
        holder = ast.BlockDef("block", f"--param {key}", (), None, (), None, let.span)
        params[key] = Body(Context(), BlockRef(holder, program.unit), {}).eval(let.value)
    return params


def parse_inputs(items: list[str]) -> dict:
    """``--input x=1x3x224x224`` (a name like ``B`` keeps that size symbolic)."""
    from archlang import dims

    inputs = {}
    for item in items or ():
        key, value = _split_assignment(item, "--input")
        shape = []
        for part in value.lower().replace("×", "x").split("x") if value else []:
            if part.isdigit() and int(part) > 0:
                shape.append(int(part))
            elif part.isidentifier():
                shape.append(dims.sym(part.upper() if len(part) == 1 else part))
            else:
                raise UsageError(f"--input {item}: sizes are positive integers or names, separated by 'x'")
        inputs[key] = tuple(shape)
    return inputs


def _split_assignment(item: str, flag: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.isidentifier():
        raise UsageError(f"{flag} expects NAME=VALUE, got '{item}'")
    return key, value


# ---- compile and summary --------------------------------------------------------------


def _model_from_args(args):
    program = archlang.load(args.file)
    return program.elaborate(args.model, params=parse_params(program, args.param),
                             inputs=parse_inputs(getattr(args, "input", None)))


def cmd_compile(args) -> int:
    from archlang.backends.torch import build_module
    from archlang.backends.torch.checkpoint import save_state_dict

    model = _model_from_args(args)
    module = build_module(model, seed=args.seed)
    fmt = args.format or ("safetensors" if args.output.endswith(".safetensors") else "pt")
    save_state_dict(module, Path(args.output), fmt)
    count = sum(p.numel() for p in module.parameters())
    print(f"wrote {args.output} ({fmt}, {count:,} parameters, {len(module.state_dict())} tensors)")
    return 0


def cmd_summary(args) -> int:
    import json

    from archlang.summarize import format_summary, summarize

    summary = summarize(_model_from_args(args))
    if args.json:
        print(json.dumps(summary.to_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(format_summary(summary, depth=args.depth))
    return 0


# ---- main --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archlang",
        description="A declarative language for neural-network architectures and search spaces.",
    )
    parser.add_argument("--version", action="version", version=f"archlang {archlang.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    check = sub.add_parser("check", help="parse and check .arch files (names, types, shapes)",
                           description="Parse and check .arch files: names, types and symbolic shapes of every model and space. Exit 1 on any error.")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--list", action="store_true", help="print the blocks, models and spaces each file defines")
    check.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    check.set_defaults(run=cmd_check)

    fmt = sub.add_parser("fmt", help="format .arch files canonically (keeps comments)",
                         description="Rewrite .arch files in the canonical style, keeping comments. Idempotent.")
    fmt.add_argument("files", nargs="+", metavar="FILE")
    fmt.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would be reformatted")
    fmt.set_defaults(run=cmd_fmt)

    ir = sub.add_parser("ir", help="print the elaborated IR of a model or space, one line per node",
                        description="Elaborate MODEL from FILE and print its IR: one line per node with inferred types.")
    ir.add_argument("file", metavar="FILE")
    ir.add_argument("-m", "--model", required=True, help="the model, space or block to elaborate")
    ir.add_argument("--param", action="append", metavar="K=V", help="set a parameter (a constant expression: 10, [2, 2], Bottleneck)")
    ir.add_argument("--input", action="append", metavar="X=SHAPE", help="give an input a shape, e.g. x=1x3x224x224")
    ir.set_defaults(run=cmd_ir)

    compile_ = sub.add_parser("compile", help="build the PyTorch module of a model and save its state dict",
                              description="Build MODEL as a torch.nn.Module (parameter names from the spec, "
                              "PyTorch's default initialisation) and save its state dict.")
    _model_arguments(compile_)
    compile_.add_argument("-o", "--output", required=True, help="where to write the weights (.pt or .safetensors)")
    compile_.add_argument("--seed", type=int, default=None, help="seed for a reproducible initialisation")
    compile_.add_argument("--format", choices=("pt", "safetensors"), help="file format (default: from the suffix)")
    compile_.set_defaults(run=cmd_compile)

    summary = sub.add_parser("summary", help="per-layer output shapes, parameters and MACs (analytic)",
                             description="A table of every layer and block call: output shape, parameters "
                             "and MACs, computed from the IR (no weights, no forward pass).")
    _model_arguments(summary)
    summary.add_argument("--depth", type=int, default=None, help="show blocks down to this depth (0 = top level)")
    summary.add_argument("--json", action="store_true", help='print {"params": …, "macs": …, "layers": […]}')
    summary.set_defaults(run=cmd_summary)
    return parser


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("-m", "--model", required=True, help="the model to use")
    parser.add_argument("--param", action="append", metavar="K=V", help="set a parameter (a constant expression)")
    parser.add_argument("--input", action="append", metavar="X=SHAPE", help="give an input a shape, e.g. x=1x3x224x224")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return args.run(args)
    except ArchError as error:
        print(render_error(error, _color(sys.stderr)), file=sys.stderr)
        return 1
    except UsageError as error:
        print(f"archlang: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
