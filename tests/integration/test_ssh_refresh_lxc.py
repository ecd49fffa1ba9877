"""A node whose lxcbr0 address changes behind labgen's back (restarted with another MAC, as a
container of an older labgen is at each start: LXC drew one when the config named none);
`labgen ssh`, `status` and `exec` must notice that the cached address does not answer and ask
again (on LXC lxc-info, without a Ruby start), instead of failing with "No route to host". The
new address is the lxcbr0 one, whatever order lxc-info lists eth0 and eth1 in, and even when the
lease comes after sshd answers on eth1. First, the created node's lease is its own: eth0 has the
MAC labgen fixes for the container, and dnsmasq holds the cached address for it under client id
01:MAC (the lease labgen claims before the boot).

One 1-node LXC lab (tests/data/labs/lvssh.yml) for the module, restarted with lxc-stop/lxc-start.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from labgen.providers.dhcp_leases import LEASES, parse_leases
from labgen.providers.lxc_seat import mgmt_mac
from tests.integration.lxcenv import SSH_ROOT, destroy_lab_dir, destroy_leftovers, labgen, lxc_skip_reason
from tests.runcli import LABGEN

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = lxc_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)

LAB_FILE = Path(__file__).resolve().parent.parent / "data" / "labs" / "lvssh.yml"
ROOT = SSH_ROOT
CONTAINER = "labgen-lvssh-n1"


DHCP_BLOCK = "lgt_dhcp_late"  # nft table (bridge family) of the late-lease test


def unblock_dhcp() -> None:
    subprocess.run(["nft", "delete", "table", "bridge", DHCP_BLOCK], capture_output=True, check=False)


@pytest.fixture(scope="module")
def lab_dir():
    destroy_leftovers(ROOT)
    unblock_dhcp()  # a run killed inside the late-lease test
    ROOT.mkdir(parents=True, exist_ok=True)
    path = ROOT / f"lvssh-{int(time.time())}"
    try:
        labgen(
            "--provider", "lxc", "create", str(LAB_FILE), "--dir", str(path), "--no-provision", check=True, timeout=600
        )
        # the lxcbr0 lease, even when Vagrant saw the node up on eth1's address before it came:
        # a cached lab address keeps answering after a restart, and nothing would be refreshed
        assert cached_address(path).startswith("10.0.3."), cached_address(path)
        # ... and the lease is the node's own: eth0 has the MAC the Vagrantfile fixes for the
        # container, and the box's networkd sends it as client id (what labgen claims for)
        mac = mgmt_mac(CONTAINER)
        inside = subprocess.run(
            ["lxc-attach", "-n", CONTAINER, "--", "cat", "/sys/class/net/eth0/address"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        assert inside == mac, (inside, mac)
        held = [(lease.ip, lease.client_id) for lease in parse_leases(LEASES.read_text()) if lease.mac == mac]
        assert held == [(cached_address(path), f"01:{mac}")], held
        yield path
    finally:
        destroy_lab_dir(path)


def cached_address(lab_dir: Path) -> str:
    return re.search(r"HostName (\S+)", (lab_dir / ".labgen" / "ssh-config").read_text()).group(1)


def restart_outside_labgen(old: str) -> str:
    """lxc-stop, a new MAC for its management NIC (labgen fixes one per container, which keeps
    its lease), lxc-start; returns its new management address (bounded wait)."""
    subprocess.run(["lxc-stop", "-n", CONTAINER], check=True, timeout=60)
    config = Path("/var/lib/lxc", CONTAINER, "config")
    mac = "02:" + ":".join(f"{b:02x}" for b in os.urandom(5))
    config.write_text(re.sub(r"^(lxc\.net\.0\.hwaddr\s*=\s*).*$", rf"\g<1>{mac}", config.read_text(), flags=re.M))
    subprocess.run(["lxc-start", "-n", CONTAINER], check=True, timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = subprocess.run(["lxc-info", "-n", CONTAINER, "-iH"], capture_output=True, text=True).stdout
        addresses = [a for a in out.split() if a.startswith("10.0.3.")]
        if addresses:
            assert addresses[0] != old, f"{CONTAINER} kept {old}: nothing to refresh"
            return addresses[0]
        time.sleep(0.5)
    raise AssertionError(f"{CONTAINER} got no address on lxcbr0 within 60 s")


def wait_for_sshd(address: str) -> None:
    from labgen.remote import address_answers

    deadline = time.monotonic() + 60
    while not address_answers({"hostname": address, "port": "22"}, timeout=2):
        assert time.monotonic() < deadline, f"sshd on {address} did not answer within 60 s"
        time.sleep(0.5)


def test_ssh_refreshes_a_stale_address(lab_dir):
    old = cached_address(lab_dir)
    new = restart_outside_labgen(old)
    wait_for_sshd(new)
    res = labgen("ssh", "n1", "--dir", str(lab_dir), "--", "true")
    assert res.returncode == 0, res.stdout + res.stderr
    assert cached_address(lab_dir) == new


def test_status_and_exec_refresh_too(lab_dir):
    old = cached_address(lab_dir)
    new = restart_outside_labgen(old)
    wait_for_sshd(new)
    status = labgen("status", "--dir", str(lab_dir), check=True)
    assert re.search(r"n1 .*running .*yes", status.stdout), status.stdout
    new2 = restart_outside_labgen(new)
    wait_for_sshd(new2)
    res = labgen("exec", "all", "--dir", str(lab_dir), "--", "hostname -I", check=True)
    assert new2 in res.stdout and cached_address(lab_dir) == new2


def test_a_lease_that_comes_late_is_still_the_ssh_address(lab_dir):
    """A node up (sshd answering on eth1's lab address, which LXC sets at start) before its lxcbr0
    lease: labgen waits for the lease instead of caching the lab address. Cached, that one kept
    answering after every later restart, so no refresh ever asked again (the suite saw it when
    dnsmasq's pings queued behind other tests' nodes). The node's DHCP is held back with an nft
    rule on its lxcbr0 port, then let through and renewed."""
    config = Path("/var/lib/lxc", CONTAINER, "config").read_text()
    veth = re.search(r"^lxc\.net\.0\.veth\.pair\s*=\s*(\S+)", config, re.M).group(1)
    rule = (
        f"table bridge {DHCP_BLOCK} {{\n  chain pre {{\n    type filter hook prerouting priority 0;\n"
        f'    iifname "{veth}" udp dport 67 drop\n  }}\n}}\n'
    )
    subprocess.run(["nft", "-f", "-"], input=rule, text=True, check=True)
    proc = None
    try:
        subprocess.run(["lxc-stop", "-n", CONTAINER], check=True, timeout=60)
        subprocess.run(["lxc-start", "-n", CONTAINER], check=True, timeout=60)
        wait_for_sshd("192.168.61.21")
        info = subprocess.run(["lxc-info", "-n", CONTAINER, "-iH"], capture_output=True, text=True).stdout
        assert "10.0.3." not in info, info  # no lease: the premise
        proc = subprocess.Popen(
            [*LABGEN, "ssh", "n1", "--dir", str(lab_dir), "--", "true"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        try:
            proc.wait(timeout=4)  # it must still be waiting for the lease
        except subprocess.TimeoutExpired:
            pass
        else:
            raise AssertionError("labgen ssh went on without the lease: " + "".join(proc.communicate()))
    except BaseException:
        if proc is not None and proc.poll() is None:
            proc.kill()
        raise
    finally:
        unblock_dhcp()
    subprocess.run(["lxc-attach", "-n", CONTAINER, "--", "networkctl", "renew", "eth0"], check=True, timeout=30)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert cached_address(lab_dir).startswith("10.0.3."), cached_address(lab_dir)
