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
"""

from __future__ import annotations

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
    path = Path(delta) / JOURNALD_DROPIN
    for parent in [Path(delta), *(Path(delta) / p for p in Path(JOURNALD_DROPIN).parents if str(p) != ".")]:
        if parent.is_symlink():
            raise LabgenError(f"{parent} is a symbolic link: not writing {path}")
    atomic_write(path, JOURNALD_TEXT)
    return path
