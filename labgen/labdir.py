"""The lab dir: Vagrantfile, lab.yml (the lab it was made from) and .labgen/ (state, ssh config).

state.json is written atomically (temp file + rename) so Ctrl-C never leaves half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from labgen.errors import LabgenError

STATE_VERSION = 1


def atomic_write(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with `text` in one rename; creates parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class LabDir:
    """One lab's folder on the host."""

    def __init__(self, path: Path):
        self.path = Path(path).resolve()

    vagrantfile = property(lambda self: self.path / "Vagrantfile")
    labfile = property(lambda self: self.path / "lab.yml")
    meta = property(lambda self: self.path / ".labgen")
    state_file = property(lambda self: self.meta / "state.json")
    ssh_config_file = property(lambda self: self.meta / "ssh-config")
    transcripts = property(lambda self: self.path / "transcripts")

    def exists(self) -> bool:
        return self.state_file.exists() and self.labfile.exists()

    # ---- state

    def load_state(self) -> dict:
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": STATE_VERSION, "roles": {}}
        except (OSError, ValueError) as exc:
            raise LabgenError(
                f"{self.state_file}: unreadable state: {exc}", hint="delete it and run `labgen provision` to rebuild it"
            ) from None
        state.setdefault("roles", {})
        return state

    def save_state(self, state: dict) -> None:
        state["version"] = STATE_VERSION
        atomic_write(self.state_file, json.dumps(state, indent=2, sort_keys=True) + "\n")

    def update_state(self, **changes) -> dict:
        state = self.load_state()
        state.update(changes)
        self.save_state(state)
        return state

    def record_role(self, node: str, role: str, fingerprint: str) -> None:
        state = self.load_state()
        state["roles"].setdefault(node, {})[role] = fingerprint
        self.save_state(state)

    def forget_roles(self) -> None:
        state = self.load_state()
        state["roles"] = {}
        self.save_state(state)

    # ---- cached ssh config (one `vagrant ssh-config` costs a Ruby start: ~1-2 s)

    def cached_ssh_config(self) -> str | None:
        try:
            return self.ssh_config_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def save_ssh_config(self, text: str) -> None:
        atomic_write(self.ssh_config_file, text, mode=0o600)

    def drop_ssh_config(self) -> None:
        with contextlib.suppress(OSError):
            self.ssh_config_file.unlink()


def find_lab_dir(start: Path | None = None) -> LabDir:
    """The lab dir holding `start` (default: the current directory), searching upwards."""
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        lab_dir = LabDir(candidate)
        if lab_dir.exists():
            return lab_dir
    raise LabgenError(
        f"no lab in {here} or above", hint="cd into a lab dir, pass --dir, or create one: `labgen create mesos-calico`"
    )
