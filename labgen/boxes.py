"""Vagrant boxes: is one installed, and building labgen's own box (LXC, libvirt) from its recipe.

The recipes themselves are boxes/lxc/build.sh and boxes/libvirt/build.sh (shipped with labgen);
this module only finds it, runs it and turns its failures into LabgenError. Nothing here starts
Ruby: Vagrant's box directory is read directly, which takes microseconds where `vagrant box list`
takes about a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Callable

from labgen.errors import LabgenError, PreflightError
from labgen.resources import resource

LXC_BOX = "labgen/debian-12"  # labgen's own box: built here for lxc and for libvirt
# What each known box runs; roles choose their packages by it (labgen/provision/pins.py).
BOX_DISTROS = {"labgen/debian-12": "debian-12", "ubuntu/xenial64": "ubuntu-16.04", "generic/ubuntu1604": "ubuntu-16.04"}
BUILD_TIMEOUT = 30 * 60  # seconds; a cold build takes 80-90 s here


def vagrant_boxes_dir() -> Path:
    """Where Vagrant keeps unpacked boxes (VAGRANT_HOME or ~/.vagrant.d)."""
    home = os.environ.get("VAGRANT_HOME") or os.path.join(os.path.expanduser("~"), ".vagrant.d")
    return Path(home) / "boxes"


def box_installed(name: str, provider: str) -> bool:
    """True when some version of box `name` ("owner/box") is installed for `provider`.

    Reads the box directory only: boxes/<owner>-VAGRANTSLASH-<box>/<version>/<provider>/, or
    .../<version>/<architecture>/<provider>/ as newer Vagrant lays it out.
    """
    box_dir = vagrant_boxes_dir() / name.replace("/", "-VAGRANTSLASH-")
    if not box_dir.is_dir():
        return False
    for pattern in (f"*/{provider}/metadata.json", f"*/*/{provider}/metadata.json"):
        if any(box_dir.glob(pattern)):
            return True
    return False


BUILDABLE = ("lxc", "libvirt")  # providers labgen builds labgen/debian-12 for
# What each recipe needs, for the error when it is run without root.
WHY_ROOT = {
    "lxc": "debootstrap makes device nodes",
    "libvirt": "the disk image is made through a loop device and a mount",
}


def recipe(provider: str) -> Path:
    """The box recipe shipped with labgen for `provider`. Raises LabgenError when it is missing."""
    try:
        script = resource("boxes") / provider / "build.sh"
    except FileNotFoundError:
        script = Path("boxes", provider, "build.sh")
    if not script.is_file():
        raise LabgenError(
            f"the {provider} box recipe {script} is missing from this installation",
            hint=f"reinstall labgen, or run boxes/{provider}/build.sh from a checkout",
        )
    return script


def lxc_recipe() -> Path:
    return recipe("lxc")


def build_box(provider: str, force: bool = False, log: Callable[[str], object] | None = None) -> None:
    """Build labgen/debian-12 for `provider` (lxc or libvirt), if needed, and add it to Vagrant.

    Changes on the host: bootstraps Debian 12 from the archive in a temporary directory
    (debootstrap for lxc; mmdebstrap, a loop-mounted disk image and extlinux for libvirt),
    writes the .box and a .deb cache under $LABGEN_CACHE (default ~/.cache/labgen), and runs
    `vagrant box add --force`. Does nothing when the installed box came from the same recipe,
    unless `force`. Each line the recipe prints goes to `log` (none: only the failing line is
    kept, for the error).

    Raises PreflightError when not root, LabgenError when the recipe fails (with its last
    message line) or the provider has no recipe.
    """
    if provider not in BUILDABLE:
        raise LabgenError(
            f"labgen builds boxes for {', '.join(BUILDABLE)}, not {provider}",
            hint="VirtualBox labs use a box from Vagrant Cloud (boxes/catalog.yml)",
        )
    if os.geteuid() != 0:
        raise PreflightError(
            f"building the {provider} box needs root ({WHY_ROOT[provider]})",
            hint=f"run it with sudo: sudo labgen box build {provider}",
        )
    # `bash script` rather than executing it: a wheel does not keep the executable bit.
    cmd = ["bash", str(recipe(provider))] + (["--force"] if force else [])
    last = _run_logged(cmd, log or (lambda line: None))
    if last is not None:
        raise LabgenError(
            f"building the {provider} box failed: {last}",
            hint=f"see the lines above; fix the cause and rerun `sudo labgen box build {provider} --force`",
        )


def build_lxc_box(force: bool = False, log: Callable[[str], object] | None = None) -> None:
    build_box("lxc", force, log)


def _run_logged(cmd: list[str], log: Callable[[str], object]) -> str | None:
    """Run `cmd`, passing each output line to `log`. None on success, else the last line."""
    last = ""
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        return f"cannot start {cmd[0]}: {exc.strerror}"
    assert proc.stdout is not None
    # The output loop blocks until the recipe ends, so the time bound is a timer that kills it.
    # The whole process group goes: debootstrap would otherwise outlive bash and keep the pipe.
    timer = threading.Timer(BUILD_TIMEOUT, _terminate_group, (proc.pid,))
    timer.start()
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            if line:
                last = line
                log(line)
        code = proc.wait()
    finally:
        timer.cancel()
    if code < 0:
        return f"stopped by signal {-code} (time limit {BUILD_TIMEOUT} s)"
    return None if code == 0 else (last or f"exit status {code}")


def _terminate_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
