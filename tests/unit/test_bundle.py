"""Unit tests for labgen.bundle (local files only) and labgen.aptsig's index parsing."""

import io
import json
import tarfile

import pytest

from labgen import aptsig, bundle
from labgen.bundle import BundleError, Item
from labgen.lockfile import Entry, Lock

LAB = (
    "name: art-unit\nnetwork: {cidr: 192.168.67.0/24}\nboxes: {lxc: labgen/debian-12}\n"
    "nodes: [{name: n1, ip: 192.168.67.30, roles: [base]}]\n"
)
DATA = b"an artifact\n" * 100


@pytest.fixture
def made(tmp_path):
    """A bundle with a lab, a lock, one artifact and one box, and its sources."""
    import hashlib

    (tmp_path / "lab.yml").write_text(LAB)
    (tmp_path / "tool.bin").write_bytes(DATA)
    lock = Lock(tmp_path / "labgen.lock")
    lock.record("tool", Entry("https://x.example/tool", "tool.bin", len(DATA), hashlib.sha256(DATA).hexdigest()))
    (tmp_path / "b.box").write_bytes(b"box bytes")
    sources = [
        bundle.source("lab", "art-unit", tmp_path / "lab.yml"),
        bundle.source("lock", "art-unit", tmp_path / "labgen.lock"),
        bundle.source("artifact", "tool.bin", tmp_path / "tool.bin"),
        bundle.source("box", "labgen/debian-12", tmp_path / "b.box", provider="lxc"),
    ]
    seen = []
    bundle.write(tmp_path / "out.labgen", "art-unit", sources, lambda *a: seen.append(a))
    assert seen[-1] == ("boxes/lxc/labgen-VAGRANTSLASH-debian-12.box", 9, 9)
    return tmp_path


def load(path, tmp_path, added=None, installed=False, **kw):
    return bundle.load(
        path,
        tmp_path / "lab",
        tmp_path / "cache",
        lambda n, p, f: (added if added is not None else []).append((n, p, f.read_bytes())),
        lambda n, p: installed,
        **kw,
    )


def test_round_trip(made):
    manifest = bundle.read_manifest(made / "out.labgen")
    assert [i.member for i in manifest.items] == [
        "lab.yml",
        "labgen.lock",
        "artifacts/tool.bin",
        "boxes/lxc/labgen-VAGRANTSLASH-debian-12.box",
    ]
    added = []
    done = load(made / "out.labgen", made, added)
    assert (made / "cache" / "tool.bin").read_bytes() == DATA
    assert added == [("labgen/debian-12", "lxc", b"box bytes")] and done.boxes == ["labgen/debian-12 (lxc)"]
    assert (made / "lab" / "lab.yml").read_text() == LAB
    assert load(made / "out.labgen", made, installed=True).boxes_kept == ["labgen/debian-12 (lxc)"]


def test_a_different_lab_file_is_not_overwritten(made):
    load(made / "out.labgen", made)
    (made / "lab" / "lab.yml").write_text(LAB + "# mine\n")
    with pytest.raises(BundleError, match="exists and differs from the bundle's"):
        load(made / "out.labgen", made)
    load(made / "out.labgen", made, force=True)
    assert (made / "lab" / "lab.yml").read_text() == LAB


def rewrite(src, dst, change):
    """Copy bundle `src` to `dst`, letting change(name, data) -> [(name, data, type)] edit members."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read()
            for name, body, kind in change(m.name, data):
                info = tarfile.TarInfo(name)
                info.size, info.type = len(body), kind
                if kind == tarfile.SYMTYPE:
                    info.size, info.linkname = 0, "/etc/passwd"
                tout.addfile(info, io.BytesIO(body) if kind == tarfile.REGTYPE else None)


@pytest.mark.parametrize(
    "change, problem",
    [
        (
            lambda n, d: (
                [(n, d, tarfile.REGTYPE)] + ([("../../evil", b"x", tarfile.REGTYPE)] if n == "lab.yml" else [])
            ),
            "member '../../evil' is not the one its manifest lists",
        ),
        (
            lambda n, d: [(n, d, tarfile.SYMTYPE if n == "artifacts/tool.bin" else tarfile.REGTYPE)],
            "member 'artifacts/tool.bin' is not the one",
        ),
        (
            lambda n, d: [
                (n, d.replace(b"an artifact", b"an Artifact") if n == "artifacts/tool.bin" else d, tarfile.REGTYPE)
            ],
            "artifacts/tool.bin does not match the sha256",
        ),
        (lambda n, d: [] if n.startswith("boxes/") else [(n, d, tarfile.REGTYPE)], "truncated"),
    ],
)
def test_a_tampered_bundle_is_refused_and_nothing_is_written(made, change, problem):
    rewrite(made / "out.labgen", made / "bad.labgen", change)
    with pytest.raises(BundleError, match=problem):
        load(made / "bad.labgen", made)
    assert not (made / "lab").exists() and not (made / "evil").exists()


@pytest.mark.parametrize(
    "item, problem",
    [
        (
            {"kind": "artifact", "name": "../x", "size": 1, "sha256": "a" * 64},
            "name '../x' is not valid; expected an artifact's file",
        ),
        (
            {"kind": "box", "name": "a/b", "provider": "docker", "size": 1, "sha256": "a" * 64},
            "unknown provider 'docker'",
        ),
        ({"kind": "script", "name": "x", "size": 1, "sha256": "a" * 64}, "kind 'script'"),
        ({"kind": "scenario", "name": "x.yml", "size": 1 << 30, "sha256": "a" * 64}, "too large"),
    ],
)
def test_hostile_manifests(item, problem):
    base = [
        {"kind": "lab", "name": "art-unit", "size": 1, "sha256": "a" * 64},
        {"kind": "lock", "name": "art-unit", "size": 1, "sha256": "a" * 64},
    ]
    data = json.dumps({"format": 1, "lab": "art-unit", "items": base + [item]}).encode()
    with pytest.raises(BundleError, match=problem):
        bundle.parse_manifest(data, "b")
    assert Item("lab", "art-unit", 1, "a" * 64).member == "lab.yml"


def test_a_manifest_whose_lock_names_another_lab_is_refused():
    items = [
        {"kind": "lab", "name": "art-unit", "size": 1, "sha256": "a" * 64},
        {"kind": "lock", "name": "other", "size": 1, "sha256": "a" * 64},
    ]
    data = json.dumps({"format": 1, "lab": "art-unit", "items": items}).encode()
    with pytest.raises(BundleError, match="item 2: lock name 'other' is not the bundle's lab 'art-unit'"):
        bundle.parse_manifest(data, "b")


def test_apt_index_parsing():
    release = (
        "Origin: Docker\nSHA256:\n"
        f" {'1' * 64} 10 stable/binary-amd64/Packages\n {'2' * 64} 5 stable/binary-amd64/Packages.gz\n"
        "MD5Sum:\n 00 10 stable/binary-amd64/Packages\n"
    )
    assert aptsig.release_hash(release, "stable/binary-amd64/Packages.gz") == ("2" * 64, 5)
    assert aptsig.release_hash(release, "stable/binary-i386/Packages") is None
    packages = (
        f"Package: a\nFilename: pool/a.deb\nSize: 3\nSHA256: {'3' * 64}\n\n"
        f"Package: b\nFilename: pool/b.deb\nSize: 4\nSHA256: {'4' * 64}\nDescription: x\n more\n"
    )
    assert aptsig.package_hash(packages, "pool/b.deb") == ("4" * 64, 4)
    assert aptsig.package_hash(packages, "pool/c.deb") is None
