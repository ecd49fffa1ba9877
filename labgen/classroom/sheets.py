"""What each student receives: a folder with ssh_config, the seat's private key, known_hosts
(the jump host's key, pinned) and sheet.html, a one-page A4 access sheet in English and
Chinese. Pure rendering plus writing files; the keys come from the classroom dir.

Nodes' host keys are not pinned (UserKnownHostsFile /dev/null, as Vagrant does): a reset
seat gets new ones, and the hop to them runs inside the tunnel from the pinned jump host.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from labgen import pages
from labgen.classroom import access, ops
from labgen.classroom.layout import Classroom

KEY_NAME = "id_ed25519"


def jump_alias(c: Classroom) -> str:
    return f"{c.name}-jump"


def ssh_config_text(c: Classroom, seat: int, nodes: list[tuple[str, str]]) -> str:
    """nodes: (name, ip) of the seat's nodes."""
    lines = [
        f"# labgen classroom {c.name}, seat {seat}. In this folder: ssh -F ssh_config NODE",
        f"Host {jump_alias(c)}",
        f"  HostName {c.ssh_address}",
        f"  Port {c.ssh_port}",
        f"  User {c.account(seat)}",
        f"  IdentityFile {KEY_NAME}",
        "  IdentitiesOnly yes",
        f"  HostKeyAlias {jump_alias(c)}",
        "  UserKnownHostsFile known_hosts",
        "  StrictHostKeyChecking yes",
        "",
    ]
    for name, ip in nodes:
        lines += [
            f"Host {name}",
            f"  HostName {ip}",
            "  User vagrant",
            f"  ProxyJump {jump_alias(c)}",
            f"  IdentityFile {KEY_NAME}",
            "  IdentitiesOnly yes",
            "  StrictHostKeyChecking no",
            "  UserKnownHostsFile /dev/null",
            "  LogLevel ERROR",
            "",
        ]
    return "\n".join(lines)


def known_hosts_text(c: Classroom, host_key: str) -> str:
    kind, key = host_key.split()[:2]
    return f"{jump_alias(c)} {kind} {key}\n"


def sheet_html(c: Classroom, seat: int, lab_name: str, nodes: list[tuple[str, str]]) -> str:
    """The seat's access sheet: labgen/templates/sheet.html.j2 with sheet.css (autoescaped)."""
    return pages.render(
        "sheet.html.j2",
        css=pages.css("sheet.css"),
        seat=seat,
        classroom=c.name,
        lab_name=lab_name,
        nodes=nodes,
        first=nodes[0][0] if nodes else "NODE",
        jump=f"{c.ssh_address}:{c.ssh_port}",
        account=c.account(seat),
        folder=f"seat-{seat:02d}",
        key=KEY_NAME,
    )


def write_all(c: Classroom, seats: list[int], out: Path) -> list[Path]:
    """Write every chosen seat's folder under `out`. Returns the sheet paths."""
    host_key = access.host_public_key(c.name)
    lab, _ = ops.lab_of(c)
    written = []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)  # private keys inside
    for seat in seats:
        model, _ = ops.seat_lab(c, seat)
        nodes = [(n.name, str(n.ip)) for n in model.nodes]
        folder = out / f"seat-{seat:02d}"
        folder.mkdir(exist_ok=True)
        key = ops.key_path(c, seat)
        shutil.copyfile(key, folder / KEY_NAME)
        os.chmod(folder / KEY_NAME, 0o600)
        (folder / "ssh_config").write_text(ssh_config_text(c, seat, nodes))
        (folder / "known_hosts").write_text(known_hosts_text(c, host_key))
        sheet = folder / "sheet.html"
        sheet.write_text(sheet_html(c, seat, lab.name, nodes), encoding="utf-8")
        written.append(sheet)
    return written
