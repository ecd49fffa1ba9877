"""The libvirt lane: real VMs (KVM, or QEMU TCG where KVM is not usable) through the CLI.

One 2-VM lab (tests/data/labs/lvci.yml, box labgen/debian-12) for the whole module: created with
`labgen --provider libvirt create` (boot + base role), then exec, ping on the lab network, a
no-op re-provision, what is libvirt-specific (domains, networks, SSH over the management
network), and last `destroy`, which must leave nothing of labgen's in libvirt or the firewall.
The fixture destroys the lab again whatever happened. Under TCG on 2 cores: about 5 minutes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.lxcenv import LIBVIRT_ROOT, destroy_lab_dir, destroy_leftovers
from tests.runcli import labgen

pytestmark = [pytest.mark.libvirt, pytest.mark.root, pytest.mark.slow]

LAB_FILE = Path(__file__).resolve().parent.parent / "data" / "labs" / "lvci.yml"
NODES = {"n1": "192.168.62.11", "n2": "192.168.62.12"}


def libvirt_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "libvirt labs need root (labgen starts libvirtd and defines networks)"
    for tool in ("vagrant", "virsh", "qemu-system-x86_64", "qemu-img"):
        if not shutil.which(tool):
            return f"{tool} is not installed (make setup installs it)"
    if not any(os.access(p, os.X_OK) for p in ("/usr/sbin/libvirtd", "/usr/bin/libvirtd")):
        return "libvirtd is not installed (apt-get install libvirt-daemon-system)"
    from labgen.boxes import box_installed
    from labgen.providers.libvirt import vagrant_plugin_installed

    if not vagrant_plugin_installed("vagrant-libvirt"):
        return "the vagrant-libvirt plugin is not installed (apt-get install vagrant-libvirt)"
    if not box_installed("labgen/debian-12", "libvirt"):
        return "box labgen/debian-12 (libvirt) is not added: run `labgen box build libvirt`"
    return None


reason = libvirt_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)


def virsh(*args: str) -> str:
    return subprocess.run(
        ["virsh", "-c", "qemu:///system", "-q", *args], capture_output=True, text=True, timeout=60
    ).stdout


@pytest.fixture(scope="module")
def lab():
    """The booted, provisioned lab: (lab dir, output of `labgen create`, seconds it took)."""
    destroy_leftovers(LIBVIRT_ROOT)
    LIBVIRT_ROOT.mkdir(parents=True, exist_ok=True)
    path = LIBVIRT_ROOT / f"lvci-{int(time.time())}"
    try:
        start = time.monotonic()
        res = labgen("--provider", "libvirt", "create", str(LAB_FILE), "--dir", str(path), timeout=1500)
        took = time.monotonic() - start
        assert res.returncode == 0, res.stdout + res.stderr
        yield path, res.stdout, took
    finally:
        destroy_lab_dir(path)


def test_create_boots_two_vms_and_provisions_base(lab):
    path, out, took = lab
    assert "lab lvci is up" in out
    assert re.search(r"provisioned: \d+ task\(s\) changed", out), out
    print(f"\n[libvirt lane] create (boot 2 VMs + base): {took:.0f} s")
    from labgen.kvm import kvm_verdict

    if not kvm_verdict().usable:  # the fallback is announced with its cost
        assert "QEMU TCG" in out and "0.6 GB" in out, out
    running = virsh("list", "--name").split()
    assert {"labgen-lvci-n1", "labgen-lvci-n2"} <= set(running)


def test_exec_runs_on_every_node(lab):
    res = labgen("exec", "all", "--dir", str(lab[0]), "--", "hostname", check=True)
    for node in NODES:
        assert re.search(rf"^{node}\s+│ {node}$", res.stdout, re.M), res.stdout


def test_nodes_reach_each_other_on_the_lab_network(lab):
    res = labgen("exec", "all", "--dir", str(lab[0]), "--", "ip -4 -o addr show dev eth1", check=True)
    for node, ip in NODES.items():
        assert re.search(rf"^{node}\s+│ .*inet {re.escape(ip)}/24", res.stdout, re.M), res.stdout
    ping = labgen(
        "exec", "n1", "--dir", str(lab[0]), "--", f"ping -c 1 -W 5 {NODES['n2']} && ping -c 1 -W 5 n2", check=True
    )
    assert ping.stdout.count("1 received") == 2, ping.stdout
    # The host holds .1 on the lab network (like VirtualBox's host-only adapter).
    back = labgen("exec", "n2", "--dir", str(lab[0]), "--", "ping -c 1 -W 5 192.168.62.1", check=True)
    assert "1 received" in back.stdout


def test_reprovision_changes_nothing(lab):
    res = labgen("provision", "--dir", str(lab[0]), check=True)
    assert "already converged, nothing changed" in res.stdout, res.stdout


def test_ssh_goes_over_the_management_network(lab):
    """What differs from LXC: SSH reaches the VMs on labgen-mgmt (DHCP), as vagrant, with
    Vagrant's insecure key (insert_key false); the lab network carries no SSH config."""
    config = (lab[0] / ".labgen" / "ssh-config").read_text()
    hosts = re.findall(r"^\s*HostName (\S+)", config, re.M)
    assert len(hosts) == 2 and all(h.startswith("10.0.4.") for h in hosts), config
    assert re.search(r"^\s*User vagrant$", config, re.M)
    assert "insecure_private_key" in config
    res = labgen("ssh", "n2", "--dir", str(lab[0]), "--", "hostname", check=True)
    assert res.stdout.strip() == "n2"


def test_libvirt_objects_are_labgens_own(lab):
    nets = virsh("net-list", "--name").split()
    assert {"labgen-lvci", "labgen-mgmt"} <= set(nets)
    xml = virsh("dumpxml", "labgen-lvci-n1")
    assert "/var/lib/labgen/libvirt/labgen-lvci-n1.img" in xml  # labgen's pool
    from labgen.kvm import kvm_verdict

    if not kvm_verdict().usable:
        assert "<domain type='qemu'" in xml and "tb-cache" in xml, xml[:400]


def test_destroy_leaves_nothing(lab):
    path = lab[0]
    start = time.monotonic()
    res = labgen("destroy", "--yes", "--dir", str(path), check=True)
    print(f"\n[libvirt lane] destroy: {time.monotonic() - start:.0f} s")
    assert "destroyed lab lvci" in res.stdout
    assert not [d for d in virsh("list", "--all", "--name").split() if d.startswith("labgen-lvci-")]
    assert "labgen-lvci" not in virsh("net-list", "--all", "--name").split()
    assert "labgen-lvci-n1.img" not in virsh("vol-list", "--pool", "labgen")
    if not [d for d in virsh("list", "--all", "--name").split() if d.startswith("labgen-")]:
        # No other labgen lab: the shared parts went too.
        assert "labgen" not in virsh("pool-list", "--all", "--name").split()
        assert "labgen-mgmt" not in virsh("net-list", "--all", "--name").split()
        assert not list(Path("/sys/class/net").glob("lgvirt*"))
    if not virsh("net-list", "--name").split():
        for tool in ("iptables-save", "ip6tables-save"):
            saved = subprocess.run([tool], capture_output=True, text=True).stdout
            assert "LIBVIRT_" not in saved, saved
