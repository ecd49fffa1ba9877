"""Classrooms a test run left whose directory is gone: found by the names of their host state,
then removed (issue 15; `make clean-test-leftovers` calls `sweep`).

`labgen classroom down` needs the classroom's dir: its lab copy names the seats' machines and
bridges. When a test root is deleted before `down` ran (an interrupted run, then the next run
removing its root), the host keeps the classroom's containers, bridges, nft tables, seat
accounts and jump sshd. What is left to go by is the host's own record of each classroom
(/var/lib/labgen/classrooms/NAME/classroom.json: dir, pool, seats) and the names labgen derives
from NAME (labgen/classroom/layout.py):

  containers  labgen-NAME-sNN-NODE
  bridges     lgbr + hash(NAME-sNN | seat network): tried for every seat network size the
              pool holds; also every bridge a seat container's config links (lxc.net.N.link)
  nft tables  inet and bridge labgen-NAME
  accounts    GECOS "labgen classroom NAME seat N"; the jump sshd; the record itself

Only classrooms whose recorded dir lies under a test root are touched. Seat images are not
named after a classroom (a hash of the lab) and are kept, as `classroom down` keeps them.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

from labgen.classroom import access, isolation
from labgen.classroom.layout import CLASSROOM_FILE, MAX_SEATS, instance_name
from labgen.providers import lxc


def under_test_roots(path: Path, test_root: Path) -> bool:
    """Whether `path` is TEST_ROOT, or in it, or in a root beside it (`<TEST_ROOT>-*`)."""
    for p in (path, *path.parents):
        if p == test_root or (p.parent == test_root.parent and p.name.startswith(test_root.name + "-")):
            return True
    return False


def orphans(registry: dict[str, dict], test_root: Path) -> dict[str, dict]:
    """The recorded classrooms whose dir was under a test root and holds no classroom any more."""
    found = {}
    for name, info in registry.items():
        where = info.get("dir") if isinstance(info, dict) else None
        if not isinstance(where, str) or not Path(where).is_absolute():
            continue
        if under_test_roots(Path(where), test_root) and not (Path(where) / CLASSROOM_FILE).exists():
            found[name] = info
    return found


def seat_containers(name: str, containers: list[str]) -> list[str]:
    """The containers of classroom `name`'s seats: labgen-NAME-sNN-NODE (not NAMEx-sNN...)."""
    pattern = re.compile(rf"{re.escape(lxc.CONTAINER_PREFIX)}{re.escape(name)}-s\d{{2,3}}-")
    return [c for c in containers if pattern.match(c)]


def seat_bridges(name: str, pool: ipaddress.IPv4Network, seats: int) -> set[str]:
    """Every bridge name a seat of classroom `name` may have had: seat N's network is the pool's
    Nth subnet of the lab's size, and the lab's size is not recorded, so each size is tried."""
    names = set()
    for prefixlen in range(pool.prefixlen, 31):
        size = 2 ** (32 - prefixlen)
        for seat in range(1, min(max(seats, 1), MAX_SEATS) + 1):
            if (seat + 1) * size > pool.num_addresses:
                break
            net = ipaddress.IPv4Network((int(pool.network_address) + seat * size, prefixlen))
            names.add(lxc.bridge_name(SimpleNamespace(instance_name=instance_name(name, seat), network=net)))
    return names


def linked_bridges(config: str) -> set[str]:
    """The labgen bridges an LXC container config attaches NICs to."""
    return set(
        re.findall(
            rf"^\s*lxc\.net\.\d+\.link\s*=\s*({re.escape(lxc.BRIDGE_PREFIX)}[0-9a-f]+)\s*$", config, re.MULTILINE
        )
    )


def _pool(info: dict) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(str(info.get("pool")))
    except ValueError:
        return None


def remove(name: str, info: dict) -> list[str]:
    """Remove the host state of classroom `name` (see the module's docstring). Returns what went."""
    removed: list[str] = []
    bridges: set[str] = set()
    containers = seat_containers(name, lxc.PROVIDER.machines(lxc.CONTAINER_PREFIX)) if shutil.which("lxc-ls") else []
    for container in containers:
        config = lxc.LXC_PATH / container / "config"
        if config.is_file():
            bridges |= linked_bridges(config.read_text(errors="replace"))
        removed += lxc.PROVIDER.remove_machine(container)
    pool = _pool(info)
    seats = info.get("seats") if isinstance(info.get("seats"), int) else MAX_SEATS
    if pool is not None:
        bridges |= seat_bridges(name, pool, seats)
    for bridge in sorted(bridges):
        removed += lxc.remove_bridge(bridge)
    if shutil.which("nft"):
        removed += isolation.remove(name)
    removed += access.remove_all(name)
    return removed


def sweep(test_root: Path) -> list[str]:
    """Remove every test classroom recorded on this host whose dir is gone. Returns what went."""
    removed = []
    for name, info in sorted(orphans(access.registry(), test_root).items()):
        removed += [f"classroom {name} (dir gone): {what}" for what in remove(name, info)]
    return removed
