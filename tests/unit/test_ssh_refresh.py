"""A cached ssh config whose address no longer answers is asked again from Vagrant, once
(libvirt; LXC asks lxc-info instead, without Vagrant's Ruby start).

Loopback only: one listening socket plays the node's new address, a closed port the old one.
"""

from __future__ import annotations

import socket

import pytest

from labgen import lifecycle
from labgen.labdir import LabDir

CONFIG = "Host n1\n  HostName 127.0.0.1\n  Port {port}\n  User vagrant\n"


@pytest.fixture
def listener():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        yield s.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


@pytest.fixture
def vagrant(monkeypatch, listener):
    calls = []

    class FakeEnv:
        def __init__(self, root, provider):
            pass

        def ssh_config(self):
            calls.append(1)
            return CONFIG.format(port=listener)

    monkeypatch.setattr(lifecycle, "VagrantEnv", FakeEnv)  # where lifecycle looks it up
    return calls


def test_stale_address_is_refreshed_from_vagrant(tmp_path, vagrant, listener):
    lab_dir = LabDir(tmp_path)
    lab_dir.save_ssh_config(CONFIG.format(port=closed_port()))
    text = lifecycle.ssh_config_answering(lab_dir, "libvirt", ["n1"], timeout=1)
    assert f"Port {listener}" in text and lab_dir.cached_ssh_config() == text
    assert len(vagrant) == 1


def test_answering_address_costs_no_vagrant_call(tmp_path, vagrant, listener):
    lab_dir = LabDir(tmp_path)
    lab_dir.save_ssh_config(CONFIG.format(port=listener))
    lifecycle.ssh_config_answering(lab_dir, "libvirt", ["n1"], timeout=1)
    assert vagrant == []


def test_missing_cache_asks_vagrant_once(tmp_path, vagrant):
    lifecycle.ssh_config_answering(LabDir(tmp_path), "libvirt", ["n1"], timeout=1)
    assert len(vagrant) == 1


def test_lxc_refreshes_from_the_provider_without_vagrant(tmp_path, vagrant, listener, monkeypatch):
    from labgen.model import Lab
    from labgen.providers import lxc

    asked: list[str] = []

    def from_lxc_info(self, lab: Lab, lab_dir) -> str:
        asked.append(lab.name)
        return CONFIG.format(port=listener)

    monkeypatch.setattr(lxc.LxcProvider, "ssh_config", from_lxc_info)
    (tmp_path / "lab.yml").write_text(
        "name: refresh\nnetwork: {cidr: 192.168.77.0/24}\nboxes: {lxc: labgen/debian-12}\n"
        "nodes:\n  - {name: n1, ip: 192.168.77.11, roles: [base]}\n"
    )
    lab_dir = LabDir(tmp_path)
    lab_dir.save_ssh_config(CONFIG.format(port=closed_port()))
    text = lifecycle.ssh_config_answering(lab_dir, "lxc", ["n1"], timeout=1)
    assert f"Port {listener}" in text and lab_dir.cached_ssh_config() == text
    assert asked == ["refresh"] and vagrant == []
