"""Run the real CLI as a user would: a subprocess, text output, no stdin unless given."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.processes import stop_process

LABGEN = [sys.executable, "-m", "labgen"]


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


def labgen_at_terminal(*args, answer: str, after: str, env=None, timeout: float = 120) -> tuple[int, str]:
    """`labgen ARGS...` on a terminal (a pty for stdin and both outputs), as a person types it:
    once the output shows `after` (a prompt), `answer` and Enter are typed. Returns the exit
    code and everything the terminal showed (escape codes removed)."""
    import pty
    import re
    import select
    import time

    main, sub = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "LANG": "C.UTF-8", **(env or {})}
    proc = subprocess.Popen([*LABGEN, *args], stdin=sub, stdout=sub, stderr=sub, env=env, start_new_session=True)
    os.close(sub)
    out, typed, deadline = b"", False, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1)
            if ready:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            if not typed and after.encode() in out:
                os.write(main, answer.encode() + b"\r")
                typed = True
            if proc.poll() is not None and not ready:
                break
        proc.wait(timeout=10)
    finally:
        stop_process(proc, timeout=5)
        os.close(main)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode("utf-8", "replace")).replace("\r\n", "\n")
    return proc.returncode, text
