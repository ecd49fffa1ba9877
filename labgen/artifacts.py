"""Declared downloads (binaries, .deb files, tarballs, saved images): fetched once on the host
into a verified cache, then uploaded to the nodes over SFTP.

A classroom fetches each file once (or carries the cache on a USB stick: ``--artifacts DIR``)
instead of once per VM over the venue's network. What each file must be comes from labgen's
pins or, for the 2018 files nobody published a checksum for, from the lab's lock file
(labgen/lockfile.py: trust on first use). Nothing here prints: progress goes to a
callback, failures raise ArtifactError with a message a user can act on.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import socket
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from labgen.aptsig import SignatureError, expected_sha256
from labgen.errors import LabgenError
from labgen.lockfile import Entry, Lock, LockError
from labgen.mirrors import Mirrors
from labgen.model import ARTIFACT_DIR, AptRepo, Artifact
from labgen.provision import pins

NODE_DIR = ARTIFACT_DIR
ARTIFACTS_ENV = "LABGEN_ARTIFACTS"  # a dir (USB stick) searched before the cache when provisioning
CHUNK = 1 << 16

# progress(done_bytes, total_bytes_or_None), called from the downloading thread
Progress = Callable[[int, "int | None"], None]


class ArtifactError(LabgenError):
    """An artifact could not be had: unreachable, HTTP error, wrong checksum, not locked."""


@dataclass(frozen=True)
class Fetched:
    path: Path  # the verified copy in the cache (or the supplied file)
    source: str  # "supplied", "cached" or "downloaded"
    locked: str  # "" (matched the lock or labgen's pin), "new" or "replaced" (recorded now)


def cache_root() -> Path:
    """labgen's cache: $LABGEN_CACHE, else ~/.cache/labgen (not created here)."""
    base = os.environ.get("LABGEN_CACHE") or str(Path.home() / ".cache" / "labgen")
    return Path(base).expanduser()


def cache_dir() -> Path:
    """The host's artifact cache: <cache_root>/artifacts (not created here)."""
    return cache_root() / "artifacts"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def size_text(n: float) -> str:
    """Bytes as people write them: "1023 bytes", "1.5 KiB", "3.5 GiB" (also `classroom images`)."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _supply(artifact: Artifact, cache: Path, want: str | None) -> str:
    pinned = f" (sha256 {want})" if want else ""
    return f"put {artifact.filename}{pinned} in {cache}/ or pass --artifacts DIR holding it"


def _fail(
    artifact: Artifact, cache: Path, problem: str, want: str | None = None, url: str | None = None
) -> ArtifactError:
    return ArtifactError(
        f"artifact {artifact.name}: {url or artifact.url}: {problem}; {_supply(artifact, cache, want)}",
        hint="`labgen fetch LAB` fills the cache ahead of time on a connected machine",
    )


def _lock_name(lock: Lock) -> str:
    return str(lock.path) if lock.path is not None else "this run's lock"


def fetch(
    artifact: Artifact,
    cache: Path | None = None,
    artifacts_dir: Path | None = None,
    progress: Progress | None = None,
    *,
    timeout: float = 30.0,
    lock: Lock | None = None,
    frozen: bool = False,
    mirrors: Mirrors | None = None,
) -> Path:
    """The verified local copy of `artifact` (see `obtain`)."""
    return obtain(
        artifact, cache, artifacts_dir, progress, timeout=timeout, lock=lock, frozen=frozen, mirrors=mirrors
    ).path


def obtain(
    artifact: Artifact,
    cache: Path | None = None,
    artifacts_dir: Path | None = None,
    progress: Progress | None = None,
    *,
    timeout: float = 30.0,
    lock: Lock | None = None,
    frozen: bool = False,
    mirrors: Mirrors | None = None,
) -> Fetched:
    """`artifact`, verified: from `artifacts_dir` (copied into the cache), else the cache, else
    downloaded from its URL (or the URL `mirrors` gives for it).

    What it must be: labgen's pinned sha256 if it has one, else the `lock`'s entry for it.
    Without either (trust on first use), whatever is obtained is recorded in `lock` (URL,
    size, sha256; the lock file is saved at once); with `frozen`, that is refused instead.
    Changes on the host: creates the cache dir; writes `<cache>/<filename>` only after it was
    verified (temporary name, then an atomic rename: nothing partial is left); removes a cached
    copy that no longer matches; writes the lock file when it records an entry.
    Raises ArtifactError naming the artifact, the URL, both hashes on a mismatch, and how to
    supply it; LockError when the lock file cannot be written.
    """
    cache = Path(cache) if cache is not None else cache_dir()
    lock = lock if lock is not None else Lock(None)
    pinned = artifact.sha256.lower() if artifact.sha256 else None
    entry = lock.get(artifact.name)
    stale = False
    if entry is not None and (entry.url, entry.filename) != (artifact.url, artifact.filename):
        stale = True
        if frozen:
            raise ArtifactError(
                f"artifact {artifact.name}: {_lock_name(lock)} locks {entry.url} ({entry.filename}), "
                f"but the lab now wants {artifact.url} ({artifact.filename}); --frozen refuses to re-lock it",
                hint="run `labgen fetch LAB` without --frozen, review the change to the lock and commit it",
            )
        entry = None
    if pinned and entry and entry.sha256 != pinned:
        raise ArtifactError(
            f"artifact {artifact.name}: {_lock_name(lock)} has sha256 {entry.sha256}, "
            f"but labgen pins {pinned} for {artifact.url}",
            hint="the lock is wrong: remove its entry for this artifact and fetch again",
        )
    want = pinned or (entry.sha256 if entry else None)
    if want is None and frozen:
        raise ArtifactError(
            f"artifact {artifact.name}: {artifact.url} is not in {_lock_name(lock)}, and --frozen "
            "accepts only locked files",
            hint="run `labgen fetch LAB` without --frozen on a connected machine once, then review "
            "and commit the lock file",
        )
    supplied = Path(artifacts_dir) / artifact.filename if artifacts_dir else None
    cached = cache / artifact.filename
    signed = None
    if want is None and artifact.signed is not None and not (supplied is not None and supplied.is_file()):
        # the publisher says what it must be: no trust on first use needed
        signed = want = _signed_sha256(artifact, artifact.signed, cache, mirrors, timeout)
    expected = _Expected(artifact, want, entry, pinned, lock, signed)

    if supplied is not None and supplied.is_file():
        got = sha256_file(supplied)
        if want is not None and got != want:
            raise ArtifactError(
                f"artifact {artifact.name}: {supplied} (from --artifacts) has sha256 {got} "
                f"({size_text(supplied.stat().st_size)}), {expected.describe()}; replace it, or drop "
                "--artifacts to use the cache or the network"
            )
        if cached.is_file() and sha256_file(cached) == got:
            return _record(artifact, lock, entry, stale, Fetched(cached, "supplied", ""), got)
        return _record(artifact, lock, entry, stale, Fetched(_into_cache(supplied, cache, cached), "supplied", ""), got)

    if cached.is_file():
        got = sha256_file(cached)
        if want is None or got == want:
            return _record(artifact, lock, entry, stale, Fetched(cached, "cached", ""), got)
        cached.unlink()  # corrupted, or from before the lock changed: ours to replace

    url = mirrors.url_for(artifact.name, artifact.url) if mirrors else artifact.url
    path, got = _download(artifact, url, cache, expected, progress, timeout)
    return _record(artifact, lock, entry, stale, Fetched(path, "downloaded", ""), got)


@dataclass(frozen=True)
class _Expected:
    artifact: Artifact
    want: str | None
    entry: Entry | None
    pinned: str | None
    lock: Lock
    signed: str | None = None

    def describe(self) -> str:
        if self.pinned:
            return f"expected {self.want} (labgen's pin)"
        if self.signed and self.artifact.signed is not None:
            return f"expected {self.want} ({self.artifact.signed.describe()})"
        size = f" ({size_text(self.entry.size)})" if self.entry is not None else ""
        return f"but {_lock_name(self.lock)} has sha256 {self.want}{size}, recorded when it was first fetched"


def _signed_sha256(artifact: Artifact, repo: AptRepo, cache: Path, mirrors: Mirrors | None, timeout: float) -> str:
    def get(url: str) -> bytes:
        where = mirrors.url_for("", url) if mirrors else url
        return _get_bytes(artifact, where, cache, timeout)

    try:
        sha, _ = expected_sha256(repo, artifact.url, get)
    except SignatureError as exc:
        raise ArtifactError(
            f"artifact {artifact.name}: {exc.message}",
            hint=exc.hint or "the publisher's signature does not hold: do not use this file",
        ) from None
    return sha


def _get_bytes(artifact: Artifact, url: str, cache: Path, timeout: float, limit: int = 256 << 20) -> bytes:
    """A small download (a key, an apt index) into memory. Raises ArtifactError."""
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "labgen"})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            data = resp.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise _fail(artifact, cache, f"HTTP {exc.code} {exc.reason}", url=url) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _fail(
            artifact, cache, f"connection error: {getattr(reason, 'strerror', None) or reason}", url=url
        ) from None
    if len(data) > limit:
        raise _fail(artifact, cache, f"larger than {size_text(limit)}", url=url)
    return data


def _record(artifact: Artifact, lock: Lock, entry: Entry | None, stale: bool, got: Fetched, sha: str) -> Fetched:
    if entry is not None:
        return got
    lock.record(artifact.name, Entry(artifact.url, artifact.filename, got.path.stat().st_size, sha))
    return Fetched(got.path, got.source, "replaced" if stale else "new")


def _into_cache(supplied: Path, cache: Path, cached: Path) -> Path:
    """Copy a user-supplied file into the cache (atomically), so later runs need no stick."""
    tmp = cache / f".{cached.name}.{uuid.uuid4().hex}.partial"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(supplied, tmp)
        os.replace(tmp, cached)
    except OSError:
        with contextlib.suppress(OSError):  # also when the cache's parent is not a dir
            tmp.unlink()
        return supplied  # a read-only or full cache must not block a good USB copy
    return cached


def _download(
    artifact: Artifact, url: str, cache: Path, expected: _Expected, progress: Progress | None, timeout: float
) -> tuple[Path, str]:
    want = expected.want
    where = url if url == artifact.url else f"{url} (mirror of {artifact.url})"
    if urlsplit(url).scheme not in ("http", "https", "file"):
        how = f" ({artifact.description})" if artifact.description else ""
        raise _fail(artifact, cache, f"this is not a URL labgen can download{how}", want, where)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(artifact, cache, f"cannot create the cache dir: {exc.strerror}", want, where) from None
    final = cache / artifact.filename
    tmp = cache / f".{artifact.filename}.{uuid.uuid4().hex}.partial"
    h = hashlib.sha256()
    done = 0
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "labgen"})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            status = getattr(resp, "status", None)  # None for file:// URLs
            if status not in (None, 200):
                raise _fail(artifact, cache, f"HTTP {status} {resp.reason}", want, where)
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if progress:
                progress(0, total)
            with open(tmp, "wb") as out:
                for block in iter(lambda: resp.read(CHUNK), b""):
                    out.write(block)
                    h.update(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
            if total is not None and done != total:
                raise _fail(
                    artifact, cache, f"connection closed after {size_text(done)} of {size_text(total)}", want, where
                )
        got = h.hexdigest()
        if want is not None and got != want:
            if expected.pinned:
                problem = f"got sha256 {got}, expected {want} ({size_text(done)} received)"
            elif expected.signed:
                problem = f"got sha256 {got} ({size_text(done)} received), {expected.describe()}"
            else:
                problem = (
                    f"the file changed since it was locked: the server sent sha256 {got} "
                    f"({size_text(done)}), {expected.describe()}"
                )
            raise _fail(artifact, cache, problem, want, where)
        os.replace(tmp, final)
        return final, got
    except urllib.error.HTTPError as exc:
        raise _fail(artifact, cache, f"HTTP {exc.code} {exc.reason}", want, where) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = "timed out" if isinstance(reason, socket.timeout) else str(getattr(reason, "strerror", None) or reason)
        raise _fail(artifact, cache, f"connection error: {text}", want, where) from None
    except (socket.timeout, TimeoutError):
        raise _fail(
            artifact, cache, f"timed out after {timeout:g} s ({size_text(done)} received)", want, where
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise _fail(
            artifact,
            cache,
            f"connection error: {exc.__class__.__name__}: {exc} ({size_text(done)} received)",
            want,
            where,
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


# ---- nodes


def upload(remote, node: str, artifact: Artifact, path: Path) -> bool:
    """Make sure `node` holds `path` at /var/cache/labgen/<filename> (root, 0644).

    Changes on the node: only when the node's copy is missing or its sha256 differs: SFTP to a
    temporary file, then sudo install; the result is checked. Returns whether it uploaded.
    Raises LabgenError when SSH or the install fails.
    """
    want = artifact.sha256.lower() if artifact.sha256 else sha256_file(path)
    dest = artifact.node_path
    if remote.file_sha256(node, dest) == want:
        return False
    remote.put_file(node, Path(path), dest, mode="0644", owner="root")
    got = remote.file_sha256(node, dest)
    if got != want:
        raise LabgenError(f"{node}: artifact {artifact.name} at {dest} has sha256 {got} after upload, expected {want}")
    return True


def declared() -> Mapping[str, Artifact]:
    """name -> Artifact from labgen.provision.pins.ARTIFACTS (a mapping or a sequence)."""
    table = pins.ARTIFACTS
    if isinstance(table, Mapping):
        return dict(table)
    return {a.name: a for a in table}


def resolve(name: str) -> Artifact:
    """The declared Artifact called `name`. Raises ArtifactError when none is."""
    table = declared()
    if name not in table:
        raise ArtifactError(
            f"artifact {name}: not declared in labgen/provision/pins.py (ARTIFACTS)",
            hint="declare it there with its URL and sha256",
        )
    return table[name]


class Stager:
    """Fetches each artifact at most once per run (nodes call it from parallel threads) and
    uploads it to the nodes that need it. A failure is remembered too: three nodes do not
    each wait for the same unreachable URL."""

    def __init__(
        self,
        cache: Path | None = None,
        artifacts_dir: Path | None = None,
        resolve: Callable[[str], Artifact] = resolve,
        progress: Progress | None = None,
        timeout: float = 30.0,
        lock: Lock | None = None,
        frozen: bool = False,
        mirrors: Mirrors | None = None,
    ):
        self.cache = cache
        env_dir = os.environ.get(ARTIFACTS_ENV)
        self.artifacts_dir = artifacts_dir or (Path(env_dir) if env_dir else None)
        self.resolve = resolve
        self.progress = progress
        self.timeout = timeout
        self.lock = lock if lock is not None else Lock(None)
        self.frozen = frozen
        self.mirrors = mirrors
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._results: dict[str, tuple[Artifact, Path] | ArtifactError] = {}

    def local(self, name: str) -> tuple[Artifact, Path]:
        """(artifact, verified host path). Raises ArtifactError (the same one on every call)."""
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._results:
                try:
                    artifact = self.resolve(name)
                    path = fetch(
                        artifact,
                        self.cache,
                        self.artifacts_dir,
                        self.progress,
                        timeout=self.timeout,
                        lock=self.lock,
                        frozen=self.frozen,
                        mirrors=self.mirrors,
                    )
                    self._results[name] = (artifact, path)
                except ArtifactError as exc:
                    self._results[name] = exc
                except LockError as exc:  # the engine reports artifact failures per task
                    self._results[name] = ArtifactError(exc.message, hint=exc.hint)
            result = self._results[name]
        if isinstance(result, ArtifactError):
            raise result
        return result

    def stage(self, remote, node: str, names: Iterable[str]) -> list[str]:
        """Fetch every one of `names` first (so a failure writes nothing on the node), then
        upload them. Returns the names uploaded. Raises ArtifactError / LabgenError."""
        local = [self.local(name) for name in names]
        return [artifact.name for artifact, path in local if upload(remote, node, artifact, path)]
