"""`classroom images [--prune]` over a fake images root (LABGEN_CACHE), a fake LXC path and a
fake classroom registry: what is listed, what the disk figure counts, who uses an image, and
that prune removes exactly the images nobody uses. No machine is involved."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from labgen.classroom import access, imagelist
from labgen.providers import lxc
from tests.runcli import labgen, labgen_at_terminal

READY, HALF, USED, RECORDED = "0123456789abcdef", "fedcba9876543210", "1111111111111111", "2222222222222222"


def make_image(root: Path, key: str, lab: str = "clones", nodes=("n1", "n2"), built=True) -> Path:
    d = root / "seat-images" / key
    d.mkdir(parents=True)
    if built:
        machines = {n: f"labgen-img{key[:8]}-{n}" for n in nodes}
        record = {"key": key, "lab": lab, "instance": f"img{key[:8]}", "provider": "lxc", "machines": machines}
        (d / "image.json").write_text(json.dumps(dict(record, built="2026-12-05T22:53:28Z")))
    return d


def make_machine(lxc_path: Path, name: str, size: int, clones=()) -> None:
    d = lxc_path / name / "rootfs"
    d.mkdir(parents=True)
    (d / "big").write_bytes(b"x" * size)
    if clones:  # LXC's record of its snapshot clones: "<lxcpath>\n<name>" per clone
        (lxc_path / name / "lxc_snapshots").write_text("".join(f"/var/lib/lxc\n{c}\n" for c in clones))


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A cache with four images (ready and unused, half-built, with clones, recorded by a
    classroom), their containers' dirs and one registered classroom."""
    cache, lxc_path, state = tmp_path / "cache", tmp_path / "lxc", tmp_path / "state"
    monkeypatch.setenv("LABGEN_CACHE", str(cache))
    monkeypatch.setattr(lxc, "LXC_PATH", lxc_path)
    monkeypatch.setattr(access, "STATE_ROOT", state)
    (make_image(cache, READY) / "Vagrantfile").write_text("x" * 5000)
    make_machine(lxc_path, f"labgen-img{READY[:8]}-n1", 300_000)
    make_machine(lxc_path, f"labgen-img{READY[:8]}-n2", 200_000)
    make_image(cache, HALF, built=False)
    make_image(cache, USED, lab="mesos-calico", nodes=("ubuntu-1",))
    make_machine(lxc_path, f"labgen-img{USED[:8]}-ubuntu-1", 10_000, clones=["labgen-cl1-s01-ubuntu-1"])
    make_image(cache, RECORDED, lab="lo-seat")
    (lxc_path / "labgen-img99999999-n1").mkdir(parents=True)  # another cache's image container
    (lxc_path / "labgen-img99999999-n1" / "config").write_text("")
    room = tmp_path / "room"
    (room / ".classroom").mkdir(parents=True)
    (room / ".classroom" / "images").write_text(RECORDED + "\n")
    (state / "cl2").mkdir(parents=True)
    (state / "cl2" / "classroom.json").write_text(json.dumps({"dir": str(room), "seats": 2}))
    (state / "gone").mkdir(parents=True)  # a record whose dir is gone names nothing
    (state / "gone" / "classroom.json").write_text(json.dumps({"dir": str(tmp_path / "nowhere")}))
    return cache, lxc_path


def by_key(entries):
    return {e.image.key: e for e in entries}


def test_every_image_is_listed_with_its_lab_state_clones_and_users(host):
    got = by_key(imagelist.list_images())
    assert set(got) == {READY, HALF, USED, RECORDED}
    ready = got[READY]
    assert (ready.state, ready.lab, ready.nodes, ready.built) == (
        "ready",
        "clones",
        ("n1", "n2"),
        "2026-12-05T22:53:28Z",
    )
    assert ready.image.instance == "img01234567" and ready.image.provider == "lxc"
    assert (ready.clones, ready.classrooms) == ((), ())
    assert got[HALF].state == "half-built" and got[HALF].lab == "?" and got[HALF].built is None
    assert got[USED].clones == ("labgen-cl1-s01-ubuntu-1",)
    assert got[RECORDED].classrooms == ("cl2",)
    # ready images first (by lab), half-built last
    assert [e.image.key for e in imagelist.list_images()][-1] == HALF


def test_the_disk_figure_counts_the_image_dir_and_its_machines_dirs(host):
    disk = by_key(imagelist.list_images())[READY].disk
    assert disk is not None and 505_000 <= disk < 505_000 + 200_000  # the files, plus dirs' blocks
    assert imagelist.disk_bytes([]) == 0
    assert imagelist.disk_bytes([Path("/nonexistent-dir")]) == 0


def test_du_failing_gives_no_figure_rather_than_a_low_one(host, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no du
    assert imagelist.disk_bytes([host[0]]) is None


def test_prune_removes_what_nobody_uses_and_says_why_it_keeps_the_rest(host):
    done = imagelist.prune(imagelist.list_images())
    assert sorted(e.image.key for e, _ in done.removed) == sorted([READY, HALF])
    kept = {e.image.key: why for e, why in done.kept}
    assert kept[USED].startswith("1 clone(s): labgen-cl1-s01-ubuntu-1")
    assert "recorded by classroom cl2" in kept[RECORDED]
    assert not done.failed and done.freed >= 505_000
    assert sorted(p.name for p in imagelist.image_dirs()) == sorted([USED, RECORDED])


def test_an_image_being_built_is_listed_as_such_and_kept(host):
    cache = host[0]
    with open(cache / "seat-images" / f"{HALF}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # what image.ensure holds while it builds
        entry = by_key(imagelist.list_images())[HALF]
        assert entry.state == "building"
        done = imagelist.prune([entry])
    assert done.kept and "running `classroom up`" in done.kept[0][1]
    assert (cache / "seat-images" / HALF).is_dir()


def test_a_clone_made_after_the_listing_keeps_the_image(host):
    _, lxc_path = host
    entries = imagelist.list_images()
    (lxc_path / f"labgen-img{READY[:8]}-n1" / "lxc_snapshots").write_text("/var/lib/lxc\nlabgen-x-s01-n1\n")
    done = imagelist.prune([e for e in entries if e.image.key == READY])
    assert not done.removed and "1 clone(s)" in done.kept[0][1]


def test_the_cli_lists_in_aligned_lines_and_in_json(host):
    from labgen.cli import cli

    res = CliRunner().invoke(cli, ["classroom", "images"], catch_exceptions=False, env={"COLUMNS": "80"})
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert lines[0].split()[:3] == ["image", "lab", "provider"]
    row = next(line for line in lines if line.startswith("img11111111"))
    assert row.split()[:4] == ["img11111111", "mesos-calico", "lxc", "1"] and "2026-12-05 22:53" in row
    assert "half-built" in next(line for line in lines if line.startswith("imgfedcba98"))
    assert next(line for line in lines if line.startswith("img22222222")).endswith("cl2")
    assert "disk: du of the image's dir and of its machines' dirs" in res.output
    assert "2 used by nobody: `labgen classroom images --prune` removes them" in res.output
    assert lines[-1] == (
        "also 1 seat-image container(s) whose image is not in this cache (another LABGEN_CACHE, "
        "or a dir removed by hand), not counted: labgen-img99999999-n1"
    )
    res = CliRunner().invoke(cli, ["classroom", "images", "--format", "json"], catch_exceptions=False)
    data = {d["key"]: d for d in json.loads(res.output)}
    assert data[USED]["clones"] == ["labgen-cl1-s01-ubuntu-1"] and data[RECORDED]["classrooms"] == ["cl2"]
    assert data[READY]["disk_bytes"] >= 505_000 and data[HALF]["state"] == "half-built"


def test_the_cli_prune_prints_what_went_what_stayed_and_the_space(host):
    from labgen.cli import cli

    res = CliRunner().invoke(cli, ["classroom", "images", "--prune", "--yes"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "✓ removed img01234567 (clones): " in res.output
    assert "✓ removed imgfedcba98 (?): " in res.output
    assert "kept img11111111 (mesos-calico): 1 clone(s)" in res.output
    assert "kept img22222222 (lo-seat): recorded by classroom cl2" in res.output
    assert "2 removed, 2 kept; freed " in res.output
    assert (host[1] / "labgen-img99999999-n1").is_dir()  # not this cache's: never pruned


def test_prune_without_a_terminal_or_yes_refuses_and_removes_nothing(tmp_path):
    make_image(tmp_path, READY, nodes=())
    res = labgen("classroom", "images", "--prune", env={"LABGEN_CACHE": str(tmp_path)})
    assert res.returncode == 1
    assert "error: classroom images --prune needs confirmation" in res.stderr and "--yes" in res.stderr
    assert (tmp_path / "seat-images" / READY).is_dir()


def test_prune_on_a_terminal_asks_and_goes_on_only_after_yes(tmp_path):
    """The command as docs/classroom.md shows it, typed at a terminal: it names what it would
    remove, asks, and removes only after "y"."""
    make_image(tmp_path, READY, nodes=())
    env = {"LABGEN_CACHE": str(tmp_path)}
    code, shown = labgen_at_terminal("classroom", "images", "--prune", answer="n", after="[y/N]", env=env)
    assert code == 1 and "Remove these 1 seat image(s)? [y/N]: n" in shown, shown
    assert (tmp_path / "seat-images" / READY).is_dir()
    code, shown = labgen_at_terminal("classroom", "images", "--prune", answer="y", after="[y/N]", env=env)
    assert code == 0, shown
    assert "img01234567 (clones)" in shown.split("Remove these")[0]  # named before the question
    assert "✓ removed img01234567 (clones): " in shown and "1 removed, 0 kept; freed " in shown, shown
    assert not (tmp_path / "seat-images" / READY).exists()


def test_an_empty_host_says_so_in_one_line_with_a_hint(tmp_path, monkeypatch):
    from labgen.cli import cli

    monkeypatch.setenv("LABGEN_CACHE", str(tmp_path))
    monkeypatch.setattr(lxc, "LXC_PATH", tmp_path / "lxc")
    res = CliRunner().invoke(cli, ["classroom", "images"], catch_exceptions=False, env={"COLUMNS": "80"})
    assert res.exit_code == 0 and res.output.count("\n") == 1, res.output
    assert "no seat images on this host" in res.output and "`labgen classroom up LAB --seats N`" in res.output
    res = labgen("classroom", "images", "--prune", env={"LABGEN_CACHE": str(tmp_path)})
    assert res.returncode == 0 and "nothing to prune" in res.stdout
    assert (
        json.loads(labgen("classroom", "images", "--format", "json", env={"LABGEN_CACHE": str(tmp_path)}).stdout) == []
    )
