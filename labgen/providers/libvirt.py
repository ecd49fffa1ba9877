"""libvirt/KVM through vagrant-libvirt: an isolated libvirt network per lab plays VirtualBox's
host-only network (the host holds .1, no DHCP, no forwarding)."""

from __future__ import annotations

import os
import shutil
import subprocess

from labgen.errors import PreflightError
from labgen.model import Lab
from labgen.providers.base import Provider


class LibvirtProvider(Provider):
    name = "libvirt"
    distro = "ubuntu-16.04"

    def network_name(self, lab: Lab) -> str:
        """The libvirt network vagrant-libvirt creates for the lab's private network."""
        return f"labgen-{lab.instance_name}"

    def template_context(self, lab: Lab) -> dict:
        # default_prefix + machine name = the libvirt domain name (see machine_name)
        return {"network_name": self.network_name(lab), "default_prefix": f"{lab.instance_name}-"}

    def preflight(self, lab: Lab) -> None:
        """Raise PreflightError when vagrant, the vagrant-libvirt plugin, virsh or a usable
        /dev/kvm is missing. Runs `vagrant plugin list`; changes nothing."""
        super().preflight(lab)
        try:
            plugins = subprocess.run(["vagrant", "plugin", "list"], capture_output=True,
                                     text=True, timeout=120, check=False).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise PreflightError(f"`vagrant plugin list` failed: {exc}") from None
        if not any(line.split()[:1] == ["vagrant-libvirt"] for line in plugins.splitlines()):
            raise PreflightError("the vagrant-libvirt plugin is not installed",
                                 hint="Debian: apt-get install vagrant-libvirt; "
                                      "elsewhere: vagrant plugin install vagrant-libvirt")
        if not shutil.which("virsh"):
            raise PreflightError("virsh is not installed (libvirt clients missing)",
                                 hint="Debian: apt-get install libvirt-clients libvirt-daemon-system")
        if not os.path.exists("/dev/kvm"):
            raise PreflightError("/dev/kvm does not exist: no hardware virtualisation here",
                                 hint="enable VT-x/AMD-V (or nested virtualisation), "
                                      "or use --provider lxc")
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            raise PreflightError("/dev/kvm is not accessible to this user",
                                 hint="add yourself to the kvm and libvirt groups, then log in again")


PROVIDER = LibvirtProvider()
