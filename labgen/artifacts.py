"""Declared downloads (binaries, .deb files, image tarballs, apt keys): fetched once on the host
into a verified cache, then uploaded to the nodes over SFTP.

A classroom fetches each file once (or carries the cache on a USB stick: ``--artifacts DIR``)
instead of once per VM over the venue's network. Nothing here prints: progress goes to a
callback, failures raise ArtifactError with a message a user can act on.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Callable, Iterable, Mapping

from labgen.errors import LabgenError
from labgen.model import ARTIFACT_DIR, Artifact  # noqa: F401  (Artifact: re-exported)
from labgen.provision import pins

NODE_DIR = ARTIFACT_DIR
ALLOW_UNPINNED_ENV = "LABGEN_ALLOW_UNPINNED"
ARTIFACTS_ENV = "LABGEN_ARTIFACTS"      # a dir (USB stick) searched before the cache when provisioning
CHUNK = 1 << 16

# progress(done_bytes, total_bytes_or_None), called from the downloading thread
Progress = Callable[[int, "int | None"], None]


class ArtifactError(LabgenError):
    """An artifact could not be had: unreachable, HTTP error, wrong checksum, not pinned."""


def cache_dir() -> Path:
    """The host's artifact cache: ${LABGEN_CACHE:-~/.cache/labgen}/artifacts (not created here)."""
    base = os.environ.get("LABGEN_CACHE") or str(Path.home() / ".cache" / "labgen")
    return Path(base).expanduser() / "artifacts"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)   # pragma: no cover


def _supply(artifact: Artifact, cache: Path) -> str:
    pinned = f" (sha256 {artifact.sha256})" if artifact.sha256 else ""
    return f"put {artifact.filename}{pinned} in {cache}/ or pass --artifacts DIR holding it"


def _fail(artifact: Artifact, cache: Path, problem: str, extra: str = "") -> ArtifactError:
    return ArtifactError(f"artifact {artifact.name}: {artifact.url}: {problem}; "
                         f"{extra}{_supply(artifact, cache)}",
                         hint="`labgen fetch LAB` fills the cache ahead of time on a connected machine")


def _allow_unpinned(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return os.environ.get(ALLOW_UNPINNED_ENV, "") not in ("", "0", "no", "false")


def fetch(artifact: Artifact, cache: Path | None = None, artifacts_dir: Path | None = None,
          progress: Progress | None = None, *, timeout: float = 30.0,
          allow_unpinned: bool | None = None) -> Path:
    """The verified local copy of `artifact`, in the cache: from `artifacts_dir` (copied into
    the cache), else the cache, else downloaded from its URL.

    Changes on the host: creates the cache dir; writes `<cache>/<filename>` only after its
    sha256 matched (download to a temporary name, then an atomic rename; nothing partial is
    ever left); removes a cached copy whose checksum no longer matches.
    An unpinned artifact (sha256 None) is refused unless the user allowed it (`allow_unpinned`,
    or LABGEN_ALLOW_UNPINNED=1); then a supplied or cached copy is used, else it is downloaded,
    and it stays unverified (pin its sha256 in labgen/provision/pins.py to change that).
    Raises ArtifactError naming the artifact, the URL, what was received and how to supply it.
    """
    cache = Path(cache) if cache is not None else cache_dir()
    want = artifact.sha256.lower() if artifact.sha256 else None
    supplied = Path(artifacts_dir) / artifact.filename if artifacts_dir else None
    cached = cache / artifact.filename

    if want is None:
        if not _allow_unpinned(allow_unpinned):
            raise _fail(artifact, cache, "no sha256 is pinned for it, so labgen cannot verify it",
                        f"to use a copy you trust, set {ALLOW_UNPINNED_ENV}=1 and ")
        if supplied is not None and supplied.is_file():
            return _into_cache(supplied, cache, cached)
        if cached.is_file():
            return cached
        return _download(artifact, cache, None, progress, timeout)   # consented: unverified

    if supplied is not None and supplied.is_file():
        got = sha256_file(supplied)
        if got != want:
            raise ArtifactError(
                f"artifact {artifact.name}: {supplied} (from --artifacts) has sha256 {got}, "
                f"expected {want} ({_size(supplied.stat().st_size)}); it is not the file pinned for "
                f"{artifact.url}; replace it, or drop --artifacts to use the cache or the network")
        if cached.is_file() and sha256_file(cached) == want:
            return cached
        return _into_cache(supplied, cache, cached)

    if cached.is_file():
        if sha256_file(cached) == want:
            return cached
        cached.unlink()           # corrupted or an older pin: ours to replace

    return _download(artifact, cache, want, progress, timeout)


def _into_cache(supplied: Path, cache: Path, cached: Path) -> Path:
    """Copy a user-supplied file into the cache (atomically), so later runs need no stick."""
    tmp = cache / f".{cached.name}.{uuid.uuid4().hex}.partial"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(supplied, tmp)
        os.replace(tmp, cached)
    except OSError:
        tmp.unlink(missing_ok=True)
        return supplied       # a read-only or full cache must not block a good USB copy
    return cached


def _download(artifact: Artifact, cache: Path, want: str | None, progress: Progress | None,
              timeout: float) -> Path:
    import http.client
    import socket
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    if urlsplit(artifact.url).scheme not in ("http", "https", "ftp", "file"):
        how = f" ({artifact.description})" if artifact.description else ""
        raise _fail(artifact, cache, f"this is not a URL labgen can download{how}")
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(artifact, cache, f"cannot create the cache dir: {exc.strerror}")
    final = cache / artifact.filename
    tmp = cache / f".{artifact.filename}.{uuid.uuid4().hex}.partial"
    h = hashlib.sha256()
    done = 0
    try:
        request = urllib.request.Request(artifact.url, headers={"User-Agent": "labgen"})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            status = getattr(resp, "status", None)     # None for file:// URLs
            if status not in (None, 200):
                raise _fail(artifact, cache, f"HTTP {status} {resp.reason}")
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
                raise _fail(artifact, cache, f"connection closed after {_size(done)} of {_size(total)}")
        got = h.hexdigest()
        if want is not None and got != want:
            raise _fail(artifact, cache, f"got sha256 {got}, expected {want} ({_size(done)} received)")
        os.replace(tmp, final)
        return final
    except urllib.error.HTTPError as exc:
        raise _fail(artifact, cache, f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = "timed out" if isinstance(reason, socket.timeout) else str(getattr(reason, "strerror", None) or reason)
        raise _fail(artifact, cache, f"connection error: {text}") from None
    except (socket.timeout, TimeoutError):
        raise _fail(artifact, cache, f"timed out after {timeout:g} s ({_size(done)} received)") from None
    except (OSError, http.client.HTTPException) as exc:
        raise _fail(artifact, cache, f"connection error: {exc.__class__.__name__}: {exc} "
                                     f"({_size(done)} received)") from None
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
        raise LabgenError(f"{node}: artifact {artifact.name} at {dest} has sha256 {got} after "
                          f"upload, expected {want}")
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
        raise ArtifactError(f"artifact {name}: not declared in labgen/provision/pins.py (ARTIFACTS)",
                            hint="declare it there with its URL and sha256")
    return table[name]


class Stager:
    """Fetches each artifact at most once per run (nodes call it from parallel threads) and
    uploads it to the nodes that need it. A failure is remembered too: three nodes do not
    each wait for the same unreachable URL."""

    def __init__(self, cache: Path | None = None, artifacts_dir: Path | None = None,
                 resolve: Callable[[str], Artifact] = resolve, progress: Progress | None = None,
                 timeout: float = 30.0, allow_unpinned: bool | None = None):
        self.cache = cache
        env_dir = os.environ.get(ARTIFACTS_ENV)
        self.artifacts_dir = artifacts_dir or (Path(env_dir) if env_dir else None)
        self.resolve = resolve
        self.progress = progress
        self.timeout = timeout
        self.allow_unpinned = allow_unpinned
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
                    path = fetch(artifact, self.cache, self.artifacts_dir, self.progress,
                                 timeout=self.timeout, allow_unpinned=self.allow_unpinned)
                    self._results[name] = (artifact, path)
                except ArtifactError as exc:
                    self._results[name] = exc
            result = self._results[name]
        if isinstance(result, ArtifactError):
            raise result
        return result

    def stage(self, remote, node: str, names: Iterable[str]) -> list[str]:
        """Fetch every one of `names` first (so a failure writes nothing on the node), then
        upload them. Returns the names uploaded. Raises ArtifactError / LabgenError."""
        local = [self.local(name) for name in names]
        return [artifact.name for artifact, path in local if upload(remote, node, artifact, path)]
