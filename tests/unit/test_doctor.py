"""labgen doctor's decisions, fed with facts (no host access)."""

from __future__ import annotations

import ipaddress

import pytest

from labgen import doctor as doc
from labgen.labfile import load_lab
from tests.unit.golden import GOLDEN

NET = ipaddress.IPv4Network("192.168.62.0/24")


@pytest.fixture
def lab():
    return load_lab(GOLDEN.parent / "data" / "labs" / "lvci.yml")


def test_virtualbox_range_rule():
    outside = ipaddress.IPv4Network("192.168.70.0/24")  # 192.168.56.0/21 ends at .63.255
    assert doc.vbox_network_check((6, 1, 26), None, outside).status == doc.OK  # before the rule
    assert doc.vbox_network_check((7, 0, 10), None, NET).status == doc.OK
    fail = doc.vbox_network_check((7, 0, 10), None, outside)
    assert fail.status == doc.FAIL and "* 192.168.70.0/24" in fail.hint and "default" in fail.detail
    assert doc.vbox_network_check((7, 0, 10), "* 192.168.0.0/16\n", outside).status == doc.OK
    assert doc.vbox_network_check(None, "* 10.0.0.0/8\n", NET).status == doc.FAIL  # unknown: assume the rule


def test_route_clashes_ignore_the_labs_own_bridge_and_the_default_route():
    routes = [
        {"dst": "default", "gateway": "10.0.0.1", "dev": "eth0"},
        {"dst": "192.168.62.0/24", "dev": "lgvirtabc"},
        {"dst": "192.168.0.0/16", "dev": "tun0"},
        {"dst": "10.0.3.0/24", "dev": "lxcbr0"},
    ]
    assert doc.route_clashes(NET, routes, {"lgvirtabc"}) == ["192.168.0.0/16 via tun0"]
    assert doc.route_clashes(NET, routes[:2], {"lgvirtabc"}) == []
    check = doc.clash_check("x", NET, routes, set())
    assert check.status == doc.FAIL and "192.168.62.0/24 via lgvirtabc" in check.detail and check.hint


def test_memory_need_counts_tcg_overhead(lab):
    kvm = doc.memory_need(lab, "libvirt", tcg=False)
    tcg = doc.memory_need(lab, "libvirt", tcg=True)
    assert kvm == 2 * (512 + 64) * doc.MIB and tcg == 2 * (512 + 320) * doc.MIB
    assert doc.memory_need(lab, "lxc", tcg=False) < kvm  # a container's memory is a cap only


def test_resource_check_levels():
    assert doc.resource_check("m", 2 * doc.GIB, 10 * doc.GIB, "memory").status == doc.OK
    assert doc.resource_check("m", 9 * doc.GIB, 10 * doc.GIB, "memory").status == doc.WARN
    fail = doc.resource_check("m", 11 * doc.GIB, 10 * doc.GIB, "memory")
    assert fail.status == doc.FAIL and fail.hint and "11.0 GiB needed" in fail.detail
    assert doc.resource_check("m", 1, None, "memory").status == doc.WARN


def test_blocking_is_only_failures():
    checks = [doc.Check("a", doc.OK, ""), doc.Check("b", doc.WARN, ""), doc.Check("c", doc.FAIL, "", "h")]
    assert [c.topic for c in doc.blocking(checks)] == ["c"]


def test_disk_need_grows_with_nodes(lab):
    assert doc.disk_need(lab, "libvirt") > doc.disk_need(lab, "lxc") > 0


def test_box_check_builds_ours_and_downloads_others():
    assert doc.box_check("libvirt", "labgen/debian-12", True).status == doc.OK
    ours = doc.box_check("libvirt", "labgen/debian-12", False)
    assert ours.status == doc.FAIL and ours.hint == "sudo labgen box build libvirt (about 1.5 minutes)"
    theirs = doc.box_check("libvirt", "generic/ubuntu1604", False)
    assert theirs.status == doc.WARN and "Vagrant Cloud" in theirs.detail
