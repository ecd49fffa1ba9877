"""`labgen scenario verify` on a real LXC lab: the shipped mac-bug transcripts verify clean,
and a package changed on a node (dpkg, a real .deb built on the node) makes verify exit 6
naming the step and the package; --junit writes XML a CI reads.

One 2-node lab (base role) for the module on this test's own subnet (192.168.141.0/24, names
vf-); the fixture destroys it whatever happened.
"""

from __future__ import annotations

import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.integration.lxcenv import TEST_ROOT, destroy_lab_dir, lxc_skip_reason
from tests.runcli import labgen

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = lxc_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)

SUBNET = "192.168.141"
LAB = f"""\
name: vf-verify
description: two nodes for scenario verify
network: {{cidr: {SUBNET}.0/24}}
boxes: {{lxc: labgen/debian-12}}
defaults: {{memory: 512, cpus: 1}}
nodes:
  - {{name: ubuntu-2, ip: {SUBNET}.102, roles: [base]}}
  - {{name: ubuntu-3, ip: {SUBNET}.103, roles: [base]}}
"""
REPO = Path(__file__).resolve().parents[2]
PROBE = """\
id: vf-probe
title: {en: "Probe", zh: "探测"}
summary: {en: "What vf-tool says.", zh: "vf-tool 的输出。"}
lab: mesos-calico
requires: {roles: [base]}
steps:
  - id: greet
    kind: observe
    title: {en: "vf-tool greets", zh: "vf-tool 打招呼"}
    "on": [ubuntu-2]
    run: cat /usr/share/vf-tool/greeting
"""


def build_deb(lab_dir, version, greeting):
    """Build and install package vf-tool VERSION on ubuntu-2 with dpkg-deb (no network)."""
    script = (
        f"set -e; d=$(mktemp -d); mkdir -p $d/DEBIAN $d/usr/share/vf-tool; "
        f"printf 'Package: vf-tool\\nVersion: {version}\\nArchitecture: all\\n"
        f"Maintainer: labgen tests <t@example.invalid>\\nDescription: verify test\\n' > $d/DEBIAN/control; "
        f"echo '{greeting}' > $d/usr/share/vf-tool/greeting; "
        f"dpkg-deb -b $d /tmp/vf-tool.deb >/dev/null; sudo dpkg -i /tmp/vf-tool.deb >/dev/null; rm -rf $d"
    )
    labgen("ssh", "ubuntu-2", "--dir", str(lab_dir), "--", script, check=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    files = tmp_path_factory.mktemp("vf-files")
    (files / "vf-verify.yml").write_text(LAB)
    shutil.copy(REPO / "scenarios" / "mac-bug.yml", files / "mac-bug.yml")
    shutil.copytree(REPO / "scenarios" / "mac-bug.approved", files / "mac-bug.approved")
    path = TEST_ROOT / f"vf-verify-{int(time.time())}"
    try:
        labgen("--provider", "lxc", "create", str(files / "vf-verify.yml"), "--dir", str(path), check=True, timeout=900)
        yield path, files
    finally:
        destroy_lab_dir(path)


def test_shipped_transcript_verifies_clean_by_name(lab):
    path, _ = lab
    # the built-in scenario and its shipped scenarios/mac-bug.approved/, as the docs show it
    res = labgen("scenario", "verify", "mac-bug", "--dir", str(path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "verified: 9 steps of mac-bug (default) match the approved transcript" in res.stdout


def test_challenge_variant_verifies_clean_with_junit(lab, tmp_path):
    path, files = lab
    report = tmp_path / "report.xml"
    res = labgen(
        "scenario",
        "verify",
        str(files / "mac-bug.yml"),
        "--variant",
        "challenge",
        "--junit",
        str(report),
        "--dir",
        str(path),
    )
    assert res.returncode == 0, res.stdout + res.stderr
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and int(suite.get("tests") or 0) >= 10


def test_changed_output_drifts_naming_the_step(lab, tmp_path):
    path, files = lab
    # the scenario's own output changed: one step now prints one more line
    text = (files / "mac-bug.yml").read_text()
    changed = text.replace('echo "mac-bug cleaned on {{ node }}"', 'echo "mac-bug cleaned on {{ node }}"; echo extra')
    assert changed != text
    (tmp_path / "mac-bug.yml").write_text(changed)
    shutil.copytree(files / "mac-bug.approved", tmp_path / "mac-bug.approved")
    res = labgen("scenario", "verify", str(tmp_path / "mac-bug.yml"), "--dir", str(path))
    out = res.stdout + res.stderr
    assert res.returncode == 6, out
    assert "drifted: step cleanup Clean up the workloads and routes" in out and "+extra" in out
    assert "1 of 9 steps drifted: cleanup" in out


def test_package_change_drifts_naming_step_and_package(lab, tmp_path):
    path, _ = lab
    probe = tmp_path / "vf-probe.yml"
    probe.write_text(PROBE)
    build_deb(path, "1.0", "hello from 1.0")
    labgen("scenario", "verify", str(probe), "--dir", str(path), "--approve", check=True)
    assert "hello from 1.0" in (tmp_path / "vf-probe.approved" / "default.txt").read_text()
    assert "package ubuntu-2 vf-tool 1.0" in (tmp_path / "vf-probe.approved" / "default.env").read_text()
    clean = labgen("scenario", "verify", str(probe), "--dir", str(path))
    assert clean.returncode == 0, clean.stdout + clean.stderr

    build_deb(path, "2.0", "hello from 2.0")
    report = tmp_path / "report.xml"
    res = labgen("scenario", "verify", str(probe), "--dir", str(path), "--junit", str(report))
    out = res.stdout + res.stderr
    assert res.returncode == 6, out
    assert "drifted: step greet vf-tool greets" in out
    assert "-hello from 1.0" in out and "+hello from 2.0" in out
    assert "ubuntu-2: package vf-tool 1.0 -> 2.0" in out
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1" and suite.get("tests") == "1"
    failure = suite.find("testcase/failure")
    assert failure is not None and "vf-tool 1.0 -> 2.0" in (failure.text or "")


def test_verify_without_approved_transcript_says_how(lab, tmp_path):
    path, _ = lab
    probe = tmp_path / "vf-probe.yml"
    probe.write_text(PROBE)
    res = labgen("scenario", "verify", str(probe), "--dir", str(path))
    assert res.returncode == 2
    assert "no approved transcript" in res.stderr and "--approve" in res.stderr
    assert "Traceback" not in res.stderr
