"""Stale DHCP leases given back to a real dnsmasq (labgen/providers/dhcp_leases.py).

A bridge of the test's own holds 192.168.184.1/24 and a dnsmasq serves it, started with a
lease file that holds more leases than the sweep's threshold, none of them held by a running
container. `release_stale_leases` must make dnsmasq itself drop them (dnsmasq-utils'
dhcp_release), as lxcbr0's would once a day of labs has used the pool up.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import time

import pytest

from labgen.providers import dhcp_leases
from labgen.providers.dhcp_leases import parse_leases, release_stale_leases
from tests.integration.dnsmasqenv import served_bridge

pytestmark = [pytest.mark.root]

BRIDGE = "lgtdhcp"
NET = "192.168.184"
COUNT = dhcp_leases.SWEEP_AT + 5

if os.geteuid() != 0 or not (shutil.which("dnsmasq") and shutil.which("dhcp_release")):
    pytest.skip("needs root, dnsmasq and dhcp_release (make setup installs them)", allow_module_level=True)


@pytest.fixture
def dnsmasq(tmp_path):
    leases = tmp_path / "leases"
    expiry = int(time.time()) + 3600
    leases.write_text("".join(f"{expiry} aa:00:00:00:01:{i:02x} {NET}.{i + 2} gone-{i} *\n" for i in range(COUNT)))
    with served_bridge(BRIDGE, ipaddress.IPv4Interface(f"{NET}.1/24"), leases, tmp_path / "pid"):
        yield leases


def test_a_full_pool_gives_back_every_lease_no_running_container_holds(dnsmasq):
    assert len(parse_leases(dnsmasq.read_text())) == COUNT
    said = release_stale_leases(BRIDGE, dnsmasq)
    assert said == [f"released {COUNT} stale DHCP leases on {BRIDGE} ({COUNT} of 253 were taken)"]
    # dnsmasq rewrites its lease file as each release arrives
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and parse_leases(dnsmasq.read_text()):
        time.sleep(0.1)
    assert parse_leases(dnsmasq.read_text()) == []


def test_a_pool_far_from_full_is_left_alone(dnsmasq):
    few = "".join(dnsmasq.read_text().splitlines(keepends=True)[: dhcp_leases.SWEEP_AT - 1])
    dnsmasq.write_text(few)  # what release_stale_leases reads; dnsmasq still holds them all
    assert release_stale_leases(BRIDGE, dnsmasq) == []
