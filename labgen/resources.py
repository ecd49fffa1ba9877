"""Where the files that ship with labgen live: inside the wheel, or at the top of a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource(name: str) -> Path:
    """Path of a shipped top-level file or folder (Vagrantfile.j2, scenarios, boxes).

    An installed wheel holds them under labgen/_data (see pyproject's force-include); an
    editable install or a checkout finds them at the repository's top level.
    """
    for base in (_PACKAGE / "_data", _PACKAGE.parent):
        candidate = base / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"labgen resource {name!r} is missing from this installation")


def builtin_labs_dir() -> Path:
    return _PACKAGE / "labs"
