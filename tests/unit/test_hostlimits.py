"""Kernel limits for many containers: what is short, what gets raised, and the refusal."""

from __future__ import annotations

import pytest

from labgen import hostlimits
from labgen.errors import PreflightError


def test_debian_defaults_hold_about_18_nodes_of_inotify_instances_and_labgen_asks_more():
    have = {"fs.inotify.max_user_instances": 128}
    assert hostlimits.shortfalls(0, have) == []
    short = hostlimits.shortfalls(90, have)  # 30 seats × 3 nodes
    assert [(s.key, s.have, s.need) for s in short] == [("fs.inotify.max_user_instances", 128, 128 + 16 * 90)]


def test_a_key_the_kernel_lacks_is_not_a_shortfall():
    assert hostlimits.shortfalls(500, {"kernel.pid_max": None}) == []


def test_a_limit_already_higher_is_left_alone():
    assert hostlimits.shortfalls(10, {"kernel.pid_max": 4194304}) == []


@pytest.fixture
def fake_proc(tmp_path, monkeypatch):
    monkeypatch.setattr(hostlimits, "PROC_SYS", tmp_path)
    for key in hostlimits.PER_NODE:
        p = hostlimits.sysctl_path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("100000000\n")
    hostlimits.sysctl_path("fs.inotify.max_user_instances").write_text("128\n")
    return tmp_path


def test_ensure_raises_what_is_short_and_says_how_to_keep_it(fake_proc, monkeypatch):
    monkeypatch.setattr(hostlimits.os, "geteuid", lambda: 0)
    changes = hostlimits.ensure(20, "2 seats")
    assert hostlimits.sysctl_path("fs.inotify.max_user_instances").read_text() == f"{128 + 16 * 20}\n"
    assert (
        changes[0] == "limits: fs.inotify.max_user_instances 128 → 448 (inotify instances "
        "(systemd, dbus, etcd, dockerd... of every node))"
    )
    assert "fs.inotify.max_user_instances = 448" in changes[-1] and hostlimits.SYSCTL_FILE in changes[-1]
    assert hostlimits.ensure(20, "2 seats") == []  # converged: nothing to say


def test_ensure_refuses_with_the_numbers_when_it_cannot_write(fake_proc, monkeypatch):
    monkeypatch.setattr(hostlimits.os, "geteuid", lambda: 1000)
    with pytest.raises(PreflightError) as exc:
        hostlimits.ensure(20, "2 seats of duo")
    assert "fs.inotify.max_user_instances is 128, 2 seats of duo need 448" in exc.value.message
    assert "sysctl -w fs.inotify.max_user_instances=448" in exc.value.hint
    assert hostlimits.sysctl_path("fs.inotify.max_user_instances").read_text() == "128\n"
