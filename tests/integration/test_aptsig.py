"""A .deb verified through a publisher's signed apt index, with real gpg/gpgv: a throwaway
signing key in a temporary GNUPGHOME, a repository laid out like Docker's, served on
127.0.0.1. The user's keyrings are never touched."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labgen.aptsig import AptRepo
from labgen.artifacts import Artifact, ArtifactError, fetch, obtain
from labgen.lockfile import Lock

if not (shutil.which("gpg") and shutil.which("gpgv")):
    pytest.skip("needs gpg and gpgv (apt-get install gpg gpgv)", allow_module_level=True)

DEB = b"!<arch>\ndebian-binary   a test package\n" * 500
POOL = "dists/xenial/pool/stable/amd64/docker-ce_18.03.1~ce-0~ubuntu_amd64.deb"


def gpg(home, *args, data=None):
    return subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), *args], input=data, capture_output=True, check=True, timeout=120
    ).stdout


def stop_agent(home):
    """gpg --quick-gen-key starts a gpg-agent for its home: stop it (never leave processes)."""
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, timeout=30)


def make_key(home):
    home.mkdir(mode=0o700)
    gpg(home, "--passphrase", "", "--quick-gen-key", "labgen test <test@labgen.invalid>", "ed25519", "sign", "never")
    out = gpg(home, "--with-colons", "--list-keys").decode()
    fpr = next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))
    return fpr, gpg(home, "--armor", "--export", fpr)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """(server url, signing home, fingerprint, repo dir): a signed repository on 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("aptsig")
    fpr, key = make_key(tmp / "gnupg")
    root = tmp / "srv" / "linux" / "ubuntu"
    (root / POOL).parent.mkdir(parents=True)
    (root / POOL).write_bytes(DEB)
    (root / "gpg").write_bytes(key)
    sign(tmp / "gnupg", root, DEB)

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(tmp / "srv"), **k)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", tmp / "gnupg", fpr, root
    finally:
        httpd.shutdown()
        httpd.server_close()
        stop_agent(tmp / "gnupg")


def sign(home, root, deb_listed: bytes):
    """Write Packages(.gz) listing `deb_listed`'s hash, and an InRelease signed by `home`'s key."""
    index = root / "dists" / "xenial" / "stable" / "binary-amd64"
    index.mkdir(parents=True, exist_ok=True)
    packages = (
        f"Package: docker-ce\nVersion: 18.03.1~ce-0~ubuntu\nArchitecture: amd64\n"
        f"Filename: {POOL}\nSize: {len(deb_listed)}\n"
        f"SHA256: {hashlib.sha256(deb_listed).hexdigest()}\n\n"
        "Package: other\nFilename: dists/xenial/pool/stable/amd64/other.deb\nSize: 1\n"
        f"SHA256: {'0' * 64}\n"
    ).encode()
    (index / "Packages.gz").write_bytes(gzip.compress(packages))
    gz = (index / "Packages.gz").read_bytes()
    release = (
        "Origin: Docker\nSuite: xenial\nSHA256:\n"
        f" {hashlib.sha256(gz).hexdigest()} {len(gz)} stable/binary-amd64/Packages.gz\n"
    ).encode()
    (root / "dists" / "xenial" / "InRelease").write_bytes(gpg(home, "--clearsign", data=release))


def artifact(url, fpr):
    r = AptRepo(f"{url}/linux/ubuntu", "xenial", "stable/binary-amd64/Packages", f"{url}/linux/ubuntu/gpg", fpr, "Test")
    return Artifact(
        "docker-ce-18.03.1", f"{url}/linux/ubuntu/{POOL}", None, "docker-ce_18.03.1~ce-0~ubuntu_amd64.deb", signed=r
    )


def test_the_signed_index_gives_the_hash_and_the_lock_keeps_it(tmp_path, repo):
    url, home, fpr, root = repo
    lock = Lock(tmp_path / "labgen.lock")
    got = obtain(artifact(url, fpr), tmp_path / "cache", lock=lock)
    assert got.path.read_bytes() == DEB and got.locked == "new"
    assert lock.get("docker-ce-18.03.1").sha256 == hashlib.sha256(DEB).hexdigest()


def test_a_file_that_is_not_the_signed_one_is_refused(tmp_path, repo):
    url, home, fpr, root = repo
    (root / POOL).write_bytes(b"tampered on the mirror")
    try:
        with pytest.raises(ArtifactError) as err:
            fetch(artifact(url, fpr), tmp_path / "cache", lock=Lock(None))
    finally:
        (root / POOL).write_bytes(DEB)
    msg = err.value.message
    assert f"got sha256 {hashlib.sha256(b'tampered on the mirror').hexdigest()}" in msg
    assert f"expected {hashlib.sha256(DEB).hexdigest()} (Test's signed apt index" in msg
    assert not (tmp_path / "cache" / "docker-ce_18.03.1~ce-0~ubuntu_amd64.deb").exists()


def test_a_key_with_another_fingerprint_is_refused(tmp_path, repo):
    url, home, fpr, root = repo
    with pytest.raises(ArtifactError, match=f"the publisher's key file holds {fpr}, expected exactly {'A' * 40}"):
        fetch(artifact(url, "A" * 40), tmp_path / "cache")


def test_an_index_signed_by_another_key_is_refused(tmp_path, repo):
    url, home, fpr, root = repo
    inrelease = root / "dists" / "xenial" / "InRelease"
    good = inrelease.read_bytes()
    _, _ = make_key(tmp_path / "other")
    sign(tmp_path / "other", root, b"an evil package")
    try:
        with pytest.raises(ArtifactError, match=f"InRelease is not signed by key {fpr}"):
            fetch(artifact(url, fpr), tmp_path / "cache")
    finally:
        stop_agent(tmp_path / "other")
        inrelease.write_bytes(good)
        sign(home, root, DEB)
