"""Kernel limits on real LXC: a container that cannot boot is reported with its console's
reason at once (not after Vagrant's 300 s boot timeout), and `classroom up` raises the limit
that caused it, after which its containers boot.

The one test lowers the host's fs.inotify.max_user_instances to what is in use right now (so
the next container's systemd cannot get an inotify instance) for a bounded window: one
`labgen create` (which does not touch limits) and one 1-seat `classroom up` (which raises it).
Its `finally` restores at least the value it found and never less than 2048, the value the
shared host runs with. Own names and networks: lab `cllimit` on 192.168.118.0/24, classroom
`cl<pid>l` on pool 192.168.116.0/23 (seat 1: 192.168.117.0/24), jump port 2316-2319.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.integration.classroomenv import containers
from tests.integration.lxcenv import TEST_ROOT, lxc_skip_reason
from tests.runcli import labgen as _labgen

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = lxc_skip_reason() or (None if shutil.which("nft") and os.path.exists("/usr/sbin/sshd")
                               else "nft or sshd is not installed (make setup installs them)")
if reason:
    pytest.skip(reason, allow_module_level=True)

DUO = Path(__file__).resolve().parent.parent / "data" / "labs" / "duo.yml"
ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-limits")
INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
SHARED_HOST_VALUE = 2048
NAME = f"cl{os.getpid() % 1000}l"
PROXY_ENV = {"LABGEN_APTPROXY_PORT": str(random.randint(23000, 23999)),
             "LABGEN_APTPROXY_DIR": str(ROOT) + "-aptproxy"}
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


def inotify_in_use() -> int:
    """inotify instances open on the host right now (root's: the containers are not user-namespaced)."""
    count = 0
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            count += sum(1 for fd in fd_dir.iterdir() if os.readlink(fd) == "anon_inode:inotify")
        except OSError:
            continue
    return count


def test_a_too_low_inotify_limit_fails_a_boot_with_its_reason_then_classroom_up_raises_it():
    ROOT.mkdir(parents=True, exist_ok=True)
    lab_dir, class_dir = ROOT / "cllimit", ROOT / NAME
    (ROOT / "cllimit.yml").write_text(ONE_NODE)
    found = int(INSTANCES.read_text())
    try:
        INSTANCES.write_text(f"{inotify_in_use()}\n")      # the window opens: no instance is left
        began = time.monotonic()
        res = labgen("--provider", "lxc", "create", str(ROOT / "cllimit.yml"), "--dir", str(lab_dir),
                     timeout=600)
        seconds = time.monotonic() - began
        assert res.returncode == 4, res.stdout + res.stderr
        assert "during boot" in res.stderr and "console" in res.stderr, res.stderr
        assert "Too many open files" in res.stderr or "inotify" in res.stderr, res.stderr
        assert "Traceback" not in res.stderr
        assert seconds < 240, f"reported after {seconds:.0f} s: that is the boot timeout, not the console"
        print(f"boot failure reported in {seconds:.1f} s: {res.stderr.strip().splitlines()[0]}")

        low = int(INSTANCES.read_text())
        up = labgen("classroom", "up", str(DUO), "--seats", "1", "--no-image", "--name", NAME,
                    "--pool", "192.168.116.0/23", "--ssh-port", str(random.randint(2316, 2319)),
                    "--ssh-address", "127.0.0.1", "--dir", str(class_dir), timeout=900)
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"limits: fs.inotify.max_user_instances {low} → " in up.stdout, up.stdout
        assert "/etc/sysctl.d/" in up.stdout and "1/1 seat(s) up" in up.stdout, up.stdout
        assert int(INSTANCES.read_text()) > low
    finally:
        INSTANCES.write_text(f"{max(found, SHARED_HOST_VALUE, int(INSTANCES.read_text()))}\n")
        if class_dir.exists():
            down = labgen("classroom", "down", "--yes", "--dir", str(class_dir), timeout=600)
            assert down.returncode == 0, down.stdout + down.stderr
        if lab_dir.exists():
            labgen("destroy", "--yes", "--dir", str(lab_dir), timeout=300)
        assert not containers("labgen-cllimit-") and not containers(f"labgen-{NAME}-")
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
