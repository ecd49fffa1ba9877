"""labgen.lock, --frozen, mirrors and offline bundles through the real CLI (`labgen fetch`,
`labgen bundle`, `labgen bundle load`), against an HTTP server on 127.0.0.1.

The lab uses the real Ubuntu-path roles (docker, calico, mesos-master, marathon), so the
artifacts are the real declarations; every downloadable one is mirrored to the local server
(asserted before any command runs: nothing leaves loopback), the saved images come from an
--artifacts dir. The file contents are test bytes, which is all a lock can tell apart.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from labgen.labfile import load_lab
from labgen.mirrors import Mirrors
from labgen.plan import lab_artifacts
from labgen.provision import pins
from tests.runcli import labgen

FILES = {  # artifact -> (path on the server, size)
    "calicoctl": ("gh/calicoctl", 40_000),
    "mesos-deb": ("mesos/mesos.deb", 60_000),
    "marathon-tarball": ("marathon/marathon.tgz", 80_000),
}
# Supplied with --artifacts: the saved images, and docker-ce (its download would be checked
# against Docker's signed index, which a test server cannot sign: tests/integration/test_aptsig.py)
SUPPLIED = ("calico-node-image", "nginx-image", "docker-ce-18.03.1")


class Server:
    """A static file server on 127.0.0.1:<ephemeral> that counts requests per path."""

    def __init__(self, root: Path):
        self.hits: dict[str, int] = {}
        outer = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def world(tmp_path):
    """(tmp, server, env, lab file): served files, an --artifacts dir with the images, a lab
    file whose mirrors: send every download to the server."""
    srv = tmp_path / "srv"
    for name, (rel, size) in FILES.items():
        (srv / rel).parent.mkdir(parents=True, exist_ok=True)
        (srv / rel).write_bytes(hashlib.sha256(name.encode()).digest() * (size // 32))
    usb = tmp_path / "usb"
    usb.mkdir()
    for name in SUPPLIED:
        (usb / pins.ARTIFACTS[name].filename).write_bytes(f"supplied {name}\n".encode() * 100)
    server = Server(srv)
    lab = tmp_path / "art-lock.yml"
    lab.write_text(
        "name: art-lock\nnetwork: {cidr: 192.168.66.0/24}\n"
        "boxes: {virtualbox: ubuntu/xenial64, lxc: labgen/debian-12}\n"
        "nodes:\n  - {name: n1, ip: 192.168.66.11, roles: [base, docker, calico, mesos-master, marathon]}\n"
        "  - {name: n2, ip: 192.168.66.12, roles: [base, docker, mesos-slave]}\n"
        "mirrors:\n"
        + "".join(f"  {n}: {server.url}/{rel}\n" for n, (rel, _) in FILES.items())
        + f"  https://download.docker.com/: {server.url}/docker/\n"
    )
    # Nothing may leave loopback: every URL the lab's artifacts could need (the files, and for
    # a signed one its key and index) is mirrored to the server.
    model = load_lab(lab)
    assert set(lab_artifacts(model)) == set(FILES) | set(SUPPLIED)
    m = Mirrors(model.mirrors)
    for name in lab_artifacts(model):
        a = pins.ARTIFACTS[name]
        urls = [m.url_for(name, a.url)]
        if a.signed:
            urls += [m.url_for("", u) for u in (a.signed.key_url, a.signed.url("InRelease"))]
        assert all(u.startswith(server.url) or u.startswith("docker-save:") for u in urls), urls
    env = {"LABGEN_CACHE": str(tmp_path / "cache")}
    try:
        yield tmp_path, server, env, lab
    finally:
        server.close()


def run(*args, env, cwd, ok=True):
    res = labgen(*map(str, args), env=env, cwd=cwd, timeout=120)
    out = res.stdout + res.stderr
    assert (res.returncode == 0) == ok, f"labgen {' '.join(map(str, args))} exited {res.returncode}:\n{out}"
    return " ".join(out.split())  # unwrap rich's line breaks


def lock_of(lab_dir: Path) -> dict:
    return json.loads((lab_dir / "labgen.lock").read_text())["artifacts"]


def test_first_fetch_locks_later_fetches_and_other_machines_verify(world):
    tmp, server, env, lab = world
    out = run("fetch", lab, "--artifacts", tmp / "usb", env=env, cwd=tmp)
    assert "6 ready, 0 failed; 6 newly locked" in out
    locked = lock_of(tmp / "art-lock")
    served = tmp / "srv" / FILES["calicoctl"][0]
    assert locked["calicoctl"] == {
        "filename": "calicoctl-v1.6.3",
        "size": served.stat().st_size,
        "sha256": hashlib.sha256(served.read_bytes()).hexdigest(),
        "url": "https://github.com/projectcalico/calicoctl/releases/download/v1.6.3/calicoctl",
    }
    assert locked["calico-node-image"]["url"] == "docker-save:quay.io/calico/node:v2.6.2"
    assert server.hits == {f"/{rel}": 1 for rel, _ in FILES.values()}
    text = (tmp / "art-lock" / "labgen.lock").read_text()

    out = run("fetch", lab, env=env, cwd=tmp)  # the cache answers
    assert out.count("already cached, verified") == 6 and "0 newly locked" in out
    assert server.hits == {f"/{rel}": 1 for rel, _ in FILES.values()}

    other = dict(env, LABGEN_CACHE=str(tmp / "cache-other"))  # another machine, same lock
    out = run("fetch", lab, "--artifacts", tmp / "usb", env=other, cwd=tmp)
    assert out.count("downloaded, verified") == 3 and "0 newly locked" in out

    served.write_bytes(b"a different calicoctl\n")  # upstream changed
    third = dict(env, LABGEN_CACHE=str(tmp / "cache-third"))
    out = run("fetch", lab, "--artifacts", tmp / "usb", env=third, cwd=tmp, ok=False)
    new = hashlib.sha256(b"a different calicoctl\n").hexdigest()
    assert (
        f"the file changed since it was locked: the server sent sha256 {new} (22 bytes), but "
        f"{tmp / 'art-lock' / 'labgen.lock'} has sha256 {locked['calicoctl']['sha256']}"
    ) in out
    assert "1 of 6 artifact(s) could not be fetched" in out
    assert (tmp / "art-lock" / "labgen.lock").read_text() == text  # the lock is not rewritten
    assert not (tmp / "cache-third" / "artifacts" / "calicoctl-v1.6.3").exists()


def test_missing_and_unreachable_are_named_and_not_locked(world):
    tmp, server, env, lab = world
    (tmp / "srv" / FILES["mesos-deb"][0]).unlink()
    dead = f"http://127.0.0.1:{closed_port()}/marathon.tgz"
    out = run(
        "fetch", lab, "--artifacts", tmp / "usb", "--mirror", f"marathon-tarball={dead}", env=env, cwd=tmp, ok=False
    )
    assert (
        f"artifact mesos-deb: {server.url}/mesos/mesos.deb (mirror of http://repos.mesosphere.com/"
        "ubuntu/pool/main/m/mesos/mesos_1.5.0-2.0.1.ubuntu1604_amd64.deb): HTTP 404 File not found; "
        "put mesos_1.5.0-2.0.1.ubuntu1604_amd64.deb in"
    ) in out
    assert f"artifact marathon-tarball: {dead} (mirror of https://downloads.mesosphere.com" in out
    assert "connection error: Connection refused" in out
    assert "4 ready, 2 failed; 4 newly locked" in out
    assert set(lock_of(tmp / "art-lock")) == {"calicoctl", *SUPPLIED}


def test_frozen_refuses_a_missing_lock_and_anything_not_in_it(world):
    tmp, server, env, lab = world
    out = run("fetch", lab, "--frozen", env=env, cwd=tmp, ok=False)
    assert f"{tmp / 'art-lock' / 'labgen.lock'}: no lock file" in out and server.hits == {}
    run("fetch", lab, "--artifacts", tmp / "usb", env=env, cwd=tmp)
    path = tmp / "art-lock" / "labgen.lock"
    data = json.loads(path.read_text())
    del data["artifacts"]["mesos-deb"]
    path.write_text(json.dumps(data))
    shutil.rmtree(tmp / "cache")
    out = run("fetch", lab, "--frozen", "--artifacts", tmp / "usb", env=env, cwd=tmp, ok=False)
    assert (
        "artifact mesos-deb: http://repos.mesosphere.com/ubuntu/pool/main/m/mesos/"
        f"mesos_1.5.0-2.0.1.ubuntu1604_amd64.deb is not in {path}, and --frozen accepts only "
        "locked files"
    ) in out
    assert "5 ready, 1 failed; 0 newly locked" in out
    assert json.loads(path.read_text()) == data and server.hits[f"/{FILES['mesos-deb'][0]}"] == 1


def test_mirror_option_wins_over_the_lab_file(world):
    tmp, server, env, lab = world
    alt = tmp / "srv" / "alt"
    alt.mkdir()
    shutil.copy(tmp / "srv" / FILES["calicoctl"][0], alt / "calicoctl")
    run("fetch", lab, "--artifacts", tmp / "usb", "--mirror", f"calicoctl={server.url}/alt/calicoctl", env=env, cwd=tmp)
    assert server.hits.get("/alt/calicoctl") == 1 and "/gh/calicoctl" not in server.hits
    out = run("fetch", lab, "--mirror", "calicoctl=ftp://x/y", "--mirror", "nope=http://x/", env=env, cwd=tmp, ok=False)
    assert "--mirror 'calicoctl=ftp://x/y': 'calicoctl' maps to a URL that has ftp:" in out
    assert "'nope' is neither a declared artifact nor a base URL" in out


def test_bundle_round_trip_then_offline_and_a_tampered_bundle(world):
    tmp, server, env, lab = world
    out = run(
        "bundle",
        lab,
        "-o",
        tmp / "ws.labgen",
        "--provider",
        "virtualbox",
        "--no-boxes",
        "--artifacts",
        tmp / "usb",
        env=env,
        cwd=tmp,
    )
    assert "wrote" in out and "6 artifact(s), 0 scenario(s), 0 box(es)" in out
    with tarfile.open(tmp / "ws.labgen") as tar:
        names = tar.getnames()
    assert names[:3] == ["labgen-bundle.json", "lab.yml", "labgen.lock"] and len(names) == 9
    server.close()  # from here on, every URL is unreachable

    classroom = tmp / "classroom"
    classroom.mkdir()
    fresh = dict(env, LABGEN_CACHE=str(tmp / "fresh-cache"))
    out = run("bundle", "load", tmp / "ws.labgen", env=fresh, cwd=classroom)
    assert f"6 artifact(s) verified into {tmp / 'fresh-cache' / 'artifacts'}" in out
    lab_dir = classroom / "art-lock"
    assert (lab_dir / "labgen.lock").read_bytes() == (tmp / "art-lock" / "labgen.lock").read_bytes()
    out = run("fetch", lab_dir / "lab.yml", "--frozen", env=fresh, cwd=classroom)
    assert out.count("already cached, verified") == 6
    for name, entry in lock_of(lab_dir).items():
        got = tmp / "fresh-cache" / "artifacts" / entry["filename"]
        assert hashlib.sha256(got.read_bytes()).hexdigest() == entry["sha256"], name

    bad = tmp / "bad.labgen"  # one byte of an artifact flipped
    data = bytearray((tmp / "ws.labgen").read_bytes())
    at = data.index(hashlib.sha256(b"calicoctl").digest())
    data[at] ^= 1
    bad.write_bytes(bytes(data))
    again = dict(env, LABGEN_CACHE=str(tmp / "cache-bad"))
    out = run("bundle", "load", bad, "--dir", tmp / "bad-lab", env=again, cwd=tmp, ok=False)
    assert f"{bad}: artifacts/calicoctl-v1.6.3 does not match the sha256 its manifest lists" in out
    assert not (tmp / "bad-lab").exists()
    assert not (tmp / "cache-bad" / "artifacts" / "calicoctl-v1.6.3").exists()


def test_bundle_carries_a_box_into_vagrant(world):
    tmp, server, env, lab = world
    if not shutil.which("vagrant"):
        pytest.skip("vagrant is not installed")
    box_dir = tmp / "cache" / "boxes"
    box_dir.mkdir(parents=True)
    meta = tmp / "metadata.json"
    meta.write_text('{"provider": "lxc", "version": "1.0.0"}\n')
    with tarfile.open(box_dir / "labgen-debian-12-lxc-test.box", "w:gz") as tar:
        tar.add(meta, arcname="metadata.json")
    run("bundle", lab, "-o", tmp / "box.labgen", "--provider", "lxc", env=env, cwd=tmp)
    with tarfile.open(tmp / "box.labgen") as tar:
        manifest = json.load(tar.extractfile("labgen-bundle.json"))
    boxes = [i for i in manifest["items"] if i["kind"] == "box"]
    assert boxes == [
        {
            "kind": "box",
            "name": "labgen/debian-12",
            "provider": "lxc",
            "sha256": hashlib.sha256((box_dir / "labgen-debian-12-lxc-test.box").read_bytes()).hexdigest(),
            "size": (box_dir / "labgen-debian-12-lxc-test.box").stat().st_size,
        }
    ]
    home = tmp / "vagrant-home"  # a private Vagrant: the host's boxes stay
    fresh = dict(env, LABGEN_CACHE=str(tmp / "fresh"), VAGRANT_HOME=str(home))
    out = run("bundle", "load", tmp / "box.labgen", "--dir", tmp / "loaded", env=fresh, cwd=tmp)
    assert "box labgen/debian-12 (lxc) added to Vagrant" in out
    assert list((home / "boxes" / "labgen-VAGRANTSLASH-debian-12").glob("*/lxc/metadata.json")) or list(
        (home / "boxes" / "labgen-VAGRANTSLASH-debian-12").glob("*/*/lxc/metadata.json")
    )
    out = run("bundle", "load", tmp / "box.labgen", "--dir", tmp / "loaded", env=fresh, cwd=tmp)
    assert "box labgen/debian-12 (lxc) already installed (kept" in out


def test_create_refuses_before_booting_when_an_artifact_is_missing(world):
    tmp, server, env, lab = world
    (tmp / "srv" / FILES["marathon-tarball"][0]).unlink()
    out = run("--provider", "virtualbox", "create", lab, "--artifacts", tmp / "usb", env=env, cwd=tmp, ok=False)
    assert "artifact marathon-tarball: " in out and "HTTP 404" in out
    assert "1 of 6 artifact(s) lab art-lock needs on virtualbox are missing (above); nothing was booted" in out
    assert not (tmp / "art-lock" / "Vagrantfile").exists()
    assert set(lock_of(tmp / "art-lock")) == {"calicoctl", "mesos-deb", *SUPPLIED}  # the rest is locked
