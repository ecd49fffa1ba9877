"""Student access with nothing but an SSH client: per-seat keys, per-seat host accounts that
can only forward to their own seat's nodes on port 22, and one labgen-run sshd per classroom.

The host's own sshd and its config are never touched. labgen's sshd reads only
/var/lib/labgen/classrooms/<name>/sshd_config:
  - public keys only (no passwords, no PAM), only accounts <name>-s*, no root;
  - keys from authorized_keys/<account>, each line
      restrict,port-forwarding,permitopen="<node ip>:22",...,command="/usr/sbin/nologin" <key>
    so an account opens no shell, no tty, no agent/X11 forwarding, no remote forwarding, and
    forwards only to its own seat's nodes' SSH port;
  - its own host key, whose public half goes into each student's known_hosts.
Accounts are system users with shell nologin, no home and password "*" (not locked: sshd
without PAM refuses locked accounts even with a key; "*" matches no password).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from labgen.errors import LabgenError, PreflightError

STATE_ROOT = Path("/var/lib/labgen/classrooms")
MARK = "labgen classroom"  # in the accounts' GECOS: labgen only ever deletes these
NOLOGIN = "/usr/sbin/nologin"


def registry() -> dict[str, dict]:
    """Every classroom recorded on this host (by `classroom up`): name -> {dir, pool, seats, ...}.
    Here, not in ops.py, so `labgen ls` reads it without importing the classroom's machinery."""
    out = {}
    if STATE_ROOT.is_dir():
        for f in STATE_ROOT.glob("*/classroom.json"):
            try:
                out[f.parent.name] = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
    return out


def state_dir(classroom: str) -> Path:
    return STATE_ROOT / classroom


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise PreflightError(f"{cmd[0]} is not installed", hint="apt-get install openssh-server passwd") from None
    if res.returncode != 0:
        raise LabgenError(f"{what} failed: {(res.stderr or res.stdout).strip()}")
    return res


# ---- keys


def ensure_key(path: Path, comment: str) -> bool:
    """An ed25519 key pair at path / path.pub (made once). Returns whether it was made."""
    if path.exists() and path.with_suffix(".pub").exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    for p in (path, path.with_suffix(".pub")):
        p.unlink(missing_ok=True)
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], "ssh-keygen")
    return True


def public_key(path: Path) -> str:
    return path.with_suffix(".pub").read_text().strip()


# ---- accounts


def account_exists(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def ensure_account(name: str, classroom: str, seat: int) -> bool:
    """Create the seat's host account (idempotent). Raises LabgenError when a user of that
    name exists that labgen did not make."""
    entry = account_exists(name)
    if entry is not None:
        if MARK not in entry.pw_gecos:
            raise LabgenError(
                f"a host user {name} already exists and is not a labgen seat account",
                hint="choose another classroom --name",
            )
        return False
    _run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            NOLOGIN,
            "--comment",
            f"{MARK} {classroom} seat {seat}",
            "--password",
            "*",
            "--user-group",
            name,
        ],
        f"useradd {name}",
    )
    return True


def remove_account(name: str) -> bool:
    entry = account_exists(name)
    if entry is None or MARK not in entry.pw_gecos:
        return False
    _run(["userdel", name], f"userdel {name}")
    return True


def remove_seat(classroom: str, account: str) -> list[str]:
    """One seat's way in: its account and its authorized_keys file. Returns what went."""
    removed = [f"account {account}"] if remove_account(account) else []
    keys = state_dir(classroom) / "authorized_keys" / account
    if keys.exists():
        keys.unlink()
        removed.append(f"authorized key of {account}")
    return removed


def seat_accounts(classroom: str) -> list[str]:
    """Every labgen seat account of `classroom` on this host (also ones a crashed `up` left)."""
    prefix = f"{MARK} {classroom} seat "
    return sorted(e.pw_name for e in pwd.getpwall() if e.pw_gecos.startswith(prefix))


# ---- authorized keys


def authorized_line(pubkey: str, node_ips: list[str]) -> str:
    opens = ",".join(f'permitopen="{ip}:22"' for ip in node_ips)
    return f'restrict,port-forwarding,{opens},command="{NOLOGIN}" {pubkey}\n'


def write_authorized(classroom: str, account: str, pubkey: str, node_ips: list[str]) -> None:
    folder = state_dir(classroom) / "authorized_keys"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    target = folder / account
    tmp = folder / f".{account}.tmp"
    tmp.write_text(authorized_line(pubkey, node_ips))
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)


# ---- the sshd


def sshd_config(classroom: str, port: int, listen: str = "0.0.0.0") -> str:
    d = state_dir(classroom)
    return "\n".join(
        [
            f"# labgen classroom {classroom}: the students' jump host. Written by labgen; not the host's sshd.",
            f"Port {port}",
            f"ListenAddress {listen}",
            f"HostKey {d / 'ssh_host_ed25519_key'}",
            f"PidFile {d / 'sshd.pid'}",
            f"AuthorizedKeysFile {d / 'authorized_keys'}/%u",
            f"AllowUsers {classroom}-s*",
            "AuthenticationMethods publickey",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "HostbasedAuthentication no",
            "PermitRootLogin no",
            "UsePAM no",
            "StrictModes yes",
            "AllowTcpForwarding local",
            "AllowStreamLocalForwarding no",
            "AllowAgentForwarding no",
            "X11Forwarding no",
            "PermitTunnel no",
            "PermitTTY no",
            "PermitUserRC no",
            "PermitUserEnvironment no",
            "GatewayPorts no",
            f"ForceCommand {NOLOGIN}",
            "PrintMotd no",
            "MaxAuthTries 3",
            "MaxSessions 20",
            "MaxStartups 60:30:200",
            "LoginGraceTime 30",
            "ClientAliveInterval 30",
            "LogLevel VERBOSE",
            "",
        ]
    )


def sshd_pid(classroom: str) -> int | None:
    pidfile = state_dir(classroom) / "sshd.pid"
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except (OSError, ValueError):
        return None
    # sshd rewrites its argv ("sshd: /usr/sbin/sshd -f <conf> [listener] ..."): match loosely.
    if b"sshd" in cmdline and str(state_dir(classroom) / "sshd_config").encode() in cmdline:
        return pid
    return None


def _port_busy(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            return False
        except OSError:
            return True


def host_public_key(classroom: str) -> str:
    return (state_dir(classroom) / "ssh_host_ed25519_key.pub").read_text().strip()


def ensure_sshd(classroom: str, port: int) -> list[str]:
    """Start the classroom's sshd on `port` unless it runs with the same config. Returns what
    changed. Raises LabgenError when the port is taken by something else or sshd fails."""
    d = state_dir(classroom)
    d.mkdir(parents=True, exist_ok=True)
    for folder in (STATE_ROOT.parent, STATE_ROOT, d):
        os.chmod(folder, 0o755)  # sshd's StrictModes: root-owned, not group/world writable
    changes = []
    key = d / "ssh_host_ed25519_key"
    if not key.exists():
        _run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"labgen classroom {classroom}", "-f", str(key)],
            "ssh-keygen (host key)",
        )
    config = sshd_config(classroom, port)
    conf = d / "sshd_config"
    pid = sshd_pid(classroom)
    if pid and conf.exists() and conf.read_text() == config:
        return []
    if pid:
        _stop(pid)
        changes.append(f"restarted the classroom sshd (pid {pid}) with a new config")
    if _port_busy(port):
        raise LabgenError(
            f"port {port} is already in use on this host", hint="choose another --ssh-port (another classroom's sshd?)"
        )
    conf.write_text(config)
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation dir
    sshd = "/usr/sbin/sshd"
    if not os.path.exists(sshd):
        raise PreflightError("sshd is not installed", hint="apt-get install openssh-server")
    _run([sshd, "-t", "-f", str(conf)], "sshd -t (config test)")
    _run([sshd, "-f", str(conf), "-E", str(d / "sshd.log")], "starting sshd")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if sshd_pid(classroom) and _port_busy(port):
            changes.append(f"sshd for students on port {port} (pid {sshd_pid(classroom)})")
            return changes
        time.sleep(0.1)
    raise LabgenError(f"the classroom sshd did not come up on port {port}", hint=f"see {d / 'sshd.log'}")


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def remove_all(classroom: str) -> list[str]:
    """Stop the sshd, delete the seat accounts and the classroom's state dir. Returns what went."""
    removed = []
    pid = sshd_pid(classroom)
    if pid:
        _stop(pid)
        removed.append(f"sshd (pid {pid})")
    accounts = seat_accounts(classroom)
    for name in accounts:
        remove_account(name)
    if accounts:
        removed.append(f"{len(accounts)} account(s)")
    d = state_dir(classroom)
    if d.exists():
        shutil.rmtree(d)
        removed.append(str(d))
    return removed
