"""`labgen doctor`: can this host run labs (or one lab), provider by provider?

Each check is one line: what was looked at, what was found, and for a failure a hint. The
decisions are small pure functions over facts (versions, file text, routes, sizes) so that unit
tests feed them facts; `gather` reads the host. Nothing here changes the host, except that the
KVM verdict may be probed once and cached (labgen/kvm.py).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from labgen import hostlimits, kvm
from labgen.boxes import LXC_BOX, box_installed
from labgen.classroom.hostcheck import roles_that_run, seat_disk_mib, seat_memory_mib
from labgen.model import PROVIDERS, Lab
from labgen.providers import get_provider, libvirt as lv, lxc
from labgen.providers.virtualbox import RESTRICTED_SINCE, allowed_hostonly_networks, parse_version

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"
GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class Check:
    topic: str  # "libvirt: KVM"
    status: str  # ok | warn | fail | info (info: a failure that does not matter here)
    detail: str
    hint: str | None = None


def blocking(checks: list[Check]) -> list[Check]:
    """The checks that stop the lab (or every provider) from running."""
    return [c for c in checks if c.status == FAIL]


# ---- decisions (pure)


def vbox_network_check(version: tuple[int, ...] | None, conf_text: str | None, network: ipaddress.IPv4Network) -> Check:
    """Does VirtualBox allow `network` for host-only adapters (networks.conf, >= 6.1.28)?"""
    topic = "virtualbox: host-only range"
    if version is not None and version < RESTRICTED_SINCE:
        return Check(topic, OK, f"VirtualBox {'.'.join(map(str, version))} allows any range")
    allowed = allowed_hostonly_networks(conf_text)
    if any(network.subnet_of(net) for net in allowed):
        return Check(topic, OK, f"{network} is inside {', '.join(map(str, allowed))}")
    source = "/etc/vbox/networks.conf" if conf_text is not None else "the default (no networks.conf)"
    return Check(
        topic,
        FAIL,
        f"{network} is outside {', '.join(map(str, allowed)) or 'nothing'} ({source})",
        hint=f"add `* {network}` to /etc/vbox/networks.conf, or use a network in 192.168.56.0/21",
    )


def memory_need(lab: Lab, provider: str, tcg: bool) -> int:
    """Bytes of host memory the lab's nodes take: VMs their memory (+ QEMU TCG's translation
    cache and QEMU itself, ~320 MiB, measured), containers what they use (~200 MiB each;
    their memory setting is only a cap)."""
    if provider == "lxc":
        return 200 * MIB * len(lab.nodes)
    extra = 320 * MIB if (provider == "libvirt" and tcg) else 64 * MIB
    return sum(n.memory * MIB + extra for n in lab.nodes)


def disk_need(lab: Lab, provider: str) -> int:
    """Bytes of disk the lab grows into: a root file system per container (~0.5 GiB), a
    copy-on-write disk per VM (~1.5 GiB after provisioning) and the box image once."""
    per_node = GIB // 2 if provider == "lxc" else 3 * GIB // 2
    return per_node * len(lab.nodes) + GIB


def resource_check(topic: str, need: int, have: int | None, what: str) -> Check:
    if have is None:
        return Check(topic, WARN, f"cannot read the {what} available")
    text = f"{need / GIB:.1f} GiB needed, {have / GIB:.1f} GiB available"
    if need > have:
        return Check(topic, FAIL, text, hint=f"free some {what}, or give the nodes less / use fewer nodes")
    if need > 0.8 * have:
        return Check(topic, WARN, text + " (tight)")
    return Check(topic, OK, text)


def route_clashes(network: ipaddress.IPv4Network, routes: list[dict], own: set[str]) -> list[str]:
    """Host routes (from `ip -json route`) overlapping `network` through an interface that is not
    one of `own` (the lab's bridge, which holds the route while the lab runs)."""
    clashes = []
    for route in routes:
        dst = route.get("dst", "")
        if dst in ("", "default"):
            continue
        try:
            net = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if isinstance(net, ipaddress.IPv4Network) and net.overlaps(network) and route.get("dev") not in own:
            clashes.append(f"{net} via {route.get('dev', '?')}")
    return clashes


def clash_check(topic: str, network: ipaddress.IPv4Network, routes: list[dict], own: set[str]) -> Check:
    clashes = route_clashes(network, routes, own)
    if clashes:
        return Check(
            topic,
            FAIL,
            f"{network} overlaps the host's route {', '.join(clashes)}",
            hint="give the lab another network (network.cidr), or remove what uses that range",
        )
    return Check(topic, OK, f"{network} is free on this host")


# ---- facts from the host


def _out(cmd: list[str], timeout: float = 30) -> str | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def host_routes() -> list[dict]:
    try:
        return json.loads(_out(["ip", "-json", "-4", "route", "show"]) or "[]")
    except ValueError:
        return []


def mem_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def disk_free(path: Path) -> int | None:
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


# ---- checks per provider


def vagrant_checks() -> list[Check]:
    if shutil.which("vagrant"):
        return [Check("vagrant", OK, "installed")]
    return [Check("vagrant", FAIL, "not installed", hint="apt-get install vagrant (or vagrantup.com)")]


def virtualbox_checks(lab: Lab | None) -> list[Check]:
    vbm = shutil.which("VBoxManage")
    version = None
    if not vbm:
        checks = [
            Check(
                "virtualbox",
                FAIL,
                "VBoxManage not found",
                hint="install VirtualBox (virtualbox.org), or use libvirt or lxc",
            )
        ]
    else:
        version = parse_version(_out([vbm, "--version"]) or "")
        checks = [
            Check(
                "virtualbox",
                OK if version else WARN,
                f"VirtualBox {'.'.join(map(str, version)) if version else '(version unknown)'}",
            )
        ]
    if lab is not None:  # also without VirtualBox: the rule a laptop's VirtualBox will apply
        try:
            conf = Path("/etc/vbox/networks.conf").read_text()
        except OSError:
            conf = None
        checks.append(vbox_network_check(version, conf, lab.network))
        if vbm:
            checks.append(lab_box_check(lab, "virtualbox"))
    return checks


def libvirt_checks(lab: Lab | None) -> list[Check]:
    checks = []
    missing = [tool for tool in ("virsh", "libvirtd", "qemu-img") if not lv._which(tool)]
    if not lv.vagrant_plugin_installed("vagrant-libvirt"):
        missing.insert(0, "vagrant-libvirt")
    if kvm.qemu_binary() is None:
        missing.append("qemu-system-x86_64")
    if missing:
        return [
            Check(
                "libvirt",
                FAIL,
                f"missing: {', '.join(missing)}",
                hint="apt-get install vagrant-libvirt libvirt-daemon-system qemu-system-x86 qemu-utils",
            )
        ]
    checks.append(Check("libvirt", OK, "vagrant-libvirt, libvirt and QEMU installed"))
    if lv.daemon_answers():
        checks.append(Check("libvirt: daemons", OK, "libvirtd answers"))
    elif lv.service_manager():
        checks.append(
            Check("libvirt: daemons", FAIL, "libvirtd is not running", hint="sudo systemctl start libvirtd virtlogd")
        )
    elif os.geteuid() == 0:
        checks.append(
            Check(
                "libvirt: daemons", OK, "not running; no service manager: labgen starts virtlogd and libvirtd at create"
            )
        )
    else:
        checks.append(
            Check(
                "libvirt: daemons",
                FAIL,
                "libvirtd is not running, and starting it needs root",
                hint="run labgen with sudo",
            )
        )
    verdict = kvm.kvm_verdict()
    if verdict.usable:
        checks.append(Check("libvirt: KVM", OK, verdict.reason))
    else:
        checks.append(
            Check("libvirt: KVM", WARN, f"not usable: {verdict.reason}; QEMU TCG instead ({kvm.TCG_COST_SHORT})")
        )
    if lab is not None:
        checks.append(lab_box_check(lab, "libvirt"))
        checks.append(
            clash_check(
                "libvirt: management network", ipaddress.IPv4Network(lv.MGMT_CIDR), host_routes(), {lv.MGMT_BRIDGE}
            )
        )
    return checks


def lxc_checks(lab: Lab | None) -> list[Check]:
    if os.geteuid() != 0:
        return [Check("lxc", FAIL, "needs root (containers, bridges, dnsmasq)", hint="run labgen with sudo")]
    missing = [t for t in ("lxc-create", "dnsmasq", "ip") if not shutil.which(t)]
    if not lxc.vagrant_lxc_installed():
        missing.insert(0, "vagrant-lxc")
    if missing:
        return [
            Check(
                "lxc",
                FAIL,
                f"missing: {', '.join(missing)}",
                hint="apt-get install vagrant-lxc lxc dnsmasq-base iproute2",
            )
        ]
    checks = [Check("lxc", OK, "vagrant-lxc and LXC installed")]
    if lxc.mgmt_bridge_ready():
        checks.append(Check("lxc: bridge and DHCP", OK, f"{lxc.MGMT_BRIDGE} {lxc.MGMT_ADDRESS} with dnsmasq"))
    elif lxc._lxc_net_script():
        checks.append(Check("lxc: bridge and DHCP", OK, f"{lxc.MGMT_BRIDGE} is down: labgen starts lxc-net at create"))
    else:
        checks.append(
            Check(
                "lxc: bridge and DHCP",
                FAIL,
                f"no {lxc.MGMT_BRIDGE} and no lxc-net script",
                hint="apt-get install lxc (it ships lxc-net)",
            )
        )
    if lab is not None:
        checks.append(lab_box_check(lab, "lxc"))
    return checks


def box_check(provider: str, box: str, installed: bool) -> Check:
    """labgen's own box must be built here; another box Vagrant downloads at the first create."""
    topic = f"{provider}: box"
    if installed:
        return Check(topic, OK, f"{box} is installed")
    if box == LXC_BOX:
        return Check(
            topic, FAIL, f"{box} is not installed", hint=f"sudo labgen box build {provider} (about 1.5 minutes)"
        )
    return Check(
        topic,
        WARN,
        f"{box} is not installed: the first create downloads it from Vagrant Cloud (it must be reachable then)",
    )


def lab_box_check(lab: Lab, provider: str) -> Check:
    box = lab.boxes.get(provider, "")
    return box_check(provider, box, box_installed(box, provider))


PROVIDER_CHECKS = {"virtualbox": virtualbox_checks, "libvirt": libvirt_checks, "lxc": lxc_checks}


def lab_checks(lab: Lab, provider: str) -> list[Check]:
    """Memory, disk and address clashes for `lab` on `provider`."""
    tcg = provider == "libvirt" and not kvm.kvm_verdict().usable
    where = {
        "libvirt": Path("/var/lib/labgen/libvirt"),
        "lxc": Path("/var/lib/lxc"),
        "virtualbox": Path.home() / "VirtualBox VMs",
    }[provider]
    own: set[str] = set()
    if provider == "lxc":
        own.add(lxc.bridge_name(lab))
    elif provider == "libvirt":
        own.add(lv.bridge_name(lab))
    return [
        resource_check(f"lab {lab.name}: memory", memory_need(lab, provider, tcg), mem_available(), "memory"),
        resource_check(f"lab {lab.name}: disk ({where})", disk_need(lab, provider), disk_free(where), "disk space"),
        clash_check(f"lab {lab.name}: network", lab.network, host_routes(), own),
    ]


def limit_checks(shortfalls, nodes: int, have: dict, seats: int) -> list[Check]:
    """One line per kernel limit a classroom of `seats` seats (`nodes` container nodes on the
    host) needs: ok, or a warning with the value `classroom up` sets (as root); a hard
    open-files limit it cannot raise fails."""
    short = {s.key: s for s in shortfalls}
    checks = []
    for key, need in hostlimits.needs(nodes).items():
        topic = f"{seats} seats: {key}"
        if key in short:
            # Not blocking: `classroom up` (as root) raises it and says so.
            checks.append(
                Check(
                    topic,
                    WARN,
                    f"{short[key].have}, {nodes} nodes need {need}: "
                    f"`labgen classroom up` raises it (or: sysctl -w {key}={need})",
                )
            )
        elif have.get(key) is None:
            checks.append(Check(topic, INFO, "not on this kernel"))
        else:
            checks.append(Check(topic, OK, f"{have[key]} ≥ {need}"))
    if "RLIMIT_NOFILE" in short:
        s = short["RLIMIT_NOFILE"]
        checks.append(
            Check(
                f"{seats} seats: open files",
                FAIL,
                f"{s.have}, {nodes} nodes need {s.need} ({s.what})",
                hint="raise it: ulimit -n (classroom up raises the soft limit up to the hard one)",
            )
        )
    return checks


def seat_checks(lab: Lab, provider: str, seats: int) -> list[Check]:
    """Kernel limits, memory and disk for `seats` seats of `lab` (plus the containers the host
    already runs), as `classroom up` would check them. Reads only."""
    others = 0
    if provider == "lxc" and shutil.which("lxc-ls"):
        others = len((_out(["lxc-ls", "-1"]) or "").split())
    nodes = seats * len(lab.nodes) + others
    checks = limit_checks(hostlimits.check(nodes), nodes, hostlimits.read_limits(), seats)
    runs = roles_that_run(lab, get_provider(provider).distro_for(lab))
    checks.append(
        resource_check(f"{seats} seats: memory", seats * seat_memory_mib(lab, runs) * MIB, mem_available(), "memory")
    )
    checks.append(
        resource_check(
            f"{seats} seats: disk (/var/lib/lxc)",
            seats * seat_disk_mib(lab) * MIB,
            disk_free(Path("/var/lib/lxc")),
            "disk space",
        )
    )
    return checks


def run(lab: Lab | None, providers: list[str], seats: int = 0) -> list[Check]:
    """Every check for `providers` (and `lab` on the first of them, when given; with `seats`,
    what a classroom of that many seats needs)."""
    checks = vagrant_checks()
    for provider in providers:
        if provider not in PROVIDERS:
            continue
        checks += PROVIDER_CHECKS[provider](lab)
    if lab is not None and providers:
        checks += lab_checks(lab, providers[0])
        if seats:
            checks += seat_checks(lab, providers[0], seats)
    return checks
