"""What every ``archlang`` command shares, applied once to the whole argparse tree.

``apply(parser)`` runs after ``build_parser`` has made every sub-parser, so a command added
anywhere (``ops``, ``lsp``, a future ``supernet`` or ``study list``) gets the same behaviour
without registering itself:

* ``-q/--quiet`` and ``-v/--verbose`` (``args.quiet``, ``args.verbose``);
* an ``examples:`` section at the end of ``--help`` (from ``archlang.cli.examples``, or one
  built from the command's required arguments when it has none there yet);
* ``-m`` shown as ``MODEL`` unless the command labelled it (``SPACE`` where a space is meant).

``say`` prints a command's chatter ("wrote …"), which ``-q`` silences; a command's data (IR,
a table, DOT) is printed whatever ``-q`` says; ``note`` is what ``-v`` adds on stderr.
``use_color`` is the one colour policy (NO_COLOR, FORCE_COLOR, a terminal).  Imports only the
standard library and ``archlang.cli.examples``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator

from archlang.cli.examples import EXAMPLES


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, except that the examples section keeps its lines as written, and
    the width comes from ``terminal_columns`` (argparse's own imports ``shutil``, and with it
    ``bz2`` and ``lzma``: 2.5 ms of every command's start-up, for one number)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        filled = []
        for paragraph in text.split("\n\n"):
            kept = paragraph.startswith("examples:")
            filled.append(paragraph if kept else super()._fill_text(paragraph, width, indent))
        return "\n\n".join(filled)


class Parser(argparse.ArgumentParser):
    """argparse's parser with ``HelpFormatter`` unless told otherwise; sub-parsers are made of
    the parser's own class, so every command has it."""

    def __init__(self, *args, formatter_class: type = HelpFormatter, **kwargs) -> None:
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def terminal_columns() -> int:
    """The width ``shutil.get_terminal_size`` gives: ``COLUMNS`` when it is a positive number,
    else the width of the terminal on standard output, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def commands(parser: argparse.ArgumentParser, path: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command that runs something, as ("study show", its parser), depth first."""
    for name, sub in _parsers(parser, path):
        if not _children(sub):
            yield name, sub


def groups(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command that holds commands (``study``), as (name, its parser)."""
    for name, sub in _parsers(parser, ""):
        if _children(sub):
            yield name, sub


def _parsers(parser: argparse.ArgumentParser, path: str):
    for name, sub in _children(parser).items():
        yield f"{path} {name}".strip(), sub
        yield from _parsers(sub, f"{path} {name}".strip())


def _children(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return {name: sub for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name, sub in action.choices.items()}


def apply(parser: argparse.ArgumentParser) -> None:
    for name, sub in commands(parser):
        sub.formatter_class = HelpFormatter
        _add_verbosity(sub)
        _label_model(sub)
        sub.epilog = examples_section(name, sub)
    for name, group in groups(parser):  # ``study --help``: an example of each of its commands
        group.formatter_class = HelpFormatter
        lines = [examples_section(child, sub).splitlines()[1] for child, sub in commands(group, name)]
        group.epilog = "examples:\n" + "\n".join(lines)


def _add_verbosity(parser: argparse.ArgumentParser) -> None:
    """-q/--quiet and -v/--verbose, each flag only where the command has not used it already."""
    taken = parser._option_string_actions
    if "--quiet" in taken and "-q" not in taken:  # a command that had only the long form
        taken["--quiet"].option_strings.insert(0, "-q")
        taken["-q"] = taken["--quiet"]
    elif "--quiet" not in taken:
        flags = [flag for flag in ("-q", "--quiet") if flag not in taken]
        parser.add_argument(*flags, dest="quiet", action="store_true", help="print only results and errors")
    if "--verbose" not in taken:
        flags = [flag for flag in ("-v", "--verbose") if flag not in taken]
        parser.add_argument(*flags, dest="verbose", action="count", default=0,
                            help="say what is done and how long it takes (on stderr)")


def _label_model(parser: argparse.ArgumentParser) -> None:
    action = parser._option_string_actions.get("-m")
    if action is not None and action.metavar is None:
        action.metavar = "MODEL"


def examples_section(name: str, parser: argparse.ArgumentParser) -> str:
    lines = EXAMPLES.get(name) or (_from_usage(name, parser),)
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _from_usage(name: str, parser: argparse.ArgumentParser) -> str:
    """``archlang NAME`` with its required arguments, for a command with no examples yet."""
    words = [f"archlang {name}"]
    for action in parser._actions:
        if action.option_strings and action.required:
            words.append(f"{action.option_strings[0]} {action.metavar or action.dest.upper()}")
        elif not action.option_strings and action.nargs not in ("?", "*"):
            words.append(action.metavar or action.dest.upper())
    return " ".join(words)


def say(args: argparse.Namespace, *values: object, file=None) -> None:
    """Print a line of chatter unless ``-q`` was given."""
    if not getattr(args, "quiet", False):
        print(*values, file=file or sys.stdout)


def note(args: argparse.Namespace, text: str) -> None:
    """With ``-v``: one line on stderr about what is being done."""
    if getattr(args, "verbose", 0):
        print(f"archlang: {text}", file=sys.stderr)


def use_color(stream) -> bool:
    """Colour on ``stream``: never when ``NO_COLOR`` is set and not empty (no-color.org),
    always when ``FORCE_COLOR`` is (force-color.org), else only on a terminal that is not dumb."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False
