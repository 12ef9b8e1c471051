"""A minimal LSP client for the tests and the scripts: starts ``python -m archlang lsp`` and
speaks JSON-RPC 2.0 over its stdin/stdout with ``Content-Length`` framing, as an editor does.

Written by hand, independent of pygls' client, so the tests check the wire format itself.
Reading happens on a thread that files responses by id and notifications in a queue; every
wait has a timeout, so a hung server fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

TIMEOUT = 60.0  # seconds: generous, the machine is shared; never a speed assertion


class LspClient:
    def __init__(self, cwd: str | Path | None = None, args: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "archlang", "lsp", *args], cwd=cwd,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.next_id = 0
        self.responses: dict[int, queue.Queue] = {}
        self.notifications: queue.Queue = queue.Queue()
        self.requests_from_server: list[dict] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    # ---- framing
    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def _read_message(self) -> dict | None:
        headers = {}
        while True:
            line = self.process.stdout.readline()
            if not line:
                return None
            line = line.decode("ascii").strip()
            if not line:
                break
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        length = int(headers["content-length"])
        return json.loads(self.process.stdout.read(length).decode("utf-8"))

    def _read_loop(self) -> None:
        while True:
            message = self._read_message()
            if message is None:
                return
            if "id" in message and "method" in message:  # a request from the server
                self.requests_from_server.append(message)
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif "id" in message:
                self._queue(message["id"]).put(message)
            else:
                self.notifications.put(message)

    def _queue(self, ident: int) -> queue.Queue:
        with self.lock:
            return self.responses.setdefault(ident, queue.Queue())

    # ---- requests and notifications
    def request(self, method: str, params: dict | None) -> dict:
        """Send a request and wait for its response (the whole message: result or error)."""
        self.next_id += 1
        ident = self.next_id
        self._queue(ident)
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        return self._queue(ident).get(timeout=TIMEOUT)

    def result(self, method: str, params: dict | None):
        response = self.request(method, params)
        assert "error" not in response, response
        return response["result"]

    def notify(self, method: str, params: dict | None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_notification(self, method: str, predicate=lambda params: True) -> dict:
        """The next notification ``method`` whose params satisfy ``predicate`` (others are dropped)."""
        while True:
            message = self.notifications.get(timeout=TIMEOUT)
            if message.get("method") == method and predicate(message["params"]):
                return message["params"]

    # ---- the conversation an editor has
    def initialize(self, root: Path) -> dict:
        result = self.result("initialize", {
            "processId": None, "rootUri": root.as_uri(),
            "capabilities": {
                "textDocument": {
                    "hover": {"contentFormat": ["markdown", "plaintext"]},
                    "completion": {"completionItem": {"snippetSupport": False}},
                    "documentSymbol": {"hierarchicalDocumentSymbolSupport": True},
                    "inlayHint": {}, "publishDiagnostics": {"relatedInformation": True},
                },
                "workspace": {"inlayHint": {"refreshSupport": True}},
            },
        })
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": path.as_uri(), "languageId": "arch", "version": version, "text": text}})

    def diagnostics(self, path: Path, version: int | None = None) -> list[dict]:
        """The next diagnostics published for ``path`` (for ``version``, if given)."""
        uri = path.as_uri()
        params = self.wait_notification(
            "textDocument/publishDiagnostics",
            lambda p: p["uri"] == uri and (version is None or p.get("version") == version))
        return params["diagnostics"]

    def close(self) -> int:
        """shutdown, exit, and the server's exit code."""
        try:
            self.result("shutdown", None)
            self.notify("exit", None)
            return self.process.wait(timeout=TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                stream.close()


def position(line: int, character: int) -> dict:
    return {"line": line, "character": character}


def text_position(text: str, needle: str, occurrence: int = 0, offset: int = 0) -> dict:
    """The LSP position (0-based) of the ``occurrence``-th ``needle`` in ``text``, plus ``offset``."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    start += offset
    line = text.count("\n", 0, start)
    return position(line, start - (text.rfind("\n", 0, start) + 1))
