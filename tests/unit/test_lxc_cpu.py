"""lxc_cpu: which cgroup key sets a container's CPU share, and what set_share asks lxc-cgroup."""

from __future__ import annotations

import subprocess

from labgen.providers import lxc_cpu


def test_the_key_follows_the_hosts_cgroup_layout(tmp_path):
    assert lxc_cpu.share_key(tmp_path) is None  # no CPU controller at all
    (tmp_path / "cgroup.controllers").write_text("cpuset io memory pids\n")
    assert lxc_cpu.share_key(tmp_path) is None  # v2 without cpu
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    assert lxc_cpu.share_key(tmp_path) == ("cpu.weight", 100)
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.shares").write_text("1024\n")
    assert lxc_cpu.share_key(tmp_path) == ("cpu.shares", 1024)  # v1 wins (a hybrid host)


def test_set_share_asks_ten_times_the_usual_then_the_usual(monkeypatch):
    calls = []
    monkeypatch.setattr(lxc_cpu, "share_key", lambda: ("cpu.shares", 1024))
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    lxc_cpu.set_share(["a", "b"], favoured=True)
    lxc_cpu.set_share(["a"], favoured=False)
    assert calls == [
        ["lxc-cgroup", "-n", "a", "cpu.shares", "10240"],
        ["lxc-cgroup", "-n", "b", "cpu.shares", "10240"],
        ["lxc-cgroup", "-n", "a", "cpu.shares", "1024"],
    ]


def test_set_share_does_nothing_without_a_cpu_controller(monkeypatch):
    monkeypatch.setattr(lxc_cpu, "share_key", lambda: None)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: (_ for _ in ()).throw(AssertionError(cmd)))
    lxc_cpu.set_share(["a"], favoured=True)
