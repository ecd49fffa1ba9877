"""The seat images on this host (`classroom images`): what each one is, the disk it holds and
who uses it; and the prune of those that nobody uses.

An image is a dir under images_root() named by its 16-hex key; its image.json says it was
built (a dir without one is a half-built image: an interrupted or running `up`). Its
machines live under the provider's machines path. It is used by the machines cloned from it
(clones_of: LXC's own record) and by the classrooms on this host that recorded it
(<classroom dir>/.classroom/images, written by `up` before the first clone).
Nothing here prints.
"""

from __future__ import annotations

import fcntl
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from labgen.classroom import image as seatimage
from labgen.classroom.image import SeatImage, images_root
from labgen.errors import LabgenError

KEY = re.compile(r"^[0-9a-f]{16}$")
# What the disk figure counts, said once for the table and --help.
DISK_COUNTS = (
    "disk: du of the image's dir and of its machines' dirs (rootfs included) in /var/lib/lxc; "
    "what a clone changed counts in its seat, not here"
)


@dataclass(frozen=True)
class Entry:
    image: SeatImage
    state: str  # "ready", "half-built" or "building" (a running `up` holds its lock)
    lab: str  # "?" when a half-built image has no lab file yet
    nodes: tuple[str, ...]
    machines: tuple[str, ...]
    built: str | None  # UTC time from image.json; None unless ready
    disk: int | None  # bytes; None when du could not read it all
    clones: tuple[str, ...]
    classrooms: tuple[str, ...]

    def kept_because(self) -> str | None:
        """Why prune must keep this image, or None when nobody uses it."""
        if self.clones:
            more = f", +{len(self.clones) - 3}" if len(self.clones) > 3 else ""
            return f"{len(self.clones)} clone(s): {', '.join(self.clones[:3])}{more}"
        if self.classrooms:
            return f"recorded by classroom {', '.join(self.classrooms)} (`classroom down` it first)"
        if self.state == "building":
            return "being built by a running `classroom up`"
        return None

    def as_dict(self) -> dict:
        return {
            "instance": self.image.instance,
            "key": self.image.key,
            "dir": str(self.image.path),
            "state": self.state,
            "lab": self.lab,
            "provider": self.image.provider,
            "nodes": list(self.nodes),
            "machines": list(self.machines),
            "built": self.built,
            "disk_bytes": self.disk,
            "clones": list(self.clones),
            "classrooms": list(self.classrooms),
        }


def image_dirs() -> list[Path]:
    root = images_root()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and KEY.match(p.name))


def classrooms_by_image() -> dict[str, list[str]]:
    """image key -> the classrooms on this host that recorded it (reads one small file each)."""
    from labgen.classroom.access import registry
    from labgen.classroom.ops import IMAGES_FILE

    out: dict[str, list[str]] = {}
    for name, entry in sorted(registry().items()):
        if not isinstance(entry, dict) or not isinstance(entry.get("dir"), str):
            continue
        try:
            keys = (Path(entry["dir"]) / IMAGES_FILE).read_text().split()
        except OSError:
            continue
        for key in keys:
            out.setdefault(key, []).append(name)
    return out


@contextmanager
def try_lock(image: SeatImage, create: bool = False) -> Iterator[bool]:
    """The image's build lock (image.ensure holds it while building), without waiting:
    yields whether it was free. Held, no `up` can start building or using it meanwhile;
    `create`: make the lock file when there is none (a listing only looks)."""
    lock = image.lock_path
    if not lock.exists() and not create:
        yield True
        return
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _half_built(path: Path) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    """(provider, lab, nodes, machines) of a dir without image.json, from what it holds."""
    from labgen.labdir import LabDir
    from labgen.lifecycle import load_lab_of, provider_of
    from labgen.providers import get_provider

    ld = LabDir(path)
    try:
        provider = provider_of(ld, None) or "lxc"
    except (LabgenError, OSError, ValueError):
        provider = "lxc"  # the only provider that serves seats on this host
    try:
        lab = load_lab_of(ld)
    except (LabgenError, OSError):
        return provider, "?", (), ()
    prov = get_provider(provider)
    nodes = tuple(n.name for n in lab.nodes)
    return provider, lab.name, nodes, tuple(prov.machine_name(lab, n) for n in nodes)


def disk_bytes(paths: list[Path]) -> int | None:
    """Bytes on disk under `paths` (hard links once), by du; None when du failed anywhere
    (a figure that silently left out an unreadable dir would lie)."""
    there = [str(p) for p in paths if p.exists()]
    if not there:
        return 0
    try:
        res = subprocess.run(
            ["du", "-s", "-c", "-x", "-B1", "--", *there],
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = res.stdout.strip().splitlines()
    if res.returncode != 0 or not lines or not lines[-1].endswith("total"):
        return None
    return int(lines[-1].split()[0])


def machines_path(provider: str) -> Path | None:
    from labgen.providers import get_provider

    try:
        return get_provider(provider).machines_path()
    except LabgenError:
        return None


def entry(path: Path, users: dict[str, list[str]], measure: bool = True, locked: bool = False) -> Entry:
    """One image's entry; `locked`: the caller holds its build lock (so it is not building)."""
    key = path.name
    record = path / seatimage.IMAGE_FILE
    info: dict | None = None
    if record.is_file():
        try:
            info = seatimage.SeatImage(key, path, "").info()
        except (OSError, ValueError):
            info = None  # a torn record: treat the image as half-built
    if isinstance(info, dict) and isinstance(info.get("machines"), dict):
        provider = str(info.get("provider", "lxc"))
        lab = str(info.get("lab", "?"))
        nodes = tuple(info["machines"])
        machines = tuple(str(m) for m in info["machines"].values())
        built = info.get("built")
        state = "ready"
    else:
        provider, lab, nodes, machines = _half_built(path)
        built = None
        state = "half-built"
    img = SeatImage(key, path, provider)
    if state == "half-built" and not locked:
        with try_lock(img) as free:
            state = state if free else "building"
    where = machines_path(provider)
    disk = disk_bytes([path, *(where / m for m in machines)]) if measure and where is not None else None
    clones = tuple(seatimage.clones_of(img)) if state == "ready" else ()
    return Entry(img, state, lab, nodes, machines, built, disk, clones, tuple(users.get(key, [])))


def list_images(measure: bool = True) -> list[Entry]:
    """Every seat image on this host, ready ones by lab and build time, half-built ones last.
    The du runs (I/O bound) go a few at a time."""
    dirs = image_dirs()
    users = classrooms_by_image() if dirs else {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = list(pool.map(lambda p: entry(p, users, measure), dirs))
    return sorted(found, key=lambda e: (e.state != "ready", e.lab, e.built or "", e.image.key))


def stray_machines(entries: list[Entry]) -> list[str]:
    """LXC containers named like a seat image's (labgen-img<8 hex>-<node>) whose image is not
    in this cache: another LABGEN_CACHE's image, or a dir removed by hand. Listed, never
    pruned (they may be another cache's image in use)."""
    from labgen.providers import lxc

    ours = {e.image.instance for e in entries}
    pattern = re.compile(rf"^{re.escape(lxc.CONTAINER_PREFIX)}(img[0-9a-f]{{8}})-")
    try:
        names = sorted(p.name for p in lxc.LXC_PATH.iterdir() if (p / "config").is_file())
    except OSError:
        return []
    return [n for n in names if (m := pattern.match(n)) and m.group(1) not in ours]


@dataclass(frozen=True)
class Pruned:
    removed: list[tuple[Entry, list[str]]]  # each image and what went with it
    kept: list[tuple[Entry, str]]  # each image and why it stays
    failed: list[tuple[Entry, str]]

    @property
    def freed(self) -> int:
        return sum(e.disk or 0 for e, _ in self.removed)


def prunable(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.kept_because() is None]


def prune(entries: list[Entry]) -> Pruned:
    """Remove every image in `entries` that nobody uses (half-built ones included); keep the
    rest, saying why. Each removal holds the image's build lock and looks again for clones
    under it, so an `up` that started since the listing keeps its image."""
    removed: list[tuple[Entry, list[str]]] = []
    kept: list[tuple[Entry, str]] = []
    failed: list[tuple[Entry, str]] = []
    for e in entries:
        why = e.kept_because()
        if why is not None:
            kept.append((e, why))
            continue
        with try_lock(e.image, create=True) as free:
            if not free:
                kept.append((e, "being built or cloned by a running `classroom up`"))
                continue
            again = entry(e.image.path, classrooms_by_image(), measure=False, locked=True)
            why = again.kept_because()
            if why is not None:
                kept.append((e, why))
                continue
            try:
                removed.append((e, seatimage.remove(e.image, force=e.state != "ready")))
            except LabgenError as err:
                failed.append((e, err.message))
    return Pruned(removed, kept, failed)
