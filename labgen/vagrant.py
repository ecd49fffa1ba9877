"""The only module that talks to Vagrant (through python-vagrant).

python-vagrant raises bare CalledProcessError and its status()/ssh_config() quietly return
half-parsed results on error; every call here checks what came back and raises ProviderError
with the tail of Vagrant's own stderr, which is where its explanation is.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

from labgen.errors import PreflightError, ProviderError


WATCH_EVERY = 2.0  # seconds between two looks at the nodes while `vagrant up` waits
# "==> ubuntu-1: Starting container..." (vagrant-lxc) / "Starting domain." (vagrant-libvirt)
STARTING = re.compile(r"^==> ([A-Za-z0-9._-]+): Starting (?:container|domain|the VM)")


# A Ruby backtrace line ("/usr/share/.../machine.rb:203:in `action'", or "\tfrom ..."): Vagrant
# prints a plugin's crash as its message then these, so the tail alone would be all backtrace.
BACKTRACE_LINE = re.compile(r"^\s*(?:from\s+)?/\S+\.rb:\d+:in\b")
# Vagrant's words for a crash (not a Vagrant error) inside one machine's action of a parallel
# `vagrant up` (templates/locales/en.yml, batch_unexpected_error).
UNEXPECTED = re.compile(r"An unexpected error occurred when executing the action on the\s+'([^']+)' machine")


def _tail(text: str, lines: int = 12) -> str:
    """The last `lines` lines of Vagrant's stderr that a person can read: no backtrace lines."""
    readable = [line for line in text.strip().splitlines() if not BACKTRACE_LINE.match(line)]
    while readable and not readable[-1].strip():
        readable.pop()
    return "\n".join(readable[-lines:])


def crashed_machines(stderr: str) -> list[str]:
    """The machines whose action crashed inside Vagrant or a plugin (a Ruby exception, which
    Vagrant itself calls a bug), as opposed to a Vagrant error about the machine or the host."""
    return UNEXPECTED.findall(stderr)


class VagrantEnv:
    """A Vagrant environment: the lab dir holding the rendered Vagrantfile."""

    def __init__(self, root: Path, provider: str, extra_env: dict[str, str] | None = None):
        # Imported here, not at the top: python-vagrant prints "The Vagrant executable cannot be
        # found" when it is imported on a host without Vagrant, and every command that imports
        # lifecycle (even one refusing a bad lab file) would print that line first.
        import vagrant

        self.root = Path(root)
        self.provider = provider
        self._stderr_path = None
        env = dict(os.environ)
        env.setdefault("VAGRANT_CHECKPOINT_DISABLE", "1")  # no phone-home: the network is closed
        env.setdefault("VAGRANT_NO_COLOR", "1")
        env.update(extra_env or {})  # the provider's, e.g. the libvirt driver
        self._v = vagrant.Vagrant(root=str(self.root), env=env, err_cm=self._err_cm, quiet_stdout=True)
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
        return ProviderError(
            f"vagrant {action} failed: {detail}",
            hint=hint or f"run `vagrant {action}` in {self.root} to see the whole output",
        )

    def up(
        self,
        nodes: Iterable[str] = (),
        on_line: Callable[[str], None] | None = None,
        boot_failure: Callable[[dict[str, float]], str | None] | None = None,
    ) -> None:
        """Boot `nodes` (all when empty) with this env's provider; streams output to on_line.

        `boot_failure(started)` (started: node -> time.time() when Vagrant said it starts it)
        is polled every WATCH_EVERY s while Vagrant runs: when it names a reason, Vagrant is
        stopped and ProviderError carries that reason (not a boot timeout minutes later)."""
        args = ["up", "--provider", self.provider, "--no-provision", *nodes]
        try:
            self._up_once(args, on_line, boot_failure)
        except ProviderError:
            crashed = crashed_machines(self._last_stderr)
            if not crashed:
                raise
            # A crash inside Vagrant's parallel boot (seen once in CI, 1 of 3 vagrant-lxc
            # containers) is not about the lab: `vagrant up` again boots only what is not
            # running, and a crash that repeats is reported as before.
            if on_line:
                why = _tail(self._last_stderr, 3).replace("\n", " ")
                on_line(
                    f"labgen: Vagrant crashed while booting {', '.join(crashed)} ({why}); "
                    "running `vagrant up` once more"
                )
            self._up_once(args, on_line, boot_failure)

    def _up_once(self, args: list[str], on_line, boot_failure) -> None:
        if boot_failure is None:
            self._stream(args, on_line)
        else:
            self._stream_watched(args, on_line, boot_failure)

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
        except (RuntimeError, FileNotFoundError) as exc:  # vagrant binary missing
            raise PreflightError(
                f"vagrant cannot run: {exc}", hint="install vagrant (Debian: apt-get install vagrant)"
            ) from None

    def _stream_watched(self, args: list[str], on_line, boot_failure) -> None:
        """`_stream` with a watcher thread that stops Vagrant when `boot_failure` says why."""
        started: dict[str, float] = {}
        reason: list[str] = []
        done = threading.Event()
        try:
            command = self._v._make_vagrant_command(args)
        except RuntimeError as exc:
            raise PreflightError(
                f"vagrant cannot run: {exc}", hint="install vagrant (Debian: apt-get install vagrant)"
            ) from None
        with self._err_cm() as err_fh:
            proc = subprocess.Popen(
                command, cwd=self.root, env=self._v.env, stdout=subprocess.PIPE, stderr=err_fh, stdin=subprocess.DEVNULL
            )

            def watch() -> None:
                while not done.wait(WATCH_EVERY):
                    why = boot_failure(dict(started))
                    if why:
                        reason.append(why)
                        proc.terminate()
                        return

            watcher = threading.Thread(target=watch, name="boot-watch", daemon=True)
            watcher.start()
            try:
                assert proc.stdout is not None
                for raw in iter(proc.stdout.readline, b""):
                    line = raw.decode("utf-8", "replace").rstrip("\n")
                    m = STARTING.match(line)
                    if m:
                        started[m.group(1)] = time.time()
                    if on_line:
                        on_line(line)
                proc.wait()
            finally:
                done.set()
                if proc.poll() is None:  # Ctrl-C or a bug in on_line: do not leave Vagrant behind
                    proc.terminate()
                    proc.wait(30)
                watcher.join(30)
        if reason:
            raise ProviderError(
                reason[0],
                hint="labgen stopped `vagrant up` at once (no boot timeout); "
                "fix what the node's console names, then run the same command again",
            )
        if proc.returncode != 0:
            raise self._fail(args[0], subprocess.CalledProcessError(proc.returncode, command))

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
            raise ProviderError(
                "vagrant status returned no machines", hint=f"is {self.root / 'Vagrantfile'} a labgen Vagrantfile?"
            )
        return states

    def ssh_config(self) -> str:
        """`vagrant ssh-config` for every created machine, as one ssh_config text."""
        try:
            text = self._v._run_vagrant_command(["ssh-config"])
        except subprocess.CalledProcessError as exc:
            raise self._fail("ssh-config", exc, hint="are the machines running? try `labgen status`") from None
        if "Host " not in text:
            raise ProviderError("vagrant ssh-config printed no host", hint="try `labgen status`")
        return text

    def validate(self) -> None:
        try:
            self._v._run_vagrant_command(["validate"])
        except subprocess.CalledProcessError as exc:
            raise self._fail("validate", exc) from None
