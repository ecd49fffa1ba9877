"""The seat image: the lab's nodes provisioned once, sealed and stopped; seats are its clones.

Provisioning a mesos-calico seat from the box installs docker.io, containerd, etcd and a
ZooKeeper JVM again on every node (1.6 GB and a minute or more a node). Instead `classroom up`
builds the image once (an ordinary lab dir under labgen's cache, on the pool's unused subnet
0), removes from it what makes a node itself (SEAL in each role; machine-id; SSH host keys),
stops it, and makes each seat's nodes copy-on-write clones of it (Provider.clone_machine).
Each seat is then provisioned as usual: the packages are found installed, and only what
depends on the seat (addresses, members, identities) is written and started.

The image is keyed by a hash of what it is made of (the lab file, the roles asked for,
labgen's provisioning code, the box), so an edited lab or a new labgen version rebuilds it
and a second classroom of the same lab reuses it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shlex
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import labgen
from labgen import lifecycle
from labgen.artifacts import cache_root
from labgen.boxes import vagrant_boxes_dir
from labgen.errors import LabgenError
from labgen.labdir import LabDir, atomic_write
from labgen.labfile import load_lab
from labgen.providers import get_provider, lxc
from labgen.provision.engine import node_plan, provision
from labgen.provision.roles import role_module

Say = Callable[[str], None]
IMAGE_FILE = "image.json"


def images_root() -> Path:
    return cache_root() / "seat-images"


def _code_hash() -> str:
    """Provisioning code and the Vagrantfile template: a change may change what is installed."""
    root = Path(labgen.__file__).parent
    h = hashlib.sha256()
    for path in sorted([*root.glob("provision/**/*.py"), root.parent / "Vagrantfile.j2", root / "Vagrantfile.j2"]):
        if path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _box_identity(box: str, provider: str) -> str:
    """Which build of the box is installed: its disk image's size and time, its metadata's
    text. (Not its lxc-config: vagrant-lxc rewrites that file on every create.)"""
    box_dir = vagrant_boxes_dir() / box.replace("/", "-VAGRANTSLASH-")
    parts = []
    for f in sorted(box_dir.glob(f"*/{provider}/*")) + sorted(box_dir.glob(f"*/*/{provider}/*")):
        if not f.is_file() or "config" in f.name:
            continue
        st = f.stat()
        if st.st_size > 2**20:
            parts.append(f"{f.relative_to(box_dir)}:{st.st_size}:{st.st_mtime_ns}")
        else:
            parts.append(f"{f.relative_to(box_dir)}:{hashlib.sha256(f.read_bytes()).hexdigest()}")
    return "|".join(parts)


def image_key(lab_text: str, roles: tuple[str, ...], box: str, provider: str) -> str:
    """sha256 of the lab file, the roles, labgen's provisioning code, the box build and the
    images' dir. The dir because the image's machines are named by the key and machine names
    are host-wide: two caches (LABGEN_CACHE, root's and a user's) building the same lab must
    not take each other's machines, and each cache's build lock guards only its own."""
    parts = [
        lab_text,
        sorted(roles),
        _code_hash(),
        SEAL_FORMAT,
        provider,
        box,
        _box_identity(box, provider),
        str(images_root()),
    ]
    blob = json.dumps(parts).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class SeatImage:
    key: str
    path: Path  # the image's lab dir
    provider: str

    @property
    def instance(self) -> str:
        return f"img{self.key[:8]}"

    @property
    def record(self) -> Path:
        return self.path / IMAGE_FILE

    @property
    def lock_path(self) -> Path:
        """The build lock's file (beside the image's dir: `remove` deletes the dir under it)."""
        return self.path.parent / f"{self.key}.lock"

    def ready(self) -> bool:
        return self.record.is_file()

    def info(self) -> dict:
        return json.loads(self.record.read_text())

    def machine(self, node: str) -> str:
        return self.info()["machines"][node]


def image_for(lab_text: str, roles: tuple[str, ...], box: str, provider: str) -> SeatImage:
    key = image_key(lab_text, roles, box, provider)
    return SeatImage(key, images_root() / key, provider)


@contextmanager
def _locked(image: SeatImage):
    """One builder per image on this host (two classrooms of one lab may start together)."""
    images_root().mkdir(parents=True, exist_ok=True)
    with open(image.lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


# A sealed unit stays enabled but is masked, so that a clone's boot leaves it out; a clone's
# provisioning unmasks every one in one call (one reload of systemd) before it writes the seat's
# config and starts them. Disabling instead cost the clone a `systemctl enable`, which for units
# with an init script (etcd, Docker, ZooKeeper) runs update-rc.d and reloads systemd once per
# unit: 7 reloads and ~1 CPU-s a node. (A condition on a file, lifted without a reload, came
# too late: docker.service's boot job, queued behind network-online.target, ran after it.)
SEAL_FORMAT = "masked"  # part of the image key: an image sealed otherwise is rebuilt


def _seals(lab, node, facts) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(units, paths) of each role's SEAL on `node`, in the roles' order; a role that does not
    run there left nothing."""
    return [
        getattr(role_module(role), "SEAL", ((), ()))
        for role, tasks in node_plan(lab, node, facts)
        if isinstance(tasks, list)
    ]


def _sealed_units(lab, node, facts) -> list[str]:
    return [unit for units, _ in _seals(lab, node, facts) for unit in units]


def seal_script(lab, node, facts) -> str:
    """What a node of the image must not hand to its clones: each role's SEAL (services
    stopped and masked until a clone's provisioning unmasks them, their identity and cluster
    state removed), machine-id and SSH host keys (each clone gets its own, see
    Provider.clone_machine), apt's package cache."""
    lines = ["set -e"]
    for units, paths in _seals(lab, node, facts):
        for unit in units:
            lines.append(f"systemctl stop {shlex.quote(unit)} >/dev/null 2>&1 || true")
            lines.append(f"systemctl mask {shlex.quote(unit)} >/dev/null 2>&1")
        for path in paths:
            lines.append(f"rm -rf {shlex.quote(path)}")
    lines += [": > /etc/machine-id", "rm -f /var/lib/dbus/machine-id", "rm -f /etc/ssh/ssh_host_*", "apt-get clean"]
    return "\n".join(lines)


def unseal_script(lab, node, facts) -> str | None:
    """What a clone runs before its provisioning: every unit the seal masked unmasked, in one
    call and one reload of systemd, when any still is (a fresh clone; one whose first `up`
    stopped before this ran); nothing otherwise. None started (each role starts its unit once
    the seat's config is written). None when the node's roles sealed no unit."""
    units = " ".join(shlex.quote(u) for u in _sealed_units(lab, node, facts))
    if not units:
        return None
    return f"if systemctl is-enabled {units} 2>/dev/null | grep -qx masked; then systemctl unmask {units}; fi"


def ensure(
    image: SeatImage, lab_text: str, roles: list[str] | None, say: Say, stop=None
) -> tuple[SeatImage, list[str]]:
    """Build the image unless it is ready: boot the lab (`lab_text`, its instance and network
    the image's), provision `roles` (None: all), seal every node, stop it, remove its bridge.
    A half-built image (an interrupted build) is destroyed and built again.

    Changes on the host what `labgen create` changes, then stops the machines. Returns
    (image, what it did). Raises LabgenError when the lab cannot be provisioned (the half
    image is removed)."""
    with _locked(image):
        if image.ready():
            return image, []
        began = time.monotonic()
        if image.path.exists():
            say("removing a half-built seat image")
            remove(image, force=True)
        try:
            _build(image, lab_text, roles, say, stop)
        except BaseException:
            say("seat image failed: removing it")
            try:
                remove(image, force=True)
            except LabgenError:
                pass
            raise
        return image, [f"seat image {image.instance} built in {time.monotonic() - began:.0f} s ({image.path})"]


def _build(image: SeatImage, lab_text: str, roles, say: Say, stop) -> None:
    prov = get_provider(image.provider)
    ld = LabDir(image.path)
    image.path.mkdir(parents=True)
    atomic_write(ld.labfile, lab_text)
    lab = load_lab(ld.labfile)
    lifecycle.write_lab_dir(lab, ld, image.provider)
    say(f"seat image: booting {len(lab.nodes)} node(s)")
    lifecycle.boot(lab, ld, image.provider)
    if stop is not None and stop.is_set():
        raise LabgenError("interrupted while building the seat image")
    facts = prov.facts(lab)
    say("seat image: provisioning" + (f" {','.join(roles)}" if roles else ""))
    with lifecycle.open_remote(ld, image.provider) as remote:
        reports = provision(lab, ld, remote, facts, roles=roles, stop=stop)
        errors = [r.error for r in reports if r.error is not None]
        if errors:
            raise errors[0]
        if stop is not None and stop.is_set():
            raise LabgenError("interrupted while building the seat image")
        say("seat image: sealing (identities and cluster state removed)")
        for node in lab.nodes:
            res = remote.run(node.name, seal_script(lab, node, facts), sudo=True, timeout=300)
            if not res.ok:
                raise LabgenError(f"seat image: sealing {node.name} failed: {res.stderr.strip()[-300:]}")
    say("seat image: stopping")
    lifecycle.halt(ld, image.provider)
    prov.cleanup_host(lab)  # its bridge; the image needs no network when stopped
    machines = {n.name: prov.machine_name(lab, n.name) for n in lab.nodes}
    atomic_write(
        image.record,
        json.dumps(
            {
                "key": image.key,
                "lab": lab.name,
                "instance": image.instance,
                "provider": image.provider,
                "machines": machines,
                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            indent=2,
        )
        + "\n",
    )


def clones_of(image: SeatImage) -> list[str]:
    """Machines cloned from the image that still exist (LXC records them in lxc_snapshots)."""
    if not image.ready():
        return []

    out = []
    for machine in image.info()["machines"].values():
        f = lxc.LXC_PATH / machine / "lxc_snapshots"
        if f.is_file():
            lines = [x.strip() for x in f.read_text().splitlines() if x.strip()]
            out += [x for x in lines if not x.startswith("/")]
    return out


def remove(image: SeatImage, force: bool = False) -> list[str]:
    """Destroy the image's machines and dir. Refuses while clones of it exist (unless
    `force`: a half-built image has none)."""
    if not force and clones_of(image):
        raise LabgenError(
            f"seat image {image.instance} still has clones: {', '.join(clones_of(image)[:5])}",
            hint="`labgen classroom down` the classrooms that use it first",
        )
    removed: list[str] = []
    ld = LabDir(image.path)
    if ld.labfile.exists():
        lab = lifecycle.load_lab_of(ld)
        try:
            removed += lifecycle.destroy(lab, ld, image.provider)
        except LabgenError:
            pass
        prov = get_provider(image.provider)
        for node in lab.nodes:
            removed += prov.remove_machine(prov.machine_name(lab, node.name))
        removed += prov.remove_lab_bridge(lab)
    if image.path.exists():
        shutil.rmtree(image.path)
        removed.append(f"seat image {image.path}")
    image.lock_path.unlink(missing_ok=True)
    return removed
