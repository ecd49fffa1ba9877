"""Starting a seat's clones without Vagrant (labgen/providers/lxcstart.py): the vagrant-lxc
block written for the seat, the refusals that send the seat back to `vagrant up`, the machine
files and ssh config Vagrant would leave, and the fallback in the classroom's placement."""

from __future__ import annotations

import ipaddress
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from labgen.classroom import placement
from labgen.labdir import LabDir
from labgen.labfile import load_lab
from labgen.providers import lxc, lxcstart
from labgen.providers.base import NotLikeVagrant
from labgen.remote import parse_ssh_config
from labgen.render import render_vagrantfile

CLONES = Path(__file__).resolve().parent.parent / "data" / "labs" / "clones.yml"
PROV = lxc.LxcProvider()


def _moved(lab, instance: str, net: str):
    """The lab with its own instance and network (as a seat or an image has)."""
    network = ipaddress.ip_network(net)
    nodes = tuple(
        replace(n, ip=network.network_address + (int(n.ip) - int(lab.network.network_address))) for n in lab.nodes
    )
    return replace(lab, instance=instance, network=network, nodes=nodes)


LAB = load_lab(CLONES)
IMAGE = _moved(LAB, "img0123abcd", "192.168.196.0/24")
SEAT = _moved(LAB, "ss-s02", "192.168.198.0/24")


def vagrant_lxc_block(lab, node: str) -> list[str]:
    """What vagrant-lxc 1.4.3 wrote for a node on this host (seen in /var/lib/lxc/*/config):
    the Vagrantfile's customize lines, then Boot's own (uts name, pstore, /tmp)."""
    names = PROV._block_names(lab, node)
    return [
        "lxc.apparmor.profile=unconfined",
        "lxc.mount.auto=cgroup:mixed:force",
        "lxc.cgroup.devices.allow=a",
        f"lxc.net.0.hwaddr={names.mac}",
        f"lxc.net.0.veth.pair={names.veth}",
        "lxc.net.1.type=veth",
        f"lxc.net.1.link={names.bridge}",
        "lxc.net.1.flags=up",
        "lxc.net.1.name=eth1",
        f"lxc.net.1.ipv4.address={names.address}",
        f"lxc.console.logfile={names.console_log}",
        "lxc.console.size=auto",
        "lxc.cgroup.memory.limit_in_bytes=1024M",
        f"lxc.uts.name={names.machine}",
        "lxc.mount.entry=/sys/fs/pstore sys/fs/pstore none bind,optional 0 0",
        "lxc.mount.entry=tmpfs tmp tmpfs nodev,nosuid,size=2G 0 0",
    ]


def image_config(node: str = "ubuntu-1") -> str:
    return "lxc.net.0.type = veth\n" + lxcstart.with_block("", vagrant_lxc_block(IMAGE, node))


def test_the_seat_gets_the_block_vagrant_lxc_would_write_for_it():
    lines = lxcstart.vagrant_block(image_config())
    got = lxcstart.seat_block(lines, PROV._block_names(IMAGE, "ubuntu-1"), PROV._block_names(SEAT, "ubuntu-1"))
    assert got == vagrant_lxc_block(SEAT, "ubuntu-1")
    assert "lxc.net.1.ipv4.address=192.168.198.101/24" in got
    assert "lxc.uts.name=labgen-ss-s02-ubuntu-1" in got
    assert not any("img0123abcd" in line or "192.168.196." in line for line in got), got


def test_every_value_the_seats_vagrantfile_customizes_is_in_its_block():
    """Ties the swap to the template: a new `lxc.customize` line whose value depends on the
    seat would show up here (at run time it names the image, and the seat falls back)."""
    got = lxcstart.seat_block(
        lxcstart.vagrant_block(image_config("ubuntu-2")),
        PROV._block_names(IMAGE, "ubuntu-2"),
        PROV._block_names(SEAT, "ubuntu-2"),
    )
    vagrantfile = render_vagrantfile(SEAT, "lxc")
    node_block = vagrantfile.split("config.vm.define 'ubuntu-2'")[1].split("end\n  end")[0]
    wanted = re.findall(r"^\s*lxc\.customize '([^']+)', '([^']*)'$", node_block, re.M)
    assert len(wanted) >= 10, node_block
    for key, value in wanted:
        assert f"lxc.{key}={value}" in got, (key, value)


@pytest.mark.parametrize(
    "change, why",
    [
        (lambda ls: [*ls, "lxc.mount.entry=/srv/labgen-img0123abcd-x x none bind 0 0"], "names the image"),
        (lambda ls: [line for line in ls if not line.startswith("lxc.net.1.link=")], "lacks lxc.net.1.link"),
        # an image of an older labgen (LXC's random MAC): a start without Vagrant would keep none
        (lambda ls: [line for line in ls if not line.startswith("lxc.net.0.hwaddr=")], "lacks lxc.net.0.hwaddr"),
        (
            lambda ls: [line.replace("192.168.196.101/24", "192.168.196.9/24") for line in ls],
            "lxc.net.1.ipv4.address is",
        ),
        (lambda ls: [*ls, "lxc.uts.name=labgen-img0123abcd-ubuntu-1"], "lxc.uts.name is"),
        (lambda ls: [*ls, "not a setting"], "unexpected line"),
    ],
)
def test_a_block_the_swap_does_not_understand_sends_the_seat_to_vagrant(change, why):
    lines = change(vagrant_lxc_block(IMAGE, "ubuntu-1"))
    with pytest.raises(NotLikeVagrant, match=why):
        lxcstart.seat_block(lines, PROV._block_names(IMAGE, "ubuntu-1"), PROV._block_names(SEAT, "ubuntu-1"))


def test_an_image_that_never_booted_through_vagrant_lxc_has_no_block():
    with pytest.raises(NotLikeVagrant, match="no vagrant-lxc block"):
        lxcstart.vagrant_block("lxc.net.0.type = veth\n")


def test_the_block_replaces_the_old_one_as_vagrant_lxcs_prune_would():
    config = "lxc.net.0.type = veth\nlxc.rootfs.path = overlay:/a:/b"  # no final newline
    once = lxcstart.with_block(config, ["lxc.a=1"])
    assert once == "lxc.net.0.type = veth\nlxc.rootfs.path = overlay:/a:/b\n# VAGRANT-BEGIN\nlxc.a=1\n# VAGRANT-END\n"
    twice = lxcstart.with_block(once, ["lxc.a=2"])
    assert twice.count("VAGRANT-BEGIN") == 1 and "lxc.a=2" in twice and "lxc.a=1" not in twice
    # vagrant-lxc's own prune (driver.rb) leaves exactly the config without the block
    assert re.sub(r"^# VAGRANT-BEGIN(.|\s)*# VAGRANT-END\n", "", twice, flags=re.M) == config + "\n"


def test_the_ssh_config_is_vagrants_for_the_seat_dir(tmp_path):
    text = lxcstart.ssh_config_text(tmp_path, {"ubuntu-1": "10.0.3.17", "ubuntu-2": "10.0.3.18"})
    hosts = parse_ssh_config(text)
    assert list(hosts) == ["ubuntu-1", "ubuntu-2"]
    assert hosts["ubuntu-2"] == {
        "hostname": "10.0.3.18",
        "user": "vagrant",
        "port": "22",
        "userknownhostsfile": "/dev/null",
        "stricthostkeychecking": "no",
        "passwordauthentication": "no",
        "identityfile": str(tmp_path.resolve() / ".vagrant/machines/ubuntu-2/lxc/private_key"),
        "identitiesonly": "yes",
        "loglevel": "FATAL",
    }


def test_ssh_goes_to_the_first_ipv4_address_as_vagrant_lxc_takes_it():
    assert lxcstart.pick_address("10.0.3.44\n192.168.198.101\nfe80::1\n") == "10.0.3.44"
    assert lxcstart.pick_address("fe80::1\n192.168.198.101\n") == "192.168.198.101"  # DHCP pending
    assert lxcstart.pick_address("") is None
    # eth1 listed first (interface indexes): still the management address
    assert lxcstart.pick_address("192.168.198.101\n10.0.3.44\n") == "10.0.3.44"
    assert lxcstart.pick_address("192.168.198.101\n", managed_only=True) is None


def test_the_ssh_address_waits_for_the_lease_while_only_eth1_has_one(monkeypatch):
    """Vagrant may say a node is up while its lxcbr0 lease is pending: its address then is the
    lease, not the lab address that LXC set first (cached, that one kept answering)."""
    answers = {"labgen-a-n1": ["192.168.198.101\n"] * 3 + ["192.168.198.101\n10.0.3.44\n"], "labgen-a-n2": []}
    asked = []

    def lxc_info(argv, **kw):
        machine = argv[-1]
        asked.append(machine)
        queue = answers[machine]
        out = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else "192.168.198.102\n")
        return subprocess.CompletedProcess(argv, 0, out, "")

    monkeypatch.setattr(lxcstart.subprocess, "run", lxc_info)
    monkeypatch.setattr(lxcstart, "POLL", 0.01)
    got = lxcstart.ssh_addresses({"n1": "labgen-a-n1", "n2": "labgen-a-n2"}, grace=0.5)
    # n1's lease came on the 4th look; n2's never did: its lab address after the grace
    assert got == {"n1": "10.0.3.44", "n2": "192.168.198.102"}
    assert asked.count("labgen-a-n1") == 4 and asked.count("labgen-a-n2") > 4
    answers["labgen-a-n1"] = ["10.0.3.44\n"]
    asked.clear()
    assert lxcstart.ssh_addresses({"n1": "labgen-a-n1"}, grace=0.5) == {"n1": "10.0.3.44"} and asked == ["labgen-a-n1"]


def test_vagrants_machine_files_are_written_beside_the_adopted_id(tmp_path):
    image_dir = tmp_path / "image"
    (image_dir).mkdir()
    (image_dir / "box_meta").write_text('{"name":"labgen/debian-12"}')
    (image_dir / "synced_folders").write_text("{}")
    (image_dir / "index_uuid").write_text("not-ours")
    seat = tmp_path / "seat"
    key = tmp_path / "key"
    key.write_text("KEY")
    PROV.adopt(seat, "ubuntu-1", "labgen-ss-s02-ubuntu-1", key)
    lxcstart.write_machine_files(seat, "ubuntu-1", "labgen-ss-s02-ubuntu-1", image_dir)
    d = seat / ".vagrant/machines/ubuntu-1/lxc"
    assert sorted(p.name for p in d.iterdir()) == [
        "box_meta",
        "creator_uid",
        "id",
        "private_key",
        "synced_folders",
        "vagrant_cwd",
    ]
    assert (d / "vagrant_cwd").read_text() == str(seat.resolve())
    assert (d / "box_meta").read_text() == '{"name":"labgen/debian-12"}'
    with pytest.raises(NotLikeVagrant, match="does not name"):
        lxcstart.write_machine_files(seat, "ubuntu-1", "labgen-other-ubuntu-1", image_dir)
    with pytest.raises(NotLikeVagrant, match="does not name"):  # never adopted
        lxcstart.write_machine_files(seat, "ubuntu-2", "labgen-ss-s02-ubuntu-2", image_dir)


class _Refusing:
    name = "lxc"

    def __init__(self, why):
        self.why = why
        self.prepared = 0

    def seats_refused(self):
        return None

    def preflight(self, lab):
        pass

    def prepare_host(self, lab):
        self.prepared += 1
        return ["bridge"]

    def start_adopted(self, lab, lab_dir, image_lab, image_dir):
        if self.why:
            raise NotLikeVagrant(self.why)
        return "Host ubuntu-1\n  HostName 10.0.3.9\n"


def _image(tmp_path):
    image_dir = tmp_path / "img"
    image_dir.mkdir()
    (image_dir / "lab.yml").write_text(CLONES.read_text())

    class Img:
        path = image_dir

    return Img()


class _Vagrant:
    """lifecycle's VagrantEnv: records `up`, answers ssh-config."""

    ups: list = []

    def __init__(self, root, provider, extra_env=None):
        pass

    def up(self, nodes, on_line=None, boot_failure=None):
        _Vagrant.ups.append(tuple(nodes))

    def ssh_config(self):
        return "Host ubuntu-1\n  HostName 10.0.3.7\n"


def _boot_with(monkeypatch, prov):
    _Vagrant.ups = []
    monkeypatch.setattr(placement.ThisHost, "provider_obj", lambda self: prov)
    monkeypatch.setattr(placement.lifecycle, "get_provider", lambda name: prov)
    monkeypatch.setattr(placement.lifecycle, "VagrantEnv", _Vagrant)


def test_a_seat_the_provider_cannot_start_boots_through_vagrant(tmp_path, monkeypatch):
    prov = _Refusing("container x is frozen")
    prov.vagrant_env = lambda lab: {}
    prov.ssh_config = lambda lab, d: None  # and Vagrant gives the ssh config
    _boot_with(monkeypatch, prov)
    said = []
    ld = LabDir(tmp_path / "seat")
    changes = placement.ThisHost("lxc").boot_clones(SEAT, ld, _image(tmp_path), said.append)
    assert _Vagrant.ups == [()] and changes == ["bridge"]
    assert prov.prepared == 1  # the host prepared once, not again for Vagrant
    assert said == ["starting without Vagrant: container x is frozen; booting through Vagrant"]
    assert ld.cached_ssh_config() == "Host ubuntu-1\n  HostName 10.0.3.7\n"
    assert ld.load_state()["booted"] is True


def test_a_seat_started_directly_has_its_ssh_config_and_counts_as_booted(tmp_path, monkeypatch):
    prov = _Refusing(None)
    prov.vagrant_env = lambda lab: {}
    _boot_with(monkeypatch, prov)
    ld = LabDir(tmp_path / "seat")
    assert placement.ThisHost("lxc").boot_clones(SEAT, ld, _image(tmp_path), lambda text: None) == ["bridge"]
    assert _Vagrant.ups == []  # no Vagrant start
    assert ld.cached_ssh_config() == "Host ubuntu-1\n  HostName 10.0.3.9\n"
    assert ld.load_state()["booted"] is True


def test_a_seat_image_whose_lab_file_is_gone_boots_through_vagrant(tmp_path, monkeypatch):
    prov = _Refusing(None)
    prov.vagrant_env = lambda lab: {}
    prov.ssh_config = lambda lab, d: None
    _boot_with(monkeypatch, prov)
    image = _image(tmp_path)
    (image.path / "lab.yml").unlink()
    said = []
    placement.ThisHost("lxc").boot_clones(SEAT, LabDir(tmp_path / "seat"), image, said.append)
    assert _Vagrant.ups == [()]
    assert said and said[0].startswith("starting without Vagrant: the seat image's lab file: ")


class _Remote:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("image, roles", [(True, None), (True, ["base", "etcd"]), (False, None), (True, ["etcd"])])
def test_a_clones_dhcp_lease_is_waited_for_after_its_roles_not_before(tmp_path, monkeypatch, image, roles):
    from labgen.model import Facts
    from labgen.provision.engine import NodeReport

    runs = []
    monkeypatch.setattr(placement.lifecycle, "write_lab_dir", lambda *a: [])
    monkeypatch.setattr(placement.lifecycle, "boot", lambda *a: [])
    monkeypatch.setattr(placement.lifecycle, "open_remote", lambda *a: _Remote())
    monkeypatch.setattr(placement.ThisHost, "clone", lambda self, *a: ["cloned"])
    monkeypatch.setattr(placement.ThisHost, "boot_clones", lambda self, *a: [])
    monkeypatch.setattr(placement.ThisHost, "seat_config", lambda self, lab: [])
    monkeypatch.setattr(placement, "unseal", lambda lab, remote, facts: runs.append("unseal"))
    monkeypatch.setattr(
        placement,
        "get_provider",
        lambda name: type("P", (), {"facts": lambda self, lab: Facts("debian-12", None, True)})(),
    )

    def provision(lab, ld, remote, facts, roles=None, stop=None):
        runs.append((facts.default_route, roles))
        return [NodeReport("ubuntu-1")]

    monkeypatch.setattr(placement, "run_provision", provision)
    seat = tmp_path / "seat"
    seat.mkdir()
    placement.ThisHost("lxc").place(
        seat, CLONES.read_text(), lambda text: None, roles=roles, image=object() if image else None
    )
    if not image:
        assert runs == [(True, None)]
    elif roles is None or "base" in roles:
        # the roles without the lease wait, then base with it (and recorded as `provision` checks it)
        assert runs == ["unseal", (False, roles), (True, ["base"])]
    else:
        assert runs == ["unseal", (True, roles)]
