"""The only module that talks to Vagrant (through python-vagrant).

python-vagrant raises bare CalledProcessError and its status()/ssh_config() quietly return
half-parsed results on error; every call here checks what came back and raises ProviderError
with the tail of Vagrant's own stderr, which is where its explanation is.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from labgen.errors import PreflightError, ProviderError


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class VagrantEnv:
    """A Vagrant environment: the lab dir holding the rendered Vagrantfile."""

    def __init__(self, root: Path, provider: str, extra_env: dict[str, str] | None = None):
        import vagrant  # python-vagrant; imported here to keep the CLI's start-up fast

        self.root = Path(root)
        self.provider = provider
        self._stderr_path = None
        env = dict(os.environ)
        env.setdefault("VAGRANT_CHECKPOINT_DISABLE", "1")   # no phone-home: the network is closed
        env.setdefault("VAGRANT_NO_COLOR", "1")
        env.update(extra_env or {})             # the provider's, e.g. the libvirt driver
        self._v = vagrant.Vagrant(root=str(self.root), env=env, err_cm=self._err_cm,
                                  quiet_stdout=True)
        self._last_stderr = ""

    @contextlib.contextmanager
    def _err_cm(self):
        # Keep Vagrant's stderr so a failure can be explained, not just reported as exit 1.
        with tempfile.TemporaryFile(mode="w+b") as fh:
            try:
                yield fh
            finally:
                fh.seek(0)
                self._last_stderr = fh.read().decode("utf-8", "replace")

    def _fail(self, action: str, exc: Exception, hint: str | None = None) -> ProviderError:
        detail = _tail(self._last_stderr) or str(exc)
        return ProviderError(f"vagrant {action} failed: {detail}",
                             hint=hint or f"run `vagrant {action}` in {self.root} to see the whole output")

    def up(self, nodes: Iterable[str] = (), on_line: Callable[[str], None] | None = None) -> None:
        """Boot `nodes` (all when empty) with this env's provider; streams output to on_line."""
        args = ["up", "--provider", self.provider, "--no-provision", *nodes]
        self._stream(args, on_line)

    def halt(self, nodes: Iterable[str] = (), on_line=None) -> None:
        self._stream(["halt", *nodes], on_line)

    def destroy(self, nodes: Iterable[str] = (), on_line=None) -> None:
        self._stream(["destroy", "--force", *nodes], on_line)

    def _stream(self, args: list[str], on_line) -> None:
        try:
            for line in self._v._stream_vagrant_command(args):
                if on_line:
                    on_line(line.rstrip("\n"))
        except subprocess.CalledProcessError as exc:
            raise self._fail(args[0], exc) from None
        except (RuntimeError, FileNotFoundError) as exc:   # vagrant binary missing
            raise PreflightError(f"vagrant cannot run: {exc}",
                                 hint="install vagrant (Debian: apt-get install vagrant)") from None

    def status(self) -> dict[str, str]:
        """node name -> state (running, stopped, not_created, poweroff...)."""
        try:
            output = self._v._run_vagrant_command(["status", "--machine-readable"])
        except subprocess.CalledProcessError as exc:
            raise self._fail("status", exc) from None
        states: dict[str, str] = {}
        for line in output.splitlines():
            parts = line.split(",", 3)
            if len(parts) < 4:
                continue
            _, target, kind, data = parts
            if kind == "error-exit":
                raise ProviderError(f"vagrant status failed: {data.replace('%!(VAGRANT_COMMA)', ',')}")
            if kind == "state" and target:
                states[target] = data
        if not states:
            raise ProviderError("vagrant status returned no machines",
                                hint=f"is {self.root / 'Vagrantfile'} a labgen Vagrantfile?")
        return states

    def ssh_config(self) -> str:
        """`vagrant ssh-config` for every created machine, as one ssh_config text."""
        try:
            text = self._v._run_vagrant_command(["ssh-config"])
        except subprocess.CalledProcessError as exc:
            raise self._fail("ssh-config", exc,
                             hint="are the machines running? try `labgen status`") from None
        if "Host " not in text:
            raise ProviderError("vagrant ssh-config printed no host", hint="try `labgen status`")
        return text

    def validate(self) -> None:
        try:
            self._v._run_vagrant_command(["validate"])
        except subprocess.CalledProcessError as exc:
            raise self._fail("validate", exc) from None
