"""A clone's first lease claimed before it boots: the packet, the range, the pick, and when no
claim is made (labgen/providers/dhcp_claim.py). A real dnsmasq answers it in
tests/integration/test_dhcp_claim_host.py."""

import ipaddress
from pathlib import Path

import pytest

from labgen.providers import dhcp_claim
from labgen.providers.dhcp_claim import claim, dhcp_range, pick, request_packet
from labgen.providers.lxc_seat import configured_mac, mgmt_mac, with_hwaddr

NET = ipaddress.ip_network("10.0.3.0/24")
SERVER = ipaddress.ip_interface("10.0.3.1/24")


def _claim(mac: str, tmp_path: Path, **kw) -> str | None:
    """claim() of one MAC on lxcbr0 with the test's lock (and lease file, when given)."""
    got = claim([mac], "lxcbr0", SERVER, tmp_path / "pid", tmp_path / "lock", **kw)
    assert list(got) == [mac.lower()]
    return got[mac.lower()]


LXC_NET = ["dnsmasq", "--listen-address", "10.0.3.1", "--dhcp-range", "10.0.3.2,10.0.3.254", "--dhcp-authoritative"]


def test_the_request_is_an_init_reboot_one_naming_the_address_and_the_client_id():
    pkt = request_packet("02:aa:bb:cc:dd:ee", "10.0.3.77", b"\x01\x02\x03\x04")
    assert pkt[:4] == bytes([1, 1, 6, 0])  # BOOTREQUEST, Ethernet, 6-byte MAC
    assert pkt[4:8] == b"\x01\x02\x03\x04"
    assert pkt[12:28] == b"\0" * 16  # no ciaddr (INIT-REBOOT), yiaddr, siaddr, giaddr
    assert pkt[28:34] == bytes.fromhex("02aabbccddee")
    assert pkt[236:240] == bytes([99, 130, 83, 99])
    options = pkt[240:]
    assert options[:3] == bytes([53, 1, 3])  # DHCPREQUEST
    assert bytes([61, 7, 1]) + bytes.fromhex("02aabbccddee") in options  # client id 01:MAC
    assert bytes([50, 4, 10, 0, 3, 77]) in options
    assert options.endswith(b"\xff")
    assert bytes([54, 4]) not in options  # no server id: INIT-REBOOT, not SELECTING


@pytest.mark.parametrize("bad", ["02:aa:bb", "zz:aa:bb:cc:dd:ee", "02aabbccddeeff"])
def test_a_malformed_mac_is_refused(bad):
    with pytest.raises(ValueError):
        request_packet(bad, "10.0.3.2", b"\0" * 4)


def test_the_range_is_read_from_dnsmasqs_command_line_in_either_spelling():
    assert dhcp_range(LXC_NET, NET) == (int(ipaddress.ip_address("10.0.3.2")), int(ipaddress.ip_address("10.0.3.254")))
    assert dhcp_range(["dnsmasq", "--dhcp-range=10.0.3.100,10.0.3.110,1h"], NET)[1] == int(
        ipaddress.ip_address("10.0.3.110")
    )
    assert dhcp_range(["dnsmasq", "--dhcp-range", "192.168.1.2,192.168.1.9"], NET) is None  # another network
    assert dhcp_range(["dnsmasq", "--dhcp-range", "garbage"], NET) is None
    assert dhcp_range([], NET) is None


def test_the_pick_skips_taken_addresses_and_is_the_same_for_the_same_mac():
    span = (int(ipaddress.ip_address("10.0.3.2")), int(ipaddress.ip_address("10.0.3.6")))
    first = pick("02:00:00:00:00:01", span, set())
    assert first == pick("02:00:00:00:00:01", span, set())
    assert ipaddress.ip_address(first) in NET
    second = pick("02:00:00:00:00:01", span, {first})
    assert second not in (first, None)
    every = {f"10.0.3.{i}" for i in range(2, 7)}
    assert pick("02:00:00:00:00:01", span, every) is None
    assert pick("02:00:00:00:00:01", span, every - {"10.0.3.4"}) == "10.0.3.4"


def test_no_claim_without_an_authoritative_dnsmasq_for_the_network(tmp_path: Path, monkeypatch):
    sent = []
    monkeypatch.setattr(dhcp_claim.socket, "socket", lambda *a: sent.append(a))
    for cmdline in ([], LXC_NET[:-1], ["dnsmasq", "--dhcp-range", "192.168.1.2,192.168.1.9", "--dhcp-authoritative"]):
        monkeypatch.setattr(dhcp_claim, "_dnsmasq_cmdline", lambda pid_file, c=cmdline: c)
        assert _claim("02:00:00:00:00:01", tmp_path, leases_file=tmp_path / "none") is None
    assert sent == []


def test_a_mac_that_holds_a_lease_keeps_it_and_nothing_is_sent(tmp_path: Path, monkeypatch):
    leases = tmp_path / "leases"
    leases.write_text("1796497723 02:aa:bb:cc:dd:ee 10.0.3.214 node 01:02:aa:bb:cc:dd:ee\n")
    monkeypatch.setattr(dhcp_claim, "_dnsmasq_cmdline", lambda pid_file: LXC_NET)
    monkeypatch.setattr(dhcp_claim.socket, "socket", lambda *a: pytest.fail("sent a request"))
    # nor listed the bridge's neighbours (a subprocess on every boot of an existing lab) or locked
    monkeypatch.setattr(dhcp_claim, "_neighbours", lambda bridge: pytest.fail("listed the neighbours"))
    assert _claim("02:AA:BB:CC:DD:EE", tmp_path, leases_file=leases) == "10.0.3.214"
    assert not (tmp_path / "lock").exists()


def test_an_unanswered_claim_is_none_after_the_wait(tmp_path: Path, monkeypatch):
    class Quiet:
        def __init__(self, *a):
            self.sent = []

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def setsockopt(self, *a):
            pass

        def sendto(self, data, to):
            assert to == ("10.0.3.1", 67)

    monkeypatch.setattr(dhcp_claim, "_dnsmasq_cmdline", lambda pid_file: LXC_NET)
    monkeypatch.setattr(dhcp_claim, "_neighbours", lambda bridge: set())
    monkeypatch.setattr(dhcp_claim.socket, "socket", Quiet)
    assert _claim("02:00:00:00:00:01", tmp_path, leases_file=tmp_path / "leases", wait=0.05) is None


def test_the_mac_a_clone_config_fixes_is_read_back():
    mac = mgmt_mac("labgen-c-s01-ubuntu-1")
    config = with_hwaddr("lxc.arch = linux64\n# VAGRANT-BEGIN\nlxc.net.0.type=veth\n# VAGRANT-END\n", mac)
    assert configured_mac(config) == mac
    assert configured_mac("lxc.net.0.hwaddr=02:AA:BB:CC:DD:EE\n") == "02:aa:bb:cc:dd:ee"
    assert configured_mac("lxc.net.1.hwaddr = 02:aa:bb:cc:dd:ee\n") is None
