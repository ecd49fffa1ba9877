"""labgen.artifacts' HTTP and signature paths (`_download`, `_get_bytes`, `_signed_sha256`) as
fast unit tests: a tiny HTTP server on 127.0.0.1 (port 0, a thread of this process) and, for
signed files, real gpg/gpgv with a throwaway key in a temporary GNUPGHOME (its agent is stopped
after). Loopback only, no root, nothing outside tmp_path; every wait is bounded."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labgen import artifacts
from labgen.aptsig import AptRepo
from labgen.artifacts import Artifact, ArtifactError, fetch, obtain
from labgen.lockfile import Entry, Lock
from labgen.mirrors import Mirrors

DATA = b"calicoctl v1.6.3\n" * 4000  # 68 000 bytes: several CHUNKs
SHA = hashlib.sha256(DATA).hexdigest()
OTHER = b"not what was pinned\n" * 100
OTHER_SHA = hashlib.sha256(OTHER).hexdigest()
SIZE = "66.4 KiB"  # artifacts._size(len(DATA))
HINT = "`labgen fetch LAB` fills the cache ahead of time on a connected machine"


class Server:
    """GET routes: path -> (status, body, headers) or a callable(handler). Records each request's
    path and User-Agent. `release` ends every stalled handler (set on close)."""

    def __init__(self):
        self.routes: dict = {}
        self.hits: list[tuple[str, str | None]] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append((self.path, self.headers.get("User-Agent")))
                route = outer.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                elif callable(route):
                    route(self)
                else:
                    status, body, headers = route
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def serve(self, path, body, status=200, length=True, headers=None):
        h = {"Content-Length": str(len(body))} if length else {}
        self.routes[path] = (status, body, {**h, **(headers or {})})
        return f"{self.url}{path}"

    def paths(self):
        return [p for p, _ in self.hits]

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    try:
        yield s
    finally:
        s.close()


def art(url, sha=SHA, name="calicoctl", filename="calicoctl", **kw):
    return Artifact(name, url, sha, filename, **kw)


def message(exc_info) -> str:
    return exc_info.value.message


# ---- _download: what a good server sends


def test_http_download_is_verified_cached_and_announced_as_labgen(tmp_path, server):
    url = server.serve("/calicoctl", DATA)
    cache = tmp_path / "deep" / "cache"  # created, parents too
    seen = []
    got = obtain(art(url), cache, progress=lambda done, total: seen.append((done, total)))
    assert got.path == cache / "calicoctl" and got.path.read_bytes() == DATA
    assert (got.source, got.locked) == ("downloaded", "new")
    assert seen[0] == (0, len(DATA)) and seen[-1] == (len(DATA), len(DATA))
    assert [d for d, _ in seen] == sorted({d for d, _ in seen}) and len(seen) > 2  # several chunks
    assert all(d - p <= artifacts.CHUNK for (p, _), (d, _) in zip(seen, seen[1:]))
    assert server.hits == [("/calicoctl", "labgen")]
    assert sorted(p.name for p in cache.iterdir()) == ["calicoctl"]  # nothing partial left


def test_a_download_into_an_existing_cache_with_other_files(tmp_path, server):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "other").write_bytes(b"x")
    path = fetch(art(server.serve("/calicoctl", DATA)), cache)
    assert path.read_bytes() == DATA and sorted(p.name for p in cache.iterdir()) == ["calicoctl", "other"]


def test_without_content_length_progress_has_no_total(tmp_path, server):
    url = server.serve("/calicoctl", DATA, length=False)
    seen = []
    path = fetch(art(url), tmp_path / "c", progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == DATA
    assert seen[0] == (0, None) and seen[-1] == (len(DATA), None) and {t for _, t in seen} == {None}


def test_a_content_length_that_is_not_a_number_is_ignored(tmp_path, server):
    url = server.serve("/calicoctl", DATA, length=False, headers={"Content-Length": "lots"})
    seen = []
    assert fetch(art(url), tmp_path / "c", progress=lambda d, t: seen.append(t)).read_bytes() == DATA
    assert set(seen) == {None}


def test_no_progress_callback_is_fine(tmp_path, server):
    assert fetch(art(server.serve("/calicoctl", DATA)), tmp_path / "c").read_bytes() == DATA


def test_a_mirror_serves_the_bytes_and_is_named_in_failures(tmp_path, server):
    own = "https://github.com/projectcalico/calicoctl/releases/download/v1.6.3/calicoctl"
    mirrored = server.serve("/files/calicoctl", DATA)
    m = Mirrors((("calicoctl", mirrored),))
    lock = Lock(None)
    got = obtain(art(own, sha=None), tmp_path / "c", lock=lock, mirrors=m)
    assert got.path.read_bytes() == DATA and server.paths() == ["/files/calicoctl"]
    assert lock.get("calicoctl") == Entry(own, "calicoctl", len(DATA), SHA)
    with pytest.raises(ArtifactError) as err:
        fetch(art(own, sha=OTHER_SHA), tmp_path / "d", mirrors=m)
    assert message(err).startswith(f"artifact calicoctl: {mirrored} (mirror of {own}): got sha256 {SHA}, ")


# ---- _download: what goes wrong


def test_a_pinned_mismatch_names_both_hashes_and_the_size(tmp_path, server):
    url = server.serve("/calicoctl", DATA)
    with pytest.raises(ArtifactError) as err:
        fetch(art(url, sha=OTHER_SHA), tmp_path / "c")
    assert message(err) == (
        f"artifact calicoctl: {url}: got sha256 {SHA}, expected {OTHER_SHA} "
        f"({SIZE} received); put calicoctl (sha256 {OTHER_SHA}) in {tmp_path / 'c'}/ "
        "or pass --artifacts DIR holding it"
    )
    assert err.value.hint == HINT
    assert list((tmp_path / "c").iterdir()) == []


def test_a_locked_file_that_changed_on_the_server(tmp_path, server):
    url = server.serve("/calicoctl", DATA)
    lock = Lock(tmp_path / "labgen.lock", {"calicoctl": Entry(url, "calicoctl", 1536, OTHER_SHA)})
    with pytest.raises(ArtifactError) as err:
        fetch(art(url, sha=None), tmp_path / "c", lock=lock)
    assert message(err).startswith(
        f"artifact calicoctl: {url}: the file changed since it was locked: the server sent sha256 {SHA} "
        f"({SIZE}), but {tmp_path / 'labgen.lock'} has sha256 {OTHER_SHA} (1.5 KiB), recorded when it "
        f"was first fetched; put calicoctl (sha256 {OTHER_SHA}) in "
    )
    assert list((tmp_path / "c").iterdir()) == []


def test_http_errors_name_status_and_reason(tmp_path, server):
    with pytest.raises(ArtifactError) as err:
        fetch(art(f"{server.url}/missing"), tmp_path / "c")
    assert message(err).startswith(f"artifact calicoctl: {server.url}/missing: HTTP 404 Not Found; put ")
    assert err.value.hint == HINT


def test_a_2xx_other_than_200_is_refused(tmp_path, server):
    url = server.serve("/calicoctl", DATA, status=203)
    with pytest.raises(ArtifactError) as err:
        fetch(art(url), tmp_path / "c")
    assert message(err).startswith(
        f"artifact calicoctl: {url}: HTTP 203 Non-Authoritative Information; put calicoctl (sha256 {SHA}) in "
    )
    assert list((tmp_path / "c").iterdir()) == []


def test_a_connection_closed_early_is_named_and_leaves_nothing(tmp_path, server):
    url = server.serve("/calicoctl", DATA, length=False, headers={"Content-Length": str(len(DATA) + 2048)})
    with pytest.raises(ArtifactError) as err:
        fetch(art(url), tmp_path / "c")
    assert message(err).startswith(f"artifact calicoctl: {url}: connection closed after {SIZE} of 68.4 KiB; put ")
    assert list((tmp_path / "c").iterdir()) == []


def test_a_server_that_stops_sending_times_out(tmp_path, server):
    def slow(h):
        h.send_response(200)
        h.send_header("Content-Length", str(len(DATA)))
        h.end_headers()
        h.wfile.write(DATA[: artifacts.CHUNK + 1024])  # one whole read, then silence
        h.wfile.flush()
        server.release.wait(10)

    server.routes["/slow"] = slow
    with pytest.raises(ArtifactError) as err:
        fetch(art(f"{server.url}/slow"), tmp_path / "c", timeout=0.25)
    assert message(err).startswith(
        f"artifact calicoctl: {server.url}/slow: timed out after 0.25 s (64.0 KiB received); put "
    )
    assert list((tmp_path / "c").iterdir()) == []


def test_a_server_that_never_answers_times_out(tmp_path, server):
    server.routes["/mute"] = lambda h: server.release.wait(10)
    with pytest.raises(ArtifactError) as err:
        fetch(art(f"{server.url}/mute"), tmp_path / "c", timeout=0.25)
    assert "/mute: timed out after 0.25 s (0 bytes received); put " in message(err)


def test_a_connection_that_cannot_be_made_in_time(tmp_path):
    """A listener whose accept queue is full drops new SYNs: connect() itself times out."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)
        port = srv.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):  # bounded: fill the queue until a connect stalls
                c = socket.socket()
                fillers.append(c)
                c.settimeout(0.2)
                try:
                    c.connect(("127.0.0.1", port))
                except OSError:
                    break
            else:
                # Linux drops SYNs to a full accept queue; if it ever stops, this test must say so
                pytest.fail("8 connections to a listen(0) socket were all accepted: connect() cannot be made to stall")
            with pytest.raises(ArtifactError) as err:
                fetch(art(f"http://127.0.0.1:{port}/x"), tmp_path / "c", timeout=0.3)
        finally:
            for c in fillers:
                c.close()
    assert message(err).startswith(f"artifact calicoctl: http://127.0.0.1:{port}/x: connection error: timed out; put ")


def test_a_refused_connection_names_the_reason(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        with pytest.raises(ArtifactError) as err:
            fetch(art(f"http://127.0.0.1:{port}/x"), tmp_path / "c", timeout=5)
    assert message(err).startswith(
        f"artifact calicoctl: http://127.0.0.1:{port}/x: connection error: Connection refused; put "
    )


def test_a_server_that_hangs_up_without_a_response(tmp_path, server):
    server.routes["/hangup"] = lambda h: setattr(h, "close_connection", True)
    with pytest.raises(ArtifactError) as err:
        fetch(art(f"{server.url}/hangup"), tmp_path / "c")
    assert message(err).startswith(
        f"artifact calicoctl: {server.url}/hangup: connection error: RemoteDisconnected: Remote end closed "
        "connection without response (0 bytes received); put "
    )
    assert list((tmp_path / "c").iterdir()) == []


def test_a_cache_dir_that_cannot_be_created(tmp_path, server):
    (tmp_path / "file").write_text("not a dir")
    url = server.serve("/calicoctl", DATA)
    with pytest.raises(ArtifactError) as err:
        fetch(art(url), tmp_path / "file" / "cache")
    assert message(err).startswith(
        f"artifact calicoctl: {url}: cannot create the cache dir: Not a directory; put calicoctl (sha256 {SHA}) in "
    )
    assert server.hits == []


def test_only_http_https_and_file_urls_are_downloaded(tmp_path, server):
    for url in ("ftp://127.0.0.1/calicoctl", "docker-save:nginx:1.13.9"):
        with pytest.raises(ArtifactError) as err:
            fetch(art(url), tmp_path / "c")
        assert message(err).startswith(f"artifact calicoctl: {url}: this is not a URL labgen can download; put ")
    with pytest.raises(ArtifactError) as err:
        fetch(art("ftp://127.0.0.1/x", description="save it with docker"), tmp_path / "c")
    assert "this is not a URL labgen can download (save it with docker); put calicoctl (sha256 " in message(err)
    assert not (tmp_path / "c").exists()  # refused before anything was created


# ---- _get_bytes


def test_get_bytes_reads_up_to_the_limit_and_announces_labgen(tmp_path, server):
    url = server.serve("/key", b"0123456789")
    a = art("http://127.0.0.1:9/unused")
    assert artifacts._get_bytes(a, url, tmp_path, 5, limit=10) == b"0123456789"
    assert server.hits == [("/key", "labgen")]
    with pytest.raises(ArtifactError) as err:
        artifacts._get_bytes(a, url, tmp_path, 5, limit=9)
    assert message(err) == (
        f"artifact calicoctl: {url}: larger than 9 bytes; put calicoctl in "
        f"{tmp_path}/ or pass --artifacts DIR holding it"
    )
    assert err.value.hint == HINT


def test_get_bytes_default_limit_is_256_mib(tmp_path, server):
    limit = 256 << 20
    block = b"\0" * (1 << 20)

    def big(extra):
        def route(h):
            h.send_response(200)
            h.send_header("Content-Length", str(limit + extra))
            h.end_headers()
            for _ in range(256):
                h.wfile.write(block)
            h.wfile.write(b"\0" * extra)

        return route

    server.routes["/exact"] = big(0)
    server.routes["/over"] = big(1)
    a = art("http://127.0.0.1:9/unused")
    assert len(artifacts._get_bytes(a, f"{server.url}/exact", tmp_path, 30)) == limit
    with pytest.raises(ArtifactError, match=r": larger than 256\.0 MiB; put "):
        artifacts._get_bytes(a, f"{server.url}/over", tmp_path, 30)


def test_get_bytes_errors(tmp_path, server):
    a = art("http://127.0.0.1:9/unused")
    with pytest.raises(ArtifactError) as err:
        artifacts._get_bytes(a, f"{server.url}/gone", tmp_path, 5)
    assert message(err).startswith(f"artifact calicoctl: {server.url}/gone: HTTP 404 Not Found; put ")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/key"
        with pytest.raises(ArtifactError) as err:
            artifacts._get_bytes(a, url, tmp_path, 5)
    assert message(err).startswith(f"artifact calicoctl: {url}: connection error: Connection refused; put ")
    server.routes["/mute"] = lambda h: server.release.wait(10)
    with pytest.raises(ArtifactError) as err:
        artifacts._get_bytes(a, f"{server.url}/mute", tmp_path, 0.25)
    assert message(err).startswith(f"artifact calicoctl: {server.url}/mute: connection error: timed out; put ")
    with pytest.raises(ArtifactError) as err:  # a reason with no strerror: its text
        artifacts._get_bytes(a, "nosuchscheme://x/key", tmp_path, 5)
    assert message(err).startswith(
        "artifact calicoctl: nosuchscheme://x/key: connection error: unknown url type: nosuchscheme; put "
    )


# ---- _signed_sha256: a .deb from a publisher's signed apt index (real gpg/gpgv)

DEB = b"!<arch>\ndebian-binary   a test package\n" * 200
DEB_SHA = hashlib.sha256(DEB).hexdigest()
POOL = "pool/stable/amd64/docker-ce_18.03.1~ce-0~ubuntu_amd64.deb"
needs_gpg = pytest.mark.skipif(
    not (shutil.which("gpg") and shutil.which("gpgv")), reason="needs gpg and gpgv (apt-get install gpg gpgv)"
)


def _gpg(home, *args, data=None):
    return subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), *args], input=data, capture_output=True, check=True, timeout=60
    ).stdout


PACKAGES_GZ = gzip.compress(
    (f"Package: docker-ce\nArchitecture: amd64\nFilename: {POOL}\nSize: {len(DEB)}\nSHA256: {DEB_SHA}\n").encode(),
    mtime=0,
)


@pytest.fixture(scope="module")
def signed_index(tmp_path_factory):
    """(fingerprint, armored public key, InRelease listing PACKAGES_GZ) of a throwaway ed25519
    key. Everything is signed here, so the gpg-agent that key generation starts lives only
    for this fixture's first second (stopped at once, even when this fails)."""
    home = tmp_path_factory.mktemp("gpg") / "home"
    home.mkdir(mode=0o700)
    try:
        _gpg(
            home, "--passphrase", "", "--quick-gen-key", "labgen unit <unit@labgen.invalid>", "ed25519", "sign", "never"
        )
        out = _gpg(home, "--with-colons", "--list-keys").decode()
        fpr = next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))
        release = (
            "Origin: Docker\nSuite: xenial\nSHA256:\n"
            f" {hashlib.sha256(PACKAGES_GZ).hexdigest()} {len(PACKAGES_GZ)} stable/binary-amd64/Packages.gz\n"
        )
        signed = fpr, _gpg(home, "--armor", "--export", fpr), _gpg(home, "--clearsign", data=release.encode())
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, timeout=30)
    return signed


@pytest.fixture
def repo(server, signed_index):
    """A signed repository laid out like Docker's, served under /linux/ubuntu; returns the
    Artifact for its .deb (no pin: the signature says what it must be)."""
    fpr, key, inrelease = signed_index
    base = "/linux/ubuntu"
    server.serve(f"{base}/dists/xenial/stable/binary-amd64/Packages.gz", PACKAGES_GZ)
    server.serve(f"{base}/dists/xenial/InRelease", inrelease)
    server.serve(f"{base}/gpg", key)
    server.serve(f"{base}/{POOL}", DEB)
    r = AptRepo(f"{server.url}{base}", "xenial", "stable/binary-amd64/Packages", f"{server.url}{base}/gpg", fpr, "Test")
    return Artifact("docker-ce", f"{server.url}{base}/{POOL}", None, "docker-ce.deb", signed=r)


SIGNED_PATHS = [
    "/linux/ubuntu/dists/xenial/InRelease",
    "/linux/ubuntu/gpg",
    "/linux/ubuntu/dists/xenial/stable/binary-amd64/Packages.gz",
]


@needs_gpg
def test_a_signed_deb_is_checked_against_the_publisher_and_locked(tmp_path, server, repo):
    lock = Lock(None)
    got = obtain(repo, tmp_path / "c", lock=lock)
    assert got.path.read_bytes() == DEB and (got.source, got.locked) == ("downloaded", "new")
    assert lock.get("docker-ce") == Entry(repo.url, "docker-ce.deb", len(DEB), DEB_SHA)
    assert server.paths() == SIGNED_PATHS + [f"/linux/ubuntu/{POOL}"]
    assert {ua for _, ua in server.hits} == {"labgen"}


@needs_gpg
def test_a_deb_that_is_not_the_signed_one_is_refused(tmp_path, server, repo):
    server.serve(f"/linux/ubuntu/{POOL}", OTHER)
    with pytest.raises(ArtifactError) as err:
        fetch(repo, tmp_path / "c")
    assert message(err).startswith(
        f"artifact docker-ce: {repo.url}: got sha256 {OTHER_SHA} (2.0 KiB received), expected {DEB_SHA} "
        f"({repo.signed.describe()}); put docker-ce.deb (sha256 {DEB_SHA}) in "
    )
    assert list((tmp_path / "c").iterdir()) == []


@needs_gpg
def test_a_bad_signature_chain_is_an_artifact_error_with_a_hint(tmp_path, server, repo):
    server.serve("/linux/ubuntu/dists/xenial/InRelease", b"-----BEGIN PGP SIGNED MESSAGE-----\nforged\n")
    with pytest.raises(ArtifactError) as err:
        fetch(repo, tmp_path / "c")
    assert message(err).startswith(f"artifact docker-ce: InRelease is not signed by key {repo.signed.fingerprint} (")
    assert err.value.hint == "the publisher's signature does not hold: do not use this file"
    assert f"/linux/ubuntu/{POOL}" not in server.paths()  # the .deb was never fetched


@needs_gpg
def test_missing_gpg_keeps_its_own_hint(tmp_path, server, repo, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no gpg there
    with pytest.raises(ArtifactError) as err:
        fetch(repo, tmp_path / "c")
    assert message(err).startswith("artifact docker-ce: gpg is not installed: labgen needs it")
    assert err.value.hint == "apt-get install gpg gpgv"


@needs_gpg
def test_a_missing_key_file_names_its_url(tmp_path, server, repo):
    del server.routes["/linux/ubuntu/gpg"]
    with pytest.raises(ArtifactError) as err:
        fetch(repo, tmp_path / "c")
    assert message(err).startswith(
        f"artifact docker-ce: {repo.signed.key_url}: HTTP 404 Not Found; put docker-ce.deb in "
    )


@needs_gpg
def test_base_mirrors_serve_the_signature_files_too(tmp_path, server, repo):
    own = "https://download.docker.com/linux/ubuntu"
    signed = AptRepo(own, "xenial", repo.signed.index, f"{own}/gpg", repo.signed.fingerprint, "Docker")
    a = Artifact("docker-ce", f"{own}/{POOL}", None, "docker-ce.deb", signed=signed)
    m = Mirrors(((f"{own}/", f"{server.url}/linux/ubuntu/"),))
    lock = Lock(None)
    assert obtain(a, tmp_path / "c", lock=lock, mirrors=m).path.read_bytes() == DEB
    assert server.paths() == SIGNED_PATHS + [f"/linux/ubuntu/{POOL}"]
    assert lock.get("docker-ce").url == a.url


@needs_gpg
def test_a_name_rule_moves_only_the_deb_not_the_signature_files(tmp_path, server, repo):
    """A mirror rule for the artifact's name is a URL for the .deb alone: the key and the
    index still come from the publisher's URLs (here, the same server)."""
    deb = server.serve("/elsewhere/docker-ce.deb", DEB)
    m = Mirrors(((repo.name, deb),))
    assert fetch(repo, tmp_path / "c", mirrors=m).read_bytes() == DEB
    assert server.paths() == SIGNED_PATHS + ["/elsewhere/docker-ce.deb"]


@needs_gpg
def test_a_locked_or_supplied_signed_deb_needs_no_signature_download(tmp_path, server, repo):
    lock = Lock(None, {"docker-ce": Entry(repo.url, "docker-ce.deb", len(DEB), DEB_SHA)})
    assert obtain(repo, tmp_path / "c", lock=lock).source == "downloaded"
    assert server.paths() == [f"/linux/ubuntu/{POOL}"]  # the lock says what it must be
    server.hits.clear()
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / "docker-ce.deb").write_bytes(DEB)
    got = obtain(repo, tmp_path / "d", usb, lock=Lock(None))
    assert got.source == "supplied" and server.hits == []
    got = obtain(repo, tmp_path / "e", tmp_path / "empty-usb", lock=Lock(None))  # not on the stick
    assert got.source == "downloaded" and server.paths() == SIGNED_PATHS + [f"/linux/ubuntu/{POOL}"]


# ---- defaults and parallel nodes


def test_downloads_wait_30_s_by_default(tmp_path, server, monkeypatch):
    """A spy on the standard library's urlopen (it still does the real request) shows the timeout."""
    import urllib.request

    seen, real = [], urllib.request.urlopen
    monkeypatch.setattr(
        urllib.request, "urlopen", lambda req, timeout: seen.append(timeout) or real(req, timeout=timeout)
    )
    url = server.serve("/calicoctl", DATA)
    fetch(art(url), tmp_path / "a")
    obtain(art(url), tmp_path / "b")
    artifacts.Stager(cache=tmp_path / "c", resolve=lambda n: art(url)).local("calicoctl")
    assert seen == [30.0, 30.0, 30.0]


def test_one_slow_artifact_does_not_hold_up_another(tmp_path, server):
    """Stager locks per artifact name: a node fetching a slow file does not block a node that
    needs a different one."""
    gate = threading.Event()
    started = threading.Event()

    def slow(h):
        started.set()
        gate.wait(10)
        h.send_response(200)
        h.send_header("Content-Length", str(len(DATA)))
        h.end_headers()
        h.wfile.write(DATA)

    server.routes["/slow"] = slow
    fast = server.serve("/fast", OTHER)
    table = {
        "slow": art(f"{server.url}/slow", filename="slow"),
        "fast": art(fast, sha=OTHER_SHA, name="fast", filename="fast"),
    }
    stager = artifacts.Stager(cache=tmp_path / "c", resolve=table.__getitem__)
    done = {}
    a = threading.Thread(target=lambda: done.setdefault("slow", stager.local("slow")))
    b = threading.Thread(target=lambda: done.setdefault("fast", stager.local("fast")))
    a.start()
    try:
        assert started.wait(5)
        b.start()
        b.join(5)
        assert "fast" in done and "slow" not in done
    finally:
        gate.set()
        a.join(10)
        b.join(10)
    assert done["slow"][1].read_bytes() == DATA


# ---- every failure names the mirror, the artifact's own URL, the pin and the cache


def _mute(server):
    return lambda h: server.release.wait(10)


def _slow(h):
    h.send_response(200)
    h.send_header("Content-Length", str(len(DATA)))
    h.end_headers()
    h.wfile.write(DATA[: artifacts.CHUNK + 1024])
    h.wfile.flush()
    h.server.outer.release.wait(10)


FAILURES = {
    "scheme": "this is not a URL labgen can download",
    "nocache": "cannot create the cache dir: Not a directory",
    "203": "HTTP 203 Non-Authoritative Information",
    "short": f"connection closed after {SIZE} of 68.4 KiB",
    "404": "HTTP 404 Not Found",
    "refused": "connection error: Connection refused",
    "slow": "timed out after 0.25 s (64.0 KiB received)",
    "hangup": "connection error: RemoteDisconnected: Remote end closed connection without response (0 bytes received)",
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_a_failure_through_a_mirror_names_everything(tmp_path, server, kind):
    own = "https://github.com/projectcalico/calicoctl/releases/download/v1.6.3/calicoctl"
    server.httpd.outer = server
    server.serve("/203", DATA, status=203)
    server.serve("/short", DATA, length=False, headers={"Content-Length": str(len(DATA) + 2048)})
    server.routes["/slow"] = _slow
    server.routes["/hangup"] = lambda h: setattr(h, "close_connection", True)
    cache = tmp_path / "cache"
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        mirror = {
            "scheme": "ftp://127.0.0.1/calicoctl",
            "nocache": f"{server.url}/203",
            "refused": f"http://127.0.0.1:{closed.getsockname()[1]}/c",
        }.get(kind, f"{server.url}/{kind}")
        if kind == "nocache":
            (tmp_path / "file").write_text("not a dir")
            cache = tmp_path / "file" / "cache"
        with pytest.raises(ArtifactError) as err:
            fetch(art(own), cache, mirrors=Mirrors((("calicoctl", mirror),)), timeout=0.25)
    assert message(err) == (
        f"artifact calicoctl: {mirror} (mirror of {own}): {FAILURES[kind]}; put calicoctl "
        f"(sha256 {SHA}) in {cache}/ or pass --artifacts DIR holding it"
    )
    assert err.value.hint == HINT
    if kind != "nocache":
        assert not cache.exists() or list(cache.iterdir()) == []


def test_https_is_attempted_not_refused_as_a_scheme(tmp_path, server):
    url = server.serve("/calicoctl", DATA).replace("http://", "https://")  # TLS to a plain server
    with pytest.raises(ArtifactError) as err:
        fetch(art(url), tmp_path / "c", timeout=5)
    assert message(err).startswith(f"artifact calicoctl: {url}: connection error: ")
    assert "not a URL labgen can download" not in message(err)


def test_get_bytes_stops_reading_past_the_limit(tmp_path, server):
    """Only limit + 1 bytes are read: a server that sends more (or never ends) is refused at
    once, not waited for."""

    def endless(h):
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        h.wfile.write(b"x" * 11)
        h.wfile.flush()
        server.release.wait(10)

    server.routes["/endless"] = endless
    with pytest.raises(ArtifactError) as err:
        artifacts._get_bytes(art("http://127.0.0.1:9/unused"), f"{server.url}/endless", tmp_path, 2, limit=10)
    assert message(err) == (
        f"artifact calicoctl: {server.url}/endless: larger than 10 bytes; put calicoctl in "
        f"{tmp_path}/ or pass --artifacts DIR holding it"
    )


def test_get_bytes_failures_name_the_cache(tmp_path, server):
    a = art("http://127.0.0.1:9/unused")
    with pytest.raises(ArtifactError) as err:
        artifacts._get_bytes(a, f"{server.url}/gone", tmp_path / "c", 5)
    assert message(err) == (
        f"artifact calicoctl: {server.url}/gone: HTTP 404 Not Found; put calicoctl in "
        f"{tmp_path / 'c'}/ or pass --artifacts DIR holding it"
    )
    with pytest.raises(ArtifactError) as err:
        artifacts._get_bytes(a, "nosuchscheme://x/key", tmp_path / "c", 5)
    assert message(err) == (
        "artifact calicoctl: nosuchscheme://x/key: connection error: unknown url type: "
        f"nosuchscheme; put calicoctl in {tmp_path / 'c'}/ or pass --artifacts DIR holding it"
    )


@needs_gpg
def test_signature_downloads_use_the_cache_in_messages_and_the_timeout(tmp_path, server, repo):
    del server.routes["/linux/ubuntu/gpg"]
    with pytest.raises(ArtifactError) as err:
        fetch(repo, tmp_path / "c")
    assert message(err) == (
        f"artifact docker-ce: {repo.signed.key_url}: HTTP 404 Not Found; put docker-ce.deb in "
        f"{tmp_path / 'c'}/ or pass --artifacts DIR holding it"
    )
    server.routes["/linux/ubuntu/gpg"] = _mute(server)
    with pytest.raises(ArtifactError) as err:
        fetch(repo, tmp_path / "c", timeout=0.25)
    assert message(err).startswith(f"artifact docker-ce: {repo.signed.key_url}: connection error: timed out; ")


def test_a_url_without_a_host_is_a_connection_error_not_a_crash(tmp_path):
    """urllib's reason is a plain string here (no strerror): it is shown as it is."""
    with pytest.raises(ArtifactError) as err:
        fetch(art("http:///calicoctl"), tmp_path / "c")
    assert message(err).startswith("artifact calicoctl: http:///calicoctl: connection error: no host given; put ")
