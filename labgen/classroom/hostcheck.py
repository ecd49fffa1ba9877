"""What the host already has, read before a classroom touches it: routes (a pool must not
overlap them), memory and disk (enough for N seats). Reads only; raises with the numbers."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
from pathlib import Path

from labgen.errors import InputError, PreflightError
from labgen.model import RoleUnavailable
from labgen.provision.engine import role_tasks

# Memory a node holds when idle (working set: what the kernel cannot take back), by role;
# measured by bench/classroom.py on this project's LXC box (bench/README.md, 2026-12-05): an
# idle base node ~12 MiB; a node with etcd, ZooKeeper and Docker ~175 MiB (resident: etcd 29,
# the ZooKeeper JVM 66, dockerd + containerd 113, shared pages counted twice). The figures keep
# ~20 % of margin; roles not listed (the Ubuntu-only ones) use ROLE_MEMORY_DEFAULT_MIB.
NODE_MEMORY_MIB = 16
ROLE_MEMORY_MIB = {
    "base": 0,
    "etcd": 32,
    "zookeeper": 80,
    "docker": 80,
    "calico": 64,
    "calico-network": 0,
    "mesos-master": 160,
    "mesos-slave": 128,
    "marathon": 384,
    "marathon-app": 16,
}
ROLE_MEMORY_DEFAULT_MIB = 64
# Disk: a container that unpacked its own root file system holds ~350 MiB (the box) plus what
# its roles installed; a clone of the seat image holds only what it wrote since: 5 MiB an
# idle mesos-calico node (bench/classroom.py), 4 of it journald's, whose files a clone caps at
# 32 MiB in all; etcd's write-ahead log is sparse in a clone (labgen/providers/lxc_seat.py), so
# etcd holds what it was told.
NODE_DISK_MIB = 350
ROLE_DISK_MIB = {"etcd": 60, "zookeeper": 250, "docker": 500, "calico": 300}
CLONE_DISK_MIB = 32
CLONE_ROLE_DISK_MIB = {"etcd": 16}
HEADROOM_MIB = 512  # left for the host itself


def node_memory_mib(node, runs=lambda node, role: True) -> int:
    return NODE_MEMORY_MIB + sum(ROLE_MEMORY_MIB.get(r, ROLE_MEMORY_DEFAULT_MIB) for r in node.roles if runs(node, r))


def seat_memory_mib(lab, runs=lambda node, role: True) -> int:
    """Memory an idle seat of `lab` holds, by the per-role figures of the roles that run
    (`runs(node, role)`: a role the provider's box cannot run starts nothing)."""
    return sum(node_memory_mib(n, runs) for n in lab.nodes)


def roles_that_run(lab, distro: str):
    """runs(node, role) for `seat_memory_mib`: the role's tasks exist for `distro`."""
    return lambda node, role: not isinstance(role_tasks(lab, node, role, distro), RoleUnavailable)


def image_disk_mib(lab) -> int:
    """Disk of one full copy of the lab's nodes (the seat image, or a seat made without it)."""
    return sum(NODE_DISK_MIB + sum(ROLE_DISK_MIB.get(r, 0) for r in n.roles) for n in lab.nodes)


def seat_disk_mib(lab, cloned: bool = True) -> int:
    """Disk a seat takes beyond the shared image (a clone), or a full copy (not cloned)."""
    if not cloned:
        return image_disk_mib(lab)
    return sum(CLONE_DISK_MIB + sum(CLONE_ROLE_DISK_MIB.get(r, 0) for r in n.roles) for n in lab.nodes)


def host_routes() -> list[tuple[ipaddress.IPv4Network, str]]:
    """(network, device) of every IPv4 route in the main table, default route excluded."""
    out = subprocess.run(["ip", "-json", "-4", "route", "show"], capture_output=True, text=True, timeout=30).stdout
    routes = []
    for r in json.loads(out or "[]"):
        dst = r.get("dst", "")
        if dst in ("default", ""):
            continue
        try:
            routes.append((ipaddress.IPv4Network(dst if "/" in dst else dst + "/32", strict=False), r.get("dev", "?")))
        except ValueError:
            continue
    return routes


def check_pool(pool: ipaddress.IPv4Network, own_devices: set[str], other_pools=()) -> None:
    """InputError when `pool` overlaps a host route (other than this classroom's own seat
    bridges) or another classroom's pool."""
    clashes = [f"{net} on {dev}" for net, dev in host_routes() if net.overlaps(pool) and dev not in own_devices]
    clashes += [f"{net} of classroom {name}" for name, net in other_pools if net.overlaps(pool)]
    if clashes:
        raise InputError(
            [f"pool {pool} overlaps {', '.join(clashes)}"], hint="choose another --pool (nothing was created)"
        )


def mem_available_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def check_capacity(
    lab, new_seats: int, disk_path: Path, image_mib: int = 0, cloned: bool = True, runs=lambda node, role: True
) -> None:
    """PreflightError when the host lacks the memory or disk for `new_seats` more seats of
    `lab` (and, `image_mib` > 0, the seat image still to build)."""
    if new_seats <= 0 and not image_mib:
        return
    per_seat = seat_memory_mib(lab, runs)
    need_mem = new_seats * per_seat + HEADROOM_MIB
    have_mem = mem_available_mib()
    if have_mem < need_mem:
        raise PreflightError(
            f"not enough memory for {new_seats} seat(s): {new_seats} × {per_seat} MiB (an idle seat "
            f"of {lab.name}, by its roles) + {HEADROOM_MIB} MiB headroom = {need_mem} MiB, "
            f"the host has {have_mem} MiB available",
            hint="fewer --seats, or free memory (nothing was created)",
        )
    probe = Path(disk_path)
    while not probe.exists():
        probe = probe.parent
    have_disk = shutil.disk_usage(probe).free // 2**20
    per_disk = seat_disk_mib(lab, cloned)
    need_disk = new_seats * per_disk + image_mib
    if have_disk < need_disk:
        image = f" + {image_mib} MiB for the seat image" if image_mib else ""
        raise PreflightError(
            f"not enough disk in {probe} for {new_seats} seat(s): {new_seats} × {per_disk} MiB{image} "
            f"= {need_disk} MiB, {have_disk} MiB free",
            hint="fewer --seats, or free disk space (nothing was created)",
        )


def cores() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def primary_address() -> str:
    """The host's address on its default route (what students on the LAN connect to);
    127.0.0.1 when there is none. A route lookup only: sends nothing."""
    try:
        out = subprocess.run(
            ["ip", "-json", "-4", "route", "get", "192.0.2.1"], capture_output=True, text=True, timeout=10
        ).stdout
        return json.loads(out)[0].get("prefsrc") or "127.0.0.1"
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return "127.0.0.1"
