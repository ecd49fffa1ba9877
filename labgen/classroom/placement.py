"""Where a seat runs: the single seam between a classroom and the machines.

Today there is one placement, `ThisHost`: every seat is a lab dir on this machine, booted
by Vagrant with the classroom's provider, its bridge and rules on this host's kernel.
Everything above this module (ops.py, the CLI) only calls `place`, `remove`, `states`,
`remote` and `addresses`; everything below it is the ordinary single-lab code (lifecycle,
providers, provisioning).

How a distributed engine would replace "this host" (planned, not built):
  - an Incus cluster: `place(seat)` becomes `incus launch --target <member>` of the seat's
    nodes into a per-seat OVN network (Incus places instances itself when no target is
    given); isolation moves into OVN ACLs instead of this host's nftables; `remote(seat)`
    opens SSH through the member; the jump accounts point permitopen at the OVN addresses.
  - libvirt hosts over qemu+ssh: `place(seat)` picks the member with the most free memory
    and renders the seat's Vagrantfile with `libvirt.uri = qemu+ssh://member/system`;
    the classroom's sshd runs on each member (or one jump host routes to them).
A seat's identity (name, network, keys) is computed above the seam (seats.py), so it does
not change when placement does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from labgen.errors import LabgenError
from labgen.labdir import LabDir

Say = Callable[[str], None]


class ThisHost:
    """Seats as lab dirs on this machine."""

    name = "this host"

    def __init__(self, provider: str):
        self.provider = provider

    def place(self, lab_dir: Path, lab_text: str, say: Say, roles: list[str] | None = None,
              stop=None) -> list[str]:
        """Write the seat's lab dir, boot it and provision `roles` (None: all, []: none);
        converges a half-made seat. `stop` (a threading.Event): once set, start no further
        phase or task (the caller then removes or keeps the seat).

        Changes on the host what `labgen create` changes. Returns the host changes.
        Raises LabgenError (ProviderError, TaskError...) when the seat cannot be brought up.
        """
        from labgen import lifecycle
        from labgen.labdir import atomic_write
        from labgen.labfile import load_lab
        from labgen.provision.engine import provision as run_provision
        from labgen.providers import get_provider

        ld = LabDir(lab_dir)
        atomic_write(ld.labfile, lab_text)
        lab = load_lab(ld.labfile)
        lifecycle.write_lab_dir(lab, ld, self.provider)
        if stop is not None and stop.is_set():
            raise LabgenError("interrupted before booting")
        say("booting")
        changes = lifecycle.boot(lab, ld, self.provider)
        if stop is not None and stop.is_set():
            raise LabgenError("interrupted after booting")
        if roles != []:
            say("provisioning" + (f" {','.join(roles)}" if roles else ""))
            with lifecycle.open_remote(ld, self.provider) as remote:
                reports = run_provision(lab, ld, remote, get_provider(self.provider).facts(lab), roles=roles,
                                        stop=stop)
            errors = [r.error for r in reports if r.error is not None]
            if errors:
                raise errors[0]
        return changes

    def remove(self, lab_dir: Path, say: Say) -> list[str]:
        """Destroy a seat's machines and host network, even when `up` stopped half-way."""
        import shutil
        import subprocess

        from labgen import lifecycle

        ld = LabDir(lab_dir)
        removed: list[str] = []
        if ld.labfile.exists():
            lab = lifecycle.load_lab_of(ld)
            say("destroying")
            removed += lifecycle.destroy(lab, ld, self.provider)
        elif (ld.path / ".vagrant").exists():
            subprocess.run(["vagrant", "destroy", "-f"], cwd=ld.path, capture_output=True, timeout=300)
        if ld.path.exists():
            shutil.rmtree(ld.path)
        return removed

    def remove_leftovers(self, seat_lab) -> list[str]:
        """What `remove` cannot find through Vagrant: containers named after the seat whose
        creation an interrupt cut short (Vagrant had not recorded them yet), and its bridge."""
        import subprocess

        from labgen.providers.lxc import remove_bridge

        res = self.host_resources(seat_lab)
        present = set(subprocess.run(["lxc-ls", "-1"], capture_output=True, text=True, timeout=60).stdout.split())
        removed = []
        for name in res["containers"]:
            if name in present:
                subprocess.run(["lxc-destroy", "-f", "-n", name], capture_output=True, timeout=120)
                removed.append(f"container {name}")
        return removed + remove_bridge(res["bridge"])

    def states(self, lab_dir: Path) -> dict[str, str]:
        """node -> state (running, stopped, not_created...). On LXC read from lxc-info (a
        `vagrant status` costs a Ruby start per seat: seconds, times 60 seats)."""
        import subprocess

        from labgen import lifecycle
        from labgen.vagrant import VagrantEnv

        if self.provider != "lxc":
            return VagrantEnv(Path(lab_dir), self.provider).status()
        from labgen.providers.lxc import PROVIDER

        lab = lifecycle.load_lab_of(LabDir(lab_dir))
        states = {}
        for node in lab.nodes:
            res = subprocess.run(["lxc-info", "-s", "-H", "-n", PROVIDER.machine_name(lab, node.name)],
                                 capture_output=True, text=True, timeout=30)
            states[node.name] = res.stdout.strip().lower() if res.returncode == 0 else "not_created"
        return states

    def remote(self, lab_dir: Path):
        """A Remote with one live SSH connection per node of the seat."""
        from labgen import lifecycle

        return lifecycle.open_remote(LabDir(lab_dir), self.provider)

    def host_resources(self, seat_lab) -> dict:
        """Host-side names of a seat (its lab has `instance` set): its bridge, its ports on
        the shared management bridge (for isolation) and its containers."""
        if self.provider != "lxc":
            raise LabgenError(f"classrooms run on the lxc provider on this host, not {self.provider}",
                              hint="--provider lxc (libvirt placement is planned: see placement.py)")
        from labgen.providers.lxc import PROVIDER, bridge_name, mgmt_veth_name

        return {"bridge": bridge_name(seat_lab),
                "ports": [mgmt_veth_name(seat_lab, n.name) for n in seat_lab.nodes],
                "containers": [PROVIDER.machine_name(seat_lab, n.name) for n in seat_lab.nodes]}


def placement_for(provider: str) -> ThisHost:
    """The placement a classroom uses; the one place a distributed engine would be chosen."""
    return ThisHost(provider)
