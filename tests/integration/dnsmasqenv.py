"""A dnsmasq of a test's own, serving DHCP on a bridge of its own as lxc-net serves lxcbr0's
(tests/integration/test_dhcp_*_host.py)."""

from __future__ import annotations

import ipaddress
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextmanager
def served_bridge(bridge: str, server: ipaddress.IPv4Interface, leases: Path, pid: Path, authoritative: bool = False):
    """Bridge `bridge` holding `server`, up, and a dnsmasq handing out the rest of its /24 with
    `leases` as its lease file (`--dhcp-authoritative` too when asked, as lxc-net runs it).
    Both are gone afterwards, and a killed run's bridge is removed first."""
    subprocess.run(["ip", "link", "del", bridge], capture_output=True, timeout=30)
    ip("link", "add", bridge, "type", "bridge")
    ip("addr", "add", str(server), "dev", bridge)
    ip("link", "set", bridge, "up")
    hosts = list(server.network.hosts())
    proc = subprocess.Popen(
        [
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "-u",
            "root",
            "--port=0",
            "--bind-interfaces",
            f"--interface={bridge}",
            "--except-interface=lo",
            f"--listen-address={server.ip}",
            "--dhcp-range",
            f"{hosts[1]},{hosts[-1]}",
            *(["--dhcp-authoritative"] if authoritative else []),
            f"--dhcp-leasefile={leases}",
            f"--pid-file={pid}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not pid.exists() and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "dnsmasq exited"
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True, timeout=30)
