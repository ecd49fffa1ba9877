"""A lab's life: create (render, prepare host, boot, provision), connect, halt, destroy.

Orchestration only: each step calls the module that owns it. Nothing here prints; progress goes
to the callbacks the CLI passes in.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from labgen.errors import LabgenError, Unreachable
from labgen.labdir import LabDir, atomic_write
from labgen.labfile import load_lab
from labgen.model import Lab
from labgen.parallel import per_node
from labgen.providers import get_provider
from labgen.providers.base import NotLikeVagrant
from labgen.remote import Remote, address_answers, parse_ssh_config
from labgen.render import check_unmodified, render_vagrantfile
from labgen.vagrant import VagrantEnv

Say = Callable[[str], None]


def load_lab_of(lab_dir: LabDir) -> Lab:
    """The lab a lab dir was made from (its lab.yml copy)."""
    return load_lab(lab_dir.labfile)


def provider_of(lab_dir: LabDir, requested: str | None) -> str | None:
    """The provider a lab dir was created with (else `requested`, None when neither says);
    a different --provider is an error."""
    recorded = lab_dir.load_state().get("provider")
    if recorded and requested and requested != recorded:
        raise LabgenError(
            f"lab {lab_dir.path.name} was created with provider {recorded}, not {requested}",
            hint="destroy it first (`labgen destroy`) to switch providers",
        )
    return recorded or requested


def write_lab_dir(lab: Lab, lab_dir: LabDir, provider: str, force: bool = False) -> list[str]:
    """Write lab.yml, the Vagrantfile and the state of a new or existing lab dir.

    Refuses to overwrite a Vagrantfile the user edited, or a dir holding another lab, unless
    `force`. Returns what it wrote.
    """
    state = lab_dir.load_state()
    if lab_dir.exists() and state.get("lab") not in (None, lab.name) and not force:
        raise LabgenError(
            f"{lab_dir.path} holds lab {state.get('lab')!r}, not {lab.name!r}",
            hint="choose another --dir, or destroy that lab first",
        )
    if lab_dir.exists():
        provider_of(lab_dir, provider)
    text = render_vagrantfile(lab, provider)
    wrote = []
    if lab_dir.vagrantfile.exists():
        current = lab_dir.vagrantfile.read_text(encoding="utf-8")
        if current != text:
            if not force and not check_unmodified(lab_dir.vagrantfile):
                raise LabgenError(
                    f"{lab_dir.vagrantfile} was edited by hand; not overwriting it",
                    hint="keep your edits and run `vagrant` yourself, or pass --force to regenerate it",
                )
            wrote.append("Vagrantfile (updated)")
    else:
        wrote.append("Vagrantfile")
    lab_dir.path.mkdir(parents=True, exist_ok=True)
    if lab.source and Path(lab.source).resolve() != lab_dir.labfile:
        atomic_write(lab_dir.labfile, Path(lab.source).read_text(encoding="utf-8"))
    atomic_write(lab_dir.vagrantfile, text)
    lab_dir.update_state(lab=lab.name, provider=provider)
    return wrote


def boot(
    lab: Lab,
    lab_dir: LabDir,
    provider: str,
    on_line: Say | None = None,
    nodes: list[str] | None = None,
    on_host: Say | None = None,
    start: Callable[[], str] | None = None,
    on_fallback: Say | None = None,
) -> list[str]:
    """Prepare the host (the provider's job: bridges, apt proxy...) and `vagrant up` the lab's nodes;
    refreshes the cached ssh config. Host changes go to `on_host` as soon as they are made
    (before the long wait), and are returned.

    `start`: starts the machines without Vagrant (a seat's clones: Provider.start_adopted) and
    returns their ssh config; when it raises NotLikeVagrant, `on_fallback` is told why and
    Vagrant boots them after all."""
    prov = get_provider(provider)
    prov.preflight(lab)
    changes = prov.prepare_host(lab)
    if on_host is not None:
        for change in changes:  # before the wait: e.g. the TCG warning and its cost
            on_host(change)
    lab_dir.drop_ssh_config()
    env = VagrantEnv(lab_dir.path, provider, extra_env=prov.vagrant_env(lab))
    text = None
    if start is not None:
        try:
            text = start()
        except NotLikeVagrant as exc:
            if on_fallback is not None:
                on_fallback(f"starting without Vagrant: {exc.message.splitlines()[0]}; booting through Vagrant")
    if text is None:
        env.up(nodes or (), on_line=on_line, boot_failure=lambda started: prov.boot_failure(lab, started))
        text = _ask_ssh_config(lab_dir, provider, lab, env)
    lab_dir.save_ssh_config(text)
    lab_dir.update_state(booted=True)
    return changes


def halt(lab_dir: LabDir, provider: str, on_line: Say | None = None) -> None:
    """Stop the machines (they keep their disks); forget their ssh config."""
    VagrantEnv(lab_dir.path, provider).halt(on_line=on_line)
    lab_dir.drop_ssh_config()


def ssh_argv(lab_dir: LabDir, provider: str, node: str, command: list[str]) -> list[str]:
    """The `ssh` command line that opens a shell on `node` (or runs `command` there).

    A cached address that does not answer is refreshed from Vagrant once (a node restarted
    outside labgen may have a new DHCP address)."""
    if node not in parse_ssh_config(ssh_config_answering(lab_dir, provider, [node])):
        raise LabgenError(f"node {node} is not running", hint="`labgen create` boots it")
    return ["ssh", "-F", str(lab_dir.ssh_config_file), "-o", "LogLevel=ERROR", node, *command]


def ssh_config(lab_dir: LabDir, provider: str, refresh: bool = False) -> str:
    """The lab's ssh config: the cached copy, or (when absent or `refresh`) Vagrant's, cached.

    One `vagrant ssh-config` costs a Ruby start (1-3 s of CPU); the cache makes every later
    command fast, and a provider that can read the answer itself (LXC) spares the Ruby start.
    """
    text = None if refresh else lab_dir.cached_ssh_config()
    if text is None:
        text = _ask_ssh_config(lab_dir, provider)
        lab_dir.save_ssh_config(text)
    return text


def _ask_ssh_config(lab_dir: LabDir, provider: str, lab: Lab | None = None, env: VagrantEnv | None = None) -> str:
    """The provider's own answer (see Provider.ssh_config), else `vagrant ssh-config`'s (also
    when the lab file cannot be read)."""
    if lab is None:
        try:
            lab = load_lab_of(lab_dir)
        except LabgenError:
            lab = None
    text = get_provider(provider).ssh_config(lab, lab_dir.path) if lab is not None else None
    return text if text is not None else (env or VagrantEnv(lab_dir.path, provider)).ssh_config()


def machine_states(lab: Lab, lab_dir: LabDir, provider: str) -> dict[str, str]:
    """node -> machine state: the provider's own answer where it has one (no Ruby start), else
    `vagrant status`'s."""
    states = get_provider(provider).machine_states(lab)
    return states if states is not None else VagrantEnv(lab_dir.path, provider).status()


def ssh_config_answering(lab_dir: LabDir, provider: str, nodes: list[str], timeout: float = 3.0) -> str:
    """The ssh config, asked again from Vagrant once when a node's cached address does not
    accept connections: a node restarted outside labgen (lxc-start, a VM reboot) may have a
    new DHCP address. Returns the config either way; the caller reports what still fails."""
    text = ssh_config(lab_dir, provider)
    hosts = parse_ssh_config(text)
    if all(n in hosts and address_answers(hosts[n], timeout) for n in nodes):
        return text
    return ssh_config(lab_dir, provider, refresh=True)


def connect(lab_dir: LabDir, provider: str, probe_timeout: float = 10.0):
    """(Remote, {node: why}) for the running nodes, the second naming those that do not answer.

    Uses the cached ssh config; when a node cannot be reached with it, asks Vagrant once more
    (its address may have changed) and reconnects.
    """
    text = ssh_config(lab_dir, provider)
    remote = Remote(text, connect_timeout=probe_timeout)
    unreachable = probe(remote)
    if not unreachable:
        return remote, {}
    remote.close()
    text = ssh_config(lab_dir, provider, refresh=True)
    remote = Remote(text, connect_timeout=probe_timeout)
    return remote, probe(remote)


def open_remote(lab_dir: LabDir, provider: str, probe_timeout: float = 10.0) -> Remote:
    """A Remote with one live connection per running node (see `connect`).

    Raises LabgenError when nodes stay unreachable after the refresh.
    """
    remote, unreachable = connect(lab_dir, provider, probe_timeout)
    if not unreachable:
        return remote
    remote.close()
    raise Unreachable(
        "cannot reach " + ", ".join(f"{n} ({why})" for n, why in unreachable.items()),
        hint="`labgen status` shows each node; `labgen create` boots stopped ones",
    )


def probe(remote) -> dict[str, str]:
    """node -> why, for every node that does not answer `true` over SSH (checked in parallel)."""

    def one(node):
        try:
            return node, None if remote.run(node, "true", sudo=False, timeout=15).ok else "command failed"
        except LabgenError as exc:
            return node, exc.message.split(": ", 1)[-1]

    nodes = remote.nodes()
    if not nodes:
        return {"lab": "no running node"}
    return {n: why for n, why in per_node(nodes, one) if why}


def destroy(lab: Lab, lab_dir: LabDir, provider: str, on_line: Say | None = None) -> list[str]:
    """Destroy the machines, undo the host preparation and remove labgen's state.

    Keeps Vagrantfile, lab.yml and transcripts/ (the handouts). Returns what was removed.
    """
    removed = []
    if lab_dir.vagrantfile.exists():
        VagrantEnv(lab_dir.path, provider).destroy(on_line=on_line)
        removed.append("machines")
    removed += get_provider(provider).cleanup_host(lab)
    for folder in (lab_dir.meta, lab_dir.path / ".vagrant"):
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(str(folder.name))
    return removed


@dataclass
class NodeStatus:
    """One node as `labgen status` shows it (and `--format json` writes it)."""

    name: str
    ip: str
    provider: str
    state: str  # Vagrant's: running, stopped, not_created... or "unknown"
    ssh: bool | None  # None: not running, so not tried
    roles: list[str]  # the node's roles, in the lab file's order
    roles_done: list[str]  # those recorded as provisioned in state.json

    def as_dict(self) -> dict:
        return asdict(self)


def status(lab: Lab, lab_dir: LabDir, provider: str) -> list[NodeStatus]:
    """Each node's machine state, whether SSH answers (running nodes, probed in parallel) and
    the roles recorded as done. Changes nothing but the cached ssh config, refreshed from
    Vagrant when a cached address does not answer (see `connect`)."""
    states = machine_states(lab, lab_dir, provider)
    reach: dict[str, bool] = {}
    running = [n for n, s in states.items() if s == "running"]
    if running:
        remote, unreachable = connect(lab_dir, provider, probe_timeout=5)
        with remote:
            reach = {n: n not in unreachable and n in remote.hosts for n in running}
    done = lab_dir.load_state().get("roles", {})
    return [
        NodeStatus(
            name=node.name,
            ip=str(node.ip),
            provider=provider,
            state=states.get(node.name, "unknown"),
            ssh=reach.get(node.name),
            roles=list(node.roles),
            roles_done=[r for r in node.roles if r in done.get(node.name, {})],
        )
        for node in lab.nodes
    ]


def run_everywhere(remote, nodes: list[str], command: str, sudo: bool = False, timeout: float = 120.0):
    """remote.run(node, command) on every node in parallel; the Results in `nodes` order."""
    return per_node(nodes, lambda n: remote.run(n, command, sudo=sudo, timeout=timeout))
