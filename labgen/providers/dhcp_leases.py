"""Stale DHCP leases on lxcbr0: give back the addresses of containers that are gone.

lxc-net's dnsmasq hands out at most 253 leases on lxcbr0 (10.0.3.0/24) and keeps each for an
hour. A container gets a new random MAC (and, once destroyed, never comes back), so a host that
creates and destroys many containers (a classroom's resets, a test run) runs out of addresses
within the hour: the next container boots with no address and no default route, and Vagrant
waits for SSH in vain. When the pool is nearly used up, the leases of addresses no running
container holds are released with dnsmasq's own `dhcp_release` (Debian's dnsmasq-utils).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LEASES = Path("/var/lib/misc/dnsmasq.lxcbr0.leases")
POOL_SIZE = 253  # lxc-net's LXC_DHCP_MAX
# Sweep only when this many leases are taken: far from exhaustion nothing is touched, so a
# container that got its lease a moment ago is never raced.
SWEEP_AT = 160


@dataclass(frozen=True)
class Lease:
    ip: str
    mac: str
    client_id: str  # "*" when the client sent none


def parse_leases(text: str) -> list[Lease]:
    """dnsmasq's lease file: `expiry mac ip hostname client-id` per line."""
    leases = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5:
            leases.append(Lease(ip=fields[2], mac=fields[1], client_id=fields[4]))
    return leases


def stale(leases: list[Lease], held: set[str]) -> list[Lease]:
    """The leases to release: none while fewer than SWEEP_AT are taken, else every lease whose
    address no running container holds."""
    if len(leases) < SWEEP_AT:
        return []
    return [lease for lease in leases if lease.ip not in held]


def _held_addresses() -> set[str] | None:
    """IPv4 addresses of the running containers, or None when LXC cannot tell."""
    try:
        out = subprocess.run(
            ["lxc-ls", "--running", "-f", "-F", "ipv4"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {
        part.strip()
        for line in out.splitlines()[1:]
        for part in line.split(",")
        if part.strip() and part.strip() != "-"
    }


def release_stale_leases(bridge: str, leases_file: Path = LEASES) -> list[str]:
    """Release lxcbr0's leases of containers that are gone, when the pool runs low.

    Changes on the host: sends DHCPRELEASE for each such lease to the local dnsmasq. Returns
    one line saying how many were released, [] when nothing was done (pool far from full,
    no lease file, no dhcp_release, or LXC could not list its containers). Never raises.
    """
    release = shutil.which("dhcp_release")
    try:
        leases = parse_leases(leases_file.read_text())
    except OSError:
        return []
    if release is None or len(leases) < SWEEP_AT:
        return []
    held = _held_addresses()
    if held is None:
        return []
    gone = stale(leases, held)
    for lease in gone:
        cmd = [release, bridge, lease.ip, lease.mac]
        if lease.client_id != "*":
            cmd.append(lease.client_id)
        subprocess.run(cmd, capture_output=True, timeout=30, check=False)
    if not gone:
        return []
    return [f"released {len(gone)} stale DHCP leases on {bridge} ({len(leases)} of {POOL_SIZE} were taken)"]
