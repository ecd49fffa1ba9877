"""labgen.lock: what each downloaded artifact was the first time it was fetched (trust on
first use), so that every later fetch, on this machine or another, gets the same bytes.

One JSON file per lab (in the lab dir), sorted keys, one entry per artifact name:
URL, file name, size and sha256. Reviewable in a diff and committable with the lab. A lock
comes from strangers too (a bundle, a repository): every field is validated on load.
Nothing here downloads or prints.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from labgen import schemas
from labgen.errors import LabgenError
from labgen.urls import url_problem

LOCK_NAME = "labgen.lock"
COMMENT = (
    "labgen artifact lock: the URL, size and sha256 of each download the first time it "
    "was fetched. Later fetches (here and on other machines) must match. Review changes "
    "to this file like code."
)

# The structure comes from the published schema, labgen/schemas/lock.json.
LOCK_VERSION = schemas.node("lock", "properties/version")["const"]


class LockError(LabgenError):
    """A lock file is unreadable or invalid."""


@dataclass(frozen=True)
class Entry:
    url: str  # the artifact's own URL (not a mirror's): a lock is portable between venues
    filename: str
    size: int
    sha256: str

    def as_json(self) -> dict:
        return {"filename": self.filename, "sha256": self.sha256, "size": self.size, "url": self.url}


class Lock:
    """The entries of one lock file. `path` None: an in-memory lock (never saved).

    Thread-safe: nodes fetch in parallel and each new entry is saved at once (atomically), so
    an interrupted run keeps what it verified."""

    def __init__(self, path: Path | None, entries: dict[str, Entry] | None = None):
        self.path = Path(path) if path is not None else None
        self.entries: dict[str, Entry] = dict(entries or {})
        self._guard = threading.Lock()

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def get(self, name: str) -> Entry | None:
        return self.entries.get(name)

    def record(self, name: str, entry: Entry) -> None:
        """Add or replace `name`'s entry and save the file (when it has a path).
        Raises LockError when the file cannot be written."""
        with self._guard:
            self.entries[name] = entry
            if self.path is not None:
                self._save(self.path)

    def text(self) -> str:
        data = {
            "comment": COMMENT,
            "version": LOCK_VERSION,
            "artifacts": {n: e.as_json() for n, e in sorted(self.entries.items())},
        }
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n"

    def _save(self, path: Path) -> None:
        from labgen.labdir import atomic_write

        try:
            atomic_write(path, self.text())
        except OSError as exc:
            raise LockError(f"{path}: cannot write the lock file: {exc.strerror or exc}") from None


def load(path: Path, must_exist: bool = False) -> Lock:
    """The lock at `path` (an empty lock bound to `path` when the file does not exist yet).

    Raises LockError naming the file and the first problem when it is unreadable or invalid,
    or (with `must_exist`) missing.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if must_exist:
            raise LockError(
                f"{path}: no lock file", hint="run `labgen fetch LAB` once on a connected machine to write it"
            ) from None
        return Lock(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"{path}: unreadable lock file: {exc}") from None
    return Lock(path, parse(text, str(path)))


def parse(text: str, source: str) -> dict[str, Entry]:
    """Validate a lock file's text. Raises LockError (`source`: the file, for messages)."""

    def bad(problem: str) -> LockError:
        return LockError(
            f"{source}: {problem}", hint="restore it from version control, or delete it to lock again from scratch"
        )

    try:
        data = json.loads(text)
    except ValueError as exc:
        raise bad(f"not JSON ({exc})") from None
    schema_check(data, "lock", bad)
    entries = {}
    for name, value in data.get("artifacts", {}).items():
        why = url_problem(value["url"], ("http", "https", "file", "docker-save"))
        if why:
            raise bad(f"artifact {name}: url {why}")
        entries[name] = Entry(value["url"], value["filename"], value["size"], value["sha256"])
    return entries


def schema_check(data: object, kind: str, bad) -> None:
    """The structure, from the published schema: raises bad(the first problem) (these files
    are written by labgen, so one problem is enough to say the file is damaged)."""
    from labgen import schemacheck
    from labgen.validate import Problems

    problems = Problems("")
    schemacheck.check(data, kind, problems)
    if problems:
        raise bad(problems.sorted()[0].lstrip(": "))


def lock_path(lab_dir: Path) -> Path:
    """Where a lab dir keeps its lock."""
    return Path(lab_dir) / LOCK_NAME
