"""A lab created on LXC from nothing but a loaded bundle: a fresh cache, --frozen, and every
artifact URL (the lab file's mirrors) pointing at a port nobody listens on.

No role that runs on the Debian 12 LXC box needs an artifact yet (the 2018 ones are Ubuntu
16.04 builds), so this proves the classroom path around them: load, lab dir, lock, --frozen,
create; artifact delivery from a loaded cache to a node over SSH is proven in
test_artifacts_http.py. The fixture destroys the lab whatever happened.
"""

from __future__ import annotations

import socket

import pytest

from tests.integration.lxcenv import TEST_ROOT, destroy_lab_dir, labgen, lxc_skip_reason

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = lxc_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)

ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-bundle")


def test_create_from_a_loaded_bundle_offline(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    lab = tmp_path / "art-bundle.yml"
    lab.write_text(
        "name: art-bundle\nnetwork: {cidr: 192.168.67.0/24}\n"
        "boxes: {lxc: labgen/debian-12}\n"
        "nodes:\n  - {name: n1, ip: 192.168.67.21, memory: 512, roles: [base]}\n"
        f"mirrors:\n  https://download.docker.com/: {dead}\n  https://github.com/: {dead}\n"
    )
    env = {"LABGEN_CACHE": str(tmp_path / "cache")}
    res = labgen(
        "bundle",
        str(lab),
        "-o",
        str(tmp_path / "b.labgen"),
        "--provider",
        "lxc",
        "--no-boxes",
        "--dir",
        str(tmp_path / "prep"),
        env=env,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    ROOT.mkdir(parents=True, exist_ok=True)
    lab_dir = ROOT / "art-bundle"
    destroy_lab_dir(lab_dir)  # an interrupted earlier run
    fresh = {"LABGEN_CACHE": str(tmp_path / "fresh-cache")}
    try:
        res = labgen("bundle", "load", str(tmp_path / "b.labgen"), "--dir", str(lab_dir), env=fresh, cwd=ROOT)
        assert res.returncode == 0, res.stdout + res.stderr
        res = labgen(
            "--provider",
            "lxc",
            "create",
            str(lab_dir / "lab.yml"),
            "--dir",
            str(lab_dir),
            "--frozen",
            env=fresh,
            cwd=ROOT,
            timeout=900,
        )
        assert res.returncode == 0, res.stdout + res.stderr
        assert "lab art-bundle is up" in res.stdout
        assert (lab_dir / "labgen.lock").exists() and (lab_dir / ".labgen" / "state.json").exists()
    finally:
        destroy_lab_dir(lab_dir)
        if not any(ROOT.iterdir()):
            ROOT.rmdir()
