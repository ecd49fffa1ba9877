"""Offline bundles: one file that carries what a classroom host needs to create a lab with no
internet: the lab file, its scenarios, its labgen.lock, the locked artifacts and (optionally)
the Vagrant boxes of the chosen providers.

A bundle is a plain tar (its big members are compressed already). Its first member,
labgen-bundle.json, lists every other member with its kind, size and sha256. Bundles come
from strangers: member names are never used as paths (each destination is derived from the
validated manifest), every member is hashed while it is copied, and every artifact must be the
one the bundle's own lock records. Nothing here prints: progress goes to a callback.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from labgen import lockfile, schemas
from labgen.errors import LabgenError

MANIFEST = "labgen-bundle.json"
# The structure comes from the published schema, labgen/schemas/bundle.json.
FORMAT = schemas.node("bundle", "properties/format")["const"]
MAX_SMALL = 4 << 20  # lab, lock, scenario, manifest: read into memory, so bounded
CHUNK = 1 << 20

# progress(label, done_bytes, total_bytes)
Progress = Callable[[str, int, int], None]


class BundleError(LabgenError):
    """A bundle cannot be written, read or installed."""


@dataclass(frozen=True)
class Item:
    """One member of a bundle: `name` is the artifact name, the scenario file name, the box
    name ("owner/box"), or the lab's name for kinds lab and lock."""

    kind: str
    name: str
    size: int
    sha256: str
    provider: str = ""  # boxes only

    @property
    def member(self) -> str:
        """The member's path inside the tar, derived from kind and name (never read from it)."""
        if self.kind == "lab":
            return "lab.yml"
        if self.kind == "lock":
            return lockfile.LOCK_NAME
        if self.kind == "scenario":
            return f"scenarios/{self.name}"
        if self.kind == "artifact":
            return f"artifacts/{self.name}"
        return f"boxes/{self.provider}/{self.name.replace('/', '-VAGRANTSLASH-')}.box"

    def as_json(self) -> dict:
        data = {"kind": self.kind, "name": self.name, "sha256": self.sha256, "size": self.size}
        if self.provider:
            data["provider"] = self.provider
        return data


@dataclass(frozen=True)
class Source:
    item: Item
    path: Path  # the local file to pack


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def source(kind: str, name: str, path: Path, provider: str = "", sha256: str | None = None) -> Source:
    """A file to pack (its sha256 computed unless given, e.g. from the lock)."""
    path = Path(path)
    return Source(Item(kind, name, path.stat().st_size, sha256 or sha256_of(path), provider), path)


def manifest_text(lab_name: str, items: Iterable[Item]) -> str:
    from labgen import __version__

    data = {"format": FORMAT, "lab": lab_name, "labgen": __version__, "items": [i.as_json() for i in items]}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write(out: Path, lab_name: str, sources: list[Source], progress: Progress | None = None) -> int:
    """Write the bundle `out` (atomically: a temporary name, then a rename). Returns its size.

    Raises BundleError when a file changed while it was packed, or `out` cannot be written.
    """
    out = Path(out)
    kinds = [s.item.kind for s in sources]
    if kinds.count("lab") != 1 or kinds.count("lock") != 1:
        raise BundleError("a bundle needs exactly one lab file and one lock")  # a bug, not input
    text = manifest_text(lab_name, [s.item for s in sources]).encode()
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.partial")
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            _add_bytes(tar, MANIFEST, text)
            for s in sources:
                _add_file(tar, s, progress)
        os.replace(tmp, out)
    except OSError as exc:
        raise BundleError(f"{out}: cannot write the bundle: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return out.stat().st_size


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, io.BytesIO(data))


class _Hashing:
    """A file reader that hashes what it gives and reports progress."""

    def __init__(self, f, label: str, total: int, progress: Progress | None):
        self.f, self.label, self.total, self.progress = f, label, total, progress
        self.h, self.done = hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        block = self.f.read(n)
        self.h.update(block)
        self.done += len(block)
        if self.progress:
            self.progress(self.label, self.done, self.total)
        return block


def _add_file(tar: tarfile.TarFile, s: Source, progress: Progress | None) -> None:
    info = tarfile.TarInfo(s.item.member)
    info.size, info.mode, info.mtime = s.item.size, 0o644, 0
    with open(s.path, "rb") as f:
        reader = _Hashing(f, s.item.member, s.item.size, progress)
        tar.addfile(info, reader)
    if reader.h.hexdigest() != s.item.sha256:
        raise BundleError(f"{s.path} changed while it was packed; run `labgen bundle` again")


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Manifest:
    lab: str
    labgen: str
    items: tuple[Item, ...]

    def of(self, kind: str) -> list[Item]:
        return [i for i in self.items if i.kind == kind]


def parse_manifest(data: bytes, source: str) -> Manifest:
    """Validate a manifest. Raises BundleError naming the first problem."""

    def bad(problem: str) -> BundleError:
        return BundleError(f"{source}: {problem}", hint="the file is not a labgen bundle, or it is damaged")

    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(f"its manifest is not JSON ({exc})") from None
    lockfile.schema_check(doc, "bundle", bad)  # the structure, each kind's names included
    lab, items, members = doc["lab"], [], set()
    for n, entry in enumerate(doc["items"], 1):
        kind, name, size = entry["kind"], entry["name"], entry["size"]
        if kind in ("lab", "lock", "scenario") and size > MAX_SMALL:
            raise bad(f"item {n}: a {kind} of {size} bytes is too large")
        if kind in ("lab", "lock") and name != lab:
            raise bad(f"item {n}: {kind} name {ascii(name)[:80]} is not the bundle's lab {lab!r}")
        item = Item(kind, name, size, entry["sha256"], entry.get("provider", "") if kind == "box" else "")
        if item.member in members:
            raise bad(f"item {n}: {item.member} appears twice")
        members.add(item.member)
        items.append(item)
    kinds = [i.kind for i in items]
    if kinds.count("lab") != 1 or kinds.count("lock") != 1:
        raise bad("its manifest needs exactly one lab file and one lock")
    return Manifest(lab, str(doc.get("labgen", ""))[:40], tuple(items))


def read_manifest(path: Path) -> Manifest:
    """The validated manifest of the bundle at `path` (reads only its first member)."""
    with _open(path) as tar:
        first = tar.next()
        return _manifest_from(tar, first, path)


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r|")  # a stream: members in order, nothing seeks
    except FileNotFoundError:
        raise BundleError(f"{path}: no such file") from None
    except (OSError, tarfile.TarError) as exc:
        raise BundleError(f"{path}: not a labgen bundle ({exc})") from None


def _manifest_from(tar: tarfile.TarFile, first, path: Path) -> Manifest:
    if first is None or first.name != MANIFEST or not first.isfile() or first.size > MAX_SMALL:
        raise BundleError(f"{path}: not a labgen bundle (its first member is not {MANIFEST})")
    return parse_manifest(_read(tar, first, path), str(path))


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> bytes:
    """A small regular member's bytes (callers have checked isfile(); this keeps it so)."""
    data = tar.extractfile(member)
    if data is None:
        raise BundleError(f"{path}: member {ascii(member.name)[:80]} is not a regular file")
    return data.read()


@dataclass
class Loaded:
    """What `load` installed."""

    lab_dir: Path
    lab_name: str
    artifacts: list[str]  # file names now in the cache (verified)
    boxes: list[str]  # "name (provider)" added to Vagrant
    boxes_kept: list[str]  # already installed, left as they were
    scenarios: list[str]


def load(
    path: Path,
    lab_dir: Path | None,
    cache: Path,
    add_box: Callable[[str, str, Path], None],
    box_installed: Callable[[str, str], bool],
    progress: Progress | None = None,
    force: bool = False,
) -> Loaded:
    """Install the bundle at `path`: artifacts into `cache` (each verified against the bundle's
    lock), boxes through `add_box(name, provider, file)` unless `box_installed` says they are
    there (or `force`), and the lab file, lock and scenarios into `lab_dir` (default ./NAME):
    lab.yml, labgen.lock, scenarios/.

    Changes on the host: writes only those files (each atomically, after its sha256 matched)
    and whatever add_box changes. Refuses a lab dir that holds a different lab file or lock
    unless `force`. Raises BundleError naming the member and the problem.
    """
    path = Path(path)
    small: dict[str, bytes] = {}
    done_artifacts, added, kept = [], [], []
    with _open(path) as tar:
        manifest = _manifest_from(tar, tar.next(), path)
        lab_dir = Path(lab_dir) if lab_dir else Path.cwd() / manifest.lab
        expected = {i.member: i for i in manifest.items}
        lock = None
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="labgen-bundle-") as scratch:
            # tar.next(), not `for member in tar`: iterating starts again at the manifest
            while (member := tar.next()) is not None:
                item = expected.pop(member.name, None)
                if item is None or not member.isfile() or member.size != item.size:
                    raise BundleError(
                        f"{path}: member {ascii(member.name)[:80]} is not the one its manifest lists",
                        hint="the bundle is damaged or was tampered with",
                    )
                if item.kind in ("lab", "lock", "scenario"):
                    data = _read(tar, member, path)
                    if hashlib.sha256(data).hexdigest() != item.sha256:
                        raise _damaged(path, item)
                    small[item.member] = data
                    if item.kind == "lock":
                        lock = lockfile.Lock(None, lockfile.parse(data.decode("utf-8"), f"{path}: {item.member}"))
                    continue
                if item.kind == "artifact":
                    if lock is None:
                        raise BundleError(f"{path}: artifacts come before the lock")
                    _check_locked(path, item, lock)
                    dest = cache / item.name
                    if dest.is_file() and dest.stat().st_size == item.size and sha256_of(dest) == item.sha256:
                        _skip(tar, member, item, progress)
                    else:
                        _copy_verified(tar, member, item, dest, path, progress)
                    done_artifacts.append(item.name)
                    continue
                label = f"{item.name} ({item.provider})"
                if box_installed(item.name, item.provider) and not force:
                    _skip(tar, member, item, progress)
                    kept.append(label)
                    continue
                box_file = Path(scratch) / f"{uuid.uuid4().hex}.box"
                _copy_verified(tar, member, item, box_file, path, progress)
                add_box(item.name, item.provider, box_file)
                box_file.unlink(missing_ok=True)
                added.append(label)
        if expected:
            raise BundleError(f"{path}: truncated: {', '.join(sorted(expected))} missing", hint="copy the bundle again")
    scenarios = _install_lab_files(lab_dir, manifest, small, force)
    return Loaded(lab_dir, manifest.lab, done_artifacts, added, kept, scenarios)


def _damaged(path: Path, item: Item) -> BundleError:
    return BundleError(
        f"{path}: {item.member} does not match the sha256 its manifest lists",
        hint="the bundle is damaged: copy it again",
    )


def _check_locked(path: Path, item: Item, lock: lockfile.Lock) -> None:
    for entry in lock.entries.values():
        if entry.filename == item.name:
            if entry.sha256 != item.sha256 or entry.size != item.size:
                raise BundleError(
                    f"{path}: artifact {item.name} has sha256 {item.sha256}, but the bundle's lock has {entry.sha256}",
                    hint="the bundle is inconsistent: make it again with `labgen bundle`",
                )
            return
    raise BundleError(f"{path}: artifact {item.name} is not in the bundle's lock")


def _skip(tar, member, item: Item, progress: Progress | None) -> None:
    f = tar.extractfile(member)
    while f.read(CHUNK):
        pass
    if progress:
        progress(item.member, item.size, item.size)


def _copy_verified(tar, member, item: Item, dest: Path, path: Path, progress: Progress | None) -> None:
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.partial")
    try:
        src = _Hashing(tar.extractfile(member), item.member, item.size, progress)
        with open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
        if src.h.hexdigest() != item.sha256:
            raise _damaged(path, item)
        os.replace(tmp, dest)
    except OSError as exc:
        raise BundleError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _install_lab_files(lab_dir: Path, manifest: Manifest, small: dict[str, bytes], force: bool) -> list[str]:
    from labgen.labdir import atomic_write
    from labgen.labfile import parse_lab
    from labgen.yamlsrc import load_text

    from labgen.scenario.load import parse_scenario

    try:
        texts = {m: data.decode("utf-8") for m, data in small.items()}
    except UnicodeDecodeError as exc:
        raise BundleError(f"a file in the bundle is not UTF-8 text ({exc})") from None
    # validated like any lab or scenario file before anything is written (InputError)
    parse_lab(load_text(texts["lab.yml"], "lab.yml (in the bundle)"), "lab.yml (in the bundle)")
    for item in manifest.of("scenario"):
        parse_scenario(load_text(texts[item.member], item.name), item.name)
    writes = {lab_dir / "lab.yml": small["lab.yml"], lab_dir / lockfile.LOCK_NAME: small[lockfile.LOCK_NAME]}
    for item in manifest.of("scenario"):
        writes[lab_dir / "scenarios" / item.name] = small[item.member]
    for dest, data in writes.items():
        if dest.name in ("lab.yml", lockfile.LOCK_NAME) and dest.exists() and not force and dest.read_bytes() != data:
            raise BundleError(
                f"{dest} exists and differs from the bundle's",
                hint="load into another --dir, or pass --force to replace it",
            )
    for dest, data in writes.items():
        atomic_write(dest, data.decode("utf-8"))
    return [i.name for i in manifest.of("scenario")]


# ---------------------------------------------------------------- boxes on this host


def cached_box_file(cache_root: Path, name: str, provider: str) -> Path | None:
    """The newest .box labgen built for `name`/`provider` (boxes/<owner>-<box>-<provider>-*.box)."""
    folder = Path(cache_root) / "boxes"
    if not folder.is_dir():
        return None
    found = sorted(folder.glob(f"{name.replace('/', '-')}-{provider}-*.box"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def installed_box_version(boxes_dir: Path, name: str, provider: str) -> str | None:
    """The newest version of box `name` Vagrant holds for `provider` (its box directory)."""
    folder = Path(boxes_dir) / name.replace("/", "-VAGRANTSLASH-")
    versions = {
        p.parts[len(folder.parts)]
        for pattern in (f"*/{provider}/metadata.json", f"*/*/{provider}/metadata.json")
        for p in folder.glob(pattern)
    }
    if not versions:
        return None

    def key(v: str):
        return [int(x) if x.isdigit() else 0 for x in v.split(".")]

    return max(versions, key=key)


def export_box(name: str, provider: str, boxes_dir: Path, into: Path, timeout: float = 1800) -> Path:
    """`vagrant box repackage` an installed box into `into`/package.box. Raises BundleError."""
    import subprocess

    version = installed_box_version(boxes_dir, name, provider)
    if version is None:
        raise BundleError(
            f"box {name} ({provider}) is neither installed in Vagrant nor built by labgen",
            hint=f"add it (`vagrant box add {name} --provider {provider}`), or pass --no-boxes / another --provider",
        )
    into.mkdir(parents=True, exist_ok=True)
    try:
        res = subprocess.run(
            ["vagrant", "box", "repackage", name, provider, version],
            cwd=into,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundleError(f"vagrant box repackage {name}: {exc}") from None
    out = into / "package.box"
    if res.returncode != 0 or not out.is_file():
        last = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BundleError(f"vagrant box repackage {name} {provider} {version} failed: {last[0]}")
    return out


def vagrant_box_add(name: str, provider: str, box_file: Path, timeout: float = 1800) -> None:
    """`vagrant box add --force --name NAME --provider P FILE`. Raises BundleError."""
    import subprocess

    try:
        res = subprocess.run(
            ["vagrant", "box", "add", "--force", "--name", name, "--provider", provider, str(box_file)],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundleError(f"vagrant box add {name}: {exc}") from None
    if res.returncode != 0:
        last = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BundleError(f"vagrant box add {name} ({provider}) failed: {last[0]}")
