"""tests/integration/lxcenv.py's own logic, on dirs made here (no LXC, nothing destroyed): which
dirs an interrupted run's cleanup must destroy, at any depth, and which roots it walks."""

from __future__ import annotations

from tests.integration import lxcenv


def mk(path, *files):
    path.mkdir(parents=True, exist_ok=True)
    for name in files:
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("")
    return path


def test_lab_dirs_are_found_at_any_depth_deepest_first(tmp_path):
    nested = mk(tmp_path / "lab-lxc" / "run-1" / "lab", ".labgen/state.json")  # test_lab_lxc's shape
    half_made = mk(tmp_path / "x" / "lab", ".vagrant/machines/n1/lxc/id")  # no labgen state yet
    classroom = mk(tmp_path / "crt1", "classroom.yml")
    seat = mk(classroom / "seat-01", ".labgen/state.json")
    mk(tmp_path / "plain" / "dir", "notes.txt")
    found = lxcenv._lab_dirs(tmp_path)
    assert set(found) == {nested, half_made, classroom, seat}
    assert found.index(seat) < found.index(classroom)  # seats before their classroom
    assert not [p for p in found if ".vagrant" in p.parts]  # never inside a lab's own .vagrant


def test_every_root_beside_test_root_is_walked_proxies_last(tmp_path, monkeypatch):
    root = tmp_path / "labgen-tests"
    for name in (
        "labgen-tests",
        "labgen-tests-web",
        "labgen-tests-classroom-aptproxy",
        "labgen-tests-crx",
        "other-dir",
        "labgen-testsuite",
    ):
        mk(tmp_path / name)
    monkeypatch.setattr(lxcenv, "TEST_ROOT", root)
    names = [p.name for p in lxcenv.all_roots()]
    assert names == ["labgen-tests", "labgen-tests-crx", "labgen-tests-web", "labgen-tests-classroom-aptproxy"]
    seat = mk(tmp_path / "labgen-tests-crx" / "crx1" / "seat-01")
    proxy = tmp_path / "labgen-tests-crx-aptproxy"
    assert lxcenv._proxy_dir(seat) is None
    proxy.mkdir()
    assert lxcenv._proxy_dir(seat) == proxy
