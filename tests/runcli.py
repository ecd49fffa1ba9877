"""Run the real CLI as a user would: a subprocess, text output, no stdin unless given."""

from __future__ import annotations

import os
import subprocess
import sys

LABGEN = [sys.executable, "-m", "labgen"]


def labgen(*args, cwd=None, timeout=900, check=False, input=None, env=None):
    """`labgen ARGS...`; returns the CompletedProcess. With check, a non-zero exit fails the test
    with both outputs shown."""
    env = dict(os.environ, COLUMNS="120", NO_COLOR="1", LANG="C.UTF-8", **(env or {}))
    res = subprocess.run([*LABGEN, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                         env=env, input=input, stdin=None if input else subprocess.DEVNULL)
    if check and res.returncode != 0:
        raise AssertionError(f"labgen {' '.join(map(str, args))} exited {res.returncode}\n"
                             f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}")
    return res
