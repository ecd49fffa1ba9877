"""Stale DHCP leases given back to a real dnsmasq (labgen/providers/dhcp_leases.py).

A bridge of the test's own holds 192.168.184.1/24 and a dnsmasq serves it, started with a
lease file that holds more leases than the sweep's threshold, none of them held by a running
container. `release_stale_leases` must make dnsmasq itself drop them (dnsmasq-utils'
dhcp_release), as lxcbr0's would once a day of labs has used the pool up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from labgen.providers import dhcp_leases
from labgen.providers.dhcp_leases import parse_leases, release_stale_leases

pytestmark = [pytest.mark.root]

BRIDGE = "lgtdhcp"
NET = "192.168.184"
COUNT = dhcp_leases.SWEEP_AT + 5

if os.geteuid() != 0 or not (shutil.which("dnsmasq") and shutil.which("dhcp_release")):
    pytest.skip("needs root, dnsmasq and dhcp_release (make setup installs them)", allow_module_level=True)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def dnsmasq(tmp_path):
    subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True, timeout=30)  # a killed run's
    ip("link", "add", BRIDGE, "type", "bridge")
    ip("addr", "add", f"{NET}.1/24", "dev", BRIDGE)
    ip("link", "set", BRIDGE, "up")
    leases = tmp_path / "leases"
    expiry = int(time.time()) + 3600
    leases.write_text("".join(f"{expiry} aa:00:00:00:01:{i:02x} {NET}.{i + 2} gone-{i} *\n" for i in range(COUNT)))
    proc = subprocess.Popen(
        [
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "-u",
            "root",
            "--port=0",
            "--bind-interfaces",
            f"--interface={BRIDGE}",
            "--except-interface=lo",
            f"--listen-address={NET}.1",
            f"--dhcp-range={NET}.2,{NET}.254",
            f"--dhcp-leasefile={leases}",
            f"--pid-file={tmp_path / 'pid'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (tmp_path / "pid").exists() and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "dnsmasq exited"
        yield leases
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True, timeout=30)


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
