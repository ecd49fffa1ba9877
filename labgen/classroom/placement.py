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
A seat's identity (name, network, keys) is computed above the seam (layout.py), so it does
not change when placement does.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

from labgen import lifecycle
from labgen.classroom.hostcheck import CLONE_DISK_MIB
from labgen.classroom.image import images_root, unseal_script
from labgen.errors import InputError, LabgenError
from labgen.labdir import LabDir, atomic_write
from labgen.labfile import load_lab
from labgen.parallel import per_node
from labgen.providers import get_provider
from labgen.providers.base import NotLikeVagrant
from labgen.provision.engine import provision as run_provision
from labgen.provision.roles import role_module

Say = Callable[[str], None]
# lxc-copy records each clone in its source's lxc_snapshots file, and lxc-destroy of a clone
# takes it out again: one at a time per source, i.e. per node name (a seat's node N is a clone
# of its image's node N). A seat's nodes are cloned and removed in parallel.
_NODE_LOCKS: dict[str, threading.Lock] = {}
_NODE_LOCKS_LOCK = threading.Lock()


def _node_lock(node_name: str) -> threading.Lock:
    with _NODE_LOCKS_LOCK:
        return _NODE_LOCKS.setdefault(node_name, threading.Lock())


class ThisHost:
    """Seats as lab dirs on this machine."""

    name = "this host"

    def __init__(self, provider: str):
        self.provider = provider

    def place(
        self, lab_dir: Path, lab_text: str, say: Say, roles: list[str] | None = None, stop=None, image=None
    ) -> list[str]:
        """Write the seat's lab dir, boot it and provision `roles` (None: all, []: none);
        converges a half-made seat. `stop` (a threading.Event): once set, start no further
        phase or task (the caller then removes or keeps the seat). With `image` (a ready
        classroom.image.SeatImage), nodes not created yet are clones of the image's.

        Changes on the host what `labgen create` changes. Returns the host changes.
        Raises LabgenError (ProviderError, TaskError...) when the seat cannot be brought up.
        """
        ld = LabDir(lab_dir)
        atomic_write(ld.labfile, lab_text)
        lab = load_lab(ld.labfile)
        lifecycle.write_lab_dir(lab, ld, self.provider)
        if stop is not None and stop.is_set():
            raise LabgenError("interrupted before booting")
        if image is not None:
            self.clone(lab, ld, image, say)
            self.seat_config(lab)
            say("booting")
            changes = self.boot_clones(lab, ld, image, say)
        else:
            say("booting")
            changes = lifecycle.boot(lab, ld, self.provider)
        if stop is not None and stop.is_set():
            raise LabgenError("interrupted after booting")
        if roles != []:
            say("provisioning" + (f" {','.join(roles)}" if roles else ""))
            facts = get_provider(self.provider).facts(lab)
            # Clones: the management network's DHCP answer is waited for last, not first. lxc-net's
            # dnsmasq pings each new address for 3 s before offering it, one address at a time
            # (a trio seat's three nodes: 9 s), while the roles need only the lab network.
            late = image is not None and facts.default_route and (roles is None or "base" in roles)
            with lifecycle.open_remote(ld, self.provider) as remote:
                if image is not None:
                    unseal(lab, remote, facts)  # also a clone whose first `up` stopped before it
                first = replace(facts, default_route=False) if late else facts
                reports = run_provision(lab, ld, remote, first, roles=roles, stop=stop)
                if late and not any(r.error or r.stopped for r in reports):
                    # base again with the provider's facts: its default route task waits for the
                    # lease, and base is recorded as what `labgen provision` checks
                    reports += run_provision(lab, ld, remote, facts, roles=["base"], stop=stop)
            errors = [r.error for r in reports if r.error is not None]
            if errors:
                raise errors[0]
            changed = sorted({t for r in reports for t in r.changed})
            say(f"provisioned: {len(changed)} task(s) changed" + (f" ({', '.join(changed)})" if changed else ""))
        return changes

    def clone(self, lab, ld: LabDir, image, say: Say) -> list[str]:
        """Clone the image's machines for the seat's nodes that do not exist yet and hand them
        to Vagrant. All or nothing: a failure (a full disk...) removes this call's clones.
        Raises LabgenError naming the bytes needed when the disk cannot hold the seat."""
        prov = self.provider_obj()
        todo = [n for n in lab.nodes if prov.machine_states(lab).get(n.name, "not_created") == "not_created"]
        if not todo:
            return []
        need = CLONE_DISK_MIB * 2**20 * len(todo)
        free = shutil.disk_usage(prov.machines_path()).free
        if free < need:
            raise LabgenError(
                f"not enough disk in {prov.machines_path()} to clone the seat's "
                f"{len(todo)} node(s): {need} bytes needed, {free} free",
                hint="free disk space, then run `labgen classroom up` again (the seats already up stay up)",
            )
        say(f"cloning {len(todo)} node(s) from seat image {image.instance}")

        made: list[str] = []
        made_lock = threading.Lock()

        def one(node) -> None:
            target = prov.machine_name(lab, node.name)
            own = tuple(d for r in node.roles for d in getattr(role_module(r), "CLONE_OWN_DIRS", ()))
            try:
                with _node_lock(node.name):
                    prov.clone_machine(image.machine(node.name), target, own)
            except LabgenError as exc:
                # lxc-copy says nothing about a full disk (exit 1, no message): look at the space
                where = prov.machines_path() / target
                free = shutil.disk_usage(where if where.exists() else prov.machines_path()).free
                if "No space left" not in exc.message and free >= need:
                    raise
                raise LabgenError(
                    f"disk full while cloning node {node.name}: the seat's {len(todo)} node(s) "
                    f"need {need} bytes, {free} free in {where}",
                    hint="free disk space, then run `labgen classroom up` again "
                    "(the seats already up stay up; this seat was removed)",
                ) from None
            with made_lock:
                made.append(target)
            prov.seat_config(target, images_root(), fresh=True)
            prov.adopt(ld.path, node.name, target, prov.private_key(image.path, node.name))

        try:
            # in parallel: lxc-copy, the host keys and the config writes of one node do not wait
            # for the others' (a trio seat's clones took 1.7 s one after the other)
            per_node(todo, one)
        except BaseException:
            for node in todo:
                target = prov.machine_name(lab, node.name)
                if target in made:
                    with _node_lock(node.name):
                        prov.remove_machine(target)
            raise
        return [f"cloned {', '.join(t for t in (prov.machine_name(lab, n.name) for n in todo) if t in made)}"]

    def boot_clones(self, lab, ld: LabDir, image, say: Say) -> list[str]:
        """`lifecycle.boot` of a seat made of clones, started without a Ruby start
        (Provider.start_adopted: ~9 s of a trio seat's reset were `vagrant up` and `vagrant
        ssh-config`), leaving the seat dir a lab Vagrant drives as usual; through Vagrant
        whenever the provider cannot (NotLikeVagrant). Returns the host changes."""
        prov = self.provider_obj()

        def start() -> str:
            try:
                image_lab = load_lab(LabDir(image.path).labfile)
            except InputError as exc:
                raise NotLikeVagrant(f"the seat image's lab file: {exc.message.splitlines()[0]}") from None
            return prov.start_adopted(lab, ld.path, image_lab, image.path)

        return lifecycle.boot(lab, ld, self.provider, start=start, on_fallback=say)

    def seat_config(self, lab) -> list[str]:
        """Each existing clone of the seat made to run as a seat (Provider.seat_config): a
        classroom cloned by an older labgen gets it too, from its nodes' next start."""
        prov = self.provider_obj()
        states = prov.machine_states(lab) or {}
        changes: list[str] = []
        for node in lab.nodes:
            if states.get(node.name, "not_created") != "not_created":
                changes += prov.seat_config(prov.machine_name(lab, node.name), images_root(), fresh=False)
        return changes

    def remove_clones(self, lab_dir: Path, seat_lab, say: Say) -> list[str]:
        """A seat made of clones, removed without Vagrant (a Ruby start saved: `reset`): its
        machines deleted by the provider, its lab dir removed; its bridge stays for the next
        clones. Vagrant's global index keeps a stale entry, which it prunes itself."""
        prov = self.provider_obj()
        say("removing its clones")
        names = self.host_resources(seat_lab)["containers"]  # in the order of the nodes

        def one(pair) -> list[str]:
            node, name = pair
            with _node_lock(node.name):
                return prov.remove_machine(name)

        # in parallel: a trio seat's three lxc-destroy took 2 s one after the other
        removed = [r for rs in per_node(list(zip(seat_lab.nodes, names)), one) for r in rs]
        if Path(lab_dir).exists():
            shutil.rmtree(lab_dir)
        return removed

    def remove(self, lab_dir: Path, say: Say) -> list[str]:
        """Destroy a seat's machines and host network, even when `up` stopped half-way."""
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
        """What `remove` cannot find through Vagrant: machines named after the seat whose
        creation an interrupt cut short (Vagrant had not recorded them yet), and its bridge."""
        prov = self.provider_obj()
        removed = []
        for name in self.host_resources(seat_lab)["containers"]:
            removed += prov.remove_machine(name)
        return removed + prov.remove_lab_bridge(seat_lab)

    def states(self, lab_dir: Path) -> dict[str, str]:
        """node -> state (running, stopped, not_created...): from the provider when it can
        tell cheaply, else from `vagrant status` (a Ruby start per seat)."""
        ld = LabDir(lab_dir)
        return lifecycle.machine_states(lifecycle.load_lab_of(ld), ld, self.provider)

    def remote(self, lab_dir: Path):
        """A Remote with one live SSH connection per node of the seat."""
        return lifecycle.open_remote(LabDir(lab_dir), self.provider)

    def provider_obj(self):
        """The classroom's Provider; refuses one that cannot serve seats on this host."""
        prov = get_provider(self.provider)
        why = prov.seats_refused()
        if why:
            raise LabgenError(why, hint="--provider lxc")
        return prov

    def host_resources(self, seat_lab) -> dict:
        """Host-side names of a seat (its lab has `instance` set): its bridge, its ports on
        the shared management network (for isolation) and its machines."""
        prov = self.provider_obj()
        return {
            "bridge": prov.lab_bridge(seat_lab),
            "ports": prov.mgmt_ports(seat_lab),
            "containers": [prov.machine_name(seat_lab, n.name) for n in seat_lab.nodes],
        }


def unseal(lab, remote, facts) -> None:
    """Fresh clones: every unit their image's seal disabled enabled again in one call per node
    (classroom.image.unseal_script). A failure is left to the roles' own tasks, which enable
    their unit one by one when it is not."""

    def one(node):
        script = unseal_script(lab, node, facts)
        if script:
            remote.run(node.name, script, sudo=True, timeout=120)

    per_node(lab.nodes, one)


def placement_for(provider: str) -> ThisHost:
    """The placement a classroom uses; the one place a distributed engine would be chosen."""
    return ThisHost(provider)
