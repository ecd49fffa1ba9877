"""A seat clone's own LXC settings (labgen/providers/lxc_seat.py): the seccomp profile that makes
fallocate(2) fail with EOPNOTSUPP (etcd's WAL then stays sparse), the config line naming it,
journald's small-file drop-in, the fixed MAC and DHCP client id. The real effect is proven on LXC by
tests/integration/test_classroom_clones_lxc.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from labgen.classroom import placement
from labgen.errors import LabgenError
from labgen.labfile import load_lab
from labgen.providers import lxc, lxc_seat

DEBIAN = (
    "2\ndenylist\nreject_force_umount  # comment this to allow umount -f;  not recommended\n[all]\n"
    "kexec_load errno 1\nopen_by_handle_at errno 1\ninit_module errno 1\nfinit_module errno 1\n"
    "delete_module errno 1\n"
)
CLONE_CONFIG = (
    "lxc.include = /usr/share/lxc/config/debian.common.conf\n"
    "lxc.rootfs.path = overlay:/var/lib/lxc/labgen-img1-ubuntu-1/rootfs:/var/lib/lxc/x/overlay/delta\n"
    "lxc.mount.entry = /var/lib/lxc/x/own/var_lib_docker var/lib/docker none bind,create=dir 0 0\n"
)
VAGRANT_BLOCK = "# VAGRANT-BEGIN\nlxc.apparmor.profile=unconfined\nlxc.net.1.name=eth1\n# VAGRANT-END\n"
CLONES = Path(__file__).resolve().parent.parent / "data" / "labs" / "clones.yml"


def test_the_profile_is_the_hosts_denylist_plus_fallocate_refused_as_not_supported():
    text = lxc_seat.profile_text(DEBIAN)
    assert text.startswith(DEBIAN) and text.endswith("\n[all]\nfallocate errno 95\n"), text
    assert text.count("fallocate") == 1


@pytest.mark.parametrize("common", [None, "", "1\nkexec_load\n", "2\nallowlist\n[all]\nread\n"])
def test_a_missing_or_other_kind_of_host_profile_gives_debians_denylist(common):
    text = lxc_seat.profile_text(common)
    assert text.startswith("2\ndenylist\nreject_force_umount\n[all]\nkexec_load errno 1\n"), text
    assert text.endswith("fallocate errno 95\n") and "allowlist" not in text


def test_the_config_line_goes_before_vagrants_block_once_and_converges(tmp_path):
    profile = tmp_path / "seat.seccomp"
    once = lxc_seat.with_profile(CLONE_CONFIG + VAGRANT_BLOCK, profile)
    assert once == CLONE_CONFIG + lxc_seat.MARK + f"\nlxc.seccomp.profile = {profile}\n" + VAGRANT_BLOCK
    assert lxc_seat.with_profile(once, profile) == once
    # a fresh clone has no block yet: appended; a config without a final newline keeps its line
    fresh = lxc_seat.with_profile(CLONE_CONFIG.rstrip("\n"), profile)
    assert fresh == CLONE_CONFIG + lxc_seat.MARK + f"\nlxc.seccomp.profile = {profile}\n"
    # another profile path (a moved cache) replaces the old line
    moved = lxc_seat.with_profile(once, tmp_path / "other" / "seat.seccomp")
    assert moved.count("lxc.seccomp.profile") == 1 and "other/seat.seccomp" in moved
    assert moved.count(lxc_seat.MARK) == 1


@pytest.mark.parametrize("bad", ["relative/seat.seccomp", "/tmp/a\nlxc.include = /evil/seat.seccomp", "/tmp/x\t"])
def test_a_path_one_config_line_cannot_hold_is_refused(bad):
    with pytest.raises(LabgenError, match="LXC config line"):
        lxc_seat.with_profile(CLONE_CONFIG, Path(bad))
    with pytest.raises(LabgenError):
        lxc_seat.write_profile(Path(bad))  # as the directory


def test_the_profile_file_is_written_once_and_rewritten_when_the_host_profile_changes(tmp_path, monkeypatch):
    common = tmp_path / "common.seccomp"
    common.write_text(DEBIAN)
    monkeypatch.setattr(lxc_seat, "COMMON_SECCOMP", common)
    data = tmp_path / "seat-images"
    path = lxc_seat.write_profile(data)
    assert path == data / "seat.seccomp" and path.read_text() == lxc_seat.profile_text(DEBIAN)
    assert path.stat().st_mode & 0o777 == 0o644
    before = path.stat().st_mtime_ns, path.stat().st_ino
    lxc_seat.write_profile(data)
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before  # unchanged: not rewritten
    common.write_text(DEBIAN + "keyctl errno 38\n")
    assert "keyctl errno 38\n[all]\nfallocate errno 95" in lxc_seat.write_profile(data).read_text()


def test_the_journald_dropin_refuses_a_linked_dir(tmp_path):
    delta = tmp_path / "delta"
    written = lxc_seat.write_journald_dropin(delta)
    assert written.read_text() == lxc_seat.JOURNALD_TEXT and "SystemMaxFileSize=2M" in lxc_seat.JOURNALD_TEXT
    other = tmp_path / "delta2"
    (other / "etc").mkdir(parents=True)
    (other / "etc" / "systemd").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(LabgenError, match="symbolic link"):
        lxc_seat.write_journald_dropin(other)
    assert not (tmp_path / "elsewhere").exists()


def test_the_mgmt_mac_is_the_same_for_a_name_and_differs_between_names():
    mac = lxc_seat.mgmt_mac("labgen-cr-s1-ubuntu-1")
    assert mac == lxc_seat.mgmt_mac("labgen-cr-s1-ubuntu-1")  # a reset's clone: the same lease
    assert len({lxc_seat.mgmt_mac(f"labgen-cr-s{i}-ubuntu-{j}") for i in range(60) for j in range(3)}) == 180
    octets = mac.split(":")
    assert len(octets) == 6 and all(len(o) == 2 for o in octets)
    assert int(octets[0], 16) & 0b11 == 0b10  # locally administered, unicast


def test_the_hwaddr_line_replaces_any_earlier_one_and_goes_before_vagrants_block():
    config = CLONE_CONFIG + "lxc.net.0.hwaddr = 00:16:3e:00:00:01\n" + VAGRANT_BLOCK
    once = lxc_seat.with_hwaddr(config, "02:00:00:00:00:02")
    assert once == CLONE_CONFIG + "lxc.net.0.hwaddr = 02:00:00:00:00:02\n" + VAGRANT_BLOCK
    assert lxc_seat.with_hwaddr(once, "02:00:00:00:00:02") == once
    assert lxc_seat.with_hwaddr("lxc.arch = linux64", "02:00:00:00:00:03").endswith(
        "linux64\nlxc.net.0.hwaddr = 02:00:00:00:00:03\n"
    )


def test_lxc_seat_config_names_the_profile_and_writes_journald_only_into_a_fresh_clone(tmp_path, monkeypatch):
    monkeypatch.setattr(lxc, "LXC_PATH", tmp_path / "lxc")
    for name in ("fresh", "old"):
        (tmp_path / "lxc" / name / "overlay" / "delta").mkdir(parents=True)
        (tmp_path / "lxc" / name / "config").write_text(CLONE_CONFIG + VAGRANT_BLOCK)
    prov = lxc.LxcProvider()
    data = tmp_path / "images"
    assert prov.seat_config("fresh", data, fresh=True) == [f"container fresh: seccomp profile {data}/seat.seccomp"]
    assert prov.seat_config("fresh", data, fresh=False) == []  # converged
    assert prov.seat_config("old", data, fresh=False)
    for name in ("fresh", "old"):
        config = (tmp_path / "lxc" / name / "config").read_text()
        assert config.count(f"lxc.seccomp.profile = {data}/seat.seccomp\n") == 1, config
    assert (tmp_path / "lxc" / "fresh" / "overlay" / "delta" / lxc_seat.JOURNALD_DROPIN).is_file()
    dropin = tmp_path / "lxc" / "fresh" / "overlay" / "delta" / lxc_seat.DHCP_DROPIN
    assert "[DHCPv4]\nClientIdentifier=mac\n" in dropin.read_text()
    fresh = (tmp_path / "lxc" / "fresh" / "config").read_text()
    assert fresh.count(f"lxc.net.0.hwaddr = {lxc_seat.mgmt_mac('fresh')}\n") == 1
    assert fresh.index("lxc.net.0.hwaddr") < fresh.index("# VAGRANT-BEGIN")
    assert "hwaddr" not in (tmp_path / "lxc" / "old" / "config").read_text()
    assert not (tmp_path / "lxc" / "old" / "overlay" / "delta" / "etc").exists()  # a used clone: not touched
    (tmp_path / "lxc" / "gone").mkdir()
    with pytest.raises(LabgenError, match="container gone: writing its seat settings failed"):
        prov.seat_config("gone", data, fresh=True)


def test_up_sets_every_existing_clone_of_a_seat_and_skips_missing_ones(tmp_path, monkeypatch):
    calls = []

    class Prov:
        def seats_refused(self):
            return None

        def machine_states(self, lab):
            return {"ubuntu-1": "running", "ubuntu-2": "not_created"}

        def machine_name(self, lab, node):
            return f"m-{node}"

        def seat_config(self, machine, data_dir, fresh):
            calls.append((machine, data_dir, fresh))
            return [machine]

    monkeypatch.setattr(placement, "get_provider", lambda name: Prov())
    monkeypatch.setenv("LABGEN_CACHE", str(tmp_path / "cache"))
    assert placement.ThisHost("lxc").seat_config(load_lab(CLONES)) == ["m-ubuntu-1"]
    assert calls == [("m-ubuntu-1", tmp_path / "cache" / "seat-images", False)]


class _SeatProv:
    """A provider that records what a seat's clones go through, checking the node's lock."""

    def __init__(self, tmp_path, fail=None):
        self.events: list[tuple[str, str]] = []
        self.tmp_path = tmp_path
        self.fail = fail  # machine whose clone fails for lack of disk

    def _locked(self, machine):
        assert placement._node_lock(machine.removeprefix("m-")).locked(), machine

    def seats_refused(self):
        return None

    def machine_name(self, lab, node):
        return f"m-{node}"

    def lab_bridge(self, lab):
        return "br"

    def mgmt_ports(self, lab):
        return []

    def machine_states(self, lab):
        return {}

    def machines_path(self):
        return self.tmp_path

    def clone_machine(self, source, target, own):
        self._locked(target)
        self.events.append(("clone", target))
        if target == self.fail:
            raise LabgenError("cloning failed: No space left on device")

    def seat_config(self, machine, data_dir, fresh):
        return []

    def private_key(self, image_path, node):
        return None

    def adopt(self, lab_dir, node, machine, key):
        self.events.append(("adopt", machine))

    def remove_machine(self, name):
        self._locked(name)
        self.events.append(("remove", name))
        return [name]


class _Image:
    instance = "img1"
    path = Path("/nonexistent")

    def machine(self, node):
        return f"img-{node}"


def test_a_seats_nodes_are_cloned_each_under_its_nodes_lock(tmp_path, monkeypatch):
    prov = _SeatProv(tmp_path)
    monkeypatch.setattr(placement, "get_provider", lambda name: prov)
    monkeypatch.setattr(placement, "CLONE_DISK_MIB", 0)
    lab = load_lab(CLONES)
    made = placement.ThisHost("lxc").clone(lab, placement.LabDir(tmp_path / "seat"), _Image(), lambda msg: None)
    names = [f"m-{n.name}" for n in lab.nodes]
    assert len(names) >= 2 and made == [f"cloned {', '.join(names)}"]  # in the nodes' order
    assert {e for e in prov.events if e[0] == "adopt"} == {("adopt", m) for m in names}


def test_a_clone_that_fails_for_lack_of_disk_removes_the_seats_other_clones(tmp_path, monkeypatch):
    lab = load_lab(CLONES)
    failing = f"m-{lab.nodes[-1].name}"
    prov = _SeatProv(tmp_path, fail=failing)
    monkeypatch.setattr(placement, "get_provider", lambda name: prov)
    monkeypatch.setattr(placement, "CLONE_DISK_MIB", 0)
    with pytest.raises(LabgenError, match=f"disk full while cloning node {lab.nodes[-1].name}"):
        placement.ThisHost("lxc").clone(lab, placement.LabDir(tmp_path / "seat"), _Image(), lambda msg: None)
    cloned = {m for kind, m in prov.events if kind == "clone" and m != failing}
    assert {m for kind, m in prov.events if kind == "remove"} == cloned and failing not in cloned


def test_reset_removes_a_seats_clones_in_parallel_each_under_its_nodes_lock(tmp_path, monkeypatch):
    seat_dir = tmp_path / "seat-1"
    seat_dir.mkdir()
    prov = _SeatProv(tmp_path)
    monkeypatch.setattr(placement, "get_provider", lambda name: prov)
    lab = load_lab(CLONES)
    removed = placement.ThisHost("lxc").remove_clones(seat_dir, lab, lambda msg: None)
    assert removed == [f"m-{n.name}" for n in lab.nodes] and len(removed) >= 2  # in the nodes' order
    assert not seat_dir.exists()


def test_leases_are_claimed_in_one_call_for_the_macs_the_machines_will_boot_with(tmp_path, monkeypatch):
    monkeypatch.setattr(lxc, "LXC_PATH", tmp_path)
    fixed = lxc_seat.mgmt_mac("labgen-c-s01-n1")
    for name, config in (
        ("labgen-c-s01-n1", lxc_seat.with_hwaddr("lxc.arch = linux64\n", fixed)),
        ("labgen-c-s01-n2", "lxc.arch = linux64\n"),  # a clone of an older labgen: LXC's random MAC
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config").write_text(config)
    calls = []
    monkeypatch.setattr(lxc.dhcp_claim, "claim", lambda *a, **kw: calls.append(a) or {})
    lxc.claim_leases(["labgen-c-s01-n1", "labgen-c-s01-n2", "labgen-c-s01-gone"])
    assert calls == [
        (
            # an older clone is skipped; a container Vagrant has yet to create: the Vagrantfile's MAC
            [fixed, lxc_seat.mgmt_mac("labgen-c-s01-gone")],
            "lxcbr0",
            lxc.MGMT_ADDRESS,
            lxc.LXC_NET_RUN / "dnsmasq.pid",
            lxc.LXC_NET_RUN / "labgen-dhcp-claim.lock",
        )
    ]
