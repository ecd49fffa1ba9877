"""The seats a classroom server serves: one lab dir each, with its token and its connections.

A seat is an ordinary lab dir. Its token lives in the lab's .labgen/seat-token (0600) so the
URL on a student's access sheet survives a restart of the server; the instructor's token is
kept beside the first seat (or where the caller says). Tokens are secrets.token_urlsafe(24):
192 random bits.

Actions run the scenario engine (scenario/challenge.py) over one persistent Remote per seat,
opened on first use and reopened after a connection error. One action at a time per seat (a
lock here, and progress.check_slot across processes) and at most one check every
`min_interval` seconds.

The seat's scenario and lab are loaded and validated once per server (per scenario the
progress names: a `labgen scenario start` of another one while the server runs is seen), not
on every page and board poll: only progress.json is read each time.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from labgen import lifecycle
from labgen.errors import LabgenError, Unreachable
from labgen.labdir import LabDir, atomic_write
from labgen.remote import Remote, parse_ssh_config
from labgen.scenario import student_progress as prog
from labgen.scenario.challenge import Challenge, challenge_key, load_parts

TOKEN_BYTES = 24


def read_or_make_token(path: Path) -> str:
    """The token stored in `path`, made (random, 0600) when there is none."""
    try:
        token = path.read_text(encoding="utf-8").strip()
        if len(token) >= 32:
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(TOKEN_BYTES)
    atomic_write(path, token + "\n", mode=0o600)
    return token


class Snapshot(Challenge):
    """A challenge frozen at one reading of progress.json: what pages and the board show."""

    frozen: dict = {}

    def progress(self) -> dict:
        return self.frozen


class Busy(LabgenError):
    """The seat is already running an action, or checked too recently (HTTP 429)."""


# What a seat's student (or the board) may ask of its challenge, by name.
ACTIONS: dict[str, Callable[..., Any]] = {
    "check": lambda ch: ch.check(),
    "hint": lambda ch: ch.hint(),
    "answer": lambda ch, text: ch.answer(text),
    "solve": lambda ch: ch.solve(),
    "reset": lambda ch, to=None: ch.reset(to),
}


@dataclass
class Seat:
    name: str  # shown on the board; URL-safe
    lab_dir: LabDir
    token: str
    login: str = ""  # how the student logs in (shown on the seat page)
    provider: str = "lxc"
    min_interval: float = 3.0  # seconds between two checks of this seat
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one action
    _remote_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _remote: Remote | None = field(default=None, repr=False)
    _last_check: float = 0.0
    _parts: tuple = field(default=(), repr=False)  # (challenge key, Scenario, Lab), loaded once
    _parts_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    nodes_up: str = "?"
    _hosts: dict = field(default_factory=dict, repr=False)  # node -> ssh-config entry
    _snapshot: tuple = field(default=(), repr=False)  # (stamp, Snapshot)
    views: dict = field(default_factory=dict, repr=False)  # lang -> the page's view, per snapshot

    def ssh_hosts(self, refresh_for: str | None = None) -> dict[str, dict[str, str]]:
        """node -> its ssh-config entry (address, port, user, key) from the lab's cached config;
        with `refresh_for`, asked again from Vagrant when that node's address does not answer
        (blocks: call from a thread)."""
        if refresh_for is not None:
            text = lifecycle.ssh_config_answering(self.lab_dir, self.provider, [refresh_for])
            self._hosts = parse_ssh_config(text)
        elif not self._hosts:
            self._hosts = parse_ssh_config(self.lab_dir.cached_ssh_config() or "")
        return self._hosts

    def node_names(self) -> list[str]:
        return list(self.ssh_hosts())

    def remote(self):
        with self._remote_lock:  # the prober and an action may both ask first
            if self._remote is None:
                self._remote = lifecycle.open_remote(self.lab_dir, self.provider)
            return self._remote

    def drop_remote(self) -> None:
        with self._remote_lock:
            if self._remote is not None:
                try:
                    self._remote.close()
                except Exception:  # noqa: BLE001 - a broken connection may fail to close
                    pass
                self._remote = None

    def stamp(self) -> tuple:
        """What changes whenever the seat's progress or story file is rewritten (each is
        replaced by a rename): their inode, size and mtime."""
        marks: list[tuple[int, int, int] | None] = []
        for path in (self.lab_dir.meta / "progress.json", self.lab_dir.meta / "story.json"):
            try:
                st = path.stat()
                marks.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                marks.append(None)
        return tuple(marks)

    def fresh(self) -> bool:
        """True when the snapshot pages read is that of the files on disk now."""
        return bool(self._snapshot) and self._snapshot[0] == self.stamp()

    def challenge(self, with_remote: bool = False):
        """The seat's Challenge; the scenario and lab files are read only the first time (or
        when the progress names another scenario). Without `with_remote` (pages, the board): a
        read-only snapshot whose progress is parsed once per change of the file. With it
        (actions): a Challenge that reads progress.json afresh each time. Raises LabgenError."""
        stamp = self.stamp() if not with_remote else None
        with self._parts_lock:
            if stamp is not None and self._snapshot and self._snapshot[0] == stamp:
                return self._snapshot[1]
        p = prog.load(self.lab_dir)
        if p is None:
            raise LabgenError("no scenario started on this lab", hint="`labgen scenario start mac-bug` starts one")
        key = challenge_key(p)
        with self._parts_lock:
            if not self._parts or self._parts[0] != key:
                self._parts = (key, *load_parts(self.lab_dir, p))
            _, scenario, lab = self._parts
        if with_remote:
            return Challenge(self.lab_dir, scenario, key[2], lab, self.remote(), provider=self.provider)
        snapshot = Snapshot(self.lab_dir, scenario, key[2], lab, None, provider=self.provider)
        snapshot.frozen = p
        with self._parts_lock:
            self._snapshot = (stamp, snapshot)
            self.views.clear()
        return snapshot

    def act(self, action: str, *args, is_check: bool = False):
        """Run a challenge action (check, solve, answer, reset...) with the seat's connections.
        Raises Busy when another action runs or a check came too soon."""
        if not self._lock.acquire(blocking=False):
            raise Busy("a check is already running for this seat", hint="wait a few seconds")
        try:
            if is_check:
                wait = self._last_check + self.min_interval - time.monotonic()
                if wait > 0:
                    raise Busy(f"checked a moment ago: wait {wait:.0f} s", hint="then check again")
                self._last_check = time.monotonic()
            try:
                return ACTIONS[action](self.challenge(with_remote=True), *args)
            except Unreachable:
                self.drop_remote()
                raise
            finally:  # a node lost during a step (the runner records it as a failure)
                if self._remote is not None and getattr(self._remote, "lost", None):
                    self.drop_remote()
        finally:
            self._lock.release()

    def probe(self) -> None:
        """Count the nodes that answer over the seat's connections (for the board)."""
        if self._lock.locked():
            return  # an action is using the nodes: the last count stands
        try:
            remote = self.remote()
            down = lifecycle.probe(remote)
            total = len(remote.nodes())
            self.nodes_up = f"{total - len(down)}/{total}"
        except LabgenError:
            self.drop_remote()
            self.nodes_up = "0"


def seats_from_dirs(paths: list[Path], provider_of=None) -> list[Seat]:
    """One Seat per lab dir, named after the dir; raises LabgenError for a dir that is no lab."""
    seats = []
    names: set[str] = set()
    for path in paths:
        lab_dir = LabDir(path)
        if not lab_dir.exists():
            raise LabgenError(
                f"{lab_dir.path} is not a lab dir", hint="give lab dirs made by `labgen create` (or classroom seats)"
            )
        name = lab_dir.path.name
        if name in names:
            name = f"{name}-{len(names) + 1}"
        names.add(name)
        provider = lab_dir.load_state().get("provider") or "lxc"
        hosts = parse_ssh_config(lab_dir.cached_ssh_config() or "")
        login = (
            "\n".join(f"labgen ssh {n} --dir {lab_dir.path}" for n in hosts) or f"labgen ssh NODE --dir {lab_dir.path}"
        )
        seats.append(Seat(name, lab_dir, read_or_make_token(lab_dir.meta / "seat-token"), login, provider))
    return seats


def instructor_token(path: Path) -> str:
    return read_or_make_token(path)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
