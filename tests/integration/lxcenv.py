"""What the LXC integration tests need from the machine, and how they clean up after themselves.

Test labs live under TEST_ROOT only; anything labgen's tests left there (an interrupted run)
is destroyed through Vagrant before a new run. Nothing outside TEST_ROOT is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TEST_ROOT = Path(os.environ.get("LABGEN_TEST_ROOT", "/var/tmp/labgen-tests"))
LABGEN = [sys.executable, "-m", "labgen"]


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


def labgen(*args, cwd=None, timeout=900, check=False, input=None):
    """Run the real CLI as a user would; returns CompletedProcess with text output."""
    env = dict(os.environ, COLUMNS="120", NO_COLOR="1", LANG="C.UTF-8")
    res = subprocess.run([*LABGEN, *args], cwd=cwd, capture_output=True, text=True,
                         timeout=timeout, env=env, input=input, stdin=None if input else subprocess.DEVNULL)
    if check and res.returncode != 0:
        raise AssertionError(f"labgen {' '.join(args)} exited {res.returncode}\n"
                             f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}")
    return res


def destroy_leftovers() -> list[str]:
    """Destroy every lab an earlier test run left under TEST_ROOT. Returns what it cleaned."""
    cleaned = []
    if not TEST_ROOT.exists():
        return cleaned
    for lab_dir in sorted(p for p in TEST_ROOT.iterdir() if p.is_dir()):
        if (lab_dir / ".labgen" / "state.json").exists():
            labgen("destroy", "--yes", "--dir", str(lab_dir), timeout=300)
        if (lab_dir / ".vagrant").exists():
            subprocess.run(["vagrant", "destroy", "-f"], cwd=lab_dir, capture_output=True, timeout=300)
        shutil.rmtree(lab_dir, ignore_errors=True)
        cleaned.append(str(lab_dir))
    return cleaned


if __name__ == "__main__":
    for line in destroy_leftovers():
        print("cleaned", line)
