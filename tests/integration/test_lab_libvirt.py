"""The libvirt lane: real VMs (KVM, or QEMU TCG where KVM is not usable) through the CLI.

One VM (tests/data/labs/lvci.yml without its second node, box labgen/debian-12) for the whole
module: created with `labgen --provider libvirt create` (boot + base role), then exec, the lab
network (the VM reaches the host's .1 on it), a no-op re-provision, what is libvirt-specific
(domains, networks, SSH over the management network), and last `destroy`, which must leave
nothing of labgen's in libvirt or the firewall. The fixture destroys the lab again whatever
happened. Only what libvirt alone can prove runs here (issue 15): node-to-node traffic, roles
and scenarios are the LXC lane's. One VM, not two: under TCG an idle VM still costs half a core,
and the lane runs beside the LXC modules on the same two cores. About 3 minutes here.
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
NODES = {"n1": "192.168.62.11"}


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
    lab_file = LIBVIRT_ROOT / "lvci.yml"
    text = LAB_FILE.read_text()
    assert "  - {name: n2," in text
    lab_file.write_text("".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("  - {name: n2,")))
    try:
        start = time.monotonic()
        res = labgen("--provider", "libvirt", "create", str(lab_file), "--dir", str(path), timeout=1500)
        took = time.monotonic() - start
        assert res.returncode == 0, res.stdout + res.stderr
        yield path, res.stdout, took
    finally:
        destroy_lab_dir(path)


def test_create_boots_a_vm_and_provisions_base(lab):
    path, out, took = lab
    assert "lab lvci is up" in out
    assert re.search(r"provisioned: \d+ task\(s\) changed", out), out
    print(f"\n[libvirt lane] create (boot 1 VM + base): {took:.0f} s")
    from labgen.kvm import kvm_verdict

    if not kvm_verdict().usable:  # the fallback is announced with its cost
        assert "QEMU TCG" in out and "0.6 GB" in out, out
    running = virsh("list", "--name").split()
    assert "labgen-lvci-n1" in running


def test_exec_runs_on_every_node(lab):
    res = labgen("exec", "all", "--dir", str(lab[0]), "--", "hostname", check=True)
    for node in NODES:
        assert re.search(rf"^{node}\s+│ {node}$", res.stdout, re.M), res.stdout


def test_the_vm_is_on_the_lab_network(lab):
    res = labgen("exec", "all", "--dir", str(lab[0]), "--", "ip -4 -o addr show dev eth1", check=True)
    for node, ip in NODES.items():
        assert re.search(rf"^{node}\s+│ .*inet {re.escape(ip)}/24", res.stdout, re.M), res.stdout
    # The host holds .1 on the lab network (like VirtualBox's host-only adapter), and the host
    # reaches the node's lab address (the node's own name resolves to it, from base's hosts file).
    back = labgen(
        "exec", "n1", "--dir", str(lab[0]), "--", "ping -c 1 -W 5 192.168.62.1 && getent hosts n1", check=True
    )
    assert "1 received" in back.stdout and "192.168.62.11" in back.stdout, back.stdout
    there = subprocess.run(["ping", "-c", "1", "-W", "5", NODES["n1"]], capture_output=True, text=True, timeout=30)
    assert there.returncode == 0, there.stdout + there.stderr


def test_apt_on_the_vm_reaches_the_archive_through_the_hosts_proxy(lab):
    """The base role points apt at the host's caching proxy on the lab network. The box holds
    every package base checks for, so creating this lab ran no apt: fetch one index file with
    apt's own downloader (apt-helper reads the same proxy setting) to prove the path, without
    the minutes an `apt-get update` takes under TCG."""
    res = labgen(
        "exec",
        "n1",
        "--sudo",
        "--dir",
        str(lab[0]),
        "--",
        "cat /etc/apt/apt.conf.d/01labgen-proxy; echo lists: $(ls /var/lib/apt/lists | grep -c _Packages); "
        "rm -f /tmp/lg-release; "
        "/usr/lib/apt/apt-helper download-file http://deb.debian.org/debian/dists/bookworm/Release /tmp/lg-release "
        ">/dev/null 2>&1; grep -m1 '^Origin:' /tmp/lg-release; rm -f /tmp/lg-release",
        check=True,
    )
    assert 'Acquire::http::Proxy "http://192.168.62.1:3142";' in res.stdout, res.stdout
    assert re.search(r"^n1\s+│ Origin: Debian$", res.stdout, re.M), res.stdout
    # creating the lab ran no `apt-get update` (it would have left package lists): the box has
    # every package base checks for
    assert re.search(r"^n1\s+│ lists: 0$", res.stdout, re.M), res.stdout


def test_reprovision_changes_nothing(lab):
    res = labgen("provision", "--dir", str(lab[0]), check=True)
    assert "already converged, nothing changed" in res.stdout, res.stdout


def test_ssh_goes_over_the_management_network(lab):
    """What differs from LXC: SSH reaches the VMs on labgen-mgmt (DHCP), as vagrant, with
    Vagrant's insecure key (insert_key false); the lab network carries no SSH config."""
    config = (lab[0] / ".labgen" / "ssh-config").read_text()
    hosts = re.findall(r"^\s*HostName (\S+)", config, re.M)
    assert len(hosts) == 1 and all(h.startswith("10.0.4.") for h in hosts), config
    assert re.search(r"^\s*User vagrant$", config, re.M)
    assert "insecure_private_key" in config
    res = labgen("ssh", "n1", "--dir", str(lab[0]), "--", "hostname", check=True)
    assert res.stdout.strip() == "n1"


def test_the_default_route_points_at_the_host(lab):
    """labgen-mgmt's DHCP names no router; base points the default route at the host (10.0.4.1)
    and leaves the dhclient hook that keeps it on every lease, so a workload's gateway
    169.254.1.1 is routed (mac-bug's proxy ARP needs that), while the VM still reaches nothing
    beyond the host."""
    res = labgen(
        "exec",
        "n1",
        "--dir",
        str(lab[0]),
        "--",
        "ip -4 route show default; ip -4 route get 169.254.1.1; "
        "run-parts --list /etc/dhcp/dhclient-exit-hooks.d | grep -c labgen-default-route",
        check=True,
    )
    assert re.search(r"^n1\s+│ default via 10\.0\.4\.1 dev eth0", res.stdout, re.M), res.stdout
    assert re.search(r"^n1\s+│ 169\.254\.1\.1 via 10\.0\.4\.1 dev eth0", res.stdout, re.M), res.stdout
    assert re.search(r"^n1\s+│ 1$", res.stdout, re.M), res.stdout


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
