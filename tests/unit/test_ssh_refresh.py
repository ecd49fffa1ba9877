"""A cached ssh config whose address no longer answers is asked again from Vagrant, once.

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
    text = lifecycle.ssh_config_answering(lab_dir, "lxc", ["n1"], timeout=1)
    assert f"Port {listener}" in text and lab_dir.cached_ssh_config() == text
    assert len(vagrant) == 1


def test_answering_address_costs_no_vagrant_call(tmp_path, vagrant, listener):
    lab_dir = LabDir(tmp_path)
    lab_dir.save_ssh_config(CONFIG.format(port=listener))
    lifecycle.ssh_config_answering(lab_dir, "lxc", ["n1"], timeout=1)
    assert vagrant == []


def test_missing_cache_asks_vagrant_once(tmp_path, vagrant):
    lifecycle.ssh_config_answering(LabDir(tmp_path), "lxc", ["n1"], timeout=1)
    assert len(vagrant) == 1
