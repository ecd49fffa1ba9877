"""What the LXC integration tests need from the machine, and how they clean up after themselves.

Test labs live under TEST_ROOT only; anything labgen's tests left there (an interrupted run)
is destroyed through Vagrant before a new run. Nothing outside TEST_ROOT is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.runcli import labgen

TEST_ROOT = Path(os.environ.get("LABGEN_TEST_ROOT", "/var/tmp/labgen-tests"))
# Beside TEST_ROOT, not in it: test_lab_lxc.py destroys whatever it finds under TEST_ROOT.
ROLES_ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-roles")
LIBVIRT_ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-libvirt")   # test_lab_libvirt.py
SSH_ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-ssh")           # test_ssh_refresh_lxc.py
DOCKER_ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-docker")      # test_docker_lxc.py


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
    whose nodes or proxy download packages skip with this reason instead of failing. Asked
    once per session: one HEAD request to the archive the host's apt already uses."""
    if not _archive_reason:
        import urllib.request

        from labgen.aptproxy import host_archive_url

        url = host_archive_url().rstrip("/") + "/dists/bookworm/InRelease"
        try:
            request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "labgen-tests"})
            with urllib.request.urlopen(request, timeout=10) as resp:
                _archive_reason.append(None if resp.status == 200 else f"{url}: HTTP {resp.status}")
        except Exception as exc:       # any failure means: not reachable from here
            _archive_reason.append(f"the Debian archive is not reachable ({url}: {exc})")
    return _archive_reason[0]


def destroy_lab_dir(lab_dir: Path) -> None:
    """Destroy a test lab (through labgen, then Vagrant for anything half-made) and its dir."""
    if (lab_dir / ".labgen" / "state.json").exists():
        labgen("destroy", "--yes", "--dir", str(lab_dir), timeout=300)
    if (lab_dir / ".vagrant").exists():
        subprocess.run(["vagrant", "destroy", "-f"], cwd=lab_dir, capture_output=True, timeout=300)
    shutil.rmtree(lab_dir, ignore_errors=True)


def destroy_leftovers(root: Path = TEST_ROOT) -> list[str]:
    """Destroy every lab an earlier test run left under `root`. Returns what it cleaned."""
    if not root.exists():
        return []
    leftovers = sorted(p for p in root.iterdir() if p.is_dir())
    for lab_dir in leftovers:
        destroy_lab_dir(lab_dir)
    return [str(p) for p in leftovers]


if __name__ == "__main__":      # make clean-test-leftovers
    for root in (TEST_ROOT, ROLES_ROOT, LIBVIRT_ROOT, SSH_ROOT, DOCKER_ROOT):
        for line in destroy_leftovers(root):
            print("cleaned", line)
