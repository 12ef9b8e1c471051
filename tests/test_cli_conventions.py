"""What every command shares (docs/cli.md, "Conventions"): tables over the whole parser, so a
command added later is held to the same rules: --help has examples, -q/-v are accepted, ``-``
and folders work wherever files are taken, NO_COLOR/FORCE_COLOR, check's JSON and SARIF,
shell completion generated from the parser."""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archlang.cli import main
from archlang.cli.app import build_parser
from archlang.cli.completion import tree, walk
from archlang.cli.conventions import apply, commands, groups, use_color
from archlang.cli.examples import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = dict(commands(build_parser()))
GROUPS = dict(groups(build_parser()))

TINY = """\
model Tiny(width: int = 8) {
    input x: [B, 4]
    proj = Linear(4, width)
    return relu(proj(x))
}
"""
SPACE = """\
space Pick() {
    input x: [B, 4]
    width = choice([4, 8], label="width")
    proj = Linear(4, width)
    return proj(x)
}
"""
BAD = "model M() {\n    input x: [B, 4]\n    return relu(y)\n}\n"


def run(argv, capsys, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ---- help, examples, -q/-v on every command --------------------------------------------------


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_examples_quiet_and_verbose_in_its_help(name, capsys):
    code, out, _ = run([*name.split(), "--help"], capsys)
    assert code == 0
    assert "\nexamples:\n  archlang " + name in out
    assert "-q, --quiet" in out and "-v, --verbose" in out


@pytest.mark.parametrize("name", ["", *sorted(GROUPS)])
def test_the_top_level_and_every_group_have_examples_too(name, capsys):
    code, out, _ = run([*name.split(), "--help"], capsys)
    assert code == 0 and f"\nexamples:\n  archlang {name}".rstrip() in out


def test_examples_are_kept_as_written_and_name_only_existing_commands():
    assert set(EXAMPLES) <= set(COMMANDS), set(EXAMPLES) - set(COMMANDS)
    help_text = COMMANDS["check"].format_help()
    for line in EXAMPLES["check"]:
        assert f"\n  {line}\n" in help_text + "\n"


def _example_argv(line: str) -> list[str]:
    """The archlang arguments of an example line (without pipes, redirections, comments)."""
    words = shlex.split(line.split("|", 1)[1] if line.startswith("cat ") else line, comments=True)
    for stop in ("|", ">", "<"):
        words = words[: words.index(stop)] if stop in words else words
    assert words[0] == "archlang"
    return words[1:]


@pytest.mark.parametrize("name, line", [(name, line) for name, lines in EXAMPLES.items() for line in lines])
def test_every_example_parses_with_quiet_and_verbose(name, line):
    """An example that names a gone option or a bad value fails here, not for a user."""
    argv = _example_argv(line)
    assert " ".join(argv).startswith(name)
    build_parser().parse_args([*argv, "-q", "-v"])


READ_ONLY = [line for name in ("check", "ir", "space", "sample") for line in EXAMPLES[name]
             if not any(mark in line for mark in ("|", ">", " - ", " -o ", "specs/ "))]


@pytest.mark.parametrize("line", READ_ONLY)
def test_the_examples_that_only_read_run_from_a_checkout(line, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, _, err = run(_example_argv(line), capsys)
    assert code == 0, err


def test_a_command_without_examples_gets_one_from_its_usage():
    parser = argparse.ArgumentParser(prog="archlang")
    sub = parser.add_subparsers().add_parser("frob")
    sub.add_argument("file", metavar="FILE")
    sub.add_argument("-m", "--model", required=True)
    sub.add_argument("--depth")
    apply(parser)
    text = sub.format_help()
    assert "examples:\n  archlang frob FILE -m MODEL\n" in text
    assert sub.parse_args(["a.arch", "-m", "M", "-q", "-vv"]).verbose == 2


def test_a_command_that_took_a_flag_keeps_it():
    parser = argparse.ArgumentParser(prog="archlang")
    sub = parser.add_subparsers().add_parser("frob")
    sub.add_argument("-v", "--value", type=int)
    apply(parser)
    args = sub.parse_args(["-v", "3", "--verbose", "-q"])
    assert (args.value, args.verbose, args.quiet) == (3, 1, True)


def test_search_quiet_gets_its_short_form_once(capsys):
    code, out, _ = run(["search", "--help"], capsys)
    assert code == 0 and out.count("-q, --quiet") == 1


@pytest.mark.parametrize("name, metavar", [("ir", "MODEL"), ("compile", "MODEL"), ("render", "MODEL"),
                                           ("space", "SPACE"), ("sample", "SPACE"), ("search", "SPACE")])
def test_m_is_labelled_model_or_space(name, metavar):
    assert f"-m {metavar}, --model {metavar}" in COMMANDS[name].format_help()


@pytest.mark.parametrize("name", [n for n, p in COMMANDS.items() if "-o" in p._option_string_actions])
def test_o_is_documented_the_same_way(name):
    action = COMMANDS[name]._option_string_actions["-o"]
    assert action.option_strings == ["-o", "--output"]
    assert action.metavar in ("OUT", "DIR") and action.help.startswith("where to write")


def test_quiet_silences_chatter_but_not_data(tmp_path, capsys):
    spec = tmp_path / "tiny.arch"
    spec.write_text("model   Tiny() {\n input x: [B, 4]\n return relu(x)\n}\n")
    assert run(["fmt", "-q", str(spec)], capsys) == (0, "", "")
    assert run(["render", str(spec), "-m", "Tiny", "-q", "-o", str(tmp_path / "t.dot")], capsys) == (0, "", "")
    assert (tmp_path / "t.dot").read_text().startswith("digraph Tiny")
    code, out, _ = run(["ir", str(spec), "-m", "Tiny", "-q"], capsys)
    assert code == 0 and out.startswith("model Tiny")


def test_sample_accepts_quiet(tmp_path, capsys):
    spec = tmp_path / "pick.arch"
    spec.write_text(SPACE)
    code, out, _ = run(["sample", str(spec), "-m", "Pick", "-n", "2", "-o", str(tmp_path / "out"), "-q"], capsys)
    assert code == 0 and out == ""
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["Pick_0.arch", "Pick_1.arch"]


def test_verbose_says_what_was_done_on_stderr(tmp_path, capsys):
    (tmp_path / "a.arch").write_text(TINY)
    (tmp_path / "b.arch").write_text(TINY)
    code, out, err = run(["check", "-v", str(tmp_path)], capsys)
    assert code == 0 and out.count(": ok (1 model)") == 2
    assert err.startswith("archlang: checking 2 files\n") and "archlang: check done in " in err


# ---- '-' and folders wherever files are taken ------------------------------------------------

# Each file-taking command, with the arguments after FILE; compile, export and search take
# FILE through the same function as ir (app._program) and cost a model build each, so they
# are checked for that in test_one_model_commands_share_the_file_lookup.
FILE_COMMANDS = {
    "check": ([], TINY), "fmt": (["--check"], TINY), "ir": (["-m", "Tiny"], TINY),
    "summary": (["-m", "Tiny"], TINY), "render": (["-m", "Tiny"], TINY),
    "space": (["-m", "Pick"], SPACE), "sample": (["-m", "Pick"], SPACE),
}
BUILDS = {"compile", "export", "search", "supernet"}


def test_every_file_taking_command_is_in_the_table():
    taking = {name for name, node in _nodes().items() if node.takes_files}
    assert taking == set(FILE_COMMANDS) | BUILDS


def _nodes():
    return {" ".join(node.path): node for node in walk(tree(build_parser())) if node.path}


@pytest.mark.parametrize("name", sorted(FILE_COMMANDS))
def test_stdin_and_folders_give_what_the_file_gives(name, tmp_path, capsys, monkeypatch):
    rest, text = FILE_COMMANDS[name]
    folder = tmp_path / "specs"
    (folder / "nested").mkdir(parents=True)
    spec = folder / "nested" / "net.arch"
    spec.write_text(text)
    (folder / "other.arch").write_text("block Unrelated(d: int) {\n    input x: [B, d]\n    return x\n}\n")
    by_file = run([name, str(spec), *rest], capsys)
    by_stdin = run([name, "-", *rest], capsys, stdin=text, monkeypatch=monkeypatch)
    by_folder = run([name, str(folder / "nested"), *rest], capsys)
    assert by_file[0] == 0, by_file
    code, out, err = by_file
    assert by_stdin == (code, out.replace(str(spec), "<stdin>"), err.replace(str(spec), "<stdin>"))
    assert by_folder == by_file
    if name not in ("check", "fmt"):  # one model: the folder's file that defines it is used
        assert run([name, str(folder), *rest], capsys) == by_file


def test_one_model_commands_share_the_file_lookup(tmp_path, capsys):
    """compile and export read FILE as ir does (search too: app._program), before importing
    torch or onnx."""
    for name in sorted(BUILDS - {"search"}):
        required = ["--method", "spos", "--epochs", "1"] if name == "supernet" else []
        code, _, err = run([name, str(tmp_path), "-m", "Tiny", "-o", str(tmp_path / "o"), *required], capsys)
        assert (code, err) == (2, f"archlang: error: {tmp_path} holds no .arch file\n"), name


def test_check_expands_folders_in_sorted_order_and_skips_hidden_ones(tmp_path, capsys):
    for relative in ("b.arch", "a/z.arch", "a/y.arch", ".git/x.arch", "notes.txt"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(TINY)
    code, out, _ = run(["check", str(tmp_path)], capsys)
    assert code == 0
    assert [line.split(":")[0] for line in out.splitlines()] == [
        str(tmp_path / "a" / "y.arch"), str(tmp_path / "a" / "z.arch"), str(tmp_path / "b.arch")]


def test_fmt_reads_stdin_and_writes_stdout(capsys, monkeypatch):
    code, out, _ = run(["fmt", "-"], capsys, stdin="model   M() {\n  input x: [B,4]\n  return x # kept\n}\n",
                       monkeypatch=monkeypatch)
    assert code == 0 and out == "model M() {\n    input x: [B, 4]\n    return x  # kept\n}\n"


def test_stdin_errors_are_located_in_stdin(capsys, monkeypatch):
    code, out, err = run(["check", "-"], capsys, stdin=BAD, monkeypatch=monkeypatch)
    assert code == 1 and out == ""
    assert err.splitlines()[0] == "<stdin>:3:17: error: unknown name 'y'"


@pytest.mark.parametrize("argv, message", [
    (["check", "-", "-"], "stdin (-) can be read only once"),
    (["check", "--list", "--format", "json", "{folder}"], "--list prints text; it cannot be combined with --format json"),
    (["ir", "{folder}", "-m", "Tiny"], "'Tiny' is defined in several files under {folder}: "),
    (["ir", "{folder}", "-m", "Nope"], "no .arch file under {folder} defines 'Nope'"),
])
def test_file_arguments_that_cannot_be_used_are_usage_errors(argv, message, tmp_path, capsys):
    (tmp_path / "a.arch").write_text(TINY)
    (tmp_path / "b.arch").write_text(TINY)
    argv = [word.format(folder=tmp_path) for word in argv]
    code, _, err = run(argv, capsys)
    assert code == 2 and f"archlang: error: {message.format(folder=tmp_path)}" in err


# ---- colour ----------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("no_color, force_color, tty, expected", [
    (None, None, True, True), (None, None, False, False),
    ("1", None, True, False), ("", None, True, True),  # an empty NO_COLOR does not count
    (None, "1", False, True), ("1", "1", False, False), (None, "", False, False),
])
def test_colour_policy(no_color, force_color, tty, expected, monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    for name, value in (("NO_COLOR", no_color), ("FORCE_COLOR", force_color)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert use_color(Terminal() if tty else io.StringIO()) is expected


@pytest.mark.parametrize("env, coloured", [({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False)])
def test_diagnostics_follow_the_colour_policy(env, coloured, tmp_path, capsys, monkeypatch):
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "bad.arch").write_text(BAD)
    code, _, err = run(["check", str(tmp_path / "bad.arch")], capsys)
    assert code == 1 and ("\033[" in err) is coloured


# ---- check --format json | sarif -------------------------------------------------------------


@pytest.fixture
def two_files(tmp_path):
    good, bad = tmp_path / "good.arch", tmp_path / "bad.arch"
    good.write_text(TINY)
    bad.write_text("model M() {\n    input x: [B, 4]\n    a = relu(y)\n    return conv(x)\n}\n")
    return str(good), str(bad)


def test_check_json_has_every_diagnostic_with_its_end(two_files, capsys):
    good, bad = two_files
    code, out, err = run(["check", "--format", "json", good, bad], capsys)
    assert code == 1 and err == ""
    report = json.loads(out)
    assert report["files"] == [{"file": good, "ok": True}, {"file": bad, "ok": False}]
    first, second = report["diagnostics"]
    assert first == {"file": bad, "line": 3, "column": 14, "end_line": 3, "end_column": 15, "severity": "error",
                     "kind": "name", "message": "unknown name 'y'", "notes": []}
    assert (second["line"], second["column"], second["end_line"]) == (4, 12, 4)
    assert second["end_column"] > second["column"] and "conv" in second["message"]


def test_check_json_of_clean_files_is_empty_and_exits_0(two_files, capsys):
    code, out, _ = run(["check", "--format", "json", two_files[0]], capsys)
    assert code == 0 and json.loads(out)["diagnostics"] == []


def test_check_sarif_is_structurally_valid_2_1_0(two_files, capsys):
    good, bad = two_files
    code, out, err = run(["check", "--format", "sarif", good, bad], capsys)
    assert code == 1 and err == ""
    log = json.loads(out)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (sarif_run,) = log["runs"]
    assert sarif_run["columnKind"] == "unicodeCodePoints"  # columns count characters, not UTF-16 units
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "archlang" and driver["version"]
    rule_ids = {rule["id"] for rule in driver["rules"]}
    artifacts = {a["location"]["uri"] for a in sarif_run["artifacts"]}
    assert artifacts == {Path(good).as_uri(), Path(bad).as_uri()}
    assert len(sarif_run["results"]) == 2
    for result in sarif_run["results"]:
        assert result["ruleId"] in rule_ids and result["level"] == "error" and result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == Path(bad).as_uri()
        region = physical["region"]
        assert set(region) == {"startLine", "startColumn", "endLine", "endColumn"}
        assert all(isinstance(v, int) and v >= 1 for v in region.values())
        assert (region["endLine"], region["endColumn"]) > (region["startLine"], region["startColumn"])
    first = sarif_run["results"][0]
    assert first["ruleId"] == "name"
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 3, "startColumn": 14, "endLine": 3, "endColumn": 15}


def test_sarif_uris_of_relative_paths_stay_relative_and_are_escaped(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my net.arch").write_text(BAD)
    code, out, _ = run(["check", "--format", "sarif", "my net.arch"], capsys)
    location = json.loads(out)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert code == 1 and location["artifactLocation"]["uri"] == "my%20net.arch"


def test_check_github_annotations(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a,b.arch").write_text(BAD)
    (tmp_path / "good.arch").write_text(TINY)
    code, out, err = run(["check", "--format", "github", "good.arch", "a,b.arch"], capsys)
    assert code == 1 and err == ""
    assert out == ("::error file=a%2Cb.arch,line=3,col=17,endLine=3,endColumn=18,title=archlang name error::"
                   "unknown name 'y'\n")
    assert run(["check", "--format", "github", "good.arch"], capsys) == (0, "", "")


# ---- render --format without -o ---------------------------------------------------------------


def test_render_format_without_output_writes_model_file_in_the_current_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.arch").write_text(TINY)
    code, out, err = run(["render", "tiny.arch", "-m", "Tiny", "--format", "svg"], capsys)
    if shutil.which("dot"):
        assert code == 0, err
        assert out.startswith("wrote Tiny.svg (svg: ") and (tmp_path / "Tiny.svg").read_text().lstrip().startswith("<")
    else:  # the DOT text is written instead, and the exit code says so
        assert code == 1 and (tmp_path / "Tiny.dot").exists()
    code, out, _ = run(["render", "tiny.arch", "-m", "Tiny", "--format", "dot"], capsys)
    assert code == 0 and out.startswith("digraph Tiny")  # text still goes to stdout


# ---- shell completion --------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_names_every_command_and_option(shell, capsys):
    code, text, _ = run(["completion", shell], capsys)
    assert code == 0
    for node in walk(tree(build_parser())):
        for word in node.path:
            assert word in text
        for option in node.options:
            for flag in option.flags:
                assert flag.lstrip("-") in text, (shell, node.path, flag)
            for choice in option.choices:
                assert choice in text


SHELL_ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def _bash_complete(script_path: Path, line: str, cwd: Path) -> list[str]:
    words = line.split(" ")
    program = (f"source {shlex.quote(str(script_path))}; COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); "
               f"COMP_CWORD={len(words) - 1}; _archlang; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, cwd=cwd, check=True,
                            env=SHELL_ENV)
    return sorted(result.stdout.split())


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes_commands_options_choices_and_specs(tmp_path, capsys):
    _, text, _ = run(["completion", "bash"], capsys)
    script_path = tmp_path / "archlang.bash"
    script_path.write_text(text)
    (tmp_path / "net.arch").write_text(TINY)
    (tmp_path / "notes.txt").write_text("")
    assert _bash_complete(script_path, "archlang s", tmp_path) == ["sample", "search", "space", "study", "summary", "supernet"]
    assert _bash_complete(script_path, "archlang check --format ", tmp_path) == ["github", "json", "sarif", "text"]
    assert _bash_complete(script_path, "archlang study show --st", tmp_path) == ["--storage", "--study"]
    assert _bash_complete(script_path, "archlang check ", tmp_path) == ["-", "net.arch"]
    assert "notes.txt" in _bash_complete(script_path, "archlang compile net.arch -o ", tmp_path)
    assert _bash_complete(script_path, "archlang ir net.arch -m T", tmp_path) == ["Tiny"]  # read from the file


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completion_completes_commands_and_choices(tmp_path, capsys):
    _, text, _ = run(["completion", "fish"], capsys)
    script_path = tmp_path / "archlang.fish"
    script_path.write_text(text)

    def complete(line: str) -> list[str]:
        program = f"source {shlex.quote(str(script_path))}; complete -C {shlex.quote(line)}"
        result = subprocess.run(["fish", "-c", program], capture_output=True, text=True, check=True, cwd=tmp_path,
                                env=SHELL_ENV)
        return sorted(row.split("\t")[0] for row in result.stdout.splitlines())

    assert complete("archlang st") == ["study"]
    assert complete("archlang study ") == ["list", "plot", "show"]
    assert complete("archlang render x.arch --direction ") == ["LR", "TB"]
    (tmp_path / "net.arch").write_text(TINY)
    assert complete("archlang summary net.arch -m ") == ["Tiny"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completion_is_valid_zsh(tmp_path, capsys):
    _, text, _ = run(["completion", "zsh"], capsys)
    (tmp_path / "_archlang").write_text(text)
    assert text.startswith("#compdef archlang\n")
    subprocess.run(["zsh", "-n", str(tmp_path / "_archlang")], check=True)
    (tmp_path / "net.arch").write_text(TINY)
    helper = text[text.index("_archlang_models() {"):text.index("\n}\n", text.index("_archlang_models() {")) + 3]
    program = f"{helper}\ncompadd() {{ shift; print -l ${{(P)1}} }}\nwords=(archlang ir net.arch -m '')\n_archlang_models"
    result = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, check=True, cwd=tmp_path,
                            env=SHELL_ENV)
    assert result.stdout.split() == ["Tiny"]


# ---- progress: spinners, Ctrl-C in a search ----------------------------------------------------


def test_spinner_draws_on_a_terminal_only_and_erases_itself():
    pytest.importorskip("rich")
    from archlang.nas.progress import spinner

    terminal, log = Terminal(), io.StringIO()
    with spinner("counting", stream=terminal, delay=0):
        pass
    with spinner("counting", stream=log, delay=0):
        pass
    with spinner("counting", stream=Terminal(), quiet=True, delay=0):
        pass
    assert "counting" in terminal.getvalue() and terminal.getvalue().endswith("\x1b[2K")  # the line is cleared
    assert log.getvalue() == ""


def test_a_fast_step_shows_no_spinner():
    pytest.importorskip("rich")
    from archlang.nas.progress import spinner

    terminal = Terminal()
    with spinner("counting", stream=terminal, delay=60):
        pass
    assert terminal.getvalue() == ""


def test_ctrl_c_in_a_search_says_how_to_resume(tmp_path, capsys, monkeypatch):
    pytest.importorskip("optuna")
    import archlang.nas.engine

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(archlang.nas.engine, "search", interrupted)
    spec = tmp_path / "pick.arch"
    spec.write_text(SPACE)
    out = tmp_path / "run"
    code, _, err = run(["search", str(spec), "-m", "Pick", "--objective", "params", "--strategy", "random",
                        "-o", str(out), "-q"], capsys)
    assert code == 130
    assert err == (f"archlang: interrupted; every finished trial is stored in {out / 'study.db'} "
                   "(study 'Pick-random'): run the same command again to resume it\n")


# ---- the demo ---------------------------------------------------------------------------------


def test_the_demo_names_missing_extras_before_running_anything(tmp_path, capsys, monkeypatch):
    from archlang.cli import demo

    monkeypatch.chdir(tmp_path)
    real = demo.importlib.util.find_spec
    monkeypatch.setattr(demo.importlib.util, "find_spec", lambda name: None if name in ("onnxruntime", "optuna")
                        else real(name))
    monkeypatch.setattr(demo, "cli", lambda argv: pytest.fail(f"ran {argv}"))
    with pytest.raises(SystemExit) as exit_:
        demo.main()
    assert exit_.value.code == 1
    assert capsys.readouterr().err == ("archlang demo: error: missing onnxruntime, optuna; nothing was run. "
                                       "Install them with:\n  pip install 'archlang[onnx,search]'   (or: make setup)\n")
    assert list(tmp_path.iterdir()) == []


def test_the_demo_writes_only_into_archlang_demo_in_the_current_folder(tmp_path, capsys, monkeypatch):
    from archlang.cli import demo

    monkeypatch.chdir(tmp_path)
    commands_run, steps = [], []
    monkeypatch.setattr(demo, "missing_extras", dict)
    monkeypatch.setattr(demo, "cli", lambda argv: commands_run.append(argv) or 0)
    for name in ("forward_pass", "onnx_step"):
        monkeypatch.setattr(demo, name, lambda *a, name=name: steps.append((name, a)))
    demo.main()
    out = capsys.readouterr().out
    assert out.startswith(f"archlang demo — every file it writes goes into archlang-demo/ ({tmp_path / 'archlang-demo'})")
    outputs = [argv[argv.index("-o") + 1] for argv in commands_run if "-o" in argv]
    assert len(outputs) == 3 and all(Path(o).parts[0] == "archlang-demo" for o in outputs)
    assert ("onnx_step", (Path("archlang-demo"),)) in steps
    assert [p.name for p in tmp_path.iterdir()] == ["archlang-demo"]


def test_docs_show_each_commands_examples_in_its_section():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    sections = {section.split("`")[1].removeprefix("archlang ").split(" [")[0]: section
                for section in text.split("\n## ")[1:] if section.startswith("`archlang ")}
    for name, lines in EXAMPLES.items():
        heading = next(key for key in sections if key == name or key.startswith(name + " "))
        for line in lines:
            assert line in sections[heading], (name, line)


class History:
    """What Progress reads of a search's history: records and the best so far."""

    def __init__(self, done: int, failed: int = 0) -> None:
        states = ["FAIL"] * failed + ["COMPLETE"] * (done - failed)
        self.records = {i: type("Record", (), {"evaluated": True, "state": s})() for i, s in enumerate(states)}

    def best(self):
        return type("Trial", (), {"values": (0.5,)})() if self.records else None


def test_a_search_logs_sparse_lines_to_a_file(monkeypatch):
    from archlang.nas import progress as module

    clock = [0.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    log = io.StringIO()
    with module.Progress(100, label="S · random", objectives=["acc"], stream=log) as progress:
        for done in [0, *range(1, 101)]:
            clock[0] += 1.0
            progress.update(History(done, failed=done // 50))
            progress.update(History(done, failed=done // 50))  # several workers: the same count again
    lines = log.getvalue().splitlines()
    assert len(lines) == 11  # 0, 10, 20 … 100: one line per tenth of the budget
    assert lines[-1] == "S · random: 100/100 evaluated, 2 failed, best acc=0.5000, ETA 0s"


def test_slow_trials_still_give_a_line_a_minute(monkeypatch):
    from archlang.nas import progress as module

    clock = [0.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    log = io.StringIO()
    with module.Progress(1000, stream=log) as progress:
        for done in range(5):
            progress.update(History(done))
            clock[0] += module.LINE_SECONDS
    assert [line.split(":")[1].split(",")[0] for line in log.getvalue().splitlines()] == [
        " 0/1000 evaluated", " 1/1000 evaluated", " 2/1000 evaluated", " 3/1000 evaluated", " 4/1000 evaluated"]


def test_a_quiet_search_logs_nothing():
    from archlang.nas.progress import Progress

    log = io.StringIO()
    with Progress(10, stream=log, quiet=True) as progress:
        progress.update(History(10))
    assert log.getvalue() == ""
