"""What a seat's clone runs with on LXC beyond an ordinary lab's container (issue 17: disk per
idle seat, beyond the shared image).

etcd 3.4 preallocates each 64 MB write-ahead-log segment, and the next one, with fallocate(2)
(not configurable: etcd-io/etcd#9422): 2 x 64 MB of real blocks per member, nearly all of a
clone's own disk. Its fileutil.preallocExtend falls back to ftruncate (a sparse file) when
fallocate fails with EOPNOTSUPP. So a clone runs under a seccomp profile of its own (LXC's v2
format): the host's common.seccomp (what every container gets through common.conf) plus
`fallocate errno 95`. glibc's posix_fallocate then emulates by writing, so journald, dpkg and
apt keep working; the `fallocate` command fails in a seat ("Operation not supported").
The seat image and `labgen create` labs keep fallocate: the image's etcd data is removed when
it is sealed, so only clones would pay.

journald creates its files at 8 MiB each (the system's and the vagrant user's): in a clone they
are capped at 2 MiB a file and 32 MiB in all (a drop-in written before the clone's first boot).

lxc-net's dnsmasq pings every address it is about to offer to a new client for 3 s, one address
at a time (a trio seat: 9 s), and a clone used to be a new client every time: LXC draws a
random MAC at each start when the config names none, and systemd-networkd's client id derives
from the machine-id, new in every clone. A fresh clone gets a MAC of its own derived from its
container name (`lxc.net.0.hwaddr`, so the same seat node has the same MAC after a `reset` or a
restart) and a networkd drop-in sending that MAC as its DHCP client id: dnsmasq then finds the
node's lease of the last clone and answers at once, with the same address. (labgen's box sends
the MAC as client id itself, and every node Vagrant creates has mgmt_mac from the Vagrantfile;
the drop-in is for images made from an older box.) The first lease is claimed from the host
before the node starts (LxcProvider.prepare_host, dhcp_claim), for the same reason.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from labgen.errors import LabgenError
from labgen.labdir import atomic_write

PROFILE_NAME = "seat.seccomp"
COMMON_SECCOMP = Path("/usr/share/lxc/config/common.seccomp")
# Debian's LXC 5 common.seccomp, for a host whose own is missing or not a v2 denylist.
COMMON_FALLBACK = (
    "2\ndenylist\nreject_force_umount\n[all]\nkexec_load errno 1\nopen_by_handle_at errno 1\n"
    "init_module errno 1\nfinit_module errno 1\ndelete_module errno 1\n"
)
EOPNOTSUPP = 95
MARK = "# labgen seat: fallocate(2) fails with EOPNOTSUPP, so etcd's write-ahead log stays sparse"
JOURNALD_DROPIN = "etc/systemd/journald.conf.d/60-labgen-seat.conf"
JOURNALD_TEXT = (
    "# labgen seat (a copy-on-write clone): journald creates its files at 8 MiB each, and every\n"
    "# byte a clone writes is its own disk. Small files, and a cap for the whole journal.\n"
    "[Journal]\nSystemMaxFileSize=2M\nSystemMaxUse=32M\n"
)
# labgen's LXC box configures eth0 (lxcbr0, DHCP) in this file (boxes/lxc/build.sh); a drop-in
# for a box without it is ignored.
DHCP_DROPIN = "etc/systemd/network/10-eth0.network.d/60-labgen-seat.conf"
DHCP_TEXT = (
    "# labgen seat: the DHCP client id is the MAC (LXC's lxc.net.0.hwaddr, the same for this seat\n"
    "# node after a reset), not the machine-id's DUID: the host's dnsmasq then knows the lease.\n"
    "[DHCPv4]\nClientIdentifier=mac\n"
)
HWADDR_KEY = "lxc.net.0.hwaddr"


def profile_text(common: str | None) -> str:
    """The seat profile: `common` (the host's common.seccomp) when it is a v2 denylist, else
    Debian's, plus the fallocate rule."""
    lines = (common or "").splitlines()
    ok = len(lines) >= 2 and lines[0].strip() == "2" and lines[1].split()[:1] in (["denylist"], ["blacklist"])
    base = common if ok and common else COMMON_FALLBACK
    return base.rstrip("\n") + f"\n[all]\nfallocate errno {EOPNOTSUPP}\n"


def check_config_path(path: Path) -> None:
    """A path that one LXC config line holds as is: absolute, no control characters, no
    whitespace at its ends (LXC strips it)."""
    text = str(path)
    if not os.path.isabs(text) or text != text.strip() or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise LabgenError(
            f"cannot name {text!r} in an LXC config line",
            hint="set LABGEN_CACHE to a plain absolute path",
        )


def write_profile(directory: Path) -> Path:
    """Write (or bring up to date) the seat profile in `directory`; returns its path."""
    path = Path(directory) / PROFILE_NAME
    check_config_path(path)
    try:
        common = COMMON_SECCOMP.read_text()
    except OSError:
        common = None
    text = profile_text(common)
    try:
        current = path.read_text()
    except OSError:
        current = None
    if current != text:
        atomic_write(path, text)
    return path


def _is_profile_line(line: str) -> bool:
    return line.strip().replace(" ", "").startswith("lxc.seccomp.profile=")


def with_profile(config: str, profile: Path) -> str:
    """`config` (a clone's LXC config) using `profile`: any earlier seccomp line of its own
    dropped (a clone's config has none but labgen's), labgen's put before vagrant-lxc's block
    (vagrant-lxc rewrites its file in place without truncating it: text after its block could
    come back as fragments)."""
    check_config_path(profile)
    lines = [
        line for line in config.splitlines(keepends=True) if line.rstrip("\n") != MARK and not _is_profile_line(line)
    ]
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    ours = [MARK + "\n", f"lxc.seccomp.profile = {profile}\n"]
    at = next((i for i, line in enumerate(lines) if line.rstrip("\n") == "# VAGRANT-BEGIN"), len(lines))
    return "".join(lines[:at] + ours + lines[at:])


def apply_profile(container_dir: Path, profile: Path) -> bool:
    """Make the container's config use `profile` (read at its next start). True when the file
    changed."""
    config = Path(container_dir) / "config"
    text = config.read_text()
    new = with_profile(text, profile)
    if new == text:
        return False
    atomic_write(config, new)
    return True


def write_journald_dropin(delta: Path) -> Path:
    """The journald drop-in in a fresh clone's overlay upper dir (before its first boot: a
    running or used clone's upper dir is the student's, and may hold links)."""
    return _write_in_delta(Path(delta), JOURNALD_DROPIN, JOURNALD_TEXT)


def _write_in_delta(delta: Path, inside: str, text: str) -> Path:
    """Write `inside` (a relative path) in a fresh clone's overlay upper dir, refusing links."""
    path = delta / inside
    for parent in [delta, *(delta / p for p in Path(inside).parents if str(p) != ".")]:
        if parent.is_symlink():
            raise LabgenError(f"{parent} is a symbolic link: not writing {path}")
    atomic_write(path, text)
    return path


def mgmt_mac(machine: str) -> str:
    """The management NIC's MAC of the container named `machine` (every LXC node's: the
    Vagrantfile names it, a clone's config gets it): locally administered, unicast, 40 bits of a
    hash of the name (container names are unique on a host; two of 90 seat nodes share a MAC
    with odds of about 4e-9)."""
    digest = hashlib.sha256(f"labgen-mgmt-mac:{machine}".encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def with_hwaddr(config: str, mac: str) -> str:
    """`config` with `lxc.net.0.hwaddr = mac` (any earlier one dropped), put before vagrant-lxc's
    block as with_profile does."""
    lines = [line for line in config.splitlines(keepends=True) if line.split("=")[0].strip() != HWADDR_KEY]
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    at = next((i for i, line in enumerate(lines) if line.rstrip("\n") == "# VAGRANT-BEGIN"), len(lines))
    return "".join(lines[:at] + [f"{HWADDR_KEY} = {mac}\n"] + lines[at:])


def configured_mac(config: str) -> str | None:
    """The MAC `config` (a container's LXC config) fixes for its management NIC, if any."""
    for line in config.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == HWADDR_KEY:
            return value.strip().lower()
    return None


def keep_dhcp_identity(container_dir: Path, machine: str, delta: Path) -> None:
    """A fresh clone (not started yet): its MAC fixed (mgmt_mac) and networkd's DHCP client id
    set to it, so that dnsmasq answers from the lease a previous clone of this node had."""
    config = Path(container_dir) / "config"
    atomic_write(config, with_hwaddr(config.read_text(), mgmt_mac(machine)))
    _write_in_delta(Path(delta), DHCP_DROPIN, DHCP_TEXT)
