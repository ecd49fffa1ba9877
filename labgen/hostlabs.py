"""Which labs and classrooms exist on this host, found through Vagrant's machine index.

Vagrant records every machine it has created (`vagrant global-status` reads the same file:
$VAGRANT_HOME/data/machine-index/index, JSON), with its Vagrantfile's dir, provider and last
known state, and forgets it on destroy. A dir that holds a labgen lab (.labgen/state.json and
lab.yml) is a lab; one whose parent holds classroom.yml is a classroom's seat. Nothing here
writes; reading the index needs no Ruby (global-status takes seconds and may prune).
LXC machines get their live state from `lxc-info` (milliseconds), the others keep Vagrant's
last record, which `labgen status` refreshes.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from labgen.classroom.layout import CLASSROOM_FILE


@dataclass
class HostLab:
    name: str
    dir: Path
    provider: str
    nodes: dict[str, str] = field(default_factory=dict)  # node -> state
    classroom: Path | None = None  # set for a classroom's seat

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "dir": str(self.dir),
            "provider": self.provider,
            "nodes": [{"name": n, "state": s} for n, s in sorted(self.nodes.items())],
            "running": sum(s == "running" for s in self.nodes.values()),
        }


def index_path() -> Path:
    home = os.environ.get("VAGRANT_HOME") or os.path.join(os.path.expanduser("~"), ".vagrant.d")
    return Path(home) / "data" / "machine-index" / "index"


def _read_locked(path: Path, wait: float = 10.0) -> str | None:
    """The index's text, read under Vagrant's own lock (index.lock, flock): Vagrant rewrites
    the index in place, so a read beside a running `vagrant up` could see half a file. Waits
    at most `wait` seconds for a writer; None when there is no index."""
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        fd = None  # no lock file (no vagrant has locked it yet): read as it is
    try:
        if fd is not None:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break  # a stuck writer: read anyway; a torn file is reported as none
                    time.sleep(0.05)
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _machines(path: Path) -> list[dict]:
    try:
        text = _read_locked(path)
        data = json.loads(text) if text else {}
    except (OSError, ValueError):
        return []  # unreadable: not ours to judge
    machines = data.get("machines") if isinstance(data, dict) else None
    return [m for m in (machines or {}).values() if isinstance(m, dict)]


def _lxc_state(lab_dir: Path, node: str) -> str | None:
    """The container's live state, or None when it cannot be asked."""
    id_file = lab_dir / ".vagrant" / "machines" / node / "lxc" / "id"
    if not shutil.which("lxc-info"):
        return None
    try:
        name = id_file.read_text(encoding="utf-8").strip()
    except OSError:
        return "not_created"
    try:
        out = subprocess.run(["lxc-info", "-s", "-n", name], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return "not_created"
    state = out.stdout.split(":", 1)[-1].strip().lower()
    return state or None


def labs_on_host(index: Path | None = None) -> list[HostLab]:
    """Every labgen lab dir Vagrant knows machines of, sorted by dir. Stale index entries
    (the dir or the lab is gone) are left out."""
    labs: dict[Path, HostLab] = {}
    for m in _machines(index or index_path()):
        where = m.get("vagrantfile_path")
        if not isinstance(where, str):
            continue
        lab_dir = Path(where)
        state_file = lab_dir / ".labgen" / "state.json"
        if not (state_file.is_file() and (lab_dir / "lab.yml").is_file()):
            continue
        lab = labs.get(lab_dir)
        if lab is None:
            try:
                name = str(json.loads(state_file.read_text(encoding="utf-8")).get("lab") or lab_dir.name)
            except (OSError, ValueError):
                name = lab_dir.name
            seat_of = lab_dir.parent if (lab_dir.parent / CLASSROOM_FILE).is_file() else None
            lab = labs[lab_dir] = HostLab(name, lab_dir, str(m.get("provider") or "?"), classroom=seat_of)
        node = str(m.get("name") or "?")
        live = _lxc_state(lab_dir, node) if lab.provider == "lxc" else None
        lab.nodes[node] = live or str(m.get("state") or "unknown")
    return sorted(labs.values(), key=lambda lab: str(lab.dir))
