"""The LXC provider's pure logic: bridge naming, template values, overlap detection, preflight."""

from __future__ import annotations

import ipaddress
import json
import subprocess

import pytest

from labgen.errors import LabgenError, PreflightError
from labgen.model import Lab, Node
from labgen.providers import get_provider
from labgen.providers import lxc, lxcstart
from labgen.remote import parse_ssh_config


def make_lab(name="mesos-calico", network="192.168.56.0/24", box="labgen/debian-12"):
    net = ipaddress.ip_network(network)
    nodes = tuple(Node(f"ubuntu-{i}", net.network_address + 100 + i, (), 1024, 1) for i in (1, 2, 3))
    return Lab(name=name, description="", network=net, boxes={"lxc": box}, nodes=nodes)


def test_registry_returns_the_lxc_provider():
    provider = get_provider("lxc")
    assert provider is lxc.PROVIDER
    assert (provider.name, provider.distro) == ("lxc", "debian-12")


def test_bridge_name_is_short_prefixed_and_stable():
    name = lxc.bridge_name(make_lab())
    assert name == lxc.bridge_name(make_lab())
    assert name.startswith("lgbr") and len(name) <= 15
    assert name == "lgbr167354d9"  # pinned: renaming would orphan existing bridges


@pytest.mark.parametrize("other", [make_lab(name="other"), make_lab(network="192.168.57.0/24")])
def test_bridge_name_depends_on_lab_name_and_network(other):
    assert lxc.bridge_name(other) != lxc.bridge_name(make_lab())


def test_bridge_name_fits_even_for_a_long_lab_name():
    assert len(lxc.bridge_name(make_lab(name="a" * 63))) <= 15


def test_template_context_and_machine_name():
    lab = make_lab()
    ctx = lxc.PROVIDER.template_context(lab)
    assert (ctx["bridge"], ctx["container_prefix"]) == ("lgbr167354d9", "labgen-")
    assert lxc.PROVIDER.machine_name(lab, "ubuntu-1") == "labgen-mesos-calico-ubuntu-1"


def test_host_address_carries_the_prefix():
    assert str(lxc.host_address(make_lab(network="10.20.0.0/16"))) == "10.20.0.1/16"


def fake_links(monkeypatch, links):
    monkeypatch.setattr(lxc, "_all_links", lambda: links)


def test_network_holders_names_overlapping_interfaces(monkeypatch):
    fake_links(
        monkeypatch,
        [
            {"ifname": "eth0", "addr_info": [{"family": "inet", "local": "192.0.2.2", "prefixlen": 24}]},
            {
                "ifname": "vboxnet0",
                "addr_info": [
                    {"family": "inet6", "local": "fe80::1", "prefixlen": 64},
                    {"family": "inet", "local": "192.168.56.1", "prefixlen": 24},
                ],
            },
            {"ifname": "lgbr167354d9", "addr_info": [{"family": "inet", "local": "192.168.56.1", "prefixlen": 24}]},
            {"ifname": "wide", "addr_info": [{"family": "inet", "local": "192.168.0.1", "prefixlen": 16}]},
        ],
    )
    holders = lxc.network_holders(ipaddress.ip_network("192.168.56.0/24"), exclude="lgbr167354d9")
    assert holders == ["vboxnet0 (192.168.56.1/24)", "wide (192.168.0.1/16)"]


def test_ensure_lab_bridge_refuses_a_network_held_elsewhere(monkeypatch):
    fake_links(
        monkeypatch,
        [{"ifname": "vboxnet0", "addr_info": [{"family": "inet", "local": "192.168.56.1", "prefixlen": 24}]}],
    )
    monkeypatch.setattr(lxc, "_run", lambda cmd: pytest.fail(f"ran {cmd}"))
    with pytest.raises(LabgenError, match=r"192\.168\.56\.0/24 is already on vboxnet0"):
        lxc.ensure_lab_bridge("lgbr167354d9", ipaddress.ip_interface("192.168.56.1/24"))


def test_ensure_lab_bridge_changes_nothing_when_all_is_in_place(monkeypatch):
    link = {
        "ifname": "lgbr1",
        "flags": ["BROADCAST", "UP"],
        "addr_info": [{"family": "inet", "local": "192.168.56.1", "prefixlen": 24}],
    }
    fake_links(monkeypatch, [link])
    monkeypatch.setattr(lxc, "_link", lambda name: link)
    monkeypatch.setattr(lxc, "_run", lambda cmd: pytest.fail(f"ran {cmd}"))
    assert lxc.ensure_lab_bridge("lgbr1", ipaddress.ip_interface("192.168.56.1/24")) == []


def test_ensure_lab_bridge_creates_addresses_and_raises_the_link(monkeypatch):
    ran = []
    fake_links(monkeypatch, [])
    monkeypatch.setattr(lxc, "_link", lambda name: {"ifname": name, "flags": []} if ran else None)
    monkeypatch.setattr(lxc, "_run", ran.append)
    changes = lxc.ensure_lab_bridge("lgbr1", ipaddress.ip_interface("192.168.56.1/24"))
    assert ran == [
        ["ip", "link", "add", "name", "lgbr1", "type", "bridge"],
        ["ip", "addr", "add", "192.168.56.1/24", "dev", "lgbr1"],
        ["ip", "link", "set", "dev", "lgbr1", "up"],
    ]
    assert changes == ["created bridge lgbr1", "added 192.168.56.1/24 to lgbr1", "brought lgbr1 up"]


def test_vagrant_lxc_found_as_user_plugin(tmp_path, monkeypatch):
    from labgen.providers import base

    monkeypatch.setattr(base, "VAGRANT_SYSTEM_PLUGINS", tmp_path / "none")
    monkeypatch.setenv("VAGRANT_HOME", str(tmp_path))
    assert not lxc.vagrant_lxc_installed()
    (tmp_path / "plugins.json").write_text(json.dumps({"installed": {"vagrant-lxc": {}}}))
    assert lxc.vagrant_lxc_installed()


def test_preflight_names_the_missing_box_and_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setattr(lxc.os, "geteuid", lambda: 0)
    monkeypatch.setattr(lxc.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(lxc, "vagrant_lxc_installed", lambda: True)
    monkeypatch.setattr(lxc, "_lxc_net_script", lambda: "/usr/libexec/lxc/lxc-net")
    monkeypatch.setenv("VAGRANT_HOME", str(tmp_path))
    with pytest.raises(PreflightError, match="box labgen/debian-12 is not installed") as err:
        lxc.PROVIDER.preflight(make_lab())
    assert "labgen box build lxc" in err.value.hint
    box = tmp_path / "boxes" / "labgen-VAGRANTSLASH-debian-12" / "0" / "lxc"
    box.mkdir(parents=True)
    (box / "metadata.json").write_text('{"provider": "lxc"}')
    lxc.PROVIDER.preflight(make_lab())


def test_preflight_wants_root(monkeypatch):
    monkeypatch.setattr(lxc.os, "geteuid", lambda: 1000)
    with pytest.raises(PreflightError, match="needs root"):
        lxc.PROVIDER.preflight(make_lab())


def test_ssh_config_is_read_from_lxc_info_and_falls_back_to_vagrant_when_unsure(tmp_path, monkeypatch):
    """`vagrant ssh-config`'s answer without a Ruby start: running nodes only, each at its first
    IPv4 with the key Vagrant left in its machine dir; None (ask Vagrant) when unsure."""
    lab = make_lab()
    states = {"ubuntu-1": "RUNNING", "ubuntu-2": "RUNNING", "ubuntu-3": "STOPPED"}
    ips = {"ubuntu-1": "10.0.3.17\n192.168.56.101\nfe80::1\n", "ubuntu-2": "192.168.56.102\n"}
    name = {n.name: lxc.PROVIDER.machine_name(lab, n.name) for n in lab.nodes}
    node_of = {v: k for k, v in name.items()}
    monkeypatch.setattr(lxc, "container_state", lambda machine: states[node_of[machine]])

    def lxc_info(argv, **kw):
        assert argv[:2] == ["lxc-info", "-iH"]
        return subprocess.CompletedProcess(argv, 0, ips.get(node_of[argv[-1]], ""), "")

    monkeypatch.setattr(lxcstart.subprocess, "run", lxc_info)  # lxcstart.ssh_address asks lxc-info
    monkeypatch.setattr(lxcstart, "MGMT_GRACE", 0.3)  # ubuntu-2's lease never comes here
    for node in lab.nodes:
        d = tmp_path / ".vagrant" / "machines" / node.name / "lxc"
        d.mkdir(parents=True)
        (d / "id").write_text(name[node.name])
        (d / "private_key").write_text("key")
    text = lxc.PROVIDER.ssh_config(lab, tmp_path)
    hosts = parse_ssh_config(text)
    assert sorted(hosts) == ["ubuntu-1", "ubuntu-2"]  # the stopped node is not in it
    # ubuntu-2 has no lease after the grace: its lab address, as vagrant-lxc would give
    assert hosts["ubuntu-1"]["hostname"] == "10.0.3.17" and hosts["ubuntu-2"]["hostname"] == "192.168.56.102"
    ips["ubuntu-1"] = "192.168.56.101\n10.0.3.17\n"  # eth1 listed first: the management address still
    assert parse_ssh_config(lxc.PROVIDER.ssh_config(lab, tmp_path))["ubuntu-1"]["hostname"] == "10.0.3.17"
    key = tmp_path.resolve() / ".vagrant" / "machines" / "ubuntu-1" / "lxc" / "private_key"
    assert f"IdentityFile {key}" in text
    # unsure: a running node with no address yet, no key, or an id file naming another container
    ips["ubuntu-2"] = ""
    assert lxc.PROVIDER.ssh_config(lab, tmp_path) is None
    ips["ubuntu-2"] = "192.168.56.102\n"
    (tmp_path / ".vagrant" / "machines" / "ubuntu-2" / "lxc" / "private_key").unlink()
    assert lxc.PROVIDER.ssh_config(lab, tmp_path) is None
    (tmp_path / ".vagrant" / "machines" / "ubuntu-2" / "lxc" / "private_key").write_text("key")
    (tmp_path / ".vagrant" / "machines" / "ubuntu-1" / "lxc" / "id").write_text("someone-else")
    assert lxc.PROVIDER.ssh_config(lab, tmp_path) is None
    (tmp_path / ".vagrant" / "machines" / "ubuntu-1" / "lxc" / "id").write_text(name["ubuntu-1"])
    assert lxc.PROVIDER.ssh_config(lab, tmp_path) is not None

    def hangs(argv, **kw):
        raise subprocess.TimeoutExpired(argv, kw.get("timeout", 0))

    monkeypatch.setattr(lxcstart.subprocess, "run", hangs)  # lxc-info hangs: ask Vagrant, no traceback
    assert lxc.PROVIDER.ssh_config(lab, tmp_path) is None
