"""What the two browser modules that serve seats share: a one-role lab file for a seat, and
`labgen scenario serve` started over seat dirs, with the URLs it prints."""

from __future__ import annotations

import os
import re
import subprocess
import time

from tests.runcli import LABGEN


def lab_file(name: str, cidr: str, nodes, description: str = "a browser test seat") -> str:
    """A lab file: `nodes` [(name, ip)] with the base role, 512 MiB and one CPU each."""
    lines = [
        f"name: {name}",
        f"description: {description}",
        f"network: {{cidr: {cidr}}}",
        "boxes: {lxc: labgen/debian-12}",
        "defaults: {memory: 512, cpus: 1}",
        "nodes:",
    ]
    lines += [f"  - {{name: {n}, ip: {ip}, roles: [base]}}" for n, ip in nodes]
    return "\n".join(lines) + "\n"


def serve(dirs, options: tuple[str, ...] = ()) -> tuple[subprocess.Popen, dict[str, str]]:
    """`labgen scenario serve --dir D ... --port 0 --min-interval 0 OPTIONS` and the URLs it
    printed: {seat dir name: url, "board": url}. The caller terminates the server."""
    server = subprocess.Popen(
        [
            *LABGEN,
            "scenario",
            "serve",
            *[a for d in dirs for a in ("--dir", str(d))],
            "--port",
            "0",
            "--min-interval",
            "0",
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, COLUMNS="300", NO_COLOR="1"),
    )
    urls, deadline = {}, time.monotonic() + 30
    while "board" not in urls and time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        m = re.search(r"(seat (\S+)|board):\s+(http://127\.0\.0\.1:\d+/\S+)", line)
        if m:
            urls[m.group(2) or "board"] = m.group(3)
    assert "board" in urls, f"the server did not print its URLs: {urls}"
    return server, urls
