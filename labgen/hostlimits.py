"""The kernel limits many containers need on one host, checked and raised before they boot.

LXC nodes are system containers without a user namespace: every container's systemd, dbus,
etcd, dockerd, ZooKeeper JVM... counts against the host's root limits. Debian's default
`fs.inotify.max_user_instances` (128) holds about 18 mesos-calico nodes: the 19th's systemd
exits at boot with "Failed to create control group inotify object: Too many open files"
(measured, /work/shared/ENVIRONMENT.md). LXD/Incus document the same list for a container
host ("production setup"): inotify instances and watches, keys, neighbour table sizes, open
files; PIDs because every thread of every node takes one of the host's `kernel.pid_max`.

`needs` and `shortfalls` are pure (unit-tested with made-up numbers); `ensure` reads and
writes /proc/sys. Limits are only ever raised, never lowered.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

from labgen.errors import PreflightError

PROC_SYS = Path("/proc/sys")
SYSCTL_FILE = "/etc/sysctl.d/60-labgen.conf"

# key -> (what the host keeps for itself, what each container node adds). Per node figures
# are measured on mesos-calico nodes (etcd, ZooKeeper's JVM, dockerd, containerd, systemd)
# with room to spare: ~7 inotify instances, ~250 threads, 2 neighbour entries a node.
PER_NODE = {
    "fs.inotify.max_user_instances": (128, 16, "inotify instances (systemd, dbus, etcd, dockerd... of every node)"),
    "fs.inotify.max_user_watches": (65536, 8192, "inotify watches"),
    "kernel.pid_max": (4096, 256, "PIDs (every thread of every node: a ZooKeeper JVM alone runs ~50)"),
    "kernel.keys.root_maxkeys": (1000, 200, "kernel keys held by root (privileged containers)"),
    "kernel.keys.root_maxbytes": (25000, 5000, "bytes of kernel keys held by root"),
    "fs.file-max": (65536, 4096, "open files, system-wide"),
    # each node is a neighbour of the host on two bridges (lxcbr0 and its seat's)
    "net.ipv4.neigh.default.gc_thresh2": (128, 2, "IPv4 neighbour entries kept"),
    "net.ipv4.neigh.default.gc_thresh3": (256, 4, "IPv4 neighbour entries at most"),
    "net.ipv6.neigh.default.gc_thresh2": (128, 2, "IPv6 neighbour entries kept"),
    "net.ipv6.neigh.default.gc_thresh3": (256, 4, "IPv6 neighbour entries at most"),
}
# Open files of labgen itself and what it starts (vagrant, lxc-start monitors, ssh).
NOFILE_BASE, NOFILE_PER_NODE = 4096, 32


@dataclass(frozen=True)
class Shortfall:
    key: str  # sysctl name, or "RLIMIT_NOFILE"
    have: int | None  # None: the key does not exist on this kernel (not checked)
    need: int
    what: str

    def line(self) -> str:
        return f"{self.key} = {self.need}"


def needs(nodes: int) -> dict[str, int]:
    """sysctl -> the smallest value that fits `nodes` container nodes on this host."""
    return {key: base + per * max(0, nodes) for key, (base, per, _) in PER_NODE.items()}


def shortfalls(nodes: int, have: dict[str, int | None]) -> list[Shortfall]:
    """The limits in `have` (sysctl -> current value, None when absent) below what `nodes` need."""
    out = []
    for key, need in needs(nodes).items():
        value = have.get(key)
        if value is not None and value < need:
            out.append(Shortfall(key, value, need, PER_NODE[key][2]))
    return out


def sysctl_path(key: str) -> Path:
    return PROC_SYS / key.replace(".", "/")


def read_limits(keys=tuple(PER_NODE)) -> dict[str, int | None]:
    """Current values of `keys` from /proc/sys (None when the kernel has no such key)."""
    have: dict[str, int | None] = {}
    for key in keys:
        try:
            have[key] = int(sysctl_path(key).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            have[key] = None
    return have


def permanent_hint(raised: list[Shortfall]) -> str:
    """How to keep raised limits after a reboot (labgen itself writes nothing under /etc)."""
    lines = "\\n".join(s.line() for s in raised)
    return f"to keep them after a reboot: printf '{lines}\\n' > {SYSCTL_FILE}"


def check(nodes: int) -> list[Shortfall]:
    """What this host lacks for `nodes` container nodes (sysctls and labgen's own open files)."""
    missing = shortfalls(nodes, read_limits())
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = NOFILE_BASE + NOFILE_PER_NODE * max(0, nodes)
    if soft != resource.RLIM_INFINITY and soft < need:
        missing.append(
            Shortfall(
                "RLIMIT_NOFILE",
                soft,
                need,
                "open files of labgen and the tools it runs"
                + (f" (hard limit {hard})" if hard != resource.RLIM_INFINITY else ""),
            )
        )
    return missing


def ensure(nodes: int, what: str) -> list[str]:
    """Raise every limit below what `nodes` container nodes need. Returns one line per change
    (with how to make it permanent). Raises PreflightError with the numbers when a limit
    cannot be raised (not root, a read-only /proc/sys, a hard open-files limit)."""
    changes: list[str] = []
    raised: list[Shortfall] = []
    refused: list[str] = []
    commands: list[str] = []
    for s in check(nodes):
        if s.key == "RLIMIT_NOFILE":
            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            if hard != resource.RLIM_INFINITY and hard < s.need:
                refused.append(f"open files {s.have} (hard limit {hard}), {what} need {s.need}")
                continue
            resource.setrlimit(resource.RLIMIT_NOFILE, (s.need, hard))
            changes.append(f"limits: open files of this run {s.have} → {s.need}")
            continue
        try:
            if os.geteuid() != 0:
                raise PermissionError("not root")
            sysctl_path(s.key).write_text(f"{s.need}\n")
        except OSError as exc:
            refused.append(f"{s.key} is {s.have}, {what} need {s.need} ({exc.strerror or exc})")
            commands.append(f"{s.key}={s.need}")
            continue
        raised.append(s)
        changes.append(f"limits: {s.key} {s.have} → {s.need} ({s.what})")
    if refused:
        raise PreflightError(
            f"this host's limits are too low for {what}: " + "; ".join(refused),
            hint=(
                f"as root: sysctl -w {' '.join(commands)}"
                if commands
                else "raise the hard open-files limit (ulimit -Hn)"
            )
            + " (nothing was created)",
        )
    if raised:
        changes.append("limits: " + permanent_hint(raised))
    return changes
