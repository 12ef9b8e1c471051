"""What the fuzz tests share: running the CLI in-process on a spec and judging the outcome,
and a grammar-aware generator of mostly-valid specs (hypothesis).

An outcome is allowed when the command exits 0, or exits 1 with located errors only (every
``file:line:col: error:`` line names a line of that file and a column inside it), prints no
traceback, and stays within its CPU budget.  Memory is bounded where the CLI runs in a
subprocess under ``prlimit --as`` (tests/test_fuzz_grammar.py).

The generator writes specs the way people do (blocks with a tensor input, layers built and
applied, Sequentials over comprehensions, if/for, block calls, choices in spaces, constants)
and, now and then, gets something wrong or extreme: a width that does not match, an unknown
name, a huge or negative number, a recursion without end, a control character in a comment.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from archlang.errors.sources import source_line

CPU_PER_COMMAND = 10.0  # seconds of CPU a command may take on a generated spec (they take < 1 s)
_ERROR_HEAD = re.compile(r"^(.+?):(\d+):(\d+): error: ", re.M)


# ---- running and judging ---------------------------------------------------------------------


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    cpu: float


def run_cli(argv: list[str], capsys) -> Outcome:
    """``archlang argv`` in this process, as a user runs it (the CLI's own error handling)."""
    from archlang.cli.app import main

    capsys.readouterr()
    start = time.process_time()
    code = main(argv)
    cpu = time.process_time() - start
    out, err = capsys.readouterr()
    return Outcome(code, out, err, cpu)


def assert_allowed(outcome: Outcome, what: str) -> None:
    """Success, or exit 1 with located errors only, no traceback, within the CPU budget."""
    assert "Traceback" not in outcome.stderr, f"{what}: traceback\n{outcome.stderr}"
    assert outcome.cpu < CPU_PER_COMMAND, f"{what}: {outcome.cpu:.1f} s of CPU"
    assert outcome.code in (0, 1), f"{what}: exit {outcome.code}\n{outcome.stderr}"
    if outcome.code == 1:
        assert_located(outcome.stderr, what)


def assert_located(stderr: str, what: str) -> None:
    heads = _ERROR_HEAD.findall(stderr)
    assert heads, f"{what}: exit 1 without a located error\n{stderr}"
    for file, line, col in heads:
        text = source_line(file, int(line))
        assert text is not None, f"{what}: {file}:{line} is not a line of {file}\n{stderr}"
        assert 1 <= int(col) <= len(text) + 1, f"{what}: {file}:{line}:{col} is outside the line\n{stderr}"


def entry_points(text: str) -> list[str]:
    """The models and spaces a spec defines (by a cheap look at its text)."""
    return re.findall(r"^(?:model|space)\s+([A-Za-z_]\w*)", text, re.M)


def exercise(path: Path, capsys, tmp: Path, *, backends: bool = True) -> list[Outcome]:
    """``check``, then for each entry point ``summary``, ``ir`` and ``render`` (DOT), and for
    models ``compile`` and ``export``: every outcome must be allowed."""
    outcomes = [run_cli(["check", str(path)], capsys)]
    assert_allowed(outcomes[0], f"check {path.name}")
    if outcomes[0].code != 0:
        return outcomes
    text = path.read_text(encoding="utf-8", errors="replace")
    for name in entry_points(text)[:2]:
        summary = run_cli(["summary", str(path), "-m", name, "--json"], capsys)
        assert_allowed(summary, f"summary {path.name} -m {name}")
        commands = [["ir", str(path), "-m", name], ["render", str(path), "-m", name]]
        if backends and re.search(rf"^model\s+{name}\b", text, re.M) and _small_weights(summary):
            commands += [["compile", str(path), "-m", name, "-o", str(tmp / f"{name}.pt")],
                         ["export", str(path), "-m", name, "-o", str(tmp / f"{name}.onnx")]]
        for argv in commands:
            outcome = run_cli(argv, capsys)
            assert_allowed(outcome, " ".join(argv[:1] + [path.name] + argv[2:]))
            outcomes.append(outcome)
    return outcomes


MAX_FUZZ_PARAMS = 2_000_000


def _small_weights(summary: Outcome) -> bool:
    """Whether compile and export are tried: they allocate the weights.  Weights that do not
    fit in memory are refused before allocation (archlang.ir.memory, tested in
    tests/test_api_arguments.py and tests/test_cli_safety.py); below that, a generated model of
    hundreds of MB would only spend the fuzzer's time filling memory, so it stops at 2M."""
    if summary.code != 0:
        return False
    params = json.loads(summary.stdout)["params"]
    return isinstance(params, int) and params <= MAX_FUZZ_PARAMS


def fuzz_seconds() -> float:
    """``make fuzz`` sets ARCHLANG_FUZZ_SECONDS: how long the open-ended runs go on (0: not run)."""
    return float(os.environ.get("ARCHLANG_FUZZ_SECONDS", "0") or 0)


# ---- the grammar-aware generator -------------------------------------------------------------

SMALL = st.integers(1, 16)
ODD_NUMBERS = ["0", "-1", "-8", "2**62", "2**63", "10**9", "99999999999999999999", "1e308", "0.5", "10000"]
ACTIVATIONS = ["relu", "gelu", "tanh", "sigmoid", "silu"]
LAYER_ACTIVATIONS = ["ReLU()", "GELU()", "Tanh()", "Identity()", "SiLU()", "Dropout(0.1)"]
ODD_TEXT = ["ünïcödé", "\t", "\x1b]0;title\x07", "\u2028", "\x0c", "\u202e", '"quoted"', "\\"]


@dataclass
class _Scope:
    """What a body being generated has: tensors with their widths, constants, blocks."""

    constants: list[str]
    blocks: list[tuple[str, int]]  # (name, number of int parameters): maps [B, d] -> [B, d]
    space: bool
    tensors: list[tuple[str, str]] = field(default_factory=list)  # (name, width expression)
    counter: int = 0

    def fresh(self, base: str) -> str:
        self.counter += 1
        return f"{base}{self.counter}"


def _rarely(draw, p: float = 0.04) -> bool:
    """True with probability about ``p`` (hypothesis favours the low end of a range: the rare
    outcome is the high end)."""
    return draw(st.integers(0, 9999)) >= 10000 - int(p * 10000)


@st.composite
def int_exprs(draw, names: tuple[str, ...] = (), depth: int = 0) -> str:
    """An integer expression: mostly small and valid; sometimes huge, negative or not an int."""
    if _rarely(draw, 0.02):
        return draw(st.sampled_from(ODD_NUMBERS))
    kinds = ["literal", "literal", "name", "binary", "call"] if depth < 2 else ["literal", "name"]
    kind = draw(st.sampled_from(kinds))
    if kind == "name" and names:
        return draw(st.sampled_from(names))
    if kind == "binary":
        op = draw(st.sampled_from(["+", "-", "*", "//", "%", "**"]))
        left = draw(int_exprs(names, depth + 1))
        right = draw(SMALL.map(str)) if op in ("//", "%", "**") else draw(int_exprs(names, depth + 1))
        return f"({left} {op} {right})"
    if kind == "call":
        a, b = draw(int_exprs(names, depth + 1)), draw(int_exprs(names, depth + 1))
        return draw(st.sampled_from([f"min({a}, {b})", f"max({a}, {b})", f"len(range({a}))",
                                     f"abs({a})", f"round({a}, -{b})", f"int({a} / 2)",
                                     f"sum([{a}, {b}])", f"len([i for i in range({a}) if i % 2 == 0])"]))
    return str(draw(SMALL))


def _width(draw, scope: _Scope, current: str) -> str:
    """A width for a new layer: usually the current one or a small number, now and then off."""
    if _rarely(draw, 0.03):
        return draw(int_exprs(tuple(scope.constants)))
    return draw(st.sampled_from([current, current, str(draw(SMALL)), *scope.constants[:2]]))


@st.composite
def statements(draw, scope: _Scope, depth: int = 0) -> list[str]:
    """Lines of one statement (indented by the caller), updating the scope's current tensor."""
    name, width = scope.tensors[-1]
    out = scope.fresh("h")
    kinds = ["linear", "act", "norm", "seq", "residual", "layer_act", "assert", "let_use"]
    if depth < 2:
        kinds += ["for", "if"]
    if scope.blocks:
        kinds += ["block", "block"]
    if scope.space:
        kinds += ["choice_layer", "choice_width", "constrain", "choice_repeat"]
    kind = draw(st.sampled_from(kinds))
    if kind == "linear":
        given = width if not _rarely(draw) else draw(int_exprs(tuple(scope.constants)))
        new = _width(draw, scope, width)
        scope.tensors.append((out, new))
        return [f"{out} = Linear({given}, {new})({name})"]
    if kind == "act":
        scope.tensors.append((out, width))
        return [f"{out} = {draw(st.sampled_from(ACTIVATIONS))}({name})"]
    if kind == "layer_act":
        scope.tensors.append((out, width))
        return [f"{out} = {draw(st.sampled_from(LAYER_ACTIVATIONS))}({name})"]
    if kind == "norm":
        scope.tensors.append((out, width))
        return [f"{out} = LayerNorm({width})({name})"]
    if kind == "residual":
        other = draw(st.sampled_from([t for t, w in scope.tensors if w == width] or [name]))
        scope.tensors.append((out, width))
        return [f"{out} = {name} + {other}"]
    if kind == "seq":
        count = draw(int_exprs(tuple(scope.constants))) if _rarely(draw, 0.15) else str(draw(SMALL))
        seq = scope.fresh("s")
        scope.tensors.append((out, width))
        return [f"{seq} = Sequential([Linear({width}, {width}) for i in range({count})])", f"{out} = {seq}({name})"]
    if kind == "assert":
        cond = f"{draw(int_exprs(tuple(scope.constants)))} >= {draw(int_exprs(()))}"
        message = draw(st.sampled_from(ODD_TEXT)).replace("\\", "\\\\").replace('"', '\\"')
        return [f'assert {cond}, "{message} failed"']
    if kind == "let_use":
        value = scope.fresh("k")
        return [f"{value} = {draw(int_exprs(tuple(scope.constants)))}"]
    if kind == "for":
        body = [f"    {name} = {draw(st.sampled_from(ACTIVATIONS))}({name})"]
        return [f"for i in range({draw(int_exprs(tuple(scope.constants)))}) {{", *body, "}"]
    if kind == "if":
        cond = f"{draw(int_exprs(tuple(scope.constants)))} > {draw(int_exprs(tuple(scope.constants)))}"
        scope.tensors.append((out, width))
        return [f"if {cond} {{", f"    {out} = relu({name})", "} else {", f"    {out} = tanh({name})", "}"]
    if kind == "block":
        block, arity = draw(st.sampled_from(scope.blocks))
        args = [width] + [draw(int_exprs(tuple(scope.constants))) for _ in range(arity - 1)]
        layer = scope.fresh("b")
        scope.tensors.append((out, width))
        return [f"{layer} = {block}({', '.join(args)})", f"{out} = {layer}({name})"]
    if kind == "choice_layer":
        options = draw(st.lists(st.sampled_from(LAYER_ACTIVATIONS), min_size=1, max_size=3))
        scope.tensors.append((out, width))
        return [f"{out} = choice({', '.join(options)})({name})"]
    if kind == "choice_width":
        hidden = scope.fresh("c")
        return [f"{hidden} = choice({draw(SMALL)}, {draw(SMALL)})",
                f"{out} = Linear({hidden}, {width})(Linear({width}, {hidden})({name}))"] + _keep(scope, out, width)
    if kind == "choice_repeat":
        seq = scope.fresh("s")
        scope.tensors.append((out, width))
        return [f"{seq} = Sequential([ReLU() for i in range(choice(1, {draw(SMALL)}))])", f"{out} = {seq}({name})"]
    limit = draw(st.sampled_from(["params < 100000", "macs > 0", "params >= 0"]))
    return [f"constrain {limit}"]


def _keep(scope: _Scope, out: str, width: str) -> list[str]:
    scope.tensors.append((out, width))
    return []


@st.composite
def bodies(draw, scope: _Scope, width: str) -> list[str]:
    scope.tensors = [("x", width)]
    lines = [f"input x: [B, {width}]"]
    for _ in range(draw(st.integers(1, 6))):
        lines += draw(statements(scope))
    result = scope.tensors[-1][0]
    if _rarely(draw, 0.03):
        result = draw(st.sampled_from(["y", "undefined_name", "x.shape"]))
    return lines + [f"return {result}"]


def _definition(head: str, lines: list[str], doc: str | None = None) -> str:
    inner = ([f'    """{doc}"""'] if doc is not None else []) + [f"    {line}" for line in lines]
    return head + " {\n" + "\n".join(inner) + "\n}\n"


@st.composite
def specs(draw) -> str:
    """A whole spec: constants, blocks (maybe a recursive one), models and spaces."""
    parts: list[str] = []
    constants = []
    for i in range(draw(st.integers(0, 3))):
        constants.append(f"K{i}")
        parts.append(f"let K{i} = {draw(int_exprs(tuple(constants[:-1])))}\n")
    if _rarely(draw, 0.3):
        parts.append(f"# {draw(st.sampled_from(ODD_TEXT))} a comment\n")
    blocks: list[tuple[str, int]] = []
    for i in range(draw(st.integers(0, 2))):
        arity = draw(st.integers(1, 2))
        params = ", ".join(["d: int"] + [f"p{j}: int = {draw(SMALL)}" for j in range(1, arity)])
        scope = _Scope(constants + ["d"], list(blocks), space=False)
        parts.append(_definition(f"block Blk{i}({params})", draw(bodies(scope, "d"))))
        blocks.append((f"Blk{i}", arity))
    if _rarely(draw, 0.15):
        parts.append(_recursive_block(draw))
        blocks.append(("Rec", 2))
    for i in range(draw(st.integers(1, 2))):
        space = draw(st.booleans())
        scope = _Scope(list(constants), list(blocks), space=space)
        doc = draw(st.sampled_from(ODD_TEXT)) if _rarely(draw, 0.1) else None
        width = draw(st.sampled_from([str(draw(SMALL)), *constants[:1]]))
        parts.append(_definition(f"{'space' if space else 'model'} M{i}()", draw(bodies(scope, width)), doc))
    if blocks and draw(st.booleans()):
        block, arity = draw(st.sampled_from(blocks))
        args = ", ".join(draw(int_exprs(tuple(constants))) for _ in range(arity))
        parts.append(f"model A = {block}({args})\n")
    return "\n".join(parts)


def _recursive_block(draw) -> str:
    """A block that calls itself with n - 1 (once, twice: shared, or with new arguments)."""
    calls = draw(st.sampled_from([
        ["a = Rec(d, n - 1)", "return a(x)"],
        ["a = Rec(d, n - 1)", "b = Rec(d, n - 1)", "return b(a(x))"],
        ["a = Rec(d, n - 1)", "b = Rec(d + 0 * n, n - 1)", "return a(x) + b(x)"],
    ]))
    lines = ["input x: [B, d]", "if n <= 0 {", "    return relu(x)", "}", *calls]
    return _definition("block Rec(d: int, n: int = 3)", lines)
