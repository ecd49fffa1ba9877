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

# Measured on this project's LXC box (bench/README.md): an idle node of the base lab holds
# ~40 MiB of host memory and its unpacked rootfs ~300 MiB of disk. Checks keep a margin.
NODE_MEMORY_MIB = 64
NODE_DISK_MIB = 350
HEADROOM_MIB = 512          # left for the host itself


def host_routes() -> list[tuple[ipaddress.IPv4Network, str]]:
    """(network, device) of every IPv4 route in the main table, default route excluded."""
    out = subprocess.run(["ip", "-json", "-4", "route", "show"], capture_output=True, text=True,
                         timeout=30).stdout
    routes = []
    for r in json.loads(out or "[]"):
        dst = r.get("dst", "")
        if dst in ("default", ""):
            continue
        try:
            routes.append((ipaddress.IPv4Network(dst if "/" in dst else dst + "/32", strict=False),
                           r.get("dev", "?")))
        except ValueError:
            continue
    return routes


def check_pool(pool: ipaddress.IPv4Network, own_devices: set[str], other_pools=()) -> None:
    """InputError when `pool` overlaps a host route (other than this classroom's own seat
    bridges) or another classroom's pool."""
    clashes = [f"{net} on {dev}" for net, dev in host_routes()
               if net.overlaps(pool) and dev not in own_devices]
    clashes += [f"{net} of classroom {name}" for name, net in other_pools if net.overlaps(pool)]
    if clashes:
        raise InputError([f"pool {pool} overlaps {', '.join(clashes)}"],
                         hint="choose another --pool (nothing was created)")


def mem_available_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def check_capacity(new_nodes: int, new_seats: int, disk_path: Path) -> None:
    """PreflightError when the host lacks the memory or disk for `new_nodes` more nodes."""
    if new_nodes <= 0:
        return
    need_mem = new_nodes * NODE_MEMORY_MIB + HEADROOM_MIB
    have_mem = mem_available_mib()
    if have_mem < need_mem:
        raise PreflightError(
            f"not enough memory for {new_seats} seat(s): {new_nodes} nodes × {NODE_MEMORY_MIB} MiB "
            f"+ {HEADROOM_MIB} MiB headroom = {need_mem} MiB, the host has {have_mem} MiB available",
            hint="fewer --seats, or free memory (nothing was created)")
    probe = Path(disk_path)
    while not probe.exists():
        probe = probe.parent
    have_disk = shutil.disk_usage(probe).free // 2**20
    need_disk = new_nodes * NODE_DISK_MIB
    if have_disk < need_disk:
        raise PreflightError(
            f"not enough disk in {probe} for {new_seats} seat(s): {new_nodes} nodes × "
            f"{NODE_DISK_MIB} MiB = {need_disk} MiB, {have_disk} MiB free",
            hint="fewer --seats, or free disk space (nothing was created)")


def cores() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def primary_address() -> str:
    """The host's address on its default route (what students on the LAN connect to);
    127.0.0.1 when there is none. A route lookup only: sends nothing."""
    try:
        out = subprocess.run(["ip", "-json", "-4", "route", "get", "192.0.2.1"], capture_output=True,
                             text=True, timeout=10).stdout
        return json.loads(out)[0].get("prefsrc") or "127.0.0.1"
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return "127.0.0.1"
