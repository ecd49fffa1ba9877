"""A student's progress through a scenario, kept in the lab dir: .labgen/progress.json.

Several labgen processes may act on one lab at once (a student's `labgen scenario check`
while the classroom server reads the board). Every change is a read-modify-write under an
exclusive fcntl lock on .labgen/progress.lock, and the file is replaced in one rename, so a
reader without the lock always sees a whole file. A check (seconds of SSH) runs outside that
lock; `check_slot()` is a second, non-blocking lock that lets only one check run per lab.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Iterator

from labgen.errors import LabgenError
from labgen.labdir import LabDir, atomic_write

VERSION = 1


def progress_file(lab_dir: LabDir) -> Path:
    return lab_dir.meta / "progress.json"


def now() -> float:
    return round(time.time(), 3)


def load(lab_dir: LabDir) -> dict | None:
    """The progress of the scenario started on this lab, or None when none was started."""
    try:
        data = json.loads(progress_file(lab_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabgenError(
            f"{progress_file(lab_dir)}: unreadable progress: {exc}", hint="`labgen scenario start SCENARIO` starts over"
        ) from None
    return data if isinstance(data, dict) and data.get("version") == VERSION else None


def fresh(scenario_id: str, source: str, variant: str) -> dict:
    return {
        "version": VERSION,
        "scenario": scenario_id,
        "source": source,
        "variant": variant,
        "started": now(),
        "updated": now(),
        "current": None,
        "finished": None,
        "captures": {},
        "steps": {},
    }


def step_record(progress: dict, step_id: str, kind: str) -> dict:
    """The record of one student step, made on first use."""
    return progress["steps"].setdefault(
        step_id,
        {
            "kind": kind,
            "status": "open",
            "opened": now(),
            "closed": None,
            "attempts": 0,
            "passed": 0,
            "hints": 0,
            "last": None,
        },
    )


@contextlib.contextmanager
def _flock(path: Path, flags: int) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, flags)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def changing(lab_dir: LabDir) -> Iterator[dict]:
    """Lock, load, let the caller change the progress dict, save. Raises LabgenError when no
    scenario was started."""
    with _flock(lab_dir.meta / "progress.lock", fcntl.LOCK_EX):
        progress = load(lab_dir)
        if progress is None:
            raise LabgenError("no scenario started on this lab", hint="`labgen scenario start mac-bug` starts one")
        yield progress
        progress["updated"] = now()
        save(lab_dir, progress)


def replace(lab_dir: LabDir, progress: dict) -> None:
    """Write a whole new progress (start, reset) under the lock."""
    with _flock(lab_dir.meta / "progress.lock", fcntl.LOCK_EX):
        progress["updated"] = now()
        save(lab_dir, progress)


def save(lab_dir: LabDir, progress: dict) -> None:
    atomic_write(progress_file(lab_dir), json.dumps(progress, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def check_slot(lab_dir: LabDir) -> Iterator[None]:
    """Hold the lab's one check slot while the block runs (checks, solutions, resets).
    Raises LabgenError at once when another process or thread holds it."""
    path = lab_dir.meta / "check.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabgenError(
                "a check is already running on this lab", hint="wait for it to finish, then try again"
            ) from None
        yield
    finally:
        os.close(fd)
