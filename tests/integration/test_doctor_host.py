"""`labgen doctor` on this host, for real: read-only checks of the installed providers."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.runcli import labgen

LAB = Path(__file__).resolve().parent.parent / "data" / "labs" / "lvci.yml"


def test_every_line_is_one_check_and_a_verdict_ends_it():
    res = labgen("doctor")
    lines = res.stdout.strip().splitlines()
    assert lines and all(re.match(r"^[✓!✗-] \S", ln) for ln in lines[:-1] if not ln.startswith(" ")), res.stdout
    if res.returncode == 0:
        assert lines[-1].startswith("usable here: ")
    else:
        assert res.returncode == 3 and "no provider can run labs" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.skipif(shutil.which("VBoxManage") is not None, reason="VirtualBox is installed here")
def test_a_lab_on_a_missing_provider_fails_with_a_hint():
    res = labgen("doctor", str(LAB), "--provider", "virtualbox")
    assert res.returncode == 3, res.stdout + res.stderr
    assert "✗ virtualbox" in res.stdout and "→ install VirtualBox" in res.stdout
    assert "hint: fix the ✗ lines above" in res.stderr
    # The range rule is checked even without VirtualBox: 192.168.62.0/24 is inside 192.168.56.0/21.
    assert re.search(r"✓ virtualbox: host-only range .*192\.168\.56\.0/21", res.stdout), res.stdout


@pytest.mark.skipif(shutil.which("virsh") is None, reason="libvirt is not installed")
def test_libvirt_lab_checks_kvm_memory_disk_and_addresses():
    res = labgen("doctor", str(LAB), "--provider", "libvirt")
    for topic in ("libvirt: KVM", "libvirt: daemons", "lab lvci: memory", "lab lvci: disk",
                  "lab lvci: network", "libvirt: management network"):
        assert topic in res.stdout, res.stdout
    from labgen.kvm import kvm_verdict

    if not kvm_verdict().usable:
        assert re.search(r"! libvirt: KVM .*QEMU TCG", res.stdout)
