"""The caching apt proxy labgen runs on the host for the lab nodes: apt-cacher-ng.

Nodes reach it on the lab network's host address (192.168.56.1:3142), so a classroom downloads
each package once instead of once per VM, and our LXC nodes get Debian packages through the
host. One daemon serves every lab and classroom seat on the host: it listens on all addresses
behind an nftables guard (only loopback and lab bridges may connect), so a new lab never makes
it restart under a lab that is downloading; each lab's host address registers as a user, and the
last one destroyed stops it. It is started by hand (no systemd needed) with labgen's own config dir, so the host's
/etc/apt-cacher-ng is never touched. Its Debian backend is the archive URL the host's own apt
sources use (apt-cacher-ng's default mirror list may point at mirrors this network cannot reach).
"""

from __future__ import annotations

import fcntl
import hashlib
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
MAX_PORT = 32767  # apt-cacher-ng 3.7 cannot bind above it ("Error resolving address for binding")
BASE = Path("/var/cache/labgen/apt-cacher-ng")  # conf/, cache/, log/, pid
FALLBACK_ARCHIVE = "http://deb.debian.org/debian/"
SUPPORT_DIR = "/usr/lib/apt-cacher-ng"  # Debian's mirror lists (deb_mirrors.gz ...)


def proxy_url(lab: Lab, port: int | None = None) -> str:
    """The proxy URL as the lab's nodes see it: http://<lab host ip>:3142."""
    return f"http://{lab.host_ip}:{port or port_setting()}"


# ---- the host's archive


def _one_line_uris(text: str) -> list[str]:
    uris = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # deb [signed-by=...] URI suite ...
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
    candidates = [u for u in uris if urlsplit(u).scheme in ("http", "https") and "security" not in u]
    # An archive whose path ends in /debian (not debian-security, not a vendor repo) wins.
    for uri in candidates:
        if urlsplit(uri).path.rstrip("/").endswith("/debian"):
            return uri.rstrip("/") + "/"
    return FALLBACK_ARCHIVE


# ---- the daemon


def render_config(base: Path, binds: list[str], port: int) -> str:
    return "\n".join(
        [
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
        ]
    )


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


def port_setting() -> int:
    """The proxy's port: 3142, or LABGEN_APTPROXY_PORT (tests run a proxy of their own)."""
    try:
        return int(os.environ.get("LABGEN_APTPROXY_PORT") or PORT)
    except ValueError:
        return PORT


def base_setting() -> Path:
    """The proxy's dir: BASE, or LABGEN_APTPROXY_DIR (tests run a proxy of their own)."""
    return Path(os.environ.get("LABGEN_APTPROXY_DIR") or BASE)


# ---- who uses the proxy: one file per lab host address under <base>/users (every
# ensure_running registers its address). An address no longer on the host (its lab destroyed,
# by labgen or by hand) no longer counts; when none is left, stop_if_unused() stops the proxy.


def _user_file(base: Path, user: str) -> Path:
    return base / "users" / hashlib.sha256(user.encode()).hexdigest()[:16]


def _users(base: Path) -> list[str]:
    """Registered lab addresses still on this host (stale entries are dropped)."""
    alive = []
    for f in sorted((base / "users").glob("*")):
        try:
            ip = f.read_text().strip()
        except OSError:
            continue
        if ip and is_local_address(ip):
            alive.append(ip)
        else:
            f.unlink(missing_ok=True)
    return alive


class _Lock:
    """One labgen process at a time starts, registers with or stops the proxy (parallel
    classroom seats boot at once)."""

    def __init__(self, base: Path):
        self.path = base / "lock"

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.path, "w")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.fh.close()


# ---- the firewall guard: the proxy listens on every address, nft lets only labs in

GUARD_INTERFACES = ("lo", "lgbr*", "lgvirt*", "virbr*", "vboxnet*")  # loopback and lab bridges


def guard_table(port: int) -> str:
    return f"labgen-aptproxy-{port}"


def guard_ruleset(port: int) -> str:
    name = guard_table(port)
    lines = [
        f"table inet {name}",
        f"delete table inet {name}",
        f"table inet {name} {{",
        "  chain input {",
        "    type filter hook input priority -5; policy accept;",
    ]
    lines += [f'    tcp dport {port} iifname "{i}" accept' for i in GUARD_INTERFACES]
    lines += [f"    tcp dport {port} drop", "  }", "}"]
    return "\n".join(lines) + "\n"


def _nft(args: list[str], script: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["nft", *args], input=script, capture_output=True, text=True, timeout=30)


def _guard(port: int) -> None:
    if not shutil.which("nft"):
        raise PreflightError(
            "nft is not installed: the apt proxy would be open to every network", hint="apt-get install nftables"
        )
    res = _nft(["-f", "-"], guard_ruleset(port))
    if res.returncode != 0:
        raise LabgenError(f"apt proxy: nft could not install its guard: {res.stderr.strip()}")


def _unguard(port: int) -> list[str]:
    if shutil.which("nft") and _nft(["list", "table", "inet", guard_table(port)]).returncode == 0:
        _nft(["delete", "table", "inet", guard_table(port)])
        return [f"apt proxy: removed nft table inet {guard_table(port)}"]
    return []


def ensure_running(
    host_ip: str,
    *,
    port: int | None = None,
    base: Path | None = None,
    archive: str | None = None,
    timeout: float = 10.0,
) -> list[str]:
    """Make sure the one apt-cacher-ng serves host_ip:port; register host_ip as a lab using it.
    Idempotent; returns what changed.

    One proxy serves every lab and classroom seat: it listens on all addresses (so a new
    lab's host address is served without a restart) behind an nftables guard that admits
    only loopback and lab bridges. A running proxy is never restarted while a lab uses it;
    stop_if_unused() stops it once no registered lab address is left on the host.
    Changes on the host: <base>/conf, cache, log, users; the nft table inet
    labgen-aptproxy-<port>; one apt-cacher-ng daemon (pid in <base>/pid).
    Raises PreflightError when apt-cacher-ng or nft is missing or host_ip is not an address
    of this host, LabgenError when the proxy does not come up.
    """
    port = port or port_setting()
    base = Path(base or base_setting())
    binary = shutil.which("apt-cacher-ng") or (
        "/usr/sbin/apt-cacher-ng" if os.path.exists("/usr/sbin/apt-cacher-ng") else None
    )
    if binary is None:
        raise PreflightError(
            "apt-cacher-ng is not installed: lab nodes get their packages through it",
            hint="apt-get install apt-cacher-ng (or run `make setup`)",
        )
    if not 0 < port <= MAX_PORT:
        raise LabgenError(f"apt proxy: port {port} is out of range: apt-cacher-ng accepts 1-{MAX_PORT}")
    host_ip = str(host_ip)
    if not is_local_address(host_ip):
        raise PreflightError(
            f"apt proxy: {host_ip} is not an address of this host",
            hint="the lab's bridge must exist first (the provider's host preparation makes it)",
        )
    with _Lock(base):
        changes = _ensure_locked(binary, host_ip, port, base, archive, timeout)
        f = _user_file(base, host_ip)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(host_ip + "\n")
    return changes


def _ensure_locked(binary, host_ip, port, base, archive, timeout) -> list[str]:
    config = render_config(base, ["0.0.0.0"], port)
    backends = (archive or host_archive_url()).rstrip("/") + "/\n"
    conf = base / "conf"
    pid = _pid(base)
    if pid is not None:
        if _answers(host_ip, port):
            # Serving: never restarted under the labs using it, even when its config is older
            # (another archive, an older labgen's address list); a new config applies at its next start.
            _guard(port)
            return []
        if _users(base):
            raise LabgenError(
                f"apt proxy: the running apt-cacher-ng (pid {pid}) does not serve "
                f"{host_ip}:{port} and other labs use it",
                hint="re-run once no lab is provisioning (the last `labgen destroy` stops it)",
            )
        if not _labgen_listeners(port, base):
            _terminate(pid, timeout)  # idle: restart it with this config
    if _answers(host_ip, port) and _labgen_listeners(port, base, host_ip):
        return []  # a daemon an older labgen started for this address: keep using it
    # Daemons of an older labgen (one per address set) may hold this port on other addresses:
    # a wildcard bind would fail, and stopping them would cut their labs off. Then this address
    # gets a daemon of its own, as before, until those labs are gone.
    extra = [f"BindAddress={host_ip}"] if _labgen_listeners(port, base) else []
    if extra:  # keep the address-list config such a labgen reads and rewrites
        config = render_config(
            base, [ip for ip in _current_binds(base) if ip != "0.0.0.0" and is_local_address(ip)] + [host_ip], port
        )
    if _answers(host_ip, port):
        raise LabgenError(
            f"apt proxy: something else already listens on {host_ip}:{port}",
            hint="stop it (a system apt-cacher-ng service?) or let labgen use it by stopping "
            "labgen's: the nodes expect a proxy at that address",
        )
    _guard(port)
    for sub in ("conf", "cache", "log"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (conf / "acng.conf").write_text(config)
    (conf / "backends_debian").write_text(backends)
    (base / "pid").unlink(missing_ok=True)
    res = subprocess.run(
        [binary, "-c", str(conf), "ForeGround=0", *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid(base) is not None and _answers(host_ip, port):
            return [
                f"apt proxy: apt-cacher-ng serves {host_ip}:{port} and every other lab's host address "
                f"(Debian archive {backends.strip()}, cache {base / 'cache'})"
            ]
        time.sleep(0.1)
    log = _tail(base / "log" / "apt-cacher.err") or (res.stderr or res.stdout).strip()
    _stop_locked(base, timeout, port)
    raise LabgenError(
        f"apt proxy: apt-cacher-ng did not come up on {host_ip}:{port} within {timeout:g} s"
        + (f"\n{log}" if log else ""),
        hint=f"its logs are in {base / 'log'}",
    )


def stop_if_unused(*, base: Path | None = None, port: int | None = None) -> list[str]:
    """Stop the proxy once none of the lab addresses that registered with it is on the host any
    more (call it after a lab's network is gone). Returns what it stopped."""
    base = Path(base or base_setting())
    if not base.exists():
        return []
    with _Lock(base):
        if _users(base):
            return []
        return _stop_locked(base, 10.0, port or _conf_port(base) or port_setting())


def _current_binds(base: Path) -> list[str]:
    """The BindAddress list of the config in <base>/conf (an older labgen wrote one per lab)."""
    try:
        for line in (base / "conf" / "acng.conf").read_text().splitlines():
            if line.startswith("BindAddress:"):
                return line.split(":", 1)[1].split()
    except OSError:
        pass
    return []


def _labgen_listeners(port: int, base: Path, ip: str | None = None) -> list[int]:
    """Pids of apt-cacher-ng daemons with labgen's config listening on `port` (on `ip`, if
    given): an older labgen ran one per set of lab addresses, several may be left."""
    target = f"{ip}:{port}" if ip else f":{port}"
    try:
        out = subprocess.run(
            ["ss", "-Hltnp", "sport", "=", f":{port}"],
            capture_output=True,
            text=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    pids = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 4 or not fields[3].endswith(target):
            continue
        for pid in re.findall(r"pid=(\d+)", line):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[:1] and argv[0].endswith(b"apt-cacher-ng") and str(Path(base) / "conf").encode() in argv:
                pids.append(int(pid))
    return pids


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


def _stop_locked(base: Path, timeout: float, port: int) -> list[str]:
    pid = _pid(base)
    changes = []
    if pid is None:
        (base / "pid").unlink(missing_ok=True)  # stale
    else:
        _terminate(pid, timeout)
        (base / "pid").unlink(missing_ok=True)
        changes.append(f"apt proxy: stopped apt-cacher-ng (pid {pid})")
    return changes + _unguard(port)


def stop(*, base: Path | None = None, timeout: float = 10.0, port: int | None = None) -> list[str]:
    """Stop labgen's apt-cacher-ng whoever uses it (keeps its cache), remove its nft guard.
    Returns what it stopped."""
    base = Path(base or base_setting())
    with _Lock(base):
        return _stop_locked(base, timeout, port or _conf_port(base) or port_setting())


def _conf_port(base: Path) -> int | None:
    try:
        for line in (base / "conf" / "acng.conf").read_text().splitlines():
            if line.startswith("Port:"):
                return int(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return None


def is_running(*, base: Path | None = None) -> bool:
    return _pid(Path(base or base_setting())) is not None
