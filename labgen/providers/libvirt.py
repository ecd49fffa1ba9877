"""libvirt through vagrant-libvirt: VMs under KVM, or under QEMU's TCG emulation when KVM is
not really usable (see labgen/kvm.py).

What the host needs, and this module makes sure of (measured: /work/shared/ENVIRONMENT.md,
"libvirt under QEMU TCG"):
- virtlogd and libvirtd running. Hosts without a service manager (containers, CI machines)
  never start them, so labgen does, as daemons (`virtlogd -d`, `libvirtd -d`).
- a storage pool of labgen's own (`labgen`, a directory) for the box image and the VM disks,
  so that destroying a lab never touches a user's `default` pool.
- two libvirt networks that labgen defines itself, before `vagrant up` (vagrant-libvirt
  then uses them as they are, and machines booted in parallel never race to create them):
  the lab's isolated network holding the host's address (.1; no DHCP, no forwarding), like
  VirtualBox's host-only network, and one management network for every labgen lab (DHCP,
  no forwarding: nodes reach nothing but the host), which carries Vagrant's SSH.

`cleanup_host` removes what a lab left (domains, disks, its network), and when no labgen
domain remains, the management network, the pool and the `LIBVIRT_*` firewall chains
libvirtd leaves behind once no libvirt network is active. Every command is an argument list.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from labgen import aptproxy, kvm
from labgen.boxes import LXC_BOX, box_installed
from labgen.errors import LabgenError, PreflightError
from labgen.model import Facts, Lab
from labgen.providers.base import Provider, vagrant_plugin_installed

URI = "qemu:///system"
PREFIX = "labgen-"  # domains (labgen-<lab>-<node>) and networks
POOL = "labgen"
POOL_DIR = Path("/var/lib/labgen/libvirt")
MGMT_NETWORK = "labgen-mgmt"
MGMT_BRIDGE = "lgvirtmgmt"
MGMT_CIDR = "10.0.4.0/24"  # next to LXC's lxcbr0 10.0.3.0/24
MGMT_HOST, MGMT_NETMASK = "10.0.4.1", "255.255.255.0"
MGMT_DHCP = ("10.0.4.10", "10.0.4.254")
BRIDGE_PREFIX = "lgvirt"
SOCKET = Path("/run/libvirt/libvirt-sock")
DAEMON_START_TIMEOUT = 30  # seconds for libvirtd's socket to answer
COMMAND_TIMEOUT = 60
DRIVER_ENV = "LABGEN_LIBVIRT_DRIVER"  # read by the Vagrantfile: kvm or qemu


def domain_prefix(lab: Lab) -> str:
    """vagrant-libvirt's default_prefix: domains are named labgen-<lab>-<node>."""
    return f"{PREFIX}{lab.instance_name}-"


def network_name(lab: Lab) -> str:
    return f"{PREFIX}{lab.instance_name}"


def bridge_name(lab: Lab) -> str:
    """The lab network's bridge: lgvirt + 8 hex digits of sha256(instance, network); ≤ 15 characters."""
    digest = hashlib.sha256(f"{lab.instance_name}|{lab.network}".encode()).hexdigest()
    return f"{BRIDGE_PREFIX}{digest[:8]}"


def lab_network_xml(lab: Lab) -> str:
    """An isolated network (no <forward>, no DHCP) holding the host's address on the lab network."""
    return (
        f"<network>\n  <name>{escape(network_name(lab))}</name>\n"
        f"  <bridge name={quoteattr(bridge_name(lab))} stp='off' delay='0'/>\n"
        f"  <ip address={quoteattr(str(lab.host_ip))} "
        f"netmask={quoteattr(str(lab.network.netmask))}/>\n</network>\n"
    )


def mgmt_network_xml() -> str:
    """The management network: DHCP for eth0 (Vagrant's SSH), isolated from the outside."""
    return (
        f"<network>\n  <name>{MGMT_NETWORK}</name>\n"
        f"  <bridge name='{MGMT_BRIDGE}' stp='off' delay='0'/>\n"
        f"  <ip address='{MGMT_HOST}' netmask='{MGMT_NETMASK}'>\n"
        f"    <dhcp><range start='{MGMT_DHCP[0]}' end='{MGMT_DHCP[1]}'/></dhcp>\n"
        f"  </ip>\n</network>\n"
    )


def pool_xml() -> str:
    return (
        f"<pool type='dir'>\n  <name>{POOL}</name>\n  <target><path>{escape(str(POOL_DIR))}</path></target>\n</pool>\n"
    )


class LibvirtProvider(Provider):
    name = "libvirt"
    distro = "ubuntu-16.04"  # the catalogue's generic/ubuntu1604; labgen/debian-12 runs debian-12

    def template_context(self, lab: Lab) -> dict:
        return {
            "network_name": network_name(lab),
            "default_prefix": domain_prefix(lab),
            "storage_pool": POOL,
            "mgmt_network": MGMT_NETWORK,
            "mgmt_cidr": MGMT_CIDR,
        }

    def machine_name(self, lab: Lab, node_name: str) -> str:
        return f"{domain_prefix(lab)}{node_name}"

    def preflight(self, lab: Lab) -> None:
        """Raise PreflightError unless vagrant, vagrant-libvirt, libvirt, QEMU and the box are
        present. Reads files only (no Ruby start); changes nothing. KVM is not required: without
        a usable KVM the lab runs under QEMU TCG (prepare_host says so)."""
        super().preflight(lab)
        if not vagrant_plugin_installed("vagrant-libvirt"):
            raise PreflightError(
                "the vagrant-libvirt plugin is not installed",
                hint="Debian: apt-get install vagrant-libvirt; elsewhere: vagrant plugin install vagrant-libvirt",
            )
        for tool, package in (
            ("virsh", "libvirt-clients"),
            ("libvirtd", "libvirt-daemon-system"),
            ("qemu-img", "qemu-utils"),
        ):
            if not _which(tool):
                raise PreflightError(
                    f"{tool} is not installed",
                    hint=f"Debian: apt-get install {package} libvirt-daemon-system qemu-system-x86",
                )

        if kvm.qemu_binary() is None:
            raise PreflightError(
                "QEMU is not installed (qemu-system-x86_64)", hint="Debian: apt-get install qemu-system-x86"
            )
        box = lab.boxes.get("libvirt", "")
        if box == LXC_BOX and not box_installed(box, "libvirt"):
            raise PreflightError(
                f"box {box} is not installed for provider libvirt",
                hint="run `sudo labgen box build libvirt` (recipe: boxes/libvirt/build.sh)",
            )

    def prepare_host(self, lab: Lab) -> list[str]:
        """Start the daemons if needed, then make labgen's pool and the two networks exist and run.

        Changes on the host: may start virtlogd and libvirtd; may define and start the pool
        `labgen` (directory /var/lib/labgen/libvirt), the network labgen-mgmt (10.0.4.0/24,
        DHCP) and the lab's network (its cidr, host .1); starts the apt proxy on the lab
        address (labgen/aptproxy.py). Returns one line per change, and a warning line when VMs
        will run under QEMU TCG (vagrant_env passes the driver to Vagrant).
        Raises LabgenError when a daemon does not come up or libvirt refuses a definition.
        """
        changes = self.choose_driver()
        changes += ensure_daemons()
        changes += ensure_pool()
        changes += ensure_network(MGMT_NETWORK, mgmt_network_xml())
        changes += ensure_network(network_name(lab), lab_network_xml(lab))
        # The networks forward nothing: packages reach the VMs through the host's caching apt
        # proxy on the lab address (which the lab network just made exist).
        return changes + aptproxy.ensure_running(str(lab.host_ip))

    def facts(self, lab: Lab) -> Facts:
        return Facts(distro=self.distro_for(lab), apt_proxy=aptproxy.proxy_url(lab), gateway=MGMT_HOST)

    def choose_driver(self) -> list[str]:
        """What the driver choice means for the user: the user's own choice, nothing when KVM
        really works, else a warning that QEMU TCG is used and what it costs. Writes nothing
        (this process's environment included: vagrant_env hands the driver to Vagrant)."""
        if os.environ.get(DRIVER_ENV) in ("kvm", "qemu"):
            return [f"libvirt driver {os.environ[DRIVER_ENV]} (from {DRIVER_ENV})"]
        verdict = kvm.kvm_verdict()
        if verdict.usable:
            return []
        return [f"warning: KVM is not usable ({verdict.reason}); the VMs run under QEMU TCG instead. {kvm.TCG_COST}"]

    def driver(self) -> str:
        """vagrant-libvirt's driver: the user's LABGEN_LIBVIRT_DRIVER (kvm or qemu), else KVM's
        verdict (cached per boot, so asking again after choose_driver costs nothing)."""
        chosen = os.environ.get(DRIVER_ENV)
        return chosen if chosen in ("kvm", "qemu") else kvm.kvm_verdict().driver

    def vagrant_env(self, lab: Lab) -> dict[str, str]:
        return {DRIVER_ENV: self.driver()}  # read by the Vagrantfile

    def cleanup_host(self, lab: Lab) -> list[str]:
        """Remove what the lab left in libvirt, and labgen's shared parts once no lab uses them.

        Changes on the host: destroys and undefines the lab's domains (labgen-<lab>-<node>),
        deletes their disks (<domain>.img) and the lab's network (and the apt proxy when no lab address is left for it);
        when no labgen-* domain remains, also the management
        network and the pool with its box images; when nothing at all runs in libvirt any more
        and no service manager runs the daemons, stops libvirtd and virtlogd and removes the
        LIBVIRT_* iptables/ip6tables chains libvirtd leaves behind. Returns what it removed;
        [] when libvirtd is not running (then nothing of it can be left).
        """
        if not daemon_answers():
            return []
        removed = []
        # Exact names, not a prefix: lab "a" must not take lab "a-b"'s machines with it.
        mine = [self.machine_name(lab, n.name) for n in lab.nodes]
        for dom in [d for d in list_domains() if d in mine]:
            virsh("destroy", dom, check=False)
            virsh("undefine", dom, "--managed-save", "--snapshots-metadata", "--nvram", check=False)
            removed.append(f"domain {dom}")
        if pool_exists():
            virsh("pool-refresh", POOL, check=False)
            for vol in [v for v in list_volumes() if v in {f"{d}.img" for d in mine}]:
                virsh("vol-delete", "--pool", POOL, vol)
                removed.append(f"volume {vol}")
        removed += remove_network(network_name(lab))

        removed += aptproxy.stop_if_unused()
        if not [d for d in list_domains() if d.startswith(PREFIX)]:
            removed += remove_network(MGMT_NETWORK)
            removed += remove_pool()
        idle = not virsh("net-list", "--name").stdout.split() and not virsh("list", "--name").stdout.split()
        if idle and not service_manager():
            # libvirtd creates its chains once per process and never checks them again: they
            # can only go together with the daemons labgen started (the next lab restarts them).
            removed += stop_daemons()
            removed += remove_libvirt_chains()
        return removed


PROVIDER = LibvirtProvider()


# ---- small helpers


def _which(tool: str) -> str | None:
    # libvirtd lives in /usr/sbin, which a non-root PATH may lack.
    return shutil.which(tool) or next(
        (p for p in (f"/usr/sbin/{tool}", f"/sbin/{tool}") if os.access(p, os.X_OK)), None
    )


def _run(
    cmd: list[str], check: bool = True, stdin: str | None = None, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise LabgenError(f"{cmd[0]} is not installed", hint="see `labgen doctor`") from None
    except subprocess.TimeoutExpired:
        raise LabgenError(
            f"`{' '.join(cmd)}` did not finish within {timeout:g} s",
            hint="is libvirtd wedged? see /var/log/libvirt/libvirtd.log",
        ) from None
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabgenError(f"`{' '.join(cmd)}` failed: {detail[-1] if detail else proc.returncode}")
    return proc


def virsh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run(["virsh", "-c", URI, "-q", *args], check=check)


def _define(kind: str, xml: str) -> None:
    """virsh net-define / pool-define from XML text (through a temp file: virsh wants a path)."""
    with tempfile.NamedTemporaryFile("w", suffix=".xml", prefix="labgen-") as fh:
        fh.write(xml)
        fh.flush()
        virsh(f"{kind}-define", fh.name)


# ---- daemons


def daemon_answers() -> bool:
    """libvirtd's socket accepts a connection (whoever started it)."""
    if not SOCKET.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        try:
            s.connect(str(SOCKET))
            return True
        except OSError:
            return False


def _pid_alive(pidfile: Path, name: str) -> bool:
    try:
        pid = int(pidfile.read_text().strip())
        return name in Path(f"/proc/{pid}/comm").read_text()
    except (OSError, ValueError):
        return False


def service_manager() -> bool:
    """True when systemd runs this host (then it, not labgen, starts libvirtd)."""
    return Path("/run/systemd/system").is_dir()


def ensure_daemons() -> list[str]:
    """Start virtlogd and libvirtd when nothing runs them. Returns what it started.

    Raises PreflightError under systemd when libvirtd is down (start it with systemctl),
    LabgenError when a daemon does not come up within DAEMON_START_TIMEOUT.
    """
    if daemon_answers():
        return []
    if service_manager():
        raise PreflightError("libvirtd is not running", hint="start it: sudo systemctl start libvirtd virtlogd")
    if os.geteuid() != 0:
        raise PreflightError("libvirtd is not running, and starting it needs root", hint="run labgen with sudo")
    changes = []
    if not _pid_alive(Path("/run/virtlogd.pid"), "virtlogd"):
        _run([_which("virtlogd") or "virtlogd", "-d"])
        changes.append("started virtlogd (no service manager runs it)")
    _run([_which("libvirtd") or "libvirtd", "-d"])
    deadline = time.monotonic() + DAEMON_START_TIMEOUT
    while not daemon_answers():
        if time.monotonic() > deadline:
            raise LabgenError(
                f"libvirtd did not answer on {SOCKET} within {DAEMON_START_TIMEOUT} s",
                hint="see /var/log/libvirt/libvirtd.log",
            )
        time.sleep(0.2)
    changes.append("started libvirtd (no service manager runs it)")
    return changes


def _stop(pidfile: Path, name: str, timeout: float = 15.0) -> list[str]:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return []
    if not _pid_alive(pidfile, name):
        return []
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(pidfile, name) and Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            raise LabgenError(f"{name} (pid {pid}) did not stop within {timeout:g} s")
        time.sleep(0.1)
    return [f"stopped {name}"]


def stop_daemons() -> list[str]:
    """Stop libvirtd, then virtlogd (hosts without a service manager only). Returns the change."""
    return _stop(Path("/run/libvirtd.pid"), "libvirtd") + _stop(Path("/run/virtlogd.pid"), "virtlogd")


# ---- pool


def pool_exists() -> bool:
    return virsh("pool-info", POOL, check=False).returncode == 0


def _active(kind: str, name: str) -> bool:
    """net-info says `Active: yes`, pool-info says `State: running`."""
    out = virsh(f"{kind}-info", name, check=False).stdout
    return any(line.split()[:2] in (["Active:", "yes"], ["State:", "running"]) for line in out.splitlines())


def ensure_pool() -> list[str]:
    """labgen's directory pool, defined, built and active. Returns the change."""
    changes = []
    if not pool_exists():
        _define("pool", pool_xml())
        virsh("pool-build", POOL)
        virsh("pool-autostart", POOL)
        changes.append(f"defined storage pool {POOL} ({POOL_DIR})")
    if not _active("pool", POOL):
        POOL_DIR.mkdir(parents=True, exist_ok=True)
        virsh("pool-start", POOL)
        changes.append(f"started storage pool {POOL}")
    return changes


def list_volumes() -> list[str]:
    out = virsh("vol-list", "--pool", POOL, check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def remove_pool() -> list[str]:
    """Delete every volume left in labgen's pool (box images), then the pool itself."""
    if not pool_exists():
        return []
    removed = []
    if _active("pool", POOL):
        virsh("pool-refresh", POOL, check=False)
        for vol in list_volumes():
            virsh("vol-delete", "--pool", POOL, vol)
            removed.append(f"volume {vol}")
        virsh("pool-destroy", POOL)
    virsh("pool-delete", POOL, check=False)  # its (now empty) directory
    virsh("pool-undefine", POOL)
    removed.append(f"storage pool {POOL}")
    return removed


# ---- networks and domains


def list_domains() -> list[str]:
    return virsh("list", "--all", "--name").stdout.split()


def ensure_network(name: str, xml: str) -> list[str]:
    """Network `name` defined from `xml` and active. Returns the change.

    Raises LabgenError with libvirt's reason when it refuses (e.g. the address range is
    already routed through another interface).
    """
    changes = []
    if virsh("net-info", name, check=False).returncode != 0:
        _define("net", xml)
        changes.append(f"defined libvirt network {name}")
    if not _active("net", name):
        try:
            virsh("net-start", name)
        except LabgenError as exc:
            raise LabgenError(
                f"libvirt network {name} cannot start: {exc.message}",
                hint="`labgen doctor` lists address clashes; destroy the lab using it or give this lab another network",
            ) from None
        changes.append(f"started libvirt network {name}")
    return changes


def remove_network(name: str) -> list[str]:
    if virsh("net-info", name, check=False).returncode != 0:
        return []
    if _active("net", name):
        virsh("net-destroy", name)
    virsh("net-undefine", name)
    return [f"network {name}"]


# ---- the firewall chains libvirtd leaves behind


def libvirt_chains(tool: str) -> dict[str, list[str]]:
    """table -> LIBVIRT_* chains, from `iptables-save`/`ip6tables-save` output."""
    save = _which(f"{tool}-save")
    if save is None:
        return {}
    return parse_chains(_run([save], check=False).stdout)


def parse_chains(save_output: str, prefix: str = "LIBVIRT_") -> dict[str, list[str]]:
    """table -> chains named `prefix`*, from iptables-save text."""
    chains: dict[str, list[str]] = {}
    table = None
    for line in save_output.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":" + prefix) and table:
            chains.setdefault(table, []).append(line[1:].split()[0])
    return chains


def remove_libvirt_chains() -> list[str]:
    """Remove the LIBVIRT_* chains and the rules that jump to them (IPv4 and IPv6).

    Only called when no libvirt network is active: libvirtd recreates them with its next one.
    """
    removed = []
    for tool in ("iptables", "ip6tables"):
        count = 0
        binary = _which(tool)
        found = libvirt_chains(tool)
        if binary is None or not found:
            continue
        for table, chains in found.items():
            rules = _run([binary, "-t", table, "-S"], check=False).stdout.splitlines()
            # First the jumps from the built-in chains, then the chains' own rules, then the chains.
            for rule in rules:
                words = rule.split()
                if (
                    len(words) > 2
                    and words[0] == "-A"
                    and not words[1].startswith("LIBVIRT_")
                    and "-j" in words
                    and words[words.index("-j") + 1] in chains
                ):
                    _run([binary, "-t", table, "-D", *words[1:]], check=False)
            for chain in chains:
                _run([binary, "-t", table, "-F", chain], check=False)
            for chain in chains:
                if _run([binary, "-t", table, "-X", chain], check=False).returncode == 0:
                    count += 1
        if count:
            removed.append(f"{count} LIBVIRT_* {tool} chains")
    return removed
