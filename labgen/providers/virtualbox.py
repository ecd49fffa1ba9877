"""VirtualBox: the walkthrough's own provider. Host-only networks are VirtualBox's business;
labgen only checks that VirtualBox will allow the lab's network."""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from pathlib import Path

from labgen.errors import PreflightError
from labgen.model import Lab
from labgen.providers.base import Provider

# VirtualBox >= 6.1.28 allows host-only addresses only in this range unless networks.conf
# says otherwise (https://www.virtualbox.org/manual/ch06.html#network_hostonly).
DEFAULT_ALLOWED = (ipaddress.IPv4Network("192.168.56.0/21"),)
RESTRICTED_SINCE = (6, 1, 28)


def allowed_hostonly_networks(conf_text: str | None) -> tuple[ipaddress.IPv4Network, ...]:
    """The IPv4 ranges VirtualBox allows for host-only networks, from networks.conf's text.

    `None` (no file) means VirtualBox's default. Lines look like `* 10.0.0.0/8 192.168.0.0/16`;
    anything unparsable is ignored, as VirtualBox does.
    """
    if conf_text is None:
        return DEFAULT_ALLOWED
    allowed = []
    for line in conf_text.splitlines():
        words = line.split()
        if not words or words[0] != "*":
            continue
        for word in words[1:]:
            try:
                net = ipaddress.ip_network(word, strict=False)
            except ValueError:
                continue
            if isinstance(net, ipaddress.IPv4Network):
                allowed.append(net)
    return tuple(allowed)


def parse_version(text: str) -> tuple[int, ...] | None:
    """(6, 1, 28) from VBoxManage --version output such as '6.1.28r147628'; None if unknown."""
    match = re.match(r"\s*(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in match.groups()) if match else None


class VirtualBoxProvider(Provider):
    name = "virtualbox"
    distro = "ubuntu-16.04"
    networks_conf = Path("/etc/vbox/networks.conf")

    def template_context(self, lab: Lab) -> dict:
        return {}

    def preflight(self, lab: Lab) -> None:
        """Raise PreflightError when vagrant or VBoxManage is missing, or when VirtualBox would
        refuse the lab's host-only network. Runs `VBoxManage --version`; changes nothing."""
        super().preflight(lab)
        vboxmanage = shutil.which("VBoxManage")
        if not vboxmanage:
            raise PreflightError(
                "VirtualBox is not installed (VBoxManage not found)",
                hint="install VirtualBox, or choose --provider libvirt or lxc",
            )
        if self._restricted(vboxmanage):
            self.check_network(lab)

    def _restricted(self, vboxmanage: str) -> bool:
        try:
            out = subprocess.run(
                [vboxmanage, "--version"], capture_output=True, text=True, timeout=30, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return True
        version = parse_version(out)
        return version is None or version >= RESTRICTED_SINCE

    def check_network(self, lab: Lab) -> None:
        """Raise PreflightError unless networks.conf (or VirtualBox's default) allows lab.network."""
        try:
            text = self.networks_conf.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = None
        except OSError as exc:
            raise PreflightError(f"cannot read {self.networks_conf}: {exc}") from None
        allowed = allowed_hostonly_networks(text)
        if any(lab.network.subnet_of(net) for net in allowed):
            return
        where = (
            f"{self.networks_conf} allows only " + (", ".join(map(str, allowed)) or "nothing")
            if text is not None
            else f"VirtualBox allows only {DEFAULT_ALLOWED[0]} without {self.networks_conf}"
        )
        raise PreflightError(
            f"lab {lab.name}: VirtualBox will refuse the host-only network {lab.network} ({where})",
            hint=f"add the line `* {lab.network}` to {self.networks_conf} (as root), "
            "or use a network inside 192.168.56.0/21",
        )


PROVIDER = VirtualBoxProvider()
