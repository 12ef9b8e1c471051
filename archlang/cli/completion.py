"""``archlang completion bash|zsh|fish``: shell completion generated from the argparse tree.

Nothing here lists a command or an option: ``tree`` reads them from the parser that runs the
commands, so a command added tomorrow completes without an edit here.  Completed: command
names (and ``study``'s actions), every option, the choices of an option that has them, files
after ``-o``/``--weights``/``--storage``, ``.arch`` files and folders for FILE arguments, and
after ``-m`` the names the line's .arch file defines (read with ``archlang check --list``).
Imports only the standard library.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import dataclass, field

SHELLS = ("bash", "zsh", "fish")
PATH_OPTIONS = ("--output", "--weights", "--storage")  # their value is a path


@dataclass
class Option:
    """One option of a command, as the completion scripts offer it."""

    flags: list[str]
    help: str
    takes_value: bool
    choices: list[str]
    repeat: bool

    @property
    def is_path(self) -> bool:
        return any(flag in PATH_OPTIONS for flag in self.flags)

    @property
    def is_model(self) -> bool:
        return "--model" in self.flags


@dataclass
class Command:
    """One node of the tree: a command with options and files, or a group of commands."""

    path: list[str]
    help: str = ""
    options: list[Option] = field(default_factory=list)
    children: dict[str, "Command"] = field(default_factory=dict)
    takes_files: bool = False
    choices: list[str] = field(default_factory=list)  # of a positional argument


def tree(parser: argparse.ArgumentParser, path: list[str] | None = None, help: str = "") -> Command:
    node = Command(path or [], help)
    helps = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                node.children[name] = tree(sub, [*node.path, name], helps.get(name, ""))
        elif action.option_strings and action.help is not argparse.SUPPRESS:
            node.options.append(_option(action))
        elif not action.option_strings:
            node.takes_files = node.takes_files or (action.metavar or "").startswith("FILE")
            node.choices += [str(c) for c in action.choices or ()]
    return node


def _option(action: argparse.Action) -> Option:
    takes_value = action.nargs != 0
    return Option(list(action.option_strings), _plain(action.help or ""), takes_value,
                  [str(c) for c in action.choices or ()], isinstance(action, argparse._AppendAction))


def _plain(text: str) -> str:
    """Help text safe inside every shell's quoting: one short line, no quotes or brackets."""
    text = re.sub(r"[\[\]'\"`$\\:]", "", " ".join(text.split()))
    return text if len(text) <= 70 else text[:69] + "…"


def walk(node: Command):
    yield node
    for child in node.children.values():
        yield from walk(child)


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    root = tree(parser)
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](root)


# ---- bash ------------------------------------------------------------------------------------


def _bash(root: Command) -> str:
    moves = " | ".join(f'"{_key(node.path)}"' for node in walk(root) if node.path)
    values, words = [], []
    for node in walk(root):
        key = _key(node.path)
        for option in node.options:
            if option.takes_value:
                reply = _bash_value(option)
                values.append(f'        {" | ".join(shlex.quote(key + " " + f) for f in option.flags)}) {reply}; return ;;')
        listed = [*node.children, *node.choices, *(flag for option in node.options for flag in option.flags)]
        files = "1" if node.takes_files else "''"
        words.append(f'        {shlex.quote(key)}) words={shlex.quote(" ".join(listed))}; files={files} ;;')
    return _BASH.format(moves=moves, values="\n".join(values), words="\n".join(words))


def _key(path: list[str]) -> str:
    return "".join(f"/{word}" for word in path)


def _bash_value(option: Option) -> str:
    if option.choices:
        return f'COMPREPLY=($(compgen -W {shlex.quote(" ".join(option.choices))} -- "$cur"))'
    if option.is_path:
        return 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))'
    if option.is_model:
        return 'COMPREPLY=($(compgen -W "$(_archlang_models)" -- "$cur"))'
    return "COMPREPLY=()"


_BASH = """\
# bash completion for archlang (archlang completion bash; generated from its parser)
_archlang_models() {{  # the names defined by the first .arch file on the line
    local w
    for w in "${{COMP_WORDS[@]}}"; do
        if [[ $w == *.arch && -f $w ]]; then
            archlang check --list "$w" 2>/dev/null | awk '{{sub(/\\(.*/, "", $2); print $2}}'
            return
        fi
    done
}}
_archlang() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
    local path="" i words files
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "$path/${{COMP_WORDS[i]}}" in
            {moves}) path="$path/${{COMP_WORDS[i]}}" ;;
        esac
    done
    case "$path $prev" in
{values}
    esac
    case "$path" in
{words}
    esac
    if [[ $cur == -* || -z $files ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    else
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X '!*.arch' -- "$cur"))
        [[ -z $cur || - == "$cur" ]] && COMPREPLY+=(-)
    fi
}}
complete -F _archlang archlang
"""


# ---- zsh -------------------------------------------------------------------------------------


def _zsh(root: Command) -> str:
    functions = [_zsh_function(node) for node in walk(root) if node.children or node.path]
    return "#compdef archlang\n# zsh completion for archlang (archlang completion zsh; generated from its parser)\n\n" \
        + _ZSH_MODELS + "\n\n".join(functions) + '\n\n_archlang "$@"\n'


def _zsh_name(path: list[str]) -> str:
    return "_archlang" + "".join(f"_{re.sub(r'[^A-Za-z0-9]', '_', word)}" for word in path)


def _zsh_function(node: Command) -> str:
    specs = [_zsh_option(option) for option in node.options]
    if node.children:
        listed = " ".join(shlex.quote(f"{name}:{_plain(child.help)}") for name, child in node.children.items())
        specs += ["'1: :->command'", "'*:: :->args'"]
        body = [f"    _arguments -C \\\n        {' '.join(specs)}",
                "    case $state in",
                f"        command) local -a commands=({listed}); _describe command commands ;;",
                f'        args) local name="{_zsh_name(node.path)}_${{words[1]//-/_}}"; '
                '(( $+functions[$name] )) && $name ;;',
                "    esac"]
    else:
        if node.takes_files:
            specs.append("'*:file:_files -g \"*.arch\"'")
        if node.choices:
            specs.append(f"'1:{node.path[-1]}:({' '.join(node.choices)})'")
        body = [f"    _arguments \\\n        {' '.join(specs)}"]
    return f"{_zsh_name(node.path)}() {{\n    local state line\n" + "\n".join(body) + "\n}"


_ZSH_MODELS = """\
_archlang_models() {  # the names defined by the first .arch file on the line
    local w
    local -a names
    for w in $words; do
        if [[ $w == *.arch && -f $w ]]; then
            names=(${(f)"$(archlang check --list $w 2>/dev/null | awk '{sub(/\\(.*/, "", $2); print $2}')"})
            compadd -a names
            return
        fi
    done
}

"""


def _zsh_option(option: Option) -> str:
    exclusive = f"({' '.join(option.flags)})" if len(option.flags) > 1 and not option.repeat else ""
    star = "*" if option.repeat else ""
    value = ""
    if option.takes_value:
        action = f"({' '.join(option.choices)})" if option.choices else (
            "_files" if option.is_path else "_archlang_models" if option.is_model else " ")
        value = f":{option.flags[-1].lstrip('-').upper()}:{action}"
    flags = option.flags[0] if len(option.flags) == 1 else "{" + ",".join(option.flags) + "}"
    return f"'{star}{exclusive}'{flags}'[{option.help}]{value}'"


# ---- fish ------------------------------------------------------------------------------------


def _fish(root: Command) -> str:
    lines = ["# fish completion for archlang (archlang completion fish; generated from its parser)",
             "complete -c archlang -f", _FISH_MODELS]
    for node in walk(root):
        condition = _fish_condition(node)
        for name, child in node.children.items():
            lines.append(f"complete -c archlang -n {shlex.quote(condition)} -a {shlex.quote(name)} "
                         f"-d {shlex.quote(child.help)}")
        for option in node.options:
            lines.append(f"complete -c archlang -n {shlex.quote(condition)} {_fish_option(option)}")
        if node.takes_files:
            lines.append(f"complete -c archlang -n {shlex.quote(condition)} -a '(__fish_complete_suffix .arch)'")
        if node.choices:
            lines.append(f"complete -c archlang -n {shlex.quote(condition)} -a {shlex.quote(' '.join(node.choices))}")
    return "\n".join(lines) + "\n"


def _fish_condition(node: Command) -> str:
    if not node.path:
        return "__fish_use_subcommand"
    seen = [f"__fish_seen_subcommand_from {word}" for word in node.path]
    if node.children:
        seen.append(f"not __fish_seen_subcommand_from {' '.join(node.children)}")
    return "; and ".join(seen)


_FISH_MODELS = """\
function __archlang_models --description 'the names defined by the first .arch file on the line'
    for w in (commandline -opc)
        if string match -q -- '*.arch' $w; and test -f $w
            archlang check --list $w 2>/dev/null | string replace -r '^\\S+\\s+([^\\s(]+).*' '$1'
            return
        end
    end
end"""


def _fish_option(option: Option) -> str:
    parts = []
    for flag in option.flags:
        parts.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}" if len(flag) == 2
                     else f"-o {flag[1:]}")
    if option.choices:
        parts.append(f"-x -a {shlex.quote(' '.join(option.choices))}")
    elif option.is_path:
        parts.append("-r -F")
    elif option.is_model:
        parts.append("-x -a '(__archlang_models)'")
    elif option.takes_value:
        parts.append("-x")
    parts.append(f"-d {shlex.quote(option.help)}")
    return " ".join(parts)


# ---- the command -----------------------------------------------------------------------------


def add_parser(sub, root: argparse.ArgumentParser) -> None:
    """``archlang completion SHELL``; ``root`` is read when the command runs, once every
    command has been added to it."""
    parser = sub.add_parser(
        "completion", help="print a shell completion script (bash, zsh or fish)",
        description="Print the completion script of SHELL on stdout: commands, options, their choices and "
        ".arch files complete on Tab. Load it once per session (bash: source <(archlang completion bash)) "
        "or install it where your shell looks for completions.")
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    parser.set_defaults(run=cmd_completion, root=root)


def cmd_completion(args) -> int:
    sys.stdout.write(script(args.shell, args.root))
    return 0
