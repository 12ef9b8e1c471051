"""Text for the ``archlang space`` and ``archlang sample`` commands: a space's size, distinct
architectures and table of decisions; sampled architectures written as .arch files.
Must not import a backend.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from archlang import files
from archlang.errors import SpaceError
from archlang.nas.constraints import metrics
from archlang.nas.hashing import ENUMERATION_LIMIT
from archlang.report import html


def describe_space(space, unique_limit: int = 20_000) -> str:
    size = space.size()
    lines = [f"space {space.name} ({space.program.file})",
             f"size:     {size:,} configuration{'s' if size != 1 else ''}"]
    if space.constraints:
        lines.append(f"feasible: {_feasible(space, size, unique_limit)}")
    lines += [f"distinct: {_unique(space, size, unique_limit)}",
              f"decisions ({len(space.decisions)}):"]
    rows = [("label", "kind", "options", "active")]
    rows += [(d.label, _kind(d), _options(d), when_text(d.when, space.tree.by_label)) for d in space.decisions]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        lines.append("  " + "  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3])
    if space.constraints:
        lines.append(f"constraints ({len(space.constraints)}), honoured by sample, enumerate and search:")
        lines += [f"  {c.text}  ({c.span.file}:{c.span.line})" for c in space.constraints]
    return "\n".join(lines) + "\n"


def _feasible(space, size: int, limit: int) -> str:
    if size > limit:
        return f"not counted (--unique-limit {size} checks all {size:,} configurations)"
    count = space.size(feasible=True)
    return f"{count:,} configuration{'s' if count != 1 else ''} meet the constraints"


def _unique(space, size: int, limit: int) -> str:
    if size > max(limit, ENUMERATION_LIMIT):
        return f"not counted ({size:,} configurations are too many to hash one by one)"
    if size > limit:
        return f"not counted (--unique-limit {size} hashes all {size:,} configurations)"
    try:
        return f"{space.size(unique=True):,} architectures (canonical hashes)"
    except SpaceError as error:
        return f"not counted ({error.diagnostics[0].message if error.diagnostics else error})"


def _kind(decl) -> str:
    return f"subset of {decl.k}" if decl.kind == "subset" else decl.kind


def _options(decl, limit: int = 140) -> str:
    text = " | ".join(decl.display) if decl.display else " | ".join(_option(o) for o in decl.options)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _option(option) -> str:
    if isinstance(option, (list, tuple)):
        return "[" + ", ".join(map(str, option)) + "]"
    return str(option)


def option_names(decision) -> tuple:
    """What each option of ``decision`` is called in a study: its value when that is a plain
    number or string, else how tables show it; made unique (``Conv#2``) when two read alike.
    Kept on the decision: the engine names every trial's options."""
    cached = getattr(decision, "_option_names", None)
    if cached is None:
        cached = decision._option_names = _unique_names(_names(decision))
    return cached


def _names(decision) -> tuple:
    decl = decision.decl
    if decl.kind == "subset":
        return tuple("+".join(str(decl.options[i]) for i in decision.value(n)) for n in range(decision.arity))
    if decl.display:
        return tuple(decl.display)
    return tuple(o if isinstance(o, (int, float, str)) and not isinstance(o, bool) else _option(o) for o in decl.options)


def _unique_names(names: tuple) -> tuple:
    if len(set(names)) == len(names):
        return names
    return tuple(f"{name}#{i}" if names.count(name) > 1 else name for i, name in enumerate(names))


def when_text(when, decisions) -> str:
    """``always``, or the conditions: ``stage1.depth ∈ {2, 3}``, ``stage1.kind = ConvStage``."""
    if () in when:
        return "always"
    return " or ".join(" and ".join(_condition(label, allowed, decisions) for label, allowed in conj) for conj in when)


def _condition(label: str, allowed, decisions) -> str:
    decision = decisions.get(label)
    if decision is None:
        names = [str(i) for i in allowed]
    elif decision.decl.kind == "subset":
        names = [_option(decision.value(i)) for i in allowed]
    else:
        names = [_option(decision.decl.options[i]) for i in allowed]
    return f"{label} = {names[0]}" if len(names) == 1 else f"{label} ∈ {{{', '.join(names)}}}"


def sample_files(space, n: int, seed: int, constraints, out: Path | None):
    """Lines to print: without ``out`` the first architecture's .arch text; with it, one line
    per file written."""
    rng = random.Random(seed)
    if out is not None:
        files.make_folder(out)
    for i in range(n):
        assignment = space.sample(rng, constraints=constraints)
        text = space.to_arch(assignment)
        if out is None:
            yield text.rstrip("\n")
            return
        path = out / f"{space.name}_{i}.arch"
        files.write_text(path, text)
        values = metrics(space, assignment, ("params",))
        yield f"wrote {path} ({values['params']:,} parameters, hash {space.canonical_hash(assignment)[:12]})"


def space_html(space, unique_limit: int = 1_000) -> str:
    """A space in a notebook: its size, distinct architectures (counted only up to
    ``unique_limit`` configurations: hashing each one takes a while) and its decision table."""
    size = space.size()
    items = [("size", f"{size:,} configuration{'s' if size != 1 else ''}"),
             ("distinct", _unique(space, size, unique_limit) if size <= unique_limit
              else f"not counted here (space.size(unique=True) hashes all {size:,} configurations)")]
    rows = [(d.label, _kind(d), _options(d), when_text(d.when, space.tree.by_label)) for d in space.decisions]
    table = html.table(("label", "kind", "options", "active"), rows, caption=f"decisions ({len(rows)})")
    return html.facts(f"space {space.name} ({_near(space.program.file)})", items) + table


def _near(file) -> str:
    """A path as short as it reads from the working folder (a notebook's), not the machine's."""
    try:
        relative = os.path.relpath(file)
    except ValueError:  # another drive
        return str(file)
    return relative if len(relative) < len(str(file)) else str(file)
