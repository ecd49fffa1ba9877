"""Starting a seat's cloned LXC containers without Vagrant's Ruby, as vagrant-lxc would.

`vagrant up` of an adopted clone only writes its `# VAGRANT-BEGIN/END` block into the
container's config, runs `lxc-start -d`, waits for SSH; `vagrant ssh-config` then reads the
first address `lxc-info -iH` gives. Two Ruby starts cost a seat ~9 s of a `classroom reset`
on 2 cores. Here the block is the one vagrant-lxc wrote for the seat image's node when the
image booted, with the image's names swapped for the seat's (veth, bridge, address, console
log, uts name): anything else in it that names the image makes the caller fall back to
Vagrant. The seat dir stays an ordinary Vagrant lab: the machine files Vagrant would keep
(.vagrant/machines/NODE/lxc/id, private_key, creator_uid...) are written, so `vagrant
status`, `halt`, `destroy` and a later `vagrant up` (which rewrites the same block) work.

Every command is an argument list; no value reaches a shell.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from labgen.errors import LabgenError
from labgen.labdir import atomic_write
from labgen.providers.base import NotLikeVagrant
from labgen.remote import address_answers

BLOCK = re.compile(r"^# VAGRANT-BEGIN\n(.*?)^# VAGRANT-END\n", re.S | re.M)
# Vagrant keeps these per machine; the clone gets its own id, key and cwd (see write_machine_files).
MACHINE_FILES_COPIED = ("box_meta", "synced_folders")
SSH_WAIT = 120.0  # seconds for a started container to answer on port 22
# lxcbr0 as Debian's lxc-net makes it (LXC_ADDR, LXC_NETMASK): the management network
MGMT_ADDRESS = ipaddress.IPv4Interface("10.0.3.1/24")
POLL = 0.25
# How long a started node's SSH address waits for its lxcbr0 lease before the lab address (eth1,
# which LXC sets before init runs) is taken instead (see ssh_addresses).
MGMT_GRACE = 30.0


@dataclass(frozen=True)
class NodeNames:
    """What differs between the image's node and the seat's node in vagrant-lxc's block."""

    machine: str  # container name, also lxc.uts.name (vagrant-lxc sets the machine id there)
    veth: str
    bridge: str
    address: str  # eth1's address with its prefix
    console_log: str
    instance: str  # the lab's instance name, part of every name above
    mac: str  # the management NIC's (lxc_seat.mgmt_mac of the container name)

    def by_key(self) -> dict[str, str]:
        return {
            "lxc.net.0.veth.pair": self.veth,
            "lxc.net.1.link": self.bridge,
            "lxc.net.1.ipv4.address": self.address,
            "lxc.console.logfile": self.console_log,
            "lxc.uts.name": self.machine,
            "lxc.net.0.hwaddr": self.mac,
        }


def vagrant_block(image_config: str) -> list[str]:
    """The `lxc.key=value` lines of the vagrant-lxc block in a container config.
    Raises NotLikeVagrant when there is none (the image did not boot through vagrant-lxc)."""
    m = BLOCK.search(image_config)
    if not m:
        raise NotLikeVagrant("the seat image's container config holds no vagrant-lxc block")
    return [line for line in m.group(1).splitlines() if line.strip()]


def seat_block(image_lines: list[str], image: NodeNames, seat: NodeNames) -> list[str]:
    """The image node's block lines with the image's names replaced by the seat's.

    Raises NotLikeVagrant when a line the swap expects is missing or differs from what the
    image's lab says, or when any other line still names the image (its container, bridge,
    veth or address): then this is not the block vagrant-lxc would write for the seat."""
    want = image.by_key()
    new = seat.by_key()
    seen: set[str] = set()
    out = []
    image_ip = image.address.split("/")[0]
    marks = (image.instance, image.bridge, image.veth, image_ip, image.mac)
    for line in image_lines:
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.startswith("lxc."):
            raise NotLikeVagrant(f"unexpected line in the seat image's vagrant-lxc block: {line!r}")
        if key in want:
            if key in seen or value.strip() != want[key]:
                raise NotLikeVagrant(f"the seat image's {key} is {value.strip()!r}, not {want[key]!r}")
            seen.add(key)
            out.append(f"{key}={new[key]}")
            continue
        if any(mark in value for mark in marks):
            raise NotLikeVagrant(f"a line of the seat image's vagrant-lxc block names the image: {line!r}")
        out.append(line)
    if seen != set(want):
        raise NotLikeVagrant("the seat image's vagrant-lxc block lacks " + ", ".join(sorted(set(want) - seen)))
    return out


def with_block(config: str, lines: list[str]) -> str:
    """`config` with its vagrant-lxc block (if any) replaced by `lines`, as vagrant-lxc's
    prune + write_customizations leave it (so its next prune removes exactly this)."""
    text = BLOCK.sub("", config)
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "\n".join(["# VAGRANT-BEGIN", *lines, "# VAGRANT-END"]) + "\n"


def write_machine_files(lab_dir: Path, node: str, machine: str, image_machine_dir: Path) -> None:
    """Vagrant's record of the machine in the seat dir, as `vagrant up` leaves it: `id` and
    `private_key` (written by Provider.adopt), the box's record copied from the image's
    node, `creator_uid` and `vagrant_cwd`. Not `index_uuid`: Vagrant's global index is
    optional and it adds the machine on its next action."""
    d = Path(lab_dir) / ".vagrant" / "machines" / node / "lxc"
    d.mkdir(parents=True, exist_ok=True)
    try:
        adopted = (d / "id").read_text().strip()
    except OSError:
        adopted = None
    if adopted != machine:
        raise NotLikeVagrant(f"{d / 'id'} does not name {machine}")
    for name in MACHINE_FILES_COPIED:
        src = Path(image_machine_dir) / name
        if src.is_file():
            shutil.copyfile(src, d / name)
    (d / "creator_uid").write_text(str(os.getuid()))
    (d / "vagrant_cwd").write_text(str(Path(lab_dir).resolve()))


def ssh_config_text(lab_dir: Path, addresses: dict[str, str]) -> str:
    """What `vagrant ssh-config` prints for vagrant-lxc nodes at `addresses` (node -> IP)."""
    blocks = []
    for node, ip in addresses.items():
        key = Path(lab_dir).resolve() / ".vagrant" / "machines" / node / "lxc" / "private_key"
        blocks.append(
            f"Host {node}\n"
            f"  HostName {ip}\n"
            "  User vagrant\n"
            "  Port 22\n"
            "  UserKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking no\n"
            "  PasswordAuthentication no\n"
            f"  IdentityFile {key}\n"
            "  IdentitiesOnly yes\n"
            "  LogLevel FATAL\n"
        )
    return "\n".join(blocks)


def pick_address(info_ips: str, managed_only: bool = False) -> str | None:
    """The SSH address among `lxc-info -iH`'s (one a line): the management address (lxcbr0's
    network) when the node has one, else (unless `managed_only`) the first IPv4 (while lxcbr0's
    DHCP answer is pending: eth1's, the lab address LXC sets at start). vagrant-lxc takes the
    first line, but lxc-info lists eth0 and eth1 in the order of their interface indexes modulo
    256, which the host's counter flips (seen: a restarted node's cached address the lab one, not
    its new lease); the management address is also the one a lab exercise that breaks eth1
    leaves alone."""
    found = []
    for word in info_ips.split():
        try:
            ip = ipaddress.ip_address(word)
        except ValueError:
            continue
        if ip.version == 4:
            found.append(ip)
    managed = [ip for ip in found if ip in MGMT_ADDRESS.network]
    if managed_only:
        return str(managed[0]) if managed else None
    return str((managed or found)[0]) if found else None


def ssh_address(machine: str, managed_only: bool = False) -> str | None:
    """The address vagrant-lxc gives Vagrant's SSH for the running container `machine` (see
    pick_address), None while it has none. Raises NotLikeVagrant when lxc-info fails to run."""
    return pick_address(_lxc(["lxc-info", "-iH", "-n", machine], timeout=30).stdout, managed_only)


def ssh_addresses(machines: dict[str, str], grace: float | None = None) -> dict[str, str | None]:
    """node -> SSH address of each running machine (node -> container): its lxcbr0 address,
    waited for up to `grace` s (MGMT_GRACE) while DHCP is pending, else the first IPv4 it has
    (None: none). Vagrant may report a node up while only eth1 has its address: cached then, the
    lab address kept answering, so a later refresh never asked again for the lease."""
    end = time.monotonic() + (MGMT_GRACE if grace is None else grace)
    found: dict[str, str] = {}
    while True:
        for node, machine in machines.items():
            if node not in found and (ip := ssh_address(machine, managed_only=True)):
                found[node] = ip
        if len(found) == len(machines) or time.monotonic() >= end:
            break
        time.sleep(POLL)
    return {node: found.get(node) or ssh_address(machine) for node, machine in machines.items()}


def _lxc(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NotLikeVagrant(f"`{' '.join(args)}` failed: {exc}") from None


def start(machine: str, config_path: Path, lines: list[str]) -> None:
    """Write the block into the container's config and `lxc-start -d` it (what vagrant-lxc's
    Boot does). Raises NotLikeVagrant when lxc-start fails."""
    # atomic, as lxc_seat writes the same file: a half-written config would not start
    atomic_write(config_path, with_block(config_path.read_text(), lines))
    res = _lxc(["lxc-start", "-d", "-n", machine])
    if res.returncode != 0:
        detail = (res.stderr or res.stdout).strip().splitlines()
        raise NotLikeVagrant(f"lxc-start {machine} failed: {detail[-1] if detail else res.returncode}")


def wait_for_ssh(machines: dict[str, str], boot_failure, timeout: float = SSH_WAIT) -> dict[str, str]:
    """node -> SSH address (see pick_address: for MGMT_GRACE s only the lxcbr0 one), once each
    machine (node -> container) has one and accepts connections on port 22. `boot_failure()`
    names why a node stopped during boot (its console), raised as LabgenError at once. Raises
    NotLikeVagrant after `timeout` s."""
    found: dict[str, str] = {}
    ready: set[str] = set()
    began = time.monotonic()
    end = began + timeout
    while True:
        for node, machine in machines.items():
            if node in ready:
                continue
            if node not in found:
                ip = ssh_address(machine, managed_only=time.monotonic() < began + MGMT_GRACE)
                if ip is None:
                    continue
                found[node] = ip
            if address_answers({"hostname": found[node], "port": "22"}, timeout=1.0):
                ready.add(node)
        if len(ready) == len(machines):
            return {n: found[n] for n in machines}
        why = boot_failure()
        if why:
            raise LabgenError(why, hint="fix what the node's console names, then run the same command again")
        if time.monotonic() > end:
            late = ", ".join(sorted(set(machines) - ready))
            raise NotLikeVagrant(f"{late}: no SSH within {timeout:.0f} s")
        time.sleep(POLL)
