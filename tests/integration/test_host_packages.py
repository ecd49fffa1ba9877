"""`make demo` installs the demo's packages only: asked of this host's real apt, in simulation
(`apt-get install -s`, nothing is installed), against an empty package database, so the answer
is every package a fresh machine would get, whatever this one already has."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

if not shutil.which("apt-get"):
    pytest.skip("needs apt-get (Debian/Ubuntu)", allow_module_level=True)


def make_packages(target: str) -> tuple[list[str], str]:
    """The packages `make TARGET` would install, and the apt options it would pass (make -n)."""
    script = subprocess.run(
        ["make", "-s", "-n", target], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    names = re.search(r"for p in (.*?); do", script).group(1).split()
    options = re.search(r"apt-get install -y -q (.*?)\$missing", script).group(1).strip()
    return names, options


def simulate(packages: list[str], options: str, tmp_path) -> list[str]:
    empty = tmp_path / "status"
    empty.write_text("")
    res = subprocess.run(
        ["apt-get", "install", "-s", *options.split(), "-o", f"Dir::State::status={empty}", *packages],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    return [line.split()[1] for line in res.stdout.splitlines() if line.startswith("Inst ")]


def test_the_demo_installs_no_kernel_qemu_libvirt_or_browser(tmp_path):
    packages, options = make_packages("host-packages")
    assert options == "--no-install-recommends"
    for name in ("vagrant", "vagrant-lxc", "lxc", "debootstrap", "apt-cacher-ng", "dnsmasq-base", "graphviz"):
        assert name in packages
    installed = simulate(packages, options, tmp_path)
    unwanted = [
        p
        for p in installed
        if re.match(
            r"(linux-image|initramfs-tools|qemu|libvirt-daemon|chromium|"
            r"mmdebstrap|shellcheck|etcd|vagrant-libvirt|fonts-noto-cjk)",
            p,
        )
    ]
    assert unwanted == [], unwanted
    assert "lxc" in installed and "vagrant" in installed
    # (the same set with Recommends pulls linux-image-amd64, initramfs-tools and QEMU through
    # vagrant -> vagrant-libvirt: checked by hand, 875 packages instead of 278 from nothing)


def test_make_test_adds_the_rest(tmp_path):
    demo, _ = make_packages("host-packages")
    script = subprocess.run(
        ["make", "-s", "-n", "test-packages"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    lists = [m.split() for m in re.findall(r"for p in (.*?); do", script)]
    assert lists[0] == demo and len(lists) == 2
    for name in (
        "chromium",
        "qemu-system-x86",
        "libvirt-daemon-system",
        "mmdebstrap",
        "shellcheck",
        "etcd-server",
        "fonts-noto-cjk",
        "openssh-server",
    ):
        assert name in lists[1] and name not in demo


def lxc_includes(path: Path) -> list[Path]:
    """Every file that the LXC config `path` includes (lxc.include = FILE), recursively."""
    found = []
    for line in path.read_text().splitlines():
        m = re.match(r"\s*lxc\.include\s*=\s*(\S+)", line)
        if m:
            included = Path(m.group(1))
            found.append(included)
            if included.is_file():
                found += lxc_includes(included)
    return found


def test_the_demo_installs_what_the_lxc_box_config_includes(tmp_path):
    # lxc's Recommends brought lxc-templates, whose debian.common.conf the box's config
    # includes: without Recommends, a fresh machine's lxc-create failed on the missing file.
    packages, options = make_packages("host-packages")
    installed = set(simulate(packages, options, tmp_path))
    includes = lxc_includes(REPO / "boxes" / "lxc" / "lxc-config")
    assert Path("/usr/share/lxc/config/debian.common.conf") in includes
    for included in includes:
        res = subprocess.run(["dpkg", "-S", str(included)], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, f"{included}: no package ships it here ({res.stderr.strip()})"
        # A directory (common.conf.d) may have several owners: one of them is enough.
        owners = {name.split(":")[0] for name in res.stdout.split(": ")[0].split(", ")}
        assert owners & installed, f"{included} comes from {owners}, which `make demo` does not install"
