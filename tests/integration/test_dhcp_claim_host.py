"""A lease claimed from the host spares a new client dnsmasq's 3 s ping (labgen/providers/dhcp_claim.py).

A bridge of the test's own holds 192.168.190.1/24 and a dnsmasq serves it as lxc-net runs
lxcbr0's (authoritative, pinging before it offers a new address). A network namespace plugged
into the bridge plays the clone: it sends a DHCPDISCOVER with client id 01:MAC, as a seat
node's networkd does, and times the DHCPOFFER. Without a claim dnsmasq pings first (the offer
comes after its 3 s wait); with one, the offer is the claimed address at once.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys

import pytest

from labgen.providers.dhcp_claim import claim
from labgen.providers.dhcp_leases import parse_leases
from tests.integration.dnsmasqenv import ip, served_bridge

pytestmark = [pytest.mark.root]

BRIDGE = "lgtclaim"
NETNS = "lgtclaimns"
NET = "192.168.190"
SERVER = ipaddress.IPv4Interface(f"{NET}.1/24")
PING_WAIT = 3.0  # dnsmasq's, before it offers a new address

if os.geteuid() != 0 or not shutil.which("dnsmasq"):
    pytest.skip("needs root and dnsmasq (make setup installs it)", allow_module_level=True)

# The clone's DISCOVER, from inside the namespace (no address yet: port 68, broadcast flag so
# that the offer is broadcast too). Prints {"offered": address, "after": seconds}.
CLIENT = r"""
import json, os, socket, struct, sys, time
dev, mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
xid = os.urandom(4)
pkt = struct.pack("!BBBB4sHH", 1, 1, 6, 0, xid, 0, 0x8000) + b"\0" * 16 + mac.ljust(16, b"\0")
pkt += b"\0" * 192 + bytes([99, 130, 83, 99, 53, 1, 1, 61, 7, 1]) + mac + bytes([255])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
s.bind(("0.0.0.0", 68))
s.settimeout(10)
start = time.monotonic()
s.sendto(pkt, ("255.255.255.255", 67))
while True:
    data = s.recv(2048)
    if data[4:8] == xid and data[0] == 2:
        print(json.dumps({"offered": socket.inet_ntoa(data[16:20]), "after": time.monotonic() - start}))
        break
"""


def _cleanup() -> None:
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True, timeout=30)
    subprocess.run(["ip", "link", "del", "lgtclaimh"], capture_output=True, timeout=30)


@pytest.fixture
def served(tmp_path):
    """The bridge, its dnsmasq, and the namespace's NIC on it: (leases file, pid file, lock)."""
    _cleanup()  # a killed run's
    leases, pid = tmp_path / "leases", tmp_path / "pid"
    with served_bridge(BRIDGE, SERVER, leases, pid, authoritative=True):
        try:
            ip("netns", "add", NETNS)
            ip("link", "add", "lgtclaimh", "type", "veth", "peer", "name", "eth0", "netns", NETNS)
            ip("link", "set", "lgtclaimh", "master", BRIDGE, "up")
            ip("netns", "exec", NETNS, "ip", "link", "set", "eth0", "up")
            yield leases, pid, tmp_path / "claim.lock"
        finally:
            _cleanup()


def discover(mac: str) -> dict:
    ip("netns", "exec", NETNS, "ip", "link", "set", "eth0", "address", mac)
    out = subprocess.run(
        ["ip", "netns", "exec", NETNS, sys.executable, "-c", CLIENT, "eth0", mac],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return json.loads(out)


def claim_here(mac: str, leases, pid, lock) -> str | None:
    return claim([mac], BRIDGE, SERVER, pid, lock, leases_file=leases)[mac]


def test_a_new_client_waits_for_the_ping_and_a_claimed_one_does_not(served):
    leases, pid, lock = served
    unclaimed = discover("02:00:00:19:00:01")
    assert unclaimed["after"] >= PING_WAIT - 0.5, unclaimed  # the wait a claim is there to spare

    mac = "02:00:00:19:00:02"
    address = claim_here(mac, leases, pid, lock)
    assert address is not None and ipaddress.ip_address(address) in SERVER.network
    assert {lease.mac: lease.ip for lease in parse_leases(leases.read_text())}[mac] == address
    claimed = discover(mac)
    assert claimed["offered"] == address
    assert claimed["after"] < PING_WAIT - 1.5, claimed


def test_a_second_claim_keeps_the_lease_and_claims_never_share_an_address(served):
    leases, pid, lock = served
    macs = [f"02:00:00:19:01:{i:02x}" for i in range(12)]
    addresses = [claim_here(mac, leases, pid, lock) for mac in macs]
    assert None not in addresses and len(set(addresses)) == len(macs), addresses
    assert claim_here(macs[0], leases, pid, lock) == addresses[0]
    held = {lease.mac: lease.ip for lease in parse_leases(leases.read_text())}
    assert [held[mac] for mac in macs] == addresses


def test_one_call_claims_a_whole_seat_with_distinct_addresses(served):
    leases, pid, lock = served
    macs = [f"02:00:00:19:02:{i:02x}" for i in range(3)]
    got = claim(macs, BRIDGE, SERVER, pid, lock, leases_file=leases)
    assert list(got) == macs and None not in got.values() and len(set(got.values())) == 3, got
    held = {lease.mac: lease.ip for lease in parse_leases(leases.read_text())}
    assert {mac: held[mac] for mac in macs} == got
