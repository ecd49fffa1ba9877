"""lxcbr0's stale leases: which are released, and when (labgen/providers/dhcp_leases.py)."""

from pathlib import Path

from labgen.providers import dhcp_leases
from labgen.providers.dhcp_leases import Lease, parse_leases, release_stale_leases, stale

LINE = "1796497723 42:7f:3a:89:03:a4 10.0.3.214 labgen-x-ubuntu-2 ff:69:2f:b3:fa:00:02\n"


def _leases(n: int) -> list[Lease]:
    return [Lease(ip=f"10.0.3.{i + 2}", mac=f"aa:00:00:00:00:{i:02x}", client_id="*") for i in range(n)]


def test_a_lease_line_is_read_with_its_client_id():
    assert parse_leases(LINE + "garbage\n\n") == [
        Lease(ip="10.0.3.214", mac="42:7f:3a:89:03:a4", client_id="ff:69:2f:b3:fa:00:02")
    ]


def test_nothing_is_released_while_the_pool_is_far_from_full():
    assert stale(_leases(dhcp_leases.SWEEP_AT - 1), held=set()) == []


def test_a_full_pool_releases_only_addresses_no_running_container_holds():
    leases = _leases(dhcp_leases.SWEEP_AT)
    held = {"10.0.3.2", "10.0.3.5"}
    gone = stale(leases, held)
    assert len(gone) == dhcp_leases.SWEEP_AT - 2
    assert not {lease.ip for lease in gone} & held


def test_release_sends_one_dhcp_release_per_stale_lease(tmp_path: Path, monkeypatch):
    leases = tmp_path / "leases"
    leases.write_text(
        "".join(f"1 {lease.mac} {lease.ip} h {lease.client_id}\n" for lease in _leases(dhcp_leases.SWEEP_AT))
    )
    sent = []
    monkeypatch.setattr(dhcp_leases.shutil, "which", lambda name: "/usr/bin/dhcp_release")
    monkeypatch.setattr(dhcp_leases, "_held_addresses", lambda: {"10.0.3.2"})
    monkeypatch.setattr(dhcp_leases.subprocess, "run", lambda cmd, **kw: sent.append(cmd))
    lines = release_stale_leases("lxcbr0", leases)
    assert len(sent) == dhcp_leases.SWEEP_AT - 1
    assert sent[0] == ["/usr/bin/dhcp_release", "lxcbr0", "10.0.3.3", "aa:00:00:00:00:01"]
    assert lines == [
        f"released {dhcp_leases.SWEEP_AT - 1} stale DHCP leases on lxcbr0 ({dhcp_leases.SWEEP_AT} of 253 were taken)"
    ]


def test_no_listing_of_containers_releases_nothing(tmp_path: Path, monkeypatch):
    leases = tmp_path / "leases"
    leases.write_text(LINE * dhcp_leases.SWEEP_AT)
    monkeypatch.setattr(dhcp_leases.shutil, "which", lambda name: "/usr/bin/dhcp_release")
    monkeypatch.setattr(dhcp_leases, "_held_addresses", lambda: None)
    assert release_stale_leases("lxcbr0", leases) == []
