"""A test classroom whose dir is gone is found by its host names and removed, on the real host
(issue 15; tests/integration/classroom_leftovers.py, run by `make clean-test-leftovers`).

No machine boots: the leftovers are made the way `classroom up` makes them — a classroom
recorded in /var/lib/labgen/classrooms, the bridge its seat 1 had (named by the LXC provider
from the seat's instance and network) and its two nft isolation tables — then its dir is
removed. A live neighbour (same pool, its dir still there) must keep its bridge, tables and
record. The bridges get no address and no port: nothing is sent anywhere. Names: classroom
`tdy<pid>`; pool 192.168.186.0/24 (tests/README.md).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from labgen.classroom import access, isolation
from labgen.classroom.layout import instance_name
from labgen.providers import lxc
from tests.integration import classroom_leftovers

pytestmark = [pytest.mark.root]

if os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"):
    pytest.skip("needs root, nft and ip (CI runs as root with both)", allow_module_level=True)

POOL = ipaddress.IPv4Network("192.168.186.0/24")
GONE = f"tdy{os.getpid() % 10000}"
LIVE = f"tdy{os.getpid() % 10000}l"


def seat1_bridge(name: str) -> str:
    """The bridge seat 1 of a /26 lab gets: the pool's 1st /26 (what ops._seat_model_quick gives)."""
    from types import SimpleNamespace

    net = list(POOL.subnets(new_prefix=26))[1]
    return lxc.bridge_name(SimpleNamespace(instance_name=instance_name(name, 1), network=net))


def make_classroom(name: str, where: Path) -> str:
    """The host state of a 1-seat classroom recorded at `where`; returns its bridge."""
    bridge = seat1_bridge(name)
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True, capture_output=True)
    isolation.apply(name, [bridge], [])
    state = access.state_dir(name)
    state.mkdir(parents=True, exist_ok=True)
    (state / "classroom.json").write_text(
        json.dumps({"dir": str(where), "pool": str(POOL), "seats": 1, "image": True}) + "\n"
    )
    return bridge


@pytest.fixture
def classrooms(tmp_path):
    root = tmp_path / "labgen-tests"  # this test's own test root: no one else's is read
    gone, live = root.parent / "labgen-tests-cr" / GONE, root.parent / "labgen-tests-cr" / LIVE
    live.mkdir(parents=True)
    (live / "classroom.yml").write_text(f"name: {LIVE}\n")
    made = []
    try:
        made = [make_classroom(GONE, gone), make_classroom(LIVE, live)]
        yield root, made
    finally:
        for name in (GONE, LIVE):
            isolation.remove(name)
            shutil.rmtree(access.state_dir(name), ignore_errors=True)
        for bridge in made:
            lxc.remove_bridge(bridge)


def test_a_classroom_whose_dir_is_gone_is_removed_by_its_host_names(classrooms):
    root, (gone_bridge, live_bridge) = classrooms
    assert Path("/sys/class/net", gone_bridge, "bridge").is_dir() and isolation.present(GONE) == ["inet", "bridge"]

    removed = classroom_leftovers.sweep(root)

    assert not Path("/sys/class/net", gone_bridge).exists()
    assert isolation.present(GONE) == []
    assert not access.state_dir(GONE).exists() and GONE not in access.registry()
    assert f"classroom {GONE} (dir gone): removed bridge {gone_bridge}" in removed
    assert f"classroom {GONE} (dir gone): nft table inet {isolation.table_name(GONE)}" in removed
    # the neighbour whose dir is there is not touched
    assert Path("/sys/class/net", live_bridge, "bridge").is_dir()
    assert isolation.present(LIVE) == ["inet", "bridge"] and LIVE in access.registry()
    assert not any(LIVE in line for line in removed), removed
    # a second sweep finds nothing more
    assert classroom_leftovers.sweep(root) == []
