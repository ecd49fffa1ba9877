"""LxcProvider.prepare_host / cleanup_host on this machine's real network stack.

Creates lxcbr0 (through Debian's lxc-net, left running: other labs share it) and one lab
bridge on a test-only lab network, and removes the lab bridge even when a test fails. Sends
no traffic at all.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from labgen.boxes import box_installed
from labgen.errors import LabgenError
from labgen.model import Lab, Node
from labgen import aptproxy
from labgen.providers import lxc

pytestmark = [pytest.mark.lxc, pytest.mark.root]

if os.geteuid() != 0:
    pytest.skip("needs root (creates bridges)", allow_module_level=True)
if not shutil.which("lxc-create") or not lxc._lxc_net_script():
    pytest.skip("needs lxc with Debian's lxc-net script (apt-get install lxc)", allow_module_level=True)
if not box_installed("labgen/debian-12", "lxc"):
    pytest.skip("needs the labgen/debian-12 box (sudo labgen box build lxc)", allow_module_level=True)

NETWORK = "192.168.72.0/24"  # the tests' own subnet, never the demo's 192.168.56.0/24


def make_lab() -> Lab:
    net = ipaddress.ip_network(NETWORK)
    return Lab(
        name="tests-host",
        description="",
        network=net,
        boxes={"lxc": "labgen/debian-12"},
        nodes=(Node("n1", net.network_address + 101, (), 512, 1),),
    )


def ipv4_of(dev: str) -> list[str]:
    out = subprocess.run(
        ["ip", "-json", "-4", "addr", "show", "dev", dev], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    return [f"{a['local']}/{a['prefixlen']}" for link in json.loads(out) for a in link.get("addr_info", [])]


def wait_gone(dev: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    for _ in range(100):
        if not os.path.exists(f"/sys/class/net/{dev}"):
            return True
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return False


@pytest.fixture
def lab():
    lab = make_lab()
    holders = lxc.network_holders(lab.network, exclude=lxc.bridge_name(lab))
    if holders:
        pytest.skip(f"{NETWORK} is in use on this host ({', '.join(holders)}); not touching it")
    try:
        yield lab
    finally:
        # Always, even after a failed assertion: the bridge (and the apt proxy prepare_host
        # started for it) must not outlive the test.
        lxc.PROVIDER.cleanup_host(lab)
        subprocess.run(["ip", "link", "del", "dev", lxc.bridge_name(lab)], capture_output=True, timeout=10)


def test_prepare_host_is_idempotent_and_cleanup_removes_the_bridge(lab):
    bridge = lxc.bridge_name(lab)
    first = lxc.PROVIDER.prepare_host(lab)
    assert any(bridge in line for line in first)
    assert lxc.mgmt_bridge_ready()
    assert "10.0.3.1/24" in ipv4_of("lxcbr0")
    assert ipv4_of(bridge) == ["192.168.72.1/24"]

    assert aptproxy.is_running()  # the provider starts the nodes' apt proxy
    assert lxc.PROVIDER.prepare_host(lab) == []

    others = [
        link["ifname"]
        for link in lxc._all_links()
        if link["ifname"].startswith(lxc.BRIDGE_PREFIX) and link["ifname"] != bridge
    ]
    removed = lxc.PROVIDER.cleanup_host(lab)
    assert removed[0] == f"removed bridge {bridge}"
    # ... and stops it when no other lab's bridge is left for it to serve
    assert aptproxy.is_running() == bool(others), (removed, others)
    assert wait_gone(bridge)
    assert os.path.exists("/sys/class/net/lxcbr0")  # shared: cleanup leaves it
    assert lxc.PROVIDER.cleanup_host(lab) == []


def test_prepare_host_refuses_a_network_another_bridge_holds(lab):
    other = make_lab()
    other = Lab(name="tests-host-other", description="", network=other.network, boxes=other.boxes, nodes=other.nodes)
    lxc.PROVIDER.prepare_host(lab)
    try:
        with pytest.raises(LabgenError, match=lxc.bridge_name(lab)):
            lxc.PROVIDER.prepare_host(other)
        assert not os.path.exists(f"/sys/class/net/{lxc.bridge_name(other)}")
    finally:
        lxc.PROVIDER.cleanup_host(other)


def test_preflight_passes_on_this_host_and_names_a_missing_box(lab):
    from labgen.errors import PreflightError

    assert lxc.PROVIDER.preflight(lab) is None  # root, lxc, vagrant-lxc, the box: all here
    missing = Lab(
        name=lab.name, description="", network=lab.network, boxes={"lxc": "tests/no-such-box"}, nodes=lab.nodes
    )
    with pytest.raises(PreflightError) as err:
        lxc.PROVIDER.preflight(missing)
    assert err.value.message == "box tests/no-such-box is not installed for provider lxc"
    assert err.value.exit_code == 3 and "vagrant box add tests/no-such-box" in err.value.hint


def test_two_labgen_processes_that_find_lxc_net_down_both_get_it_running():
    """Parallel `create`s (or a classroom's seats) on a host where lxc-net is not running: one
    starts it, the others wait for it and finds it running; neither fails with lxc-net's
    "already running". Stops lxc-net first, so only when no container is attached to lxcbr0."""
    attached = os.listdir(f"/sys/class/net/{lxc.MGMT_BRIDGE}/brif") if lxc._link(lxc.MGMT_BRIDGE) else []
    if attached:
        pytest.skip(f"containers are attached to {lxc.MGMT_BRIDGE} ({', '.join(attached)}): not stopping lxc-net")
    script = lxc._lxc_net_script()
    subprocess.run([script, "stop", "force"], capture_output=True, timeout=60)
    assert not lxc.mgmt_bridge_ready()
    # each process imports labgen, says so, and waits for one line: all four then check at once
    code = (
        "import sys; from labgen.providers import lxc; print('ready', flush=True); "
        "sys.stdin.readline(); print(lxc.ensure_mgmt_bridge())"
    )
    starters = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in starters:
        assert p.stdout.readline() == "ready\n"
    for p in starters:
        p.stdin.write("\n")
        p.stdin.flush()
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in starters]
    assert [r[0] for r in results] == [0] * 4, results
    assert sum("started lxc-net" in r[1] for r in results) == 1, results
    assert lxc.mgmt_bridge_ready()
