"""The caching apt proxy labgen runs on the host for the lab nodes: apt-cacher-ng.

Nodes reach it on the lab network's host address (192.168.56.1:3142), so a classroom downloads
each package once instead of once per VM, and our LXC nodes get Debian packages through the
host. It is started by hand (no systemd needed) with labgen's own config dir, so the host's
/etc/apt-cacher-ng is never touched. Its Debian backend is the archive URL the host's own apt
sources use (apt-cacher-ng's default mirror list may point at mirrors this network cannot reach).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from labgen.errors import LabgenError, PreflightError
from labgen.model import Lab

PORT = 3142
MAX_PORT = 32767       # apt-cacher-ng 3.7 cannot bind above it ("Error resolving address for binding")
BASE = Path("/var/cache/labgen/apt-cacher-ng")     # conf/, cache/, log/, pid
FALLBACK_ARCHIVE = "http://deb.debian.org/debian/"
SUPPORT_DIR = "/usr/lib/apt-cacher-ng"             # Debian's mirror lists (deb_mirrors.gz ...)


def proxy_url(lab: Lab, port: int = PORT) -> str:
    """The proxy URL as the lab's nodes see it: http://<lab host ip>:3142."""
    return f"http://{lab.host_ip}:{port}"


# ---- the host's archive


def _one_line_uris(text: str) -> list[str]:
    uris = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):            # deb [signed-by=...] URI suite ...
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if words:
            uris.append(words[0])
    return uris


def _deb822_uris(text: str) -> list[str]:
    uris = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() in ("no", "false", "0"):
            continue
        uris += fields.get("uris", "").split()
    return uris


def host_archive_url(root: Path = Path("/")) -> str:
    """The Debian archive URL of the host's apt sources (one-line and deb822), ending in '/';
    FALLBACK_ARCHIVE when none is found. Security and non-http URIs are skipped."""
    apt = root / "etc" / "apt"
    uris: list[str] = []
    files = [apt / "sources.list"] + sorted((apt / "sources.list.d").glob("*.list"))
    for path in files:
        if path.is_file():
            uris += _one_line_uris(path.read_text(encoding="utf-8", errors="replace"))
    for path in sorted((apt / "sources.list.d").glob("*.sources")):
        uris += _deb822_uris(path.read_text(encoding="utf-8", errors="replace"))
    candidates = [u for u in uris if urlsplit(u).scheme in ("http", "https")
                  and "security" not in u]
    # An archive whose path ends in /debian (not debian-security, not a vendor repo) wins.
    for uri in candidates:
        if urlsplit(uri).path.rstrip("/").endswith("/debian"):
            return uri.rstrip("/") + "/"
    return FALLBACK_ARCHIVE


# ---- the daemon


def render_config(base: Path, binds: list[str], port: int) -> str:
    return "\n".join([
        "# Written by labgen (labgen/aptproxy.py): the caching apt proxy for lab nodes.",
        f"CacheDir: {base / 'cache'}",
        f"LogDir: {base / 'log'}",
        f"SupportDir: {SUPPORT_DIR}",
        f"PidFile: {base / 'pid'}",
        f"Port: {port}",
        f"BindAddress: {' '.join(binds)}",
        # Any Debian mirror name a node uses is served from the host's own archive (backends_debian).
        "Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian",
        "Remap-secdeb: security.debian.org security.debian.org/debian-security "
        "deb.debian.org/debian-security /debian-security ; "
        "deb.debian.org/debian-security security.debian.org",
        # https sources: CONNECT tunnels to port 443 only (not cached).
        "PassThroughPattern: ^[^/:]+:443$",
        "ReportPage: acng-report.html",
        "ExThreshold: 4",
        "",
    ])


def _pid(base: Path) -> int | None:
    """The pid of our running apt-cacher-ng (from its pidfile), None when it is not running."""
    try:
        pid = int((base / "pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if cmdline and cmdline[0].endswith(b"apt-cacher-ng") and str(base / "conf").encode() in cmdline:
        return pid
    return None


def is_local_address(ip: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((ip, 0))
            return True
        except OSError:
            return False


def _answers(ip: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False


def _current_binds(base: Path) -> list[str]:
    try:
        for line in (base / "conf" / "acng.conf").read_text().splitlines():
            if line.startswith("BindAddress:"):
                return line.split(":", 1)[1].split()
    except OSError:
        pass
    return []


def ensure_running(host_ip: str, *, port: int = PORT, base: Path = BASE,
                   archive: str | None = None, timeout: float = 10.0) -> list[str]:
    """Make sure apt-cacher-ng serves on host_ip:port (idempotent). Returns what changed.

    Changes on the host: writes <base>/conf (acng.conf, backends_debian), creates
    <base>/cache and <base>/log, starts (or restarts, when its config changed) one
    apt-cacher-ng daemon whose pid is in <base>/pid. Addresses of other labs it already serves
    are kept while they exist on the host.
    Raises PreflightError when apt-cacher-ng is not installed or host_ip is not an address of
    this host (prepare the host first), LabgenError when it does not come up.
    """
    binary = shutil.which("apt-cacher-ng") or ("/usr/sbin/apt-cacher-ng"
                                               if os.path.exists("/usr/sbin/apt-cacher-ng") else None)
    if binary is None:
        raise PreflightError("apt-cacher-ng is not installed: lab nodes get their packages through it",
                             hint="apt-get install apt-cacher-ng (or run `make setup`)")
    if not 0 < port <= MAX_PORT:
        raise LabgenError(f"apt proxy: port {port} is out of range: apt-cacher-ng accepts 1-{MAX_PORT}")
    host_ip = str(host_ip)
    if not is_local_address(host_ip):
        raise PreflightError(f"apt proxy: {host_ip} is not an address of this host",
                             hint="the lab's bridge must exist first (the provider's host preparation makes it)")
    base = Path(base)
    binds = [ip for ip in _current_binds(base) if ip != host_ip and is_local_address(ip)] + [host_ip]
    config = render_config(base, binds, port)
    backends = (archive or host_archive_url()).rstrip("/") + "/\n"
    conf = base / "conf"
    same = ((conf / "acng.conf").is_file() and (conf / "acng.conf").read_text() == config
            and (conf / "backends_debian").is_file() and (conf / "backends_debian").read_text() == backends)
    pid = _pid(base)
    if pid is not None and same and all(_answers(ip, port) for ip in binds):
        return []

    changes = []
    if pid is not None:
        _terminate(pid, timeout)
        changes.append(f"apt proxy: stopped apt-cacher-ng (pid {pid}) to apply a new config")
    if _answers(host_ip, port) and _labgen_listener(host_ip, port, base):
        # Another labgen run on this host restarted the shared daemon meanwhile (its pid file
        # names only the newest); the one that listens here is labgen's, with labgen's config.
        return changes + [f"apt proxy: labgen's apt-cacher-ng already serves on {host_ip}:{port}"]
    if _answers(host_ip, port):
        raise LabgenError(f"apt proxy: something else already listens on {host_ip}:{port}",
                          hint="stop it (a system apt-cacher-ng service?) or let labgen use it by stopping "
                               "labgen's: the nodes expect a proxy at that address")
    for sub in ("conf", "cache", "log"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (conf / "acng.conf").write_text(config)
    (conf / "backends_debian").write_text(backends)
    (base / "pid").unlink(missing_ok=True)
    res = subprocess.run([binary, "-c", str(conf), "ForeGround=0"], capture_output=True, text=True,
                         timeout=timeout, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid(base) is not None and all(_answers(ip, port) for ip in binds):
            changes.append(f"apt proxy: apt-cacher-ng serves on {', '.join(f'{ip}:{port}' for ip in binds)} "
                           f"(Debian archive {backends.strip()}, cache {base / 'cache'})")
            return changes
        time.sleep(0.1)
    log = _tail(base / "log" / "apt-cacher.err") or (res.stderr or res.stdout).strip()
    stop(base=base)
    raise LabgenError(f"apt proxy: apt-cacher-ng did not come up on {host_ip}:{port} within {timeout:g} s"
                      + (f"\n{log}" if log else ""),
                      hint=f"its logs are in {base / 'log'}")


def _labgen_listener(ip: str, port: int, base: Path) -> bool:
    """True when the process listening on ip:port is an apt-cacher-ng run with labgen's config."""
    try:
        out = subprocess.run(["ss", "-ltnpH", "src", f"{ip}:{port}"], capture_output=True, text=True,
                             timeout=10, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    for pid in re.findall(r"pid=(\d+)", out):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[:1] and argv[0].endswith(b"apt-cacher-ng") and str(Path(base) / "conf").encode() in argv:
            return True
    return False


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop(*, base: Path = BASE, timeout: float = 10.0) -> list[str]:
    """Stop labgen's apt-cacher-ng (keeps its cache). Returns what it stopped."""
    base = Path(base)
    pid = _pid(base)
    if pid is None:
        (base / "pid").unlink(missing_ok=True)   # stale
        return []
    _terminate(pid, timeout)
    (base / "pid").unlink(missing_ok=True)
    return [f"apt proxy: stopped apt-cacher-ng (pid {pid})"]


def stop_if_unused(*, base: Path = BASE) -> list[str]:
    """Stop labgen's apt-cacher-ng once none of the lab addresses it serves exists on the host
    any more (the last lab of any provider was destroyed). Returns what it stopped."""
    if any(is_local_address(ip) for ip in _current_binds(Path(base))):
        return []
    return stop(base=base)


def is_running(*, base: Path = BASE) -> bool:
    return _pid(base) is not None
