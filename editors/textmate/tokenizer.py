"""A small TextMate tokenizer in pure Python, used by tests/test_editors.py to check what
arch.tmLanguage.json highlights without an editor.

It follows vscode-textmate's matching for the constructs the archlang grammar uses: ``match``
with ``name``/``captures``; ``begin``/``end`` with ``beginCaptures``/``endCaptures``,
``contentName`` and nested ``patterns``; ``include`` of ``#repository`` entries and
``$self``.  Lines are matched one at a time with a newline appended, as VS Code does; at each
position the rule whose match starts first wins, ties going to the end pattern and then to
the earlier rule.  Python's ``re`` stands in for Oniguruma, so the grammar keeps to their
common subset; anything outside what is implemented here raises instead of being guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

UNSUPPORTED_KEYS = {"while", "whileCaptures", "injections", "injectionSelector"}
# Oniguruma-only syntax (or syntax Python reads differently); the grammar must avoid it.
# Possessive *+ ++ ?+ are read alike by both (Python >= 3.11); {n,m}+ is not possessive in
# Oniguruma's Ruby syntax.
ONIGURUMA_ONLY = re.compile(r"\\[GhHAzZ]|\\\d|[}][+]|\(\?[imx]*-|\\p\{|\\k<")


@dataclass(frozen=True)
class Token:
    """Characters start:end of the text, with their scopes from outermost to innermost."""

    start: int
    end: int
    scopes: tuple[str, ...]


@dataclass
class _Frame:
    rule: dict
    scopes: tuple[str, ...]  # for the begin and end delimiters
    content: tuple[str, ...]  # for what is between them
    end: re.Pattern | None


@dataclass
class _Candidate:
    kind: str  # "end", "match" or "begin"
    rule: dict
    regex: re.Pattern


@dataclass
class _Line:
    text: str
    scopes: list = field(default_factory=list)  # per character


class TextMateGrammar:
    """A TextMate grammar (the parsed JSON) that tokenizes text."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.repository = data.get("repository", {})
        self._regexes: dict[str, re.Pattern] = {}
        self._flat: dict[int, list[_Candidate]] = {}

    def regexes(self) -> list[str]:
        """Every regexp in the grammar (match, begin and end), to check them up front."""
        found = []

        def walk(node):
            if isinstance(node, dict):
                for key in ("match", "begin", "end"):
                    if key in node:
                        found.append(node[key])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.data)
        return found

    def compile(self, source: str) -> re.Pattern:
        if source not in self._regexes:
            if ONIGURUMA_ONLY.search(source):
                raise ValueError(f"regexp outside the Oniguruma/Python common subset: {source}")
            self._regexes[source] = re.compile(source)
        return self._regexes[source]

    def tokenize(self, text: str) -> list[Token]:
        """Tokens covering ``text`` (line ends get the scopes in force at the end of their line)."""
        stack = [_Frame(self.data, (self.data["scopeName"],), (self.data["scopeName"],), None)]
        tokens: list[Token] = []
        offset = 0
        for raw in text.splitlines(keepends=True):
            body = raw.rstrip("\r\n")
            line = _Line(body + "\n")  # VS Code matches every line with a newline appended
            self._tokenize_line(line, stack)
            tokens.extend(_merge(line.scopes[: len(body)], offset))
            if len(raw) > len(body):
                tokens.append(Token(offset + len(body), offset + len(raw), line.scopes[len(body)]))
            offset += len(raw)
        return tokens

    def scopes_at(self, text: str) -> list[tuple[str, ...]]:
        """The scopes of every character of ``text``."""
        out: list[tuple[str, ...]] = [()] * len(text)
        for token in self.tokenize(text):
            for i in range(token.start, token.end):
                out[i] = token.scopes
        return out

    # ---- one line

    def _tokenize_line(self, line: _Line, stack: list[_Frame]) -> None:
        text = line.text
        line.scopes = [stack[-1].content] * len(text)
        pos = 0
        seen: set[tuple[int, int, int]] = set()
        while pos < len(text):
            frame = stack[-1]
            best = self._first_match(frame, text, pos)
            if best is None:
                _paint(line, pos, len(text), frame.content)
                return
            candidate, m = best
            _paint(line, pos, m.start(), frame.content)
            self._apply(candidate, m, line, stack)
            key = (m.end(), len(stack), id(stack[-1].rule))
            if m.end() == pos and key in seen:  # vscode-textmate would loop here too
                raise RuntimeError(f"grammar loops at column {pos} of {text!r}")
            seen.add(key)
            pos = m.end()

    def _first_match(self, frame: _Frame, text: str, pos: int):
        best = None
        for candidate in self._candidates(frame):
            m = candidate.regex.search(text, pos)
            if m is not None and (best is None or m.start() < best[1].start()):
                best = (candidate, m)
                if m.start() == pos:
                    break  # nothing can start earlier; later rules lose ties
        return best

    def _candidates(self, frame: _Frame) -> list[_Candidate]:
        rules = self._flatten(frame.rule)
        if frame.end is None:
            return rules
        end = _Candidate("end", frame.rule, frame.end)
        return rules + [end] if frame.rule.get("applyEndPatternLast") else [end] + rules

    def _apply(self, candidate: _Candidate, m: re.Match, line: _Line, stack: list[_Frame]) -> None:
        rule = candidate.rule
        if candidate.kind == "end":
            frame = stack.pop()
            _paint_captures(line, m, frame.scopes, rule.get("endCaptures") or rule.get("captures"))
        elif candidate.kind == "match":
            scopes = _with(stack[-1].content, rule.get("name"))
            _paint_captures(line, m, scopes, rule.get("captures"))
        else:
            scopes = _with(stack[-1].content, rule.get("name"))
            _paint_captures(line, m, scopes, rule.get("beginCaptures") or rule.get("captures"))
            content = _with(scopes, rule.get("contentName"))
            stack.append(_Frame(rule, scopes, content, self.compile(rule["end"])))

    # ---- rules

    def _flatten(self, rule: dict) -> list[_Candidate]:
        """The match/begin rules a context tries, includes resolved, in order."""
        key = id(rule)
        if key not in self._flat:
            out: list[_Candidate] = []
            self._collect(rule.get("patterns", []), out, set())
            self._flat[key] = out
        return self._flat[key]

    def _collect(self, patterns: list[dict], out: list[_Candidate], seen: set[int]) -> None:
        for pattern in patterns:
            unknown = UNSUPPORTED_KEYS & pattern.keys()
            if unknown:
                raise NotImplementedError(f"unsupported TextMate keys {sorted(unknown)}")
            if "include" in pattern:
                target = self._resolve(pattern["include"])
                if id(target) not in seen:  # a repository entry is tried once per context
                    seen.add(id(target))
                    self._collect_rule(target, out, seen)
            else:
                self._collect_rule(pattern, out, seen)

    def _collect_rule(self, rule: dict, out: list[_Candidate], seen: set[int]) -> None:
        if "match" in rule:
            out.append(_Candidate("match", rule, self.compile(rule["match"])))
        elif "begin" in rule:
            out.append(_Candidate("begin", rule, self.compile(rule["begin"])))
        else:
            self._collect(rule.get("patterns", []), out, seen)

    def _resolve(self, include: str) -> dict:
        if include in ("$self", "$base"):
            return self.data
        if include.startswith("#"):
            return self.repository[include[1:]]
        raise NotImplementedError(f"include of another grammar: {include}")


def _with(scopes: tuple[str, ...], name: str | None) -> tuple[str, ...]:
    return scopes + tuple(name.split()) if name else scopes


def _paint(line: _Line, start: int, end: int, scopes: tuple[str, ...]) -> None:
    for i in range(start, end):
        line.scopes[i] = scopes


def _paint_captures(line: _Line, m: re.Match, scopes: tuple[str, ...], captures: dict | None) -> None:
    """The match gets ``scopes``; each captured group adds its name on top, outer groups
    (lower numbers) first, as nested captures do in vscode-textmate."""
    _paint(line, m.start(), m.end(), scopes)
    for group, capture in sorted((captures or {}).items(), key=lambda kv: int(kv[0])):
        if "patterns" in capture:
            raise NotImplementedError("captures with patterns")
        index = int(group)
        if index > (m.re.groups or 0) or m.start(index) < 0 or not capture.get("name"):
            continue
        for i in range(m.start(index), m.end(index)):
            line.scopes[i] = _with(line.scopes[i], capture["name"])


def _merge(scopes: list[tuple[str, ...]], offset: int) -> list[Token]:
    tokens: list[Token] = []
    start = 0
    for i in range(1, len(scopes) + 1):
        if i == len(scopes) or scopes[i] != scopes[start]:
            tokens.append(Token(offset + start, offset + i, scopes[start]))
            start = i
    return tokens
