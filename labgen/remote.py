"""SSH to lab nodes: one Fabric Connection per node, built from `vagrant ssh-config`, reused.

Fabric (and paramiko, 0.2 s to import) are imported only when a connection is made: the one
lazy import left in the core, because lifecycle and `labgen ssh` use this module's ssh-config
parsing alone.
"""

from __future__ import annotations

import io
import shlex
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labgen.errors import LabgenError, Unreachable


@dataclass
class Result:
    node: str
    command: str
    exit_code: int | None  # None: it did not run to completion (timeout, lost connection)
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def parse_ssh_config(text: str) -> dict[str, dict[str, str]]:
    """Host name -> {hostname, user, port, identityfile...} from ssh_config text (lower-case keys)."""
    hosts: dict[str, dict[str, str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        key = key.lower()
        value = value.strip().strip('"')
        if key == "host":
            current = hosts.setdefault(value, {})
        elif current is not None:
            current.setdefault(key, value)  # first wins, as in ssh
    return hosts


def address_answers(host: dict[str, str], timeout: float = 3.0) -> bool:
    """True when the node's SSH address (hostname, port of one ssh-config entry) accepts a TCP
    connection within `timeout` seconds. A stale DHCP address fails fast: no route, or refused."""
    try:
        with socket.create_connection((host.get("hostname", ""), int(host.get("port", 22))), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def wrap_command(command: str, sudo: bool) -> str:
    """The command line sent over SSH: always through `sh -c` so multi-line scripts work."""
    inner = f"sh -c {shlex.quote(command)}"
    return f"sudo -n {inner}" if sudo else inner


class Remote:
    """Persistent connections to a lab's nodes. Thread-safe per node: one command at a time."""

    def __init__(self, ssh_config_text: str, connect_timeout: float = 10.0):
        self.hosts = parse_ssh_config(ssh_config_text)
        self.connect_timeout = connect_timeout
        self._conns: dict[str, Any] = {}  # fabric Connections (fabric ships no types)
        self._locks: dict[str, threading.Lock] = {name: threading.Lock() for name in self.hosts}
        self._guard = threading.Lock()
        self.lost: set[str] = set()  # nodes whose connection failed (the owner may reconnect)

    def nodes(self) -> list[str]:
        return list(self.hosts)

    def connection(self, node: str):
        """The open Fabric Connection to `node`, opened on first use. Raises LabgenError."""
        from fabric import Connection  # heavy import: only when SSH is needed

        with self._guard:
            conn = self._conns.get(node)
            if conn is not None:
                return conn
            if node not in self.hosts:
                raise LabgenError(
                    f"node {node!r} is not running or not in this lab",
                    hint=f"running nodes: {', '.join(self.hosts) or 'none'}",
                )
            h = self.hosts[node]
            conn = Connection(
                host=h.get("hostname", node),
                user=h.get("user", "vagrant"),
                port=int(h.get("port", 22)),
                connect_timeout=self.connect_timeout,
                connect_kwargs={
                    "key_filename": [h["identityfile"]] if "identityfile" in h else [],
                    "look_for_keys": False,
                    "allow_agent": False,
                },
            )
            self._conns[node] = conn
            return conn

    def run(self, node: str, command: str, *, sudo: bool = True, timeout: float | None = 60, stream=None) -> Result:
        """Run `command` on `node`; never raises for a non-zero exit, only for no connection."""
        conn = self.connection(node)
        wire = wrap_command(command, sudo)
        start = time.monotonic()
        with self._locks[node]:
            try:
                res = conn.run(
                    wire, hide=True, warn=True, timeout=timeout, in_stream=False, out_stream=stream, pty=False
                )
                return Result(node, command, res.exited, res.stdout, res.stderr, time.monotonic() - start)
            except Exception as exc:  # invoke CommandTimedOut, paramiko/socket errors
                return self._failed_result(node, command, exc, start)

    def _failed_result(self, node, command, exc, start) -> Result:
        from invoke.exceptions import CommandTimedOut

        if isinstance(exc, CommandTimedOut):
            return Result(
                node,
                command,
                None,
                exc.result.stdout,
                exc.result.stderr + f"\n[labgen] timed out after {exc.timeout} s",
                time.monotonic() - start,
            )
        self._drop(node)
        self.lost.add(node)
        raise Unreachable(
            f"{node}: SSH failed: {exc.__class__.__name__}: {exc}",
            hint="is the node running? `labgen status` shows each node",
        ) from None

    def put_file(
        self, node: str, content: str | bytes | Path, path: str, mode: str = "0644", owner: str = "root"
    ) -> None:
        """Write `content` (text, bytes, or a local file) to `path` on `node`: SFTP to a temp
        file over the node's open connection, then sudo install. Raises LabgenError."""
        conn = self.connection(node)
        tmp = f"/tmp/labgen-{uuid.uuid4().hex}"
        source: str | io.BytesIO
        if isinstance(content, Path):
            source = str(content)
        else:
            source = io.BytesIO(content.encode("utf-8") if isinstance(content, str) else content)
        try:
            with self._locks[node]:
                conn.put(source, tmp)
        except Exception as exc:  # paramiko/socket errors: one clean message
            raise LabgenError(f"{node}: cannot upload {path}: {exc.__class__.__name__}: {exc}") from None
        res = self.run(
            node,
            f"install -D -m {shlex.quote(mode)} -o {shlex.quote(owner)} "
            f"{shlex.quote(tmp)} {shlex.quote(path)}; rc=$?; rm -f {shlex.quote(tmp)}; exit $rc",
            timeout=300,
        )
        if not res.ok:
            raise LabgenError(f"{node}: cannot write {path}: {res.stderr.strip() or 'exit ' + str(res.exit_code)}")

    def file_sha256(self, node: str, path: str) -> str | None:
        res = self.run(node, f"sha256sum {shlex.quote(path)} 2>/dev/null")
        return res.stdout.split()[0] if res.ok and res.stdout.strip() else None

    def _drop(self, node: str) -> None:
        with self._guard:
            conn = self._conns.pop(node, None)
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def close(self) -> None:
        for node in list(self._conns):
            self._drop(node)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
