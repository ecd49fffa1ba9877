"""A node's lease on lxcbr0, claimed from the host before it boots: no 3 s ping.

lxc-net's dnsmasq pings every address it is about to offer to a new client and waits 3 s for
an answer, one client at a time: a classroom's 90 fresh nodes waited 4.5 min for it in all, a
3-node `labgen create` 9 s. It does not ping for a DHCPREQUEST in the INIT-REBOOT state (a
client naming the address it wants, with no server id): lxc-net starts it with
--dhcp-authoritative, so it grants a free address at once. So before a node with a fixed MAC
(lxc_seat.mgmt_mac: a seat's clone, or a node Vagrant creates) starts, labgen sends that
request on its behalf from the host, as dnsmasq-utils' dhcp_release sends a release: the client
id 01:MAC that the node's networkd will send (labgen's box, lxc_seat.DHCP_TEXT), an address of
dnsmasq's range that no lease and no neighbour on the bridge holds. When the node's DISCOVER
comes, dnsmasq finds its lease and offers that address without a ping (tcpdump: 1 ms).

Nothing else changes on the host. Anything that goes wrong (a NAK, no answer, no dnsmasq)
leaves the node to the usual path, 3 s slower.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import json
import os
import socket
import struct
import subprocess
import time
from pathlib import Path

from labgen.providers.dhcp_leases import LEASES, parse_leases

WAIT = 2.0  # seconds for dnsmasq to write the lease (10 ms here)
MAGIC = bytes([99, 130, 83, 99])
DHCPREQUEST = 3


def _hw(mac: str) -> bytes:
    """The 6 bytes of `mac` (aa:bb:cc:dd:ee:ff); ValueError for anything else."""
    hw = bytes.fromhex(mac.replace(":", ""))
    if len(hw) != 6:
        raise ValueError(f"not a MAC: {mac!r}")
    return hw


def request_packet(mac: str, address: str, xid: bytes) -> bytes:
    """A DHCPREQUEST in the INIT-REBOOT state (RFC 2131 4.3.2): no ciaddr, no server id; the
    requested address (option 50) and the client id 01:MAC (option 61)."""
    hw = _hw(mac)
    if len(xid) != 4:
        raise ValueError(f"not a DHCP transaction id: {xid!r}")
    header = struct.pack("!BBBB4sHH4s4s4s4s", 1, 1, 6, 0, xid, 0, 0, *(b"\0" * 4,) * 4)
    fixed = header + hw.ljust(16, b"\0") + b"\0" * 64 + b"\0" * 128
    options = (
        bytes([53, 1, DHCPREQUEST])
        + bytes([61, 7, 1])
        + hw
        + bytes([50, 4])
        + ipaddress.IPv4Address(address).packed
        + bytes([255])
    )
    return fixed + MAGIC + options


def dhcp_range(cmdline: list[str], network: ipaddress.IPv4Network) -> tuple[int, int] | None:
    """First and last address (as ints) of dnsmasq's `--dhcp-range` for `network`, from its
    command line; None when it names none there."""
    values = [a.split("=", 1)[1] for a in cmdline if a.startswith("--dhcp-range=")]
    values += [cmdline[i + 1] for i, a in enumerate(cmdline[:-1]) if a == "--dhcp-range"]
    for value in values:
        parts = value.split(",")
        try:
            first, last = ipaddress.IPv4Address(parts[0]), ipaddress.IPv4Address(parts[1])
        except (IndexError, ValueError):
            continue
        if first in network and last in network and first <= last:
            return int(first), int(last)
    return None


def pick(mac: str, span: tuple[int, int], taken: set[str]) -> str | None:
    """A free address of `span` for `mac`: the first one not `taken`, from a place that a hash
    of the MAC chooses (so that two hosts' or two runs' picks rarely meet). None when all are."""
    first, last = span
    size = last - first + 1
    start = int.from_bytes(hashlib.sha256(mac.encode()).digest()[:4], "big") % size
    for i in range(size):
        address = str(ipaddress.IPv4Address(first + (start + i) % size))
        if address not in taken:
            return address
    return None


def _leased(leases_file: Path) -> dict[str, str]:
    """mac -> address of dnsmasq's lease file ({} when there is none)."""
    try:
        return {lease.mac.lower(): lease.ip for lease in parse_leases(leases_file.read_text())}
    except OSError:
        return {}


def _neighbours(bridge: str) -> set[str]:
    """IPv4 addresses the host has seen on `bridge` (ARP): a static one no lease shows."""
    try:
        out = subprocess.run(
            ["ip", "-4", "-json", "neigh", "show", "dev", bridge], capture_output=True, text=True, timeout=10
        ).stdout
        return {entry["dst"] for entry in json.loads(out or "[]") if "dst" in entry}
    except (OSError, subprocess.SubprocessError, ValueError, TypeError):
        return set()


def _dnsmasq_cmdline(pid_file: Path) -> list[str]:
    try:
        pid = int(pid_file.read_text().strip())
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (OSError, ValueError):
        return []


def claim(
    macs: list[str],
    bridge: str,
    server: ipaddress.IPv4Interface,
    pid_file: Path,
    lock: Path,
    leases_file: Path = LEASES,
    wait: float = WAIT,
) -> dict[str, str | None]:
    """mac -> the address dnsmasq (its pid in `pid_file`, serving `server`'s network on
    `bridge`) holds for it: its lease when it has one, else a free address claimed for it now
    (see the module's doc); None when no claim was made or dnsmasq did not grant it (that client
    then takes the usual path). The requests go out together, and the lease file is polled
    once for all of them. Never raises for the network's sake (ValueError for a malformed MAC)."""
    wanted = [mac.lower() for mac in macs]
    for mac in wanted:
        _hw(mac)  # ValueError now, not under the lock
    got: dict[str, str | None] = dict.fromkeys(wanted)
    leased = _leased(leases_file)
    got.update({mac: leased[mac] for mac in wanted if mac in leased})
    if all(got.values()):
        # every one holds a lease (nodes booting again, every `create` or `up` of a lab that
        # exists): no lock, no neighbour listing, nothing sent
        return got
    cmdline = _dnsmasq_cmdline(pid_file)
    span = dhcp_range(cmdline, server.network)
    if span is None or "--dhcp-authoritative" not in cmdline:
        return got  # no dnsmasq serving this network, or one that ignores such requests
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock, "w")
    except OSError:
        return got
    # one claimer at a time on this host: its picks see every earlier claim's lease
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        leased = _leased(leases_file)  # again, under the lock: with every earlier claim's lease
        taken = set(leased.values()) | _neighbours(bridge) | {str(server.ip)}
        asked: dict[str, str] = {}
        for mac in wanted:
            if mac in leased:
                got[mac] = leased[mac]
                continue
            address = pick(mac, span, taken)
            if address is not None:
                asked[mac] = address
                taken.add(address)
        if not asked:
            return got  # each holds a lease (one came meanwhile), or no address is free
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, bridge.encode())
                for mac, address in asked.items():
                    sock.sendto(request_packet(mac, address, os.urandom(4)), (str(server.ip), 67))
        except OSError:
            return got
        end = time.monotonic() + wait
        while asked and time.monotonic() < end:
            now = _leased(leases_file)
            for mac in [m for m, a in asked.items() if now.get(m) == a]:
                got[mac] = asked.pop(mac)
            if asked:
                time.sleep(0.01)
        return got
