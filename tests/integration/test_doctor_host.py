"""`labgen doctor` on this host, for real: read-only checks of the installed providers."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.runcli import labgen

LAB = Path(__file__).resolve().parent.parent / "data" / "labs" / "lvci.yml"


def _lines_are_checks(res) -> list[str]:
    lines = res.stdout.strip().splitlines()
    assert lines and all(re.match(r"^[✓!✗-] \S", ln) for ln in lines[:-1] if not ln.startswith(" ")), res.stdout
    assert "Traceback" not in res.stderr
    return lines


@pytest.mark.skipif(os.geteuid() != 0, reason="LXC is usable for root only (CI runs as root)")
def test_on_this_host_lxc_is_usable_and_the_verdict_ends_the_report():
    """make setup installed vagrant, vagrant-lxc, LXC and dnsmasq, and this runs as root: the
    report must end with a verdict that names lxc, and exit 0."""
    res = labgen("doctor")
    lines = _lines_are_checks(res)
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.match(r"^✓ vagrant +installed$", lines[0]), lines[0]
    assert re.search(r"^✓ lxc +vagrant-lxc and LXC installed$", res.stdout, re.M), res.stdout
    assert lines[-1].startswith("usable here: ") and "lxc" in lines[-1][len("usable here: ") :].split(", ")


def test_a_host_without_the_tools_exits_3_and_says_what_to_install(tmp_path):
    empty = tmp_path / "no-tools"  # PATH with nothing in it: no vagrant, no lxc-create, no virsh
    empty.mkdir()
    res = labgen("doctor", env={"PATH": str(empty)})
    lines = _lines_are_checks(res)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "✗ vagrant" in lines[0] and "→ apt-get install vagrant" in lines[0]
    assert "no provider can run labs on this host" in res.stderr and "hint: fix one of the ✗ lines" in res.stderr
    assert not [ln for ln in lines if ln.startswith("usable here")]


@pytest.mark.skipif(shutil.which("VBoxManage") is not None, reason="VirtualBox is installed here")
def test_a_lab_on_a_missing_provider_fails_with_a_hint():
    res = labgen("doctor", str(LAB), "--provider", "virtualbox")
    assert res.returncode == 3, res.stdout + res.stderr
    assert "✗ virtualbox" in res.stdout and "→ install VirtualBox" in res.stdout
    assert "hint: fix the ✗ lines above" in res.stderr
    # The range rule is checked even without VirtualBox: 192.168.62.0/24 is inside 192.168.56.0/21.
    assert re.search(r"✓ virtualbox: host-only range .*192\.168\.56\.0/21", res.stdout), res.stdout


def _hardware_kvm() -> bool:
    """Read from the files, not from labgen: a writable /dev/kvm and kvm_intel or kvm_amd."""
    return os.access("/dev/kvm", os.R_OK | os.W_OK) and any(
        os.path.isdir(f"/sys/module/{m}") for m in ("kvm_intel", "kvm_amd")
    )


@pytest.mark.skipif(shutil.which("virsh") is None, reason="libvirt is not installed")
def test_libvirt_lab_checks_kvm_memory_disk_and_addresses():
    res = labgen("doctor", str(LAB), "--provider", "libvirt")
    out = res.stdout
    assert "Traceback" not in res.stderr
    assert re.search(r"^✓ libvirt +vagrant-libvirt, libvirt and QEMU installed$", out, re.M), out
    assert re.search(r"^✓ libvirt: daemons +(libvirtd answers|not running; no service manager)", out, re.M), out
    assert re.search(r"^✓ libvirt: management network +10\.0\.4\.0/24 ", out, re.M), out
    assert re.search(r"^✓ lab lvci: network +192\.168\.62\.0/24 is free on this host$", out, re.M), out
    # 2 nodes: 1.5 GiB of copy-on-write disk each, plus the box image once
    assert re.search(
        r"^✓ lab lvci: disk \(/var/lib/labgen/libvirt\) +4\.0 GiB needed, [\d.]+ GiB available$", out, re.M
    ), out
    # 2 x 512 MiB, plus QEMU's own: ~320 MiB each under TCG (its translation cache), 64 MiB under KVM
    tcg = re.search(r"^! libvirt: KVM +not usable: .*; QEMU TCG instead \(~60 s per VM", out, re.M)
    if not _hardware_kvm():
        assert tcg, out  # no KVM module (or a PVM flavour): TCG, always
    need = "1.6" if tcg else "1.1"
    assert re.search(rf"^✓ lab lvci: memory +{need} GiB needed, [\d.]+ GiB available$", out, re.M), out
    if tcg is None:
        assert re.search(r"^✓ libvirt: KVM +KVM runs a test guest", out, re.M), out
