"""A stand-in for remote.Remote in unit tests of labgen's own logic (engine, runner).

It keeps a tiny model of one node's files and runs commands through a handler table; the
real thing is exercised by the integration tests on LXC.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from labgen.remote import Result


class FakeRemote:
    def __init__(self, handler=None):
        self.files: dict[tuple[str, str], str] = {}
        self.commands: list[tuple[str, str]] = []
        self.handler = handler or (lambda node, cmd: (0, "", ""))
        self.lock = threading.Lock()

    def nodes(self):
        return ["n1", "n2"]

    def run(self, node, command, *, sudo=True, timeout=60, stream=None):
        with self.lock:
            self.commands.append((node, command))
        code, out, err = self.handler(node, command)
        return Result(node, command, code, out, err, 0.01)

    def file_sha256(self, node, path):
        content = self.files.get((node, path))
        return None if content is None else hashlib.sha256(content.encode()).hexdigest()

    def put_file(self, node, content, path, mode="0644", owner="root"):
        if isinstance(content, Path):  # a local file, as Remote.put_file accepts
            content = content.read_text()
        with self.lock:
            self.files[(node, path)] = content
            self.commands.append((node, f"put {path}"))
