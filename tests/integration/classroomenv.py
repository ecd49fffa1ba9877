"""What the classroom LXC test modules share: a classroom's host-side names, and the check
that `classroom down` (or a Ctrl-C'd `up`) left nothing of it on the host."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from tests.integration.lxcenv import lxc_skip_reason


def classroom_skip_reason() -> str | None:
    """Why a classroom module cannot run here: LXC's reason, or no nft or sshd (the seats'
    isolation and the jump host); None when it can."""
    return lxc_skip_reason() or (
        None
        if shutil.which("nft") and os.path.exists("/usr/sbin/sshd")
        else "nft or sshd is not installed (make setup installs them)"
    )


def host_names(path: Path) -> dict:
    """Per seat, the bridge and containers labgen gives it (from labgen itself, so a test
    never guesses a name): {seat: {"bridge": str, "containers": [str]}}."""
    from labgen.classroom import ops
    from labgen.classroom.placement import placement_for
    from labgen.classroom.layout import load_classroom

    c = load_classroom(path)
    lab, _ = ops.lab_of(c)
    place = placement_for("lxc")
    return {s: place.host_resources(ops._seat_model_quick(c, lab, s)) for s in c.numbers}


def containers(prefix: str) -> list[str]:
    return [
        c
        for c in subprocess.run(["lxc-ls", "-1"], capture_output=True, text=True, timeout=60).stdout.split()
        if c.startswith(prefix)
    ]


def assert_seat_absent(name: str, seat: int, names: dict, path: Path) -> None:
    """Nothing of seat `seat` of classroom `name`: containers, bridge, dir, account, key."""
    from labgen.classroom import access
    from labgen.classroom.ops import KEYS_DIR

    assert not containers(f"labgen-{name}-s{seat:02d}-"), f"seat {seat}: a container is left"
    assert not Path("/sys/class/net", names[seat]["bridge"]).exists(), f"seat {seat}: its bridge is left"
    assert not (path / f"seat-{seat:02d}").exists(), f"seat {seat}: its dir is left"
    account = f"{name}-s{seat:02d}"
    assert account not in {e.pw_name for e in pwd.getpwall()}, f"seat {seat}: account {account} is left"
    assert not (access.state_dir(name) / "authorized_keys" / account).exists()
    assert not (path / KEYS_DIR / f"seat-{seat:02d}").exists(), f"seat {seat}: its key is left"


def assert_classroom_gone(name: str, names: dict, port: int, proxy_dir: Path) -> None:
    """No container, bridge, nft table, account, state, sshd or apt proxy of classroom `name`."""
    from labgen import aptproxy
    from labgen.classroom import access

    assert not containers(f"labgen-{name}-")
    bridges = [r["bridge"] for r in names.values()]
    assert not [b for b in bridges if Path("/sys/class/net", b).exists()], bridges
    for family in ("inet", "bridge"):
        assert (
            subprocess.run(["nft", "list", "table", family, f"labgen-{name}"], capture_output=True).returncode != 0
        ), f"nft table {family} labgen-{name} is left"
    assert not [e.pw_name for e in pwd.getpwall() if e.pw_name.startswith(f"{name}-s")]
    assert not access.state_dir(name).exists()
    listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
    assert not listening.strip(), f"something still listens on the jump port {port}"
    # the last seat destroyed stopped the seats' apt proxy
    assert not aptproxy.is_running(base=Path(proxy_dir))
