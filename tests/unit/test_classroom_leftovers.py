"""Finding a test classroom whose dir is gone by the names of its host state (issue 15):
tests/integration/classroom_leftovers.py, the part `make clean-test-leftovers` decides with.
The names are checked against the ones `classroom up` really derives (ops, layout, the LXC
provider), so a change of naming there fails here instead of leaving classrooms behind."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from labgen.classroom import ops
from labgen.classroom.layout import Classroom
from labgen.labfile import find_lab, load_lab
from labgen.providers import lxc
from tests.integration import classroom_leftovers as cl

REPO = Path(__file__).resolve().parents[2]
ROOT = Path("/var/tmp/labgen-tests")


def test_test_roots_are_the_root_and_the_roots_beside_it():
    assert cl.under_test_roots(ROOT / "x" / "cr1", ROOT)
    assert cl.under_test_roots(Path("/var/tmp/labgen-tests-classroom/crt12"), ROOT)
    assert cl.under_test_roots(ROOT, ROOT)
    assert not cl.under_test_roots(Path("/var/tmp/labgen-testsX/cr1"), ROOT)  # not `-`: another tree
    assert not cl.under_test_roots(Path("/home/teacher/class"), ROOT)
    assert not cl.under_test_roots(Path("/var/tmp/other/labgen-tests-classroom"), ROOT)


def test_only_recorded_test_classrooms_whose_dir_is_gone_are_orphans(tmp_path):
    root = tmp_path / "labgen-tests"
    alive = tmp_path / "labgen-tests-classroom" / "crt1"
    alive.mkdir(parents=True)
    (alive / "classroom.yml").write_text("name: crt1\n")
    registry = {
        "crt1": {"dir": str(alive), "pool": "192.168.80.0/20", "seats": 2},  # still there
        "crt2": {"dir": str(tmp_path / "labgen-tests-classroom" / "crt2"), "pool": "192.168.80.0/20", "seats": 2},
        "rh9": {"dir": str(root / "rehearsal" / "rh9"), "pool": "192.168.104.0/22", "seats": 1},
        "mine": {"dir": str(tmp_path / "teacher" / "class"), "pool": "10.56.0.0/18", "seats": 30},  # not a test's
        "odd": {"dir": "relative/path"},
        "bad": "not a dict",
        "nodir": {"pool": "10.0.0.0/8"},
    }
    assert sorted(cl.orphans(registry, root)) == ["crt2", "rh9"]
    (alive / "classroom.yml").unlink()  # the dir is there but holds no classroom any more
    assert sorted(cl.orphans(registry, root)) == ["crt1", "crt2", "rh9"]


def test_seat_containers_are_named_after_the_classroom_and_nothing_else():
    host = [
        "labgen-crt2-s01-ubuntu-1",
        "labgen-crt2-s12-n1",
        "labgen-crt2-s100-n1",
        "labgen-crt23-s01-n1",
        "labgen-crt2-n1",
        "labgen-crt2-sx1-n1",
        "labgen-imgabc-ubuntu-1",
        "labgen-tests-lxc-ubuntu-1",
        "other-crt2-s01-n1",
    ]
    assert cl.seat_containers("crt2", host) == ["labgen-crt2-s01-ubuntu-1", "labgen-crt2-s12-n1", "labgen-crt2-s100-n1"]


@pytest.mark.parametrize(
    "lab_file, pool, seats",
    [
        ("mesos-calico", "10.56.0.0/18", 3),  # a /24 lab in the default pool
        (str(REPO / "bench" / "labs" / "duo.yml"), "192.168.180.0/22", 5),  # a /27 lab in a small pool
    ],
)
def test_the_bridges_found_are_those_classroom_up_makes(lab_file, pool, seats):
    lab = load_lab(find_lab(lab_file))
    c = Classroom(
        name="crt2",
        lab=lab.name,
        seats=seats,
        pool=ipaddress.IPv4Network(pool),
        provider="lxc",
        ssh_port=2222,
        ssh_address="127.0.0.1",
        path=Path("/nowhere"),
    )
    made = {lxc.bridge_name(ops._seat_model_quick(c, lab, s)) for s in range(1, seats + 1)}
    found = cl.seat_bridges("crt2", c.pool, seats)
    assert made <= found
    # another classroom's seats in the same pool are not this one's
    other = Classroom(**{**c.__dict__, "name": "crt3"})
    assert not {lxc.bridge_name(ops._seat_model_quick(other, lab, s)) for s in range(1, seats + 1)} & found
    assert all(b.startswith("lgbr") and len(b) <= 15 for b in found)


def test_the_seat_count_bounds_the_bridges_tried():
    pool = ipaddress.IPv4Network("192.168.180.0/22")
    assert len(cl.seat_bridges("x", pool, 1)) == 30 - 22  # one seat, each size from /23 to /30
    assert len(cl.seat_bridges("x", pool, 2)) == 2 * (30 - 22) - 1  # a /23 pool has no seat 2 of size /23
    assert cl.seat_bridges("x", ipaddress.IPv4Network("10.0.0.0/30"), 5) == set()  # no room for seat 1


def test_bridges_linked_in_a_container_config():
    config = (
        "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.1.type = veth\n"
        "lxc.net.1.link = lgbr0a1b2c3d\n  lxc.net.2.link=lgbr99999999\nlxc.net.3.link = lgbrzz\n"
        "# lxc.net.4.link = lgbr12345678 is a comment\n"
    )
    assert cl.linked_bridges(config) == {"lgbr0a1b2c3d", "lgbr99999999"}
