"""A classroom seat being made or reset gets ten times an idle container's CPU share.

With 30 trio seats up, their idle etcd, ZooKeeper JVM and containerd keep 0.7-0.9 of this
host's 2 cores busy, and a seat being converged competed with their 90 containers as one of
93 equals: `classroom reset 1` took 9 s with 2 seats up, 15.6 s with 30 (median of 10,
12.7-18.4 s). The kernel's fair scheduler divides a busy CPU by the cgroups' shares: with
ten times the share, 14.9 s (median of 10, 14.2-16.0 s, the same run, alternating). The idle
seats lose no time they use, they wait their turn behind the seat being made. Set at run
time on the running containers, not in their config: a container started again (after a
crash of labgen, a host reboot) has the usual share.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
FACTOR = 10


def share_key(root: Path = CGROUP_ROOT) -> tuple[str, int] | None:
    """(LXC's cgroup key for the CPU share, its usual value) on this host, or None when the
    CPU controller is not there to set: cgroup v1's cpu.shares (1024), v2's cpu.weight (100)."""
    if (root / "cpu" / "cpu.shares").exists():
        return "cpu.shares", 1024
    try:
        if "cpu" in (root / "cgroup.controllers").read_text().split():
            return "cpu.weight", 100
    except OSError:
        pass
    return None


def set_share(machines: list[str], favoured: bool) -> None:
    """Each running container of `machines` to FACTOR times the usual share (favoured), or to
    the usual share. A container that is not running is left alone (lxc-cgroup fails)."""
    key = share_key()
    if key is None:
        return
    name, usual = key
    value = usual * FACTOR if favoured else usual
    for machine in machines:
        subprocess.run(["lxc-cgroup", "-n", machine, name, str(value)], capture_output=True, timeout=30, check=False)
