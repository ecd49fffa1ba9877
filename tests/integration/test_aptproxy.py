"""labgen's apt proxy (apt-cacher-ng started by hand) on 127.0.0.1, an ephemeral port and a
temporary base dir, so a lab's own proxy (the demo's on 192.168.56.1:3142) is never disturbed.

Traffic: loopback, and through the proxy to the Debian archive (deb.debian.org), which this
machine is allowed to reach. The daemon is stopped even when a test fails.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import urllib.error
import urllib.request

import pytest

from labgen import aptproxy

pytestmark = [pytest.mark.root, pytest.mark.slow]

if os.geteuid() != 0:
    pytest.skip("needs root (apt-cacher-ng's dirs; the real proxy runs as root)", allow_module_level=True)
if not shutil.which("apt-cacher-ng") and not os.path.exists("/usr/sbin/apt-cacher-ng"):
    pytest.skip("needs apt-cacher-ng (apt-get install apt-cacher-ng)", allow_module_level=True)

from tests.integration.lxcenv import debian_archive_skip_reason, free_port  # noqa: E402

_reason = debian_archive_skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

RELEASE = "http://deb.debian.org/debian/dists/bookworm/InRelease"


class Proxy:
    """An apt-cacher-ng of the test's own: a temporary base dir and a port picked at start.

    apt-cacher-ng takes a port number, not a socket, so a port found free may be taken by
    someone else before it binds: start() then tries another one (up to 5)."""

    def __init__(self, base):
        self.base, self.port = base, None

    def start(self) -> list[str]:
        last = None
        for _ in range(5):
            self.port = random.randint(20000, aptproxy.MAX_PORT)  # it cannot bind above 32767
            try:
                return aptproxy.ensure_running("127.0.0.1", port=self.port, base=self.base)
            except aptproxy.LabgenError as exc:
                last = exc
                aptproxy.stop(base=self.base)
        pytest.fail(f"apt-cacher-ng did not start on 5 ports: {last}")


@pytest.fixture
def proxy(tmp_path):
    p = Proxy(tmp_path / "acng")
    try:
        yield p
    finally:
        aptproxy.stop(base=p.base)


def opener(port):
    url = f"http://127.0.0.1:{port}"
    return urllib.request.build_opener(urllib.request.ProxyHandler({"http": url, "https": url}))


def test_proxy_serves_the_archive_idempotently_and_stops(proxy):
    changes = proxy.start()
    base, port = proxy.base, proxy.port
    assert len(changes) == 1 and f"127.0.0.1:{port}" in changes[0]
    assert (base / "conf" / "backends_debian").read_text() == aptproxy.host_archive_url() + "\n"
    pid = aptproxy._pid(base)
    assert pid is not None

    with opener(port).open(RELEASE, timeout=60) as resp:
        assert resp.status == 200
        assert resp.read(40).startswith(b"-----BEGIN PGP SIGNED MESSAGE-----")
    assert any((base / "cache").rglob("InRelease"))  # cached on the host

    assert aptproxy.ensure_running("127.0.0.1", port=port, base=base) == []
    assert aptproxy._pid(base) == pid

    assert aptproxy.stop(base=base) == [
        f"apt proxy: stopped apt-cacher-ng (pid {pid})",
        f"apt proxy: removed nft table inet labgen-aptproxy-{port}",
    ]
    assert not aptproxy.is_running(base=base)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert aptproxy.stop(base=base) == []


def test_any_debian_mirror_name_is_served_from_the_hosts_archive(proxy):
    """The one setting ENVIRONMENT.md talks about: backends_debian = the host's archive."""
    proxy.start()
    port = proxy.port
    # ftp.us.debian.org does not even resolve here: the remap sends it to the host's archive.
    with opener(port).open("http://ftp.us.debian.org/debian/dists/bookworm/Release", timeout=60) as resp:
        assert resp.status == 200 and b"Codename: bookworm" in resp.read()


def test_https_sources_are_tunnelled_and_nothing_else_is_proxied(proxy):
    proxy.start()
    port = proxy.port
    with opener(port).open("https://deb.debian.org/debian/dists/bookworm/Release", timeout=60) as resp:
        assert resp.status == 200
    with pytest.raises(urllib.error.HTTPError) as err:  # not an apt file: no open proxy
        opener(port).open("http://127.0.0.1:9/index.html", timeout=30)
    assert err.value.code == 403
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # CONNECT elsewhere than :443
        s.sendall(b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n")
        status = s.recv(200).split(b"\r\n")[0]
        # the refusal itself (apt-cacher-ng: "HTTP/1.0 403 CONNECT denied ..."), not an empty reply
        assert re.match(rb"HTTP/1\.[01] 403 ", status), status


def test_an_address_that_is_not_ours_is_refused(proxy):
    with pytest.raises(aptproxy.PreflightError, match="192.0.2.250 is not an address of this host"):
        aptproxy.ensure_running("192.0.2.250", port=31000, base=proxy.base)
    assert not aptproxy.is_running(base=proxy.base)


def test_one_proxy_serves_every_lab_without_restarting_and_the_last_one_out_stops_it(proxy):
    """Two labs' host addresses (on a veth pair made here, standing in for two lab bridges):
    one daemon serves both without a restart; it stops only when neither address is left."""
    import subprocess

    base, port = proxy.base, free_port(20000, aptproxy.MAX_PORT)
    pair = ("lgtpa" + str(port), "lgtpb" + str(port))
    subprocess.run(["ip", "link", "add", pair[0], "type", "veth", "peer", "name", pair[1]], check=True)
    try:
        for dev, ip in zip(pair, ("10.255.77.1/32", "10.255.77.2/32")):
            subprocess.run(["ip", "addr", "add", ip, "dev", dev], check=True)
            subprocess.run(["ip", "link", "set", dev, "up"], check=True)
        aptproxy.ensure_running("10.255.77.1", port=port, base=base)
        pid = aptproxy._pid(base)
        assert aptproxy.ensure_running("10.255.77.2", port=port, base=base) == []  # no restart
        assert aptproxy._pid(base) == pid
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        guard = subprocess.run(
            ["nft", "list", "table", "inet", aptproxy.guard_table(port)], capture_output=True, text=True
        )
        assert guard.returncode == 0 and f"tcp dport {port} drop" in guard.stdout
        subprocess.run(["ip", "addr", "del", "10.255.77.1/32", "dev", pair[0]], check=True)
        assert aptproxy.stop_if_unused(base=base, port=port) == []  # lab 2 still there
        assert aptproxy._pid(base) == pid
        subprocess.run(["ip", "addr", "del", "10.255.77.2/32", "dev", pair[1]], check=True)
        stopped = aptproxy.stop_if_unused(base=base, port=port)  # the last one out
        assert stopped[0] == f"apt proxy: stopped apt-cacher-ng (pid {pid})"
        assert not aptproxy.is_running(base=base)
        assert (
            subprocess.run(["nft", "list", "table", "inet", aptproxy.guard_table(port)], capture_output=True).returncode
            != 0
        )
    finally:
        subprocess.run(["ip", "link", "del", pair[0]], capture_output=True)
