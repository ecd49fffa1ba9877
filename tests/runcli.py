"""Run the real CLI as a user would: a subprocess, text output, no stdin unless given."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

LABGEN = [sys.executable, "-m", "labgen"]


def stop_process(proc: subprocess.Popen | None, timeout: float = 15, sig: int = signal.SIGTERM) -> None:
    """Stop a daemon a test started (a server, sshd, nginx): `sig`, then SIGKILL after
    `timeout` s; nothing when it is gone already."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def labgen(*args, cwd=None, timeout=900, check=False, input=None, env=None):
    """`labgen ARGS...`; returns the CompletedProcess. With check, a non-zero exit fails the test
    with both outputs shown."""
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "LANG": "C.UTF-8", **(env or {})}
    res = subprocess.run(
        [*LABGEN, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        input=input,
        stdin=None if input else subprocess.DEVNULL,
    )
    if check and res.returncode != 0:
        raise AssertionError(
            f"labgen {' '.join(map(str, args))} exited {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
        )
    return res


def labgen_sealed(*args, cwd, **kwargs):
    """`labgen ARGS...` that cannot touch the host even if validation regressed: PATH is an
    empty dir, so no vagrant, ip, lxc-*, dnsmasq or apt-cacher-ng can start (the CLI itself runs
    by absolute path). For unit tests of input that must be refused before anything runs."""
    empty = os.path.join(str(cwd), ".no-tools")
    os.makedirs(empty, exist_ok=True)
    env = dict(kwargs.pop("env", None) or {}, PATH=empty)
    return labgen(*args, cwd=cwd, env=env, **kwargs)
