"""The data labgen works on: frozen dataclasses, built by labfile.py / scenario/load.py.

Nothing here does I/O. Every value has been validated before it lands in one of these.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

PROVIDERS = ("virtualbox", "libvirt", "lxc")


@dataclass(frozen=True)
class Node:
    name: str  # RFC 1123 hostname
    ip: ipaddress.IPv4Address  # address on the lab's host-only network
    roles: tuple[str, ...]
    memory: int  # MiB
    cpus: int


@dataclass(frozen=True)
class Lab:
    name: str  # RFC 1123 label; names the lab dir and containers
    description: str
    network: ipaddress.IPv4Network  # host-only network; the host is .1
    boxes: Mapping[str, str]  # provider -> "owner/name"
    nodes: tuple[Node, ...]
    message: str = ""
    synced_folder: bool = False
    params: Mapping[str, str] = field(default_factory=dict)  # lab parameters (docker_version...)
    mirrors: tuple[tuple[str, str], ...] = ()  # (artifact name or base URL, URL): see mirrors.py
    source: Path | None = None  # the file it was read from
    # A copy of the lab on this host (a classroom seat, "cr1-s03"): machines and bridges are
    # named after it, so copies never collide, while `name` stays the lab's (scenarios match it).
    instance: str = ""

    @property
    def instance_name(self) -> str:
        """What machine, bridge and network names derive from: the instance, else the lab name."""
        return self.instance or self.name

    @property
    def host_ip(self) -> ipaddress.IPv4Address:
        return self.network.network_address + 1

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


# ---- provisioning declarations: roles build these, the engine executes them, plan prints them


@dataclass(frozen=True)
class File:
    """A file a task makes sure of: written (via SFTP + sudo install) only when its content differs."""

    path: str
    content: str
    mode: str = "0644"
    owner: str = "root"


@dataclass(frozen=True)
class Task:
    """One idempotent step of a role.

    Files are converged first (each written only if its content differs). Then, if `check` is
    given, `run` runs only when `check` exits non-zero, and `check` must pass afterwards; if
    `check` is None, `run` runs only when one of the files changed (a handler). Commands run
    with sudo on the node through `sh -c`.
    """

    name: str
    files: tuple[File, ...] = ()
    check: str | None = None
    run: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()  # names of declared downloads this task uploads first


@dataclass(frozen=True)
class RoleUnavailable:
    """A role that cannot run on this node's distribution/provider, and why (shown, not hidden)."""

    role: str
    reason: str
    cause: str | None = None  # the reason of the role this one needs, when that is why


# ---- scenarios


LANGS = ("en", "zh")


@dataclass(frozen=True)
class Text:
    """A text in English, Chinese or both ("" where the author did not write it). An author
    may write one language only: the reader of the other sees what exists (and the page says
    so, see scenario/language.py)."""

    en: str = ""
    zh: str = ""

    def get(self, lang: str) -> str:
        """The text in `lang`, else in the language that exists."""
        mine, other = (self.zh, self.en) if lang == "zh" else (self.en, self.zh)
        return mine or other

    def has(self, lang: str) -> bool:
        return bool(self.zh if lang == "zh" else self.en)


@dataclass(frozen=True)
class Expect:
    exit: str = "0"  # "0", "nonzero", "any", or a number as text
    stdout_contains: tuple[str, ...] = ()
    stdout_not_contains: tuple[str, ...] = ()
    stdout_matches: tuple[str, ...] = ()  # regular expressions (re.search, MULTILINE)
    stderr_contains: tuple[str, ...] = ()
    stderr_not_contains: tuple[str, ...] = ()
    stderr_matches: tuple[str, ...] = ()
    retry: float = 0.0  # seconds to keep re-running until it holds


STEP_KINDS = ("setup", "observe", "break", "fix", "verify", "explain", "cleanup", "task", "question")
STUDENT_KINDS = ("task", "question")  # the steps a student does (`labgen scenario start`)


@dataclass(frozen=True)
class Check:
    """One expectation of a task: a command (a Step of kind verify, run by the same engine)
    and the plain-words message a student sees when it does not hold."""

    step: "Step"
    message: Text


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    title: Text
    explain: Text | None
    nodes: tuple[str, ...]  # empty for an `explain` step with no command
    run: str | None  # shell script; {{ var }} substituted, shell-quoted
    sudo: bool = True
    expect: Expect = Expect()
    capture: Mapping[str, str] = field(default_factory=dict)  # var name -> regex with one group
    timeout: float = 60.0
    # task and question steps (the student's turn); see scenario/challenge.py
    goal: Text | None = None  # what to achieve (task) or what is asked (question)
    hints: tuple[Text, ...] = ()  # revealed one at a time
    checks: tuple[Check, ...] = ()  # task: all must hold
    solution: "Step | None" = None  # task: what `solve` runs (kind fix)
    answers: tuple[str, ...] = ()  # question: accepted answers ({{ var }} allowed)
    correct: Text | None = None  # question: feedback for a right answer
    wrong: Text | None = None  # question: feedback for a wrong one
    # where it stands in its file ("step", "on", "run"...: line), for messages that need the lab
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def presenter_steps(self) -> "list[Step]":
        """A task as the presenter runs it: its solution, then each check, titled after the
        task. Any other step: itself."""
        if self.kind != "task":
            return [self]
        subs = ([self.solution] if self.solution else []) + [c.step for c in self.checks]
        title = self.title
        return [
            replace(
                sub,
                title=Text(
                    title.en and f"{title.en} · {sub.title.en.lower()}", title.zh and f"{title.zh} · {sub.title.zh}"
                ),
                explain=self.goal if sub is self.solution else None,
            )
            for sub in subs
        ]


@dataclass(frozen=True)
class Variant:
    name: str
    requires_roles: tuple[str, ...]
    steps: tuple[Step, ...]
    summary: Text | None = None


@dataclass(frozen=True)
class Scenario:
    id: str
    title: Text
    summary: Text
    lab: str  # built-in lab name or path relative to the file
    variants: Mapping[str, Variant]  # always holds "default"
    vars: Mapping[str, str] = field(default_factory=dict)
    node_vars: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    source: Path | None = None
    # where keys stand in the file ("lab", "vars", "node_vars", "node_vars.<node>": line)
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    # `labgen scenario verify`: (regex, replacement) applied to output before comparing
    normalise: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Facts:
    """What a role may know of the machines beyond the lab file, given by the provider."""

    distro: str  # "ubuntu-16.04", "debian-12": what the provider's box runs
    apt_proxy: str | None = None  # the apt proxy URL the nodes use, or None: none runs
    # True where the management NIC's DHCP gives every node its default route (LXC's lxcbr0);
    # base then waits for it, since a node answers SSH on its lab address before its lease
    default_route: bool = False
    # Where the management network gives no default route (libvirt's labgen-mgmt is isolated:
    # its DHCP names no router), the host's address on it; base points the default route there.
    # A provider sets one or the other.
    gateway: str | None = None


def as_facts(facts: "Facts | str") -> Facts:
    """A bare distribution name is the facts of a provider that runs no apt proxy."""
    return facts if isinstance(facts, Facts) else Facts(distro=facts)


ARTIFACT_DIR = "/var/cache/labgen"  # where artifacts land on a node


@dataclass(frozen=True)
class Artifact:
    """One declared download. ``sha256=None``: labgen ships no checksum for it; a publisher's
    signed index (``signed``) or else the first successful fetch (recorded in the lab's
    labgen.lock: trust on first use) says what it must be (see labgen/artifacts.py)."""

    name: str  # the key tasks use in Task.artifacts
    url: str
    sha256: str | None  # lowercase hex; None = verified by signature or against the lock
    filename: str  # name in the cache and under /var/cache/labgen/ on the node
    description: str = ""
    signed: "AptRepo | None" = None  # a .deb whose sha256 a publisher's signed apt index gives
    gone: bool = False  # its URL no longer serves it: the instructor supplies the file

    @property
    def node_path(self) -> str:
        """Where `upload` puts it on a node."""
        return f"{ARTIFACT_DIR}/{self.filename}"


@dataclass(frozen=True)
class AptRepo:
    """A publisher's apt repository whose InRelease is signed by a key known by fingerprint
    (checked by labgen/aptsig.py)."""

    base: str  # https://download.docker.com/linux/ubuntu
    suite: str  # xenial
    index: str  # stable/binary-amd64/Packages, under dists/<suite>/
    key_url: str  # the publisher's armored key
    fingerprint: str  # its primary key's fingerprint: 40 uppercase hex digits
    publisher: str = ""  # for messages: "Docker"

    def url(self, path: str) -> str:
        return f"{self.base}/dists/{self.suite}/{path}"

    def describe(self) -> str:
        return f"{self.publisher or self.base}'s signed apt index ({self.base}, key {self.fingerprint})"
