"""The provider boundary: what a provider contributes to the Vagrantfile and to the host."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from labgen.boxes import BOX_DISTROS
from labgen.errors import LabgenError, PreflightError, ProviderError
from labgen.model import Facts, Lab

# Debian's vagrant plugin packages register here (no Ruby start needed to ask).
VAGRANT_SYSTEM_PLUGINS = Path("/usr/share/vagrant-plugins/plugins.d")


class NotLikeVagrant(LabgenError):
    """A provider cannot start machines the way its Vagrant plugin would (a setting it does
    not know, a failed start...): the caller boots them through Vagrant instead."""


class Provider:
    """Defaults shared by every provider; subclasses override what differs."""

    name = "base"
    distro = "ubuntu-16.04"  # what the catalogue's box runs; roles choose packages by it

    def distro_for(self, lab: Lab) -> str:
        """What the lab's box for this provider runs (a known box), else the provider's default."""
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
            raise PreflightError("vagrant is not installed", hint="install it (Debian: apt-get install vagrant)")

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

    # ---- what a classroom needs from a provider (labgen/classroom talks only to these).
    # A provider that cannot serve seats on this host keeps the defaults, which refuse.

    def seats_refused(self) -> str | None:
        """Why this provider cannot serve classroom seats on this host, or None when it can."""
        return (
            f"classrooms need the lxc provider on this host, not {self.name} "
            "(libvirt placement is planned: see labgen/classroom/placement.py)"
        )

    def _no_seats(self) -> ProviderError:
        return ProviderError(
            self.seats_refused() or f"{self.name}: not supported for classrooms", hint="--provider lxc"
        )

    def lab_bridge(self, lab: Lab) -> str:
        """The host network device that holds the lab's network (rules and clash checks name it)."""
        raise self._no_seats()

    def mgmt_ports(self, lab: Lab) -> list[str]:
        """The host-side ports of the lab's nodes on the network shared by every lab (the
        management network that carries SSH): isolation rules keep seats apart on it."""
        raise self._no_seats()

    def prepare_shared_host(self) -> list[str]:
        """The host parts every lab shares (the management network), made once before seats
        boot in parallel. Returns what it changed."""
        raise self._no_seats()

    def remove_lab_bridge(self, lab: Lab) -> list[str]:
        """Delete the lab's bridge if it exists (its machines may be gone already)."""
        raise self._no_seats()

    def machines(self, prefix: str) -> list[str]:
        """Names of the provider's machines on this host that start with `prefix`."""
        raise self._no_seats()

    def remove_machine(self, name: str) -> list[str]:
        """Delete machine `name` (Vagrant may not know it: an interrupted create). Returns what went."""
        raise self._no_seats()

    def machine_states(self, lab: Lab) -> dict[str, str] | None:
        """node -> state read from the provider directly (cheap), or None: ask Vagrant."""
        return None

    def ssh_config(self, lab: Lab, lab_dir: Path) -> str | None:
        """What `vagrant ssh-config` prints for the lab's running machines, read from the
        provider directly (no Ruby start), or None: ask Vagrant."""
        return None

    def machines_path(self) -> Path:
        """Where the provider keeps its machines' disks (for free-space checks)."""
        raise self._no_seats()

    def clone_machine(self, source: str, target: str, own_dirs: tuple[str, ...] = ()) -> list[str]:
        """A copy-on-write clone `target` of stopped machine `source`, with an identity of its
        own (machine-id, SSH host keys); `own_dirs` (absolute paths in the machine) start
        empty and live outside the copy-on-write layer. Raises LabgenError and leaves no
        `target` on failure."""
        raise self._no_seats()

    def seat_config(self, machine: str, data_dir: Path, fresh: bool) -> list[str]:
        """What a seat's clone `machine` runs with beyond an ordinary lab's machine (files it
        needs go in `data_dir`); `fresh`: cloned just now, not booted yet. Converges; returns
        the changes. Nothing by default."""
        return []

    def adopt(self, lab_dir: Path, node: str, machine: str, private_key: Path) -> None:
        """Make Vagrant in `lab_dir` take existing machine `machine` as `node` (it then only
        starts it), logging in with `private_key` (the key Vagrant put on the source)."""
        vagrant_dir = Path(lab_dir) / ".vagrant" / "machines" / node / self.name
        vagrant_dir.mkdir(parents=True, exist_ok=True)
        (vagrant_dir / "id").write_text(machine)
        key = vagrant_dir / "private_key"
        key.write_bytes(Path(private_key).read_bytes())
        key.chmod(0o600)

    def start_adopted(self, lab: Lab, lab_dir: Path, image_lab: Lab, image_dir: Path) -> str:
        """Start the lab's adopted clones of `image_lab`'s machines (the image's lab dir:
        `image_dir`) without a Vagrant start, leaving `lab_dir` a lab Vagrant drives as if it
        had booted them. Returns the ssh config text. Raises NotLikeVagrant when it cannot
        (the default): the caller runs `vagrant up`."""
        raise NotLikeVagrant(f"{self.name}: machines start through Vagrant")

    def private_key(self, lab_dir: Path, node: str) -> Path:
        """The key Vagrant generated for `node` of the lab in `lab_dir`."""
        return Path(lab_dir) / ".vagrant" / "machines" / node / self.name / "private_key"

    def boot_failure(self, lab: Lab, started: dict[str, float]) -> str | None:
        """While `vagrant up` waits: why a node of `started` (node -> time.time() when Vagrant
        said it starts it) stopped during boot, from its console, or None while nothing is
        wrong. Polled every few seconds; must be cheap."""
        return None


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
