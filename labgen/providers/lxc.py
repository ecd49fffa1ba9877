"""LXC system containers through vagrant-lxc: the provider that boots real labs on CI.

What the host needs, and this module makes sure of (see /work/shared/ENVIRONMENT.md):
- lxcbr0 (10.0.3.1/24) with dnsmasq serving DHCP: vagrant-lxc's first NIC sits on it and
  Vagrant finds each container's SSH address through it. Debian's `lxc-net` script does this;
  hosts without systemd never start it.
- one Linux bridge per lab holding the host's address on the lab network (192.168.56.1/24).
  Each container's second NIC (eth1) is plugged into it by LXC itself (`net.1.*` in the
  Vagrantfile), because vagrant-lxc's private_network helper (pipework) fails with LXC 5.

Every command is an argument list; no value reaches a shell.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from labgen import aptproxy
from labgen.providers import dhcp_claim, lxc_seat
from labgen.boxes import LXC_BOX, box_installed
from labgen.errors import LabgenError, PreflightError
from labgen.model import Facts, Lab
from labgen.providers.base import Provider, vagrant_plugin_installed
from labgen.providers import lxcstart
from labgen.providers.dhcp_leases import release_stale_leases

CONTAINER_PREFIX = "labgen-"
BRIDGE_PREFIX = "lgbr"
MGMT_BRIDGE = "lxcbr0"
MGMT_ADDRESS = lxcstart.MGMT_ADDRESS  # lxcbr0 10.0.3.1/24, as lxc-net makes it
LXC_NET_SCRIPTS = ("/usr/libexec/lxc/lxc-net", "/usr/lib/x86_64-linux-gnu/lxc/lxc-net", "/usr/lib/lxc/lxc-net")
LXC_NET_RUN = Path("/run/lxc")  # where lxc-net keeps network_up and dnsmasq.pid
COMMAND_TIMEOUT = 60  # seconds for any one host command
# A clone's SSH host keys, as the box makes them at first boot: no RSA (0.4 s of CPU each)
HOST_KEY_TYPES = ("ecdsa", "ed25519")
LXC_PATH = Path("/var/lib/lxc")  # LXC's default lxcpath, where vagrant-lxc makes containers
# What a container's console shows when it cannot boot (systemd's own words).
BOOT_FAILURE_MARKS = (
    "Freezing execution",
    "Too many open files",
    "Failed to ",
    "failed to ",
    "Cannot ",
    "Caught <",
    "No space left",
)


def bridge_name(lab: Lab) -> str:
    """The lab's bridge: lgbr + 8 hex digits of sha256(instance name, network). Stable and ≤15 chars.

    The network is part of the name so that editing a lab's network never reuses a bridge
    that still holds the old address.
    """
    digest = hashlib.sha256(f"{lab.instance_name}|{lab.network}".encode()).hexdigest()
    return f"{BRIDGE_PREFIX}{digest[:8]}"


def mgmt_veth_name(lab: Lab, node_name: str) -> str:
    """The host side of a node's lxcbr0 NIC: lgm + 10 hex digits of sha256(instance, node).

    Named (not LXC's random vethXXXX) so that nftables rules can tell a classroom seat's
    ports on the shared lxcbr0 apart (labgen/classroom/isolation.py).
    """
    digest = hashlib.sha256(f"{lab.instance_name}|{node_name}".encode()).hexdigest()
    return f"lgm{digest[:10]}"


def console_log(container: str) -> Path:
    """Where LXC writes a container's console (lxc.console.logfile, set in the Vagrantfile):
    the reason a node that stops during boot gives, instead of a 300 s SSH wait."""
    return LXC_PATH / container / "console.log"


def console_reason(container: str, lines: int = 3) -> str:
    """The console's last lines that say why the container stopped (systemd's own words)."""
    try:
        text = console_log(container).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"no console log ({console_log(container)})"
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)  # colour codes
    clean = [line.strip() for line in text.splitlines() if line.strip()]
    marked = [line for line in clean if any(m in line for m in BOOT_FAILURE_MARKS)]
    chosen = (marked or clean)[-lines:]
    return " | ".join(chosen) if chosen else f"its console log {console_log(container)} is empty"


def container_state(name: str) -> str:
    """RUNNING, STOPPED... (lxc-info), or NOT_CREATED."""
    try:
        res = subprocess.run(
            ["lxc-info", "-s", "-H", "-n", name], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return "UNKNOWN"
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else "NOT_CREATED"


def host_address(lab: Lab) -> ipaddress.IPv4Interface:
    """The host's address on the lab network, with its prefix (192.168.56.1/24)."""
    return ipaddress.IPv4Interface(f"{lab.host_ip}/{lab.network.prefixlen}")


class LxcProvider(Provider):
    name = "lxc"
    distro = "debian-12"

    def template_context(self, lab: Lab) -> dict:
        """bridge, container_prefix and each node's lxcbr0 veth name. (The memory cap's cgroup key
        is chosen by the Vagrantfile itself when Vagrant runs: it depends on the host, and
        rendering must not.)"""
        return {
            "bridge": bridge_name(lab),
            "container_prefix": CONTAINER_PREFIX,
            "veths": {n.name: mgmt_veth_name(lab, n.name) for n in lab.nodes},
            "macs": {n.name: lxc_seat.mgmt_mac(self.machine_name(lab, n.name)) for n in lab.nodes},
            "console_logs": {n.name: str(console_log(self.machine_name(lab, n.name))) for n in lab.nodes},
        }

    def machine_name(self, lab: Lab, node_name: str) -> str:
        return f"{CONTAINER_PREFIX}{lab.instance_name}-{node_name}"

    def preflight(self, lab: Lab) -> None:
        """Raise PreflightError unless root, lxc, vagrant, vagrant-lxc and the box are present.

        Starts no Ruby: the plugin and box checks read Vagrant's files directly.
        """
        if os.geteuid() != 0:
            raise PreflightError(
                "the lxc provider needs root (containers, bridges, dnsmasq)", hint="run labgen with sudo"
            )
        for tool, package in (
            ("lxc-create", "lxc"),
            ("vagrant", "vagrant"),
            ("ip", "iproute2"),
            ("dnsmasq", "dnsmasq-base"),
        ):
            if not shutil.which(tool):
                raise PreflightError(f"{tool} is not installed", hint=f"install it: apt-get install {package}")
        if not vagrant_lxc_installed():
            raise PreflightError(
                "the vagrant-lxc plugin is not installed",
                hint="install it: apt-get install vagrant-lxc (or vagrant plugin install vagrant-lxc)",
            )
        if not _lxc_net_script() and not _link(MGMT_BRIDGE):
            raise PreflightError(
                f"neither {MGMT_BRIDGE} nor Debian's lxc-net script exists",
                hint="install lxc (apt-get install lxc), which ships lxc-net",
            )
        box = lab.boxes.get("lxc", LXC_BOX)
        if not box_installed(box, "lxc"):
            hint = (
                "run `sudo labgen box build lxc` (recipe: boxes/lxc/build.sh)"
                if box == LXC_BOX
                else f"add it: vagrant box add {box} --provider lxc"
            )
            raise PreflightError(f"box {box} is not installed for provider lxc", hint=hint)

    def prepare_host(self, lab: Lab) -> list[str]:
        """Make sure lxcbr0 (with DHCP) and the lab's bridge exist and are up.

        Changes on the host: may start lxc-net (bridge lxcbr0 10.0.3.1/24, dnsmasq, NAT rules
        in nft table `lxc`, ip_forward=1); may create the lab bridge, add the host's lab
        address to it and bring it up; claims lxcbr0 leases for the nodes about to boot (see
        claim_leases). Returns one line per change, [] when all was in place.
        Raises LabgenError when another interface already holds the lab network, or when a
        command fails.
        """
        changes = ensure_mgmt_bridge() + ensure_lab_bridge(bridge_name(lab), host_address(lab))
        # dnsmasq then answers each node's first DISCOVER from a lease, without a 3 s ping
        claim_leases([self.machine_name(lab, n.name) for n in lab.nodes])
        # LXC nodes get their packages through the host's caching apt proxy, listening on the
        # host's lab address (which the bridge just made exist).
        return changes + aptproxy.ensure_running(str(lab.host_ip))

    def facts(self, lab: Lab) -> Facts:
        return Facts(distro=self.distro, apt_proxy=aptproxy.proxy_url(lab), default_route=True)

    def cleanup_host(self, lab: Lab) -> list[str]:
        """Delete the lab's bridge (lxcbr0 stays: other labs share it), and stop the apt proxy
        when no lab address is left for it to serve. Returns what it removed."""
        removed = remove_bridge(bridge_name(lab))
        # Other labs (LXC or libvirt) may still hold addresses the proxy serves.
        return removed + aptproxy.stop_if_unused()

    # ---- the classroom's part of the Provider interface (see base.Provider)

    def seats_refused(self) -> str | None:
        return None

    def lab_bridge(self, lab: Lab) -> str:
        return bridge_name(lab)

    def mgmt_ports(self, lab: Lab) -> list[str]:
        return [mgmt_veth_name(lab, n.name) for n in lab.nodes]

    def prepare_shared_host(self) -> list[str]:
        return ensure_mgmt_bridge()

    def remove_lab_bridge(self, lab: Lab) -> list[str]:
        return remove_bridge(bridge_name(lab))

    def machines(self, prefix: str) -> list[str]:
        out = _run(["lxc-ls", "-1"]).stdout
        return [name for name in out.split() if name.startswith(prefix)]

    def remove_machine(self, name: str) -> list[str]:
        if container_state(name) == "NOT_CREATED":
            return []
        _run(["lxc-destroy", "-f", "-n", name])
        return [f"container {name}"]

    def machine_states(self, lab: Lab) -> dict[str, str]:
        """lxc-info per node: a `vagrant status` costs a Ruby start (seconds, times 60 seats)."""
        states = {}
        for node in lab.nodes:
            state = container_state(self.machine_name(lab, node.name)).lower()
            states[node.name] = "not_created" if state in ("not_created", "unknown") else state
        return states

    def ssh_config(self, lab: Lab, lab_dir: Path) -> str | None:
        """vagrant-lxc's answer without Ruby: each running container's lxcbr0 address (lxc-info;
        waited for while its DHCP answer is pending, see lxcstart.ssh_addresses) and the key
        Vagrant put in the machine's dir. None (ask Vagrant) when a running node has no address
        or key yet, or Vagrant's id file names another container."""
        running = {}
        for node in lab.nodes:
            machine = self.machine_name(lab, node.name)
            if container_state(machine) != "RUNNING":
                continue
            key = self.private_key(lab_dir, node.name)
            try:
                if (key.parent / "id").read_text().strip() != machine or not key.is_file():
                    return None
            except OSError:
                return None
            running[node.name] = machine
        try:
            found = lxcstart.ssh_addresses(running)
        except lxcstart.NotLikeVagrant:
            return None
        addresses = {node: ip for node, ip in found.items() if ip is not None}
        if len(addresses) < len(found):
            return None
        return lxcstart.ssh_config_text(Path(lab_dir), addresses)

    def boot_failure(self, lab: Lab, started: dict[str, float]) -> str | None:
        for node in lab.nodes:
            if node.name not in started:
                continue
            name = self.machine_name(lab, node.name)
            state = container_state(name)
            log = console_log(name)
            try:
                written = log.stat().st_mtime >= started[node.name] and log.stat().st_size > 0
            except OSError:
                written = False
            # Written since vagrant-lxc said "Starting container": this boot ran and ended
            # (a log of an earlier boot, before lxc-start ran, does not count).
            if state == "STOPPED" and written:
                return (
                    f"node {node.name}: its container stopped during boot: {console_reason(name)} "
                    f"(whole console: {log})"
                )
            if state == "RUNNING" and _console_says_frozen(log):
                return f"node {node.name}: its init gave up during boot: {console_reason(name)} (whole console: {log})"
        return None

    def machines_path(self) -> Path:
        return LXC_PATH

    def clone_machine(self, source: str, target: str, own_dirs: tuple[str, ...] = ()) -> list[str]:
        """`lxc-copy -s -B overlay` (0.2-0.5 s, ~1 MiB until the clone writes), then:
        - drop the copied vagrant-lxc block: lxc-copy rewrites the config without its
          `# VAGRANT-BEGIN/END` markers, so vagrant-lxc, which prunes only between them, would
          append its net.1.* lines again on every start (eth1 with two addresses);
        - a machine-id and SSH host keys of its own, written into the overlay's upper dir
          before the first boot (the image's were removed when it was sealed);
        - each of `own_dirs` bind-mounted from the container's dir on the host (empty at first,
          removed with the container): Docker's overlay2 cannot run on an overlay."""
        if container_state(target) != "NOT_CREATED":
            raise LabgenError(f"container {target} already exists", hint="labgen classroom down, or reset the seat")
        try:
            _run(["lxc-copy", "-n", source, "-N", target, "-s", "-B", "overlay"])
            config = LXC_PATH / target / "config"
            text = without_vagrant_block(config.read_text(), (LXC_PATH / source / "config").read_text())
            for inside in own_dirs:
                if not inside.startswith("/") or ".." in inside or any(c.isspace() for c in inside):
                    raise LabgenError(f"not a plain absolute path: {inside!r}")
                host = LXC_PATH / target / "own" / inside.strip("/").replace("/", "_")
                host.mkdir(parents=True, exist_ok=True)
                text += f"lxc.mount.entry = {host} {inside.lstrip('/')} none bind,create=dir 0 0\n"
            config.write_text(text)
            delta = LXC_PATH / target / "overlay" / "delta"
            (delta / "etc" / "ssh").mkdir(parents=True, exist_ok=True)
            for kind in HOST_KEY_TYPES:  # the box's own first-boot rule (boxes/lxc/build.sh)
                key = delta / "etc" / "ssh" / f"ssh_host_{kind}_key"
                _run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)])

            machine_id = delta / "etc" / "machine-id"
            machine_id.write_text(uuid.uuid4().hex + "\n")
            machine_id.chmod(0o444)
        except (LabgenError, OSError) as exc:
            subprocess.run(["lxc-destroy", "-f", "-n", target], capture_output=True, timeout=COMMAND_TIMEOUT)
            message = exc.message if isinstance(exc, LabgenError) else str(exc)
            raise LabgenError(
                f"cloning {source} as {target} failed: {message}",
                hint="see `labgen doctor`; nothing of the clone was kept",
            ) from None
        return [f"container {target} (clone of {source})"]

    def _block_names(self, lab: Lab, node_name: str) -> lxcstart.NodeNames:
        ctx = self.template_context(lab)
        node = next(n for n in lab.nodes if n.name == node_name)
        return lxcstart.NodeNames(
            machine=self.machine_name(lab, node_name),
            veth=ctx["veths"][node_name],
            bridge=ctx["bridge"],
            address=f"{node.ip}/{lab.network.prefixlen}",
            console_log=ctx["console_logs"][node_name],
            instance=lab.instance_name,
            mac=ctx["macs"][node_name],
        )

    def start_adopted(self, lab: Lab, lab_dir: Path, image_lab: Lab, image_dir: Path) -> str:
        """Start the lab's clones of `image_lab`'s machines (adopted into `lab_dir`, see
        `adopt`) without Vagrant, as vagrant-lxc would (labgen/providers/lxcstart.py); running
        ones are left as they are. Returns the ssh config text `vagrant ssh-config` would give.

        Raises lxcstart.NotLikeVagrant when Vagrant must boot them instead (checked before
        anything starts where it can be), LabgenError when a node stops during boot."""
        plans: dict[str, tuple[str, list[str]]] = {}
        machines = {}
        for node in lab.nodes:
            machine = self.machine_name(lab, node.name)
            machines[node.name] = machine
            image_machine = self.machine_name(image_lab, node.name)
            lxcstart.write_machine_files(lab_dir, node.name, machine, self.private_key(image_dir, node.name).parent)
            state = container_state(machine)
            if state == "RUNNING":
                continue
            if state != "STOPPED":
                raise lxcstart.NotLikeVagrant(f"container {machine} is {state.lower()}")
            try:
                image_config = (LXC_PATH / image_machine / "config").read_text()
            except OSError as exc:
                raise lxcstart.NotLikeVagrant(f"the seat image's container config: {exc}") from None
            lines = lxcstart.seat_block(
                lxcstart.vagrant_block(image_config),
                self._block_names(image_lab, node.name),
                self._block_names(lab, node.name),
            )
            plans[node.name] = (machine, lines)
        started: dict[str, float] = {}
        for node_name, (machine, lines) in plans.items():
            started[node_name] = time.time()
            lxcstart.start(machine, LXC_PATH / machine / "config", lines)
        addresses = lxcstart.wait_for_ssh(machines, lambda: self.boot_failure(lab, started))
        return lxcstart.ssh_config_text(lab_dir, addresses)

    def seat_config(self, machine: str, data_dir: Path, fresh: bool) -> list[str]:
        """The seat seccomp profile (fallocate fails: etcd's WAL stays sparse) written in
        `data_dir` and named in the container's config, read at its next start; a fresh clone
        also gets journald's small-file drop-in and its own MAC and DHCP client id (dnsmasq then
        answers a reset's clone from the lease of the last one, without its 3 s ping). See lxc_seat."""
        try:
            delta = LXC_PATH / machine / "overlay" / "delta"
            if fresh:
                # before the profile line: with_profile puts its line last before vagrant-lxc's
                # block, so the next call finds the config converged
                lxc_seat.keep_dhcp_identity(LXC_PATH / machine, machine, delta)
            profile = lxc_seat.write_profile(data_dir)
            changed = lxc_seat.apply_profile(LXC_PATH / machine, profile)
            if fresh:
                lxc_seat.write_journald_dropin(delta)
        except OSError as exc:
            raise LabgenError(
                f"container {machine}: writing its seat settings failed: {exc}", hint="see `labgen doctor`"
            ) from None
        return [f"container {machine}: seccomp profile {profile}"] if changed else []


def claim_leases(machines: list[str]) -> None:
    """Claim lxcbr0 leases (dhcp_claim) for the `machines` before they boot. A container Vagrant
    has yet to create gets the MAC the Vagrantfile names for it (lxc_seat.mgmt_mac); an existing
    one, the MAC its config fixes (none in a container of an older labgen: LXC draws one at each
    start). A MAC that holds a lease already (a running node's) sends nothing."""
    macs = []
    for machine in machines:
        try:
            mac = lxc_seat.configured_mac((LXC_PATH / machine / "config").read_text())
        except FileNotFoundError:
            mac = lxc_seat.mgmt_mac(machine)
        except OSError:
            mac = None
        if mac:
            macs.append(mac)
    dhcp_claim.claim(
        macs, MGMT_BRIDGE, MGMT_ADDRESS, LXC_NET_RUN / "dnsmasq.pid", LXC_NET_RUN / "labgen-dhcp-claim.lock"
    )


def without_vagrant_block(config: str, source_config: str) -> str:
    """`config` (a clone's) without the lines of the vagrant-lxc block of `source_config`."""

    def norm(line: str) -> str:
        return re.sub(r"\s*=\s*", "=", line.strip(), count=1)

    m = re.search(r"^# VAGRANT-BEGIN\n(.*?)^# VAGRANT-END\n", source_config, re.S | re.M)
    block = {norm(line) for line in (m.group(1) if m else "").splitlines() if line.strip()}
    return "".join(line for line in config.splitlines(keepends=True) if norm(line) not in block)


def _console_says_frozen(log: Path) -> bool:
    """systemd as PID 1 freezes (the container keeps running) when it cannot start at all."""
    try:
        with log.open("rb") as fh:
            fh.seek(max(0, log.stat().st_size - 4096))
            return b"Freezing execution" in fh.read()
    except OSError:
        return False


PROVIDER = LxcProvider()


# ---- preflight helpers


def vagrant_lxc_installed() -> bool:
    """True when vagrant-lxc is a system plugin (Debian package) or a user plugin."""
    return vagrant_plugin_installed("vagrant-lxc")


def _lxc_net_script() -> str | None:
    return next((p for p in LXC_NET_SCRIPTS if os.access(p, os.X_OK)), None)


# ---- host state, read through `ip -json`


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    """Run a host command; LabgenError (with its stderr) when it fails or hangs."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise LabgenError(f"{cmd[0]} is not installed", hint="see `labgen doctor`") from None
    except subprocess.TimeoutExpired:
        raise LabgenError(f"`{' '.join(cmd)}` did not finish within {COMMAND_TIMEOUT} s") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabgenError(f"`{' '.join(cmd)}` failed: {detail[-1] if detail else proc.returncode}")
    return proc


def _link(name: str) -> dict | None:
    """`ip -json addr show dev NAME` as a dict, or None when there is no such interface."""
    if not Path("/sys/class/net", name).exists():
        return None
    data = json.loads(_run(["ip", "-json", "addr", "show", "dev", name]).stdout or "[]")
    return data[0] if data else None


def _ipv4(link: dict) -> list[ipaddress.IPv4Interface]:
    return [
        ipaddress.IPv4Interface(f"{a['local']}/{a['prefixlen']}")
        for a in link.get("addr_info", [])
        if a.get("family") == "inet"
    ]


def _is_up(link: dict) -> bool:
    # An empty bridge reports operstate DOWN even when it is administratively up.
    return "UP" in link.get("flags", [])


def _all_links() -> list[dict]:
    return json.loads(_run(["ip", "-json", "addr", "show"]).stdout or "[]")


def network_holders(network: ipaddress.IPv4Network, exclude: str) -> list[str]:
    """Interfaces other than `exclude` with an IPv4 address whose network overlaps `network`."""
    return [
        f"{link['ifname']} ({addr})"
        for link in _all_links()
        if link["ifname"] != exclude
        for addr in _ipv4(link)
        if addr.network.overlaps(network)
    ]


# ---- lxcbr0 + DHCP


def _dnsmasq_alive() -> bool:
    try:
        pid = int((LXC_NET_RUN / "dnsmasq.pid").read_text().strip())
        return "dnsmasq" in Path(f"/proc/{pid}/comm").read_text()
    except (OSError, ValueError):
        return False


def mgmt_bridge_ready() -> bool:
    """lxcbr0 is up with 10.0.3.1/24 and lxc-net's dnsmasq is running."""
    link = _link(MGMT_BRIDGE)
    return link is not None and _is_up(link) and MGMT_ADDRESS in _ipv4(link) and _dnsmasq_alive()


def ensure_mgmt_bridge() -> list[str]:
    """Start Debian's lxc-net unless lxcbr0 and its dnsmasq already run. Returns the change.

    Raises LabgenError when lxc-net is missing, fails, or leaves lxcbr0 without DHCP.
    """
    if mgmt_bridge_ready():
        return release_stale_leases(MGMT_BRIDGE)
    # Two labgen processes (parallel `create`s, a classroom's seats) may find lxc-net down at
    # once: one starts it, the other waits and then finds it running. Unlocked, the second
    # start found the first one's half-made lxcbr0, tore it down and failed ("Failed to setup
    # lxc-net"), or refused ("already running").
    LXC_NET_RUN.mkdir(parents=True, exist_ok=True)
    with open(LXC_NET_RUN / "labgen-lxc-net.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if mgmt_bridge_ready():
            return release_stale_leases(MGMT_BRIDGE)
        return _start_lxc_net()


def _start_lxc_net() -> list[str]:
    script = _lxc_net_script()
    if script is None:
        raise LabgenError(
            f"{MGMT_BRIDGE} with DHCP is not running and lxc-net is not installed",
            hint="install lxc (apt-get install lxc), or start lxc-net",
        )
    # lxc-net refuses to start while its marker exists, even when its dnsmasq has died;
    # its start path itself resets a half-configured lxcbr0 (address, dnsmasq, nft rules).
    (LXC_NET_RUN / "network_up").unlink(missing_ok=True)
    _run([script, "start"])
    if not mgmt_bridge_ready():
        raise LabgenError(
            f"{script} start left {MGMT_BRIDGE} without {MGMT_ADDRESS} or dnsmasq",
            hint="check USE_LXC_BRIDGE and LXC_ADDR in /etc/default/lxc-net",
        )
    return [f"started lxc-net: {MGMT_BRIDGE} {MGMT_ADDRESS} with DHCP (dnsmasq)"]


# ---- the lab bridge


def ensure_lab_bridge(name: str, address: ipaddress.IPv4Interface) -> list[str]:
    """Create bridge `name` holding `address`, up. Returns one line per change.

    Raises LabgenError naming the interface when another one already holds the network.
    """
    others = network_holders(address.network, exclude=name)
    if others:
        raise LabgenError(
            f"network {address.network} is already on {', '.join(others)}; bridge {name} cannot take {address}",
            hint="destroy the lab that uses it, or give this lab another network",
        )
    changes = []
    link = _link(name)
    if link is None:
        _run(["ip", "link", "add", "name", name, "type", "bridge"])
        changes.append(f"created bridge {name}")
        link = _link(name) or {}
    if address not in _ipv4(link):
        _run(["ip", "addr", "add", str(address), "dev", name])
        changes.append(f"added {address} to {name}")
    if not _is_up(link):
        _run(["ip", "link", "set", "dev", name, "up"])
        changes.append(f"brought {name} up")
    return changes


def remove_bridge(name: str) -> list[str]:
    """Delete bridge `name` if it exists (its containers' NICs are detached). Returns the change."""
    link = _link(name)
    if link is None:
        return []
    if not Path("/sys/class/net", name, "bridge").is_dir():
        raise LabgenError(f"{name} is not a bridge; labgen leaves it alone")
    _run(["ip", "link", "del", "dev", name])
    return [f"removed bridge {name}"]
