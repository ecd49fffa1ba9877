"""Processes the tests start themselves (servers, sshd, nginx, dnsmasq)."""

from __future__ import annotations

import signal
import subprocess


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
