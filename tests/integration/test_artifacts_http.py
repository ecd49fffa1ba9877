"""Artifacts for real: downloads from an HTTP server on 127.0.0.1 into a temporary cache, and
SFTP uploads through labgen.remote.Remote to a real sshd on 127.0.0.1.

Sends traffic to loopback only. The sshd (temporary host key, one authorized key, an ephemeral
port) runs only as long as its fixture and is stopped even when a test fails.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.lxcenv import wait_listening
from tests.processes import stop_process

from labgen.artifacts import Artifact, ArtifactError, Stager, fetch, upload
from labgen.errors import TaskError
from labgen.model import Task
from labgen.provision import engine

GOOD = os.urandom(300_000)
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()
EVIL = b"not the pinned file\n" * 1000
EVIL_SHA = hashlib.sha256(EVIL).hexdigest()


class Server:
    def __init__(self):
        self.hits: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                body = {"/good.bin": GOOD, "/evil.bin": EVIL}.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    try:
        yield s
    finally:
        s.close()


def good(server):
    return Artifact("tool", f"{server.url}/good.bin", GOOD_SHA, "tool.bin", "a test binary")


def test_good_file_is_downloaded_verified_cached_and_reused(tmp_path, server):
    cache = tmp_path / "cache"
    seen = []
    path = fetch(good(server), cache, progress=lambda done, total: seen.append((done, total)))
    assert path == cache / "tool.bin"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == GOOD_SHA
    assert seen[0] == (0, len(GOOD)) and seen[-1] == (len(GOOD), len(GOOD))
    assert fetch(good(server), cache) == path
    assert server.hits == {"/good.bin": 1}  # the second fetch used the cache
    assert sorted(p.name for p in cache.iterdir()) == ["tool.bin"]


def test_404_names_artifact_url_status_and_fix(tmp_path, server):
    a = Artifact("calicoctl", f"{server.url}/missing", GOOD_SHA, "calicoctl")
    with pytest.raises(ArtifactError) as err:
        fetch(a, tmp_path / "cache")
    msg = err.value.message
    assert msg.startswith(f"artifact calicoctl: {a.url}: HTTP 404 Not Found; ")
    assert f"put calicoctl (sha256 {GOOD_SHA}) in {tmp_path / 'cache'}/ or pass --artifacts DIR" in msg
    assert list((tmp_path / "cache").iterdir()) == []


def test_wrong_checksum_names_both_hashes_and_leaves_no_file(tmp_path, server):
    a = Artifact("calicoctl", f"{server.url}/evil.bin", GOOD_SHA, "calicoctl")
    with pytest.raises(ArtifactError) as err:
        fetch(a, tmp_path / "cache")
    assert f"got sha256 {EVIL_SHA}, expected {GOOD_SHA} ({len(EVIL) / 1024:.1f} KiB received)" in err.value.message
    assert list((tmp_path / "cache").iterdir()) == []


def test_refused_connection_is_named(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens
    a = Artifact("x", f"http://127.0.0.1:{port}/x", GOOD_SHA, "x")
    with pytest.raises(ArtifactError, match=r"connection error: Connection refused"):
        fetch(a, tmp_path / "cache", timeout=5)


def test_artifacts_dir_is_used_without_the_network(tmp_path, server):
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / "tool.bin").write_bytes(GOOD)
    path = fetch(good(server), tmp_path / "cache", artifacts_dir=usb)
    assert path.read_bytes() == GOOD and server.hits == {}


# ---- real SFTP to a real sshd on loopback


@pytest.fixture
def sshd(tmp_path):
    """(ssh-config text, node name) of a root sshd on 127.0.0.1:<ephemeral>."""
    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    if os.geteuid() != 0:
        pytest.skip("needs root (sshd logs in as root here)")
    if not os.path.exists(binary) or not shutil.which("ssh-keygen"):
        pytest.skip("needs openssh-server (apt-get install openssh-server)")
    if not shutil.which("sudo"):
        pytest.skip("needs sudo (labgen runs node commands through sudo -n)")
    d = tmp_path / "sshd"
    d.mkdir()
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True, timeout=30)
    shutil.copy(d / "client_key.pub", d / "authorized_keys")
    # sshd takes a port number, not a socket: a port found free may be taken before sshd
    # binds it, so a start that fails is retried on another port (up to 5 tries).
    proc, port = None, None
    for _ in range(5):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        (d / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {d / 'host_key'}\nPidFile {d / 'pid'}\n"
            f"AuthorizedKeysFile {d / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "Subsystem sftp internal-sftp\n"
        )
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation dir
        proc = subprocess.Popen(
            [binary, "-D", "-e", "-f", str(d / "sshd_config")], stdout=subprocess.DEVNULL, stderr=open(d / "log", "w")
        )
        if wait_listening(proc, port):
            break
    try:
        if proc.poll() is not None:
            pytest.fail(f"sshd exited: {(d / 'log').read_text()}")
        config = f"Host node1\n  HostName 127.0.0.1\n  User root\n  Port {port}\n  IdentityFile {d / 'client_key'}\n"
        yield config, "node1"
    finally:
        stop_process(proc, timeout=10)
        subprocess.run(["rm", "-f", "/var/cache/labgen/tool.bin"], check=False)


def test_upload_over_real_sftp_only_when_it_differs(tmp_path, server, sshd, monkeypatch):
    import uuid

    from labgen import remote as remote_module
    from labgen.remote import Remote

    made = []  # the node-side temporary names Remote used

    class Recorder:
        @staticmethod
        def uuid4():
            u = uuid.uuid4()
            made.append(f"/tmp/labgen-{u.hex}")
            return u

    monkeypatch.setattr(remote_module, "uuid", Recorder)

    config, node = sshd
    dest = "/var/cache/labgen/tool.bin"
    if os.path.exists(dest):
        os.unlink(dest)
    path = fetch(good(server), tmp_path / "cache")
    with Remote(config) as remote:
        assert upload(remote, node, good(server), path) is True
        assert remote.file_sha256(node, dest) == GOOD_SHA
        assert upload(remote, node, good(server), path) is False  # same sha256: skipped
    with open(dest, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == GOOD_SHA
    assert oct(os.stat(dest).st_mode & 0o777) == "0o644"
    assert made and not [p for p in made if os.path.exists(p)]  # each temporary file removed


def test_engine_fetches_once_and_a_bad_artifact_fails_the_task_cleanly(tmp_path, server, sshd):
    from labgen.remote import Remote

    config, node = sshd
    table = {"tool": good(server), "gone": Artifact("gone", f"{server.url}/gone.bin", GOOD_SHA, "gone.bin")}
    stager = Stager(cache=tmp_path / "cache", resolve=table.__getitem__)
    marker = tmp_path / "ran"
    ok = Task(
        "install tool",
        check=f"test -e {marker}",
        run=(f"cmp /var/cache/labgen/tool.bin {tmp_path / 'cache' / 'tool.bin'} && touch {marker}",),
        artifacts=("tool",),
    )
    bad = Task("install gone", check="false", run=(f"touch {marker}.bad",), artifacts=("tool", "gone"))
    with Remote(config) as remote:
        assert engine.apply_task(remote, node, "r", ok, stager) is True
        assert engine.apply_task(remote, node, "r", ok, stager) is False
        with pytest.raises(TaskError) as err:
            engine.apply_task(remote, node, "r", bad, stager)
        with pytest.raises(TaskError):
            engine.apply_task(remote, node, "r", bad, stager)
    assert err.value.message.startswith(
        f"{node}: role r, task 'install gone': artifact gone: {server.url}/gone.bin: HTTP 404"
    )
    assert marker.exists() and not (tmp_path / "ran.bad").exists()
    assert not os.path.exists("/var/cache/labgen/gone.bin")
    assert server.hits == {"/good.bin": 1, "/gone.bin": 1}  # once per run, even failures


def test_offline_from_a_locked_cache_uploads_over_real_sftp(tmp_path, sshd):
    """What a classroom host does after `labgen bundle load`: every URL unreachable, --frozen,
    the lock and the cache from the bundle; the file still reaches the node, verified."""
    from labgen.lockfile import Entry, Lock
    from labgen.remote import Remote

    config, node = sshd
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/tool.bin"  # closed again: refused
    tool = Artifact("tool", dead, None, "tool.bin", "a test binary")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "tool.bin").write_bytes(GOOD)
    lock = Lock(None, {"tool": Entry(dead, "tool.bin", len(GOOD), GOOD_SHA)})
    stager = Stager(cache=cache, resolve={"tool": tool}.__getitem__, lock=lock, frozen=True, timeout=5)
    task = Task(
        "install tool",
        check="test -e /var/cache/labgen/tool.bin.ok",
        run=("cd /var/cache/labgen && sha256sum tool.bin > tool.bin.ok",),
        artifacts=("tool",),
    )
    if os.path.exists("/var/cache/labgen/tool.bin"):
        os.unlink("/var/cache/labgen/tool.bin")
    try:
        with Remote(config) as remote:
            assert engine.apply_task(remote, node, "r", task, stager) is True
            assert remote.file_sha256(node, "/var/cache/labgen/tool.bin") == GOOD_SHA
        (cache / "tool.bin").write_bytes(b"swapped in the cache")  # tampered cache
        stager = Stager(cache=cache, resolve={"tool": tool}.__getitem__, lock=lock, frozen=True, timeout=5)
        with Remote(config) as remote, pytest.raises(TaskError) as err:
            engine.apply_task(
                remote, node, "r", Task("again", check="false", run=("true",), artifacts=("tool",)), stager
            )
        assert "connection error: Connection refused" in err.value.message  # not the bad copy
        assert f"put tool.bin (sha256 {GOOD_SHA})" in err.value.message
    finally:
        subprocess.run(["rm", "-f", "/var/cache/labgen/tool.bin.ok"], check=False)


# ---- `labgen fetch` as a user runs it: a CLI process, against the loopback server

WRAPPER = """
import json, sys
from labgen.artifacts import Artifact
from labgen.provision import pins
# Every artifact the roles declare, served from the test's loopback server instead of the
# Internet (the only change: the table's URLs and checksums); then the real CLI.
table = json.loads(sys.argv[1])
pins.ARTIFACTS = {n: Artifact(n, url, sha, filename) for n, (url, sha, filename) in table.items()}
sys.argv = ["labgen", *sys.argv[2:]]
from labgen.cli import main
main()
"""


def test_labgen_fetch_and_artifacts_dir_through_the_cli(tmp_path, server):
    import json
    import sys

    from labgen.labfile import find_lab, load_lab
    from labgen.plan import lab_artifacts

    names = lab_artifacts(load_lab(find_lab("mesos-calico")))
    assert names
    table = {n: (f"{server.url}/good.bin", GOOD_SHA, f"{n}.bin") for n in names}

    def fetch_cli(*args, cache):
        env = dict(os.environ, LABGEN_CACHE=str(cache), COLUMNS="200", NO_COLOR="1")
        res = subprocess.run(
            [
                sys.executable,
                "-c",
                WRAPPER,
                json.dumps(table),
                "fetch",
                "mesos-calico",
                "--dir",
                str(tmp_path / "lab"),
                *args,
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        res.text = " ".join(res.stdout.split())  # rich wraps long lines
        return res

    cache = tmp_path / "cache"
    first = fetch_cli(cache=cache)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"{len(names)} artifact(s) for lab mesos-calico: {len(names)} ready, 0 failed" in first.text
    assert all(f"✓ {n}: downloaded" in first.text for n in names), first.text
    assert (tmp_path / "lab" / "labgen.lock").exists()  # the lab dir's lock, not the cwd's
    assert server.hits == {"/good.bin": len(names)}
    assert all((cache / "artifacts" / f"{n}.bin").read_bytes() == GOOD for n in names)

    again = fetch_cli(cache=cache)  # a filled cache: nothing downloaded
    assert again.returncode == 0 and again.text.count(": already cached") == len(names), again.text
    assert server.hits == {"/good.bin": len(names)}

    usb = tmp_path / "usb"  # a USB stick: no network needed
    usb.mkdir()
    for n in names:
        (usb / f"{n}.bin").write_bytes(GOOD)
    stick = fetch_cli("--artifacts", str(usb), cache=tmp_path / "cache2")
    assert stick.returncode == 0, stick.stdout + stick.stderr
    assert stick.text.count(": copied from --artifacts") == len(names), stick.text
    assert server.hits == {"/good.bin": len(names)}

    (usb / f"{names[0]}.bin").write_bytes(EVIL)  # a wrong file on the stick is refused
    bad = fetch_cli("--artifacts", str(usb), cache=tmp_path / "cache3")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert EVIL_SHA in bad.text and "Traceback" not in bad.stderr, bad.text
