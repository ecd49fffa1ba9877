import json

import pytest

from labgen.errors import LabgenError
from labgen.labdir import LabDir, atomic_write, find_lab_dir


def test_state_roundtrip_and_roles(tmp_path):
    d = LabDir(tmp_path)
    assert d.load_state()["roles"] == {}
    d.update_state(lab="x", provider="lxc")
    d.record_role("n1", "base", "abc")
    state = json.loads(d.state_file.read_text())
    assert state["lab"] == "x" and state["roles"] == {"n1": {"base": "abc"}}
    assert not list(d.meta.glob(".state.json.*"))  # no temp file left behind


def test_corrupt_state_is_a_clear_error(tmp_path):
    d = LabDir(tmp_path)
    atomic_write(d.state_file, "{not json")
    with pytest.raises(LabgenError, match="unreadable state"):
        d.load_state()


def test_find_lab_dir_searches_upwards(tmp_path):
    d = LabDir(tmp_path / "lab")
    d.update_state(lab="x")
    (d.path / "lab.yml").write_text("name: x\n")
    (d.path / "sub").mkdir()
    assert find_lab_dir(d.path / "sub").path == d.path
    with pytest.raises(LabgenError, match="no lab in"):
        find_lab_dir(tmp_path)
