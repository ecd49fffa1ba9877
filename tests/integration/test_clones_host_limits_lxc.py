"""Kernel limits on real LXC: a container that cannot boot is reported with its console's
reason at once (not after Vagrant's 300 s boot timeout), and `classroom up` raises the limit
that caused it, after which its containers boot.

The boot failure is a real one (the node's init replaced by a script that gives up), so it
needs no host limit lowered; the limit test sets fs.inotify.max_user_instances to Debian's
default for one 1-seat `classroom up`, and restores at least 2048 in its `finally`.
Own names and networks: lab `cllimit` on 192.168.118.0/24, classroom
`cl<pid>l` on pool 192.168.116.0/23 (seat 1: 192.168.117.0/24), jump port 2316-2317.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.integration.classroomenv import classroom_skip_reason, containers
from tests.integration.lxcenv import TEST_ROOT
from tests.runcli import labgen as _labgen

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = classroom_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)

DUO = Path(__file__).resolve().parent.parent / "data" / "labs" / "duo.yml"
ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-limits")
INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
SHARED_HOST_VALUE = 2048
NAME = f"cl{os.getpid() % 1000}l"
PROXY_ENV = {"LABGEN_APTPROXY_PORT": str(random.randint(23000, 23999)), "LABGEN_APTPROXY_DIR": str(ROOT) + "-aptproxy"}
ONE_NODE = """\
name: cllimit
description: one node, for the boot failure test
network: {cidr: 192.168.118.0/24}
boxes: {lxc: labgen/debian-12}
defaults: {memory: 256, cpus: 1}
nodes:
  - {name: n1, ip: 192.168.118.101, roles: [base]}
"""


def labgen(*args, **kw):
    return _labgen(*args, env=PROXY_ENV, **kw)


def test_a_node_that_stops_during_boot_is_reported_with_its_console_at_once():
    """A real boot failure on LXC, without touching the host's limits: the node's init is
    replaced by a script that prints a reason and exits, then the lab is booted again."""
    ROOT.mkdir(parents=True, exist_ok=True)
    lab_dir = ROOT / "cllimit"
    (ROOT / "cllimit.yml").write_text(ONE_NODE)
    try:
        labgen("--provider", "lxc", "create", str(ROOT / "cllimit.yml"), "--dir", str(lab_dir), check=True, timeout=600)
        labgen("halt", "--dir", str(lab_dir), check=True, timeout=300)
        init = Path("/var/lib/lxc/labgen-cllimit-n1/rootfs/sbin/init")
        init.unlink()
        init.write_text("#!/bin/sh\necho 'Failed to start: labgen test init gives up'\nexit 1\n")
        init.chmod(0o755)
        began = time.monotonic()
        res = labgen("--provider", "lxc", "create", str(ROOT / "cllimit.yml"), "--dir", str(lab_dir), timeout=600)
        seconds = time.monotonic() - began
        assert res.returncode == 4, res.stdout + res.stderr
        # the console keeps earlier boots too: the reason is its last failure lines, this boot's among them
        assert "node n1: its container stopped during boot: " in res.stderr, res.stderr
        assert "labgen test init gives up" in res.stderr, res.stderr
        assert "/var/lib/lxc/labgen-cllimit-n1/console.log" in res.stderr and "Traceback" not in res.stderr
        assert seconds < 240, f"reported after {seconds:.0f} s: that is the boot timeout, not the console"
        print(f"boot failure reported in {seconds:.1f} s")
    finally:
        if lab_dir.exists():
            labgen("destroy", "--yes", "--dir", str(lab_dir), timeout=300)
        assert not containers("labgen-cllimit-")
        shutil.rmtree(ROOT, ignore_errors=True)


def test_classroom_up_raises_an_inotify_limit_that_is_too_low_and_its_seat_boots():
    """The host's fs.inotify.max_user_instances at Debian's default (128) for a bounded window:
    one 1-seat `classroom up`, which must raise it (and say so) before booting. The `finally`
    restores at least what it found and never less than 2048 (the shared host's value)."""
    ROOT.mkdir(parents=True, exist_ok=True)
    class_dir = ROOT / NAME
    found = int(INSTANCES.read_text())
    try:
        INSTANCES.write_text("128\n")  # the window opens
        up = labgen(
            "classroom",
            "up",
            str(DUO),
            "--seats",
            "1",
            "--no-image",
            "--name",
            NAME,
            "--pool",
            "192.168.116.0/23",
            "--ssh-port",
            str(random.choice((2316, 2317))),
            "--ssh-address",
            "127.0.0.1",
            "--dir",
            str(class_dir),
            timeout=900,
        )
        raised = int(INSTANCES.read_text())
        INSTANCES.write_text(f"{max(found, SHARED_HOST_VALUE, raised)}\n")  # and closes
        assert up.returncode == 0, up.stdout + up.stderr
        assert "limits: fs.inotify.max_user_instances 128 → " in up.stdout, up.stdout
        assert "/etc/sysctl.d/60-labgen.conf" in up.stdout and "1/1 seat(s) up" in up.stdout, up.stdout
        assert raised > 128
    finally:
        INSTANCES.write_text(f"{max(found, SHARED_HOST_VALUE, int(INSTANCES.read_text()))}\n")
        if class_dir.exists():
            down = labgen("classroom", "down", "--yes", "--dir", str(class_dir), timeout=600)
            assert down.returncode == 0, down.stdout + down.stderr
        assert not containers(f"labgen-{NAME}-")
        from labgen import aptproxy

        aptproxy.stop(base=Path(PROXY_ENV["LABGEN_APTPROXY_DIR"]), port=int(PROXY_ENV["LABGEN_APTPROXY_PORT"]))
        shutil.rmtree(PROXY_ENV["LABGEN_APTPROXY_DIR"], ignore_errors=True)
        shutil.rmtree(ROOT, ignore_errors=True)


def test_doctor_with_a_seat_count_shows_every_limit_and_changes_none():
    from labgen import hostlimits

    before = hostlimits.read_limits()
    res = labgen("doctor", str(DUO), "--seats", "30", "--provider", "lxc", timeout=300)
    assert res.returncode in (0, 3), res.stdout + res.stderr
    for key in hostlimits.PER_NODE:
        assert re.search(rf"30 seats: {re.escape(key)}\s", res.stdout), (key, res.stdout)
    assert "30 seats: memory" in res.stdout and "30 seats: disk" in res.stdout, res.stdout
    assert hostlimits.read_limits() == before
