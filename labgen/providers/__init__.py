"""Providers: what differs between VirtualBox, libvirt and LXC, behind one small interface."""

from __future__ import annotations

import importlib
import os
import shutil

from labgen import kvm
from labgen.errors import InputError, PreflightError
from labgen.model import PROVIDERS


def get_provider(name: str):
    """The Provider object for `name` (imported lazily: the CLI's start-up stays fast)."""
    if name not in PROVIDERS:
        raise InputError([f"unknown provider {name!r}: expected one of {', '.join(PROVIDERS)}"])
    module = importlib.import_module(f"labgen.providers.{name}")
    return module.PROVIDER


def detect_provider() -> tuple[str, str]:
    """(provider, why): VirtualBox if installed, else libvirt (usable KVM), else LXC as root."""
    if shutil.which("VBoxManage"):
        return "virtualbox", "VBoxManage found"
    if shutil.which("virsh") and os.path.exists("/dev/kvm") and not os.environ.get("LABGEN_SKIP_LIBVIRT"):
        # Not /dev/kvm alone: a KVM that cannot boot stock guests (PVM) would make libvirt the
        # default and every lab crawl under TCG; --provider libvirt still chooses it.
        if kvm.kvm_verdict().usable:
            return "libvirt", "virsh found and KVM usable"
    if shutil.which("lxc-create") and os.geteuid() == 0:
        return "lxc", "lxc-create found and running as root"
    raise PreflightError(
        "no usable provider: neither VirtualBox, libvirt/KVM nor LXC (as root) was found",
        hint="install VirtualBox, or vagrant-libvirt, or run as root with lxc and vagrant-lxc "
        "(Debian: apt-get install vagrant vagrant-lxc lxc)",
    )
