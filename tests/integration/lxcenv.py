"""What the LXC integration tests need from the machine, and how they clean up after themselves.

Test labs live under TEST_ROOT only; anything labgen's tests left there (an interrupted run)
is destroyed through Vagrant before a new run. Nothing outside TEST_ROOT is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.integration import classroom_leftovers
from tests.runcli import labgen

TEST_ROOT = Path(os.environ.get("LABGEN_TEST_ROOT", "/var/tmp/labgen-tests"))
# Beside TEST_ROOT, not in it: test_lab_lxc.py destroys whatever it finds under TEST_ROOT.
LIBVIRT_ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-libvirt")  # test_lab_libvirt.py
SSH_ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-ssh")  # test_ssh_refresh_lxc.py
CHALLENGE_ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-challenge")  # test_challenge_lxc.py
WEB_ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-web")  # browser/test_classroom_web.py
# Every other module's root is beside TEST_ROOT too (`<TEST_ROOT>-<name>`), so that
# `make clean-test-leftovers` (all_roots) finds it without a list to keep up to date.


def wait_listening(proc, port: int, seconds: float = 10) -> bool:
    """Wait until something accepts on 127.0.0.1:`port` while daemon `proc` runs (at most
    `seconds`); True when `proc` is still running then, False when it exited (its port was
    taken, say: the caller tries another)."""
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc.poll() is None


def free_port(low: int, high: int, tries: int = 50) -> int:
    """A port in [low, high] that nothing listens on now (TCP, any address), for daemons that
    take a port number rather than a socket (sshd, apt-cacher-ng): a random one, and another
    when it is taken. A daemon may still lose the race afterwards; those are retried at start."""
    import random
    import socket

    for _ in range(tries):
        port = random.randint(low, high)
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high} after {tries} tries")


def lxc_skip_reason() -> str | None:
    """Why the LXC tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "LXC labs need root"
    for tool in ("lxc-create", "vagrant", "debootstrap"):
        if not shutil.which(tool):
            return f"{tool} is not installed (make setup installs it)"
    from labgen.boxes import box_installed

    if not box_installed("labgen/debian-12", "lxc"):
        return "box labgen/debian-12 (lxc) is not added: run `labgen box build lxc`"
    return None


_archive_reason: list = []


def debian_archive_skip_reason() -> str | None:
    """Why the Debian archive (the host's own apt source) cannot be reached, or None. Tests
    whose nodes or proxy download packages skip with this reason on a developer's offline
    machine; in CI (tests/conftest.py) that skip is a failure. Asked once per session: a HEAD
    request to the archive the host's apt already uses, three tries so that one lost packet is
    not "unreachable". Only network errors count: a bug here raises."""
    if not _archive_reason:
        import http.client
        import urllib.request

        from labgen.aptproxy import host_archive_url

        url = host_archive_url().rstrip("/") + "/dists/bookworm/InRelease"
        request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "labgen-tests"})
        failures = []
        for attempt in range(3):
            try:
                with urllib.request.urlopen(request, timeout=10) as resp:
                    status = resp.status
            except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
                failures.append(str(exc))
                time.sleep(attempt + 1)
                continue
            _archive_reason.append(None if status == 200 else f"{url}: HTTP {status}")
            break
        else:
            _archive_reason.append(f"the Debian archive is not reachable ({url}: {'; '.join(failures)})")
    return _archive_reason[0]


def _lab_dirs(top: Path) -> list[Path]:
    """Every lab or classroom dir at any depth under `top` (itself included), deepest first: a
    dir holding .labgen/state.json, .vagrant or classroom.yml. test_lab_lxc nests its lab two
    levels down (lab-lxc/run-*/lab); classroom seats sit inside their classroom's dir."""
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        if (here / ".labgen" / "state.json").exists() or ".vagrant" in dirnames or "classroom.yml" in filenames:
            found.append(here)
        dirnames[:] = [d for d in dirnames if d not in (".vagrant", ".labgen")]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _proxy_dir(path: Path) -> Path | None:
    """The classroom test modules' own apt proxy dir: `<their root>-aptproxy`, beside it."""
    for parent in [path, *path.parents][:-1]:
        candidate = parent.parent / (parent.name + "-aptproxy")
        if candidate.is_dir():
            return candidate
    return None


def _stop_proxies(top: Path) -> list[str]:
    """Stop every apt proxy whose dir (`*-aptproxy`) is at or under `top`."""
    from labgen import aptproxy

    dirs = [top] if top.name.endswith("-aptproxy") else []
    dirs += [p for p in top.rglob("*-aptproxy") if p.is_dir()] if top.is_dir() else []
    return [line for d in dirs for line in aptproxy.stop(base=d)]


def destroy_lab_dir(top: Path) -> None:
    """Destroy every test lab and classroom under `top`, at any depth (through labgen, then
    Vagrant for anything half-made), then the dir itself."""
    for lab_dir in _lab_dirs(top):
        if (lab_dir / "classroom.yml").exists():
            proxy = _proxy_dir(lab_dir)
            env = None
            if proxy:  # its own proxy, port included: never the host's shared one (3142) or its guard
                from labgen.aptproxy import _conf_port

                env = {"LABGEN_APTPROXY_DIR": str(proxy), "LABGEN_APTPROXY_PORT": str(_conf_port(proxy) or 0)}
            labgen("classroom", "down", "--yes", "--dir", str(lab_dir), env=env, timeout=900)
            continue
        if (lab_dir / ".labgen" / "state.json").exists():
            labgen("destroy", "--yes", "--dir", str(lab_dir), timeout=300)
        if (lab_dir / ".vagrant").exists():
            subprocess.run(["vagrant", "destroy", "-f"], cwd=lab_dir, capture_output=True, timeout=300)
    _stop_proxies(top)
    shutil.rmtree(top, ignore_errors=True)


def destroy_leftovers(root: Path = TEST_ROOT) -> list[str]:
    """Destroy every lab an earlier test run left under `root` (any depth). Returns what it cleaned."""
    if not root.exists():
        return []
    leftovers = sorted(p for p in root.iterdir() if p.is_dir())
    for lab_dir in leftovers:
        destroy_lab_dir(lab_dir)
    return [str(p) for p in leftovers]


def all_roots() -> list[Path]:
    """TEST_ROOT and every root beside it (`<TEST_ROOT>-*`: one per module that must not share
    TEST_ROOT), labs first, the classroom modules' apt proxy dirs last."""
    roots = [TEST_ROOT, *sorted(TEST_ROOT.parent.glob(TEST_ROOT.name + "-*"))]
    return sorted((r for r in roots if r.is_dir()), key=lambda r: r.name.endswith("-aptproxy"))


def clean_all() -> list[str]:
    """`make clean-test-leftovers`: every lab, classroom and apt proxy a test run left, then the
    host state of test classrooms whose dir is already gone (classroom_leftovers.py)."""
    cleaned = []
    for root in all_roots():
        if root.name.endswith("-aptproxy"):
            cleaned += _stop_proxies(root)
            shutil.rmtree(root, ignore_errors=True)
            continue
        cleaned += destroy_leftovers(root)
        shutil.rmtree(root, ignore_errors=True)
    return cleaned + classroom_leftovers.sweep(TEST_ROOT)


if __name__ == "__main__":  # make clean-test-leftovers
    for line in clean_all():
        print("cleaned", line)
