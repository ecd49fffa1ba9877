"""The provider boundary: what a provider contributes to the Vagrantfile and to the host."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from labgen.errors import PreflightError
from labgen.model import Facts, Lab

# Debian's vagrant plugin packages register here (no Ruby start needed to ask).
VAGRANT_SYSTEM_PLUGINS = Path("/usr/share/vagrant-plugins/plugins.d")


class Provider:
    """Defaults shared by every provider; subclasses override what differs."""

    name = "base"
    distro = "ubuntu-16.04"      # what the catalogue's box runs; roles choose packages by it

    def distro_for(self, lab: Lab) -> str:
        """What the lab's box for this provider runs (a known box), else the provider's default."""
        from labgen.boxes import BOX_DISTROS

        return BOX_DISTROS.get(lab.boxes.get(self.name, ""), self.distro)

    def template_context(self, lab: Lab) -> dict:
        """Extra, already-validated values the provider block in Vagrantfile.j2 needs."""
        return {}

    def facts(self, lab: Lab) -> Facts:
        """What the roles may know of this provider's nodes: their distribution, and the apt
        proxy they use (None: this provider runs none, apt goes straight to the archive)."""
        return Facts(distro=self.distro_for(lab))

    def preflight(self, lab: Lab) -> None:
        """Raise PreflightError (with a hint) when this host cannot run `lab` with this provider."""
        if not shutil.which("vagrant"):
            raise PreflightError("vagrant is not installed",
                                 hint="install it (Debian: apt-get install vagrant)")

    def prepare_host(self, lab: Lab) -> list[str]:
        """Make the host ready (bridges, DHCP, the apt proxy...), idempotently. Returns what it
        changed."""
        return []

    def vagrant_env(self, lab: Lab) -> dict[str, str]:
        """Variables the rendered Vagrantfile reads when this provider's machines boot, passed
        to that `vagrant up` only (never written to this process's environment)."""
        return {}

    def cleanup_host(self, lab: Lab) -> list[str]:
        """Undo prepare_host's lab-specific part after destroy. Returns what it removed."""
        return []

    def machine_name(self, lab: Lab, node_name: str) -> str:
        """The name the provider gives the node's VM or container."""
        return f"{lab.instance_name}-{node_name}"


def vagrant_plugin_installed(plugin: str) -> bool:
    """True when `plugin` is a system plugin (Debian package) or a user plugin. No Ruby start."""
    if (VAGRANT_SYSTEM_PLUGINS / f"{plugin}.json").is_file():
        return True
    home = os.environ.get("VAGRANT_HOME") or os.path.join(os.path.expanduser("~"), ".vagrant.d")
    try:
        installed = json.loads(Path(home, "plugins.json").read_text()).get("installed", {})
    except (OSError, ValueError, AttributeError):
        return False
    return plugin in installed
