"""Provisioning: run each node's roles, as declared tasks, over persistent SSH, nodes in parallel.

A task checks before it changes (see model.Task). The engine records each finished role's
fingerprint in state.json; re-running re-checks everything (cheap over an open connection),
so a converged lab reports "no change" and drift is repaired.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Callable

from labgen.artifacts import ArtifactError, Stager
from labgen.errors import LabgenError, RoleUnavailableError, TaskError
from labgen.model import Facts, Lab, Node, RoleUnavailable, Task, as_facts
from labgen.parallel import per_node
from labgen.provision.roles import IMPLEMENTED, ROLE_NAMES, role_module


def role_tasks(lab: Lab, node: Node, role: str, facts: Facts | str) -> list[Task] | RoleUnavailable:
    """The task declarations for `role` on `node`, or why it cannot run there. `facts`: the
    provider's (model.Facts), or a distribution's name for a provider without an apt proxy."""
    if role not in IMPLEMENTED:
        return RoleUnavailable(role, "not yet available in this version of labgen")
    try:
        return list(role_module(role).tasks(lab, node, as_facts(facts)))
    except RoleUnavailableError as exc:
        return RoleUnavailable(role, exc.message, exc.cause)


def node_plan(lab: Lab, node: Node, facts: Facts | str, roles: list[str] | None = None):
    """[(role, tasks | RoleUnavailable)] for `node`, in ROLE_NAMES order, optionally filtered."""
    wanted = [r for r in ROLE_NAMES if r in node.roles and (roles is None or r in roles)]
    return [(role, role_tasks(lab, node, role, facts)) for role in wanted]


def unavailable_roles(lab: Lab, roles, facts: Facts | str) -> list[tuple[str, str]]:
    """[(role, why)] for each of `roles` the lab cannot provide with these facts: no node has it, or
    its first node's declarations say it cannot run there."""
    missing = []
    for role in roles:
        nodes = [n for n in lab.nodes if role in n.roles]
        if not nodes:
            missing.append((role, f"no node of lab {lab.name} has it"))
            continue
        plan = role_tasks(lab, nodes[0], role, facts)
        if isinstance(plan, RoleUnavailable):
            missing.append((role, plan.reason))
    return missing


def fingerprint(tasks: list[Task]) -> str:
    """A short hash of a role's declarations: changes when what the role would do changes."""
    blob = json.dumps([repr(t) for t in tasks]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def roles_recorded(lab: Lab, lab_dir, facts: Facts | str, roles: list[str]) -> bool:
    """True when state.json records each of `roles` on every node that has it, with the
    fingerprint of today's declarations and no handler owed: nothing to do for them. (A full
    `provision` re-checks every task on the nodes; this is the cheap "as needed" test.)"""
    state = lab_dir.load_state()
    if state.get("pending"):
        return False
    done = state.get("roles", {})
    for node in lab.nodes:
        for role, tasks in node_plan(lab, node, facts, roles):
            if isinstance(tasks, RoleUnavailable):
                return False
            if done.get(node.name, {}).get(role) != fingerprint(tasks):
                return False
    return True


@dataclass
class NodeReport:
    node: str
    changed: list[str] = field(default_factory=list)  # "role/task"
    unchanged: list[str] = field(default_factory=list)
    unavailable: list[RoleUnavailable] = field(default_factory=list)
    error: TaskError | None = None
    stopped: bool = False  # another node failed first


# Event callback: (node, role, task, status) where status is
# "running" | "changed" | "ok" | "failed" | "unavailable" | "stopped"
Events = Callable[[str, str, str, str], None]


def _run_checked(remote, node: str, role: str, task: Task, command: str):
    res = remote.run(node, command, sudo=True, timeout=900)
    if not res.ok:
        tail = "\n".join(res.stderr.strip().splitlines()[-8:]) or res.stdout.strip()[-500:]
        code = "timed out" if res.exit_code is None else f"exit code {res.exit_code}"
        raise TaskError(
            f"{node}: role {role}, task {task.name!r}: `{command}` failed ({code})" + (f"\n{tail}" if tail else ""),
            hint=f"fix the cause, then re-run `labgen provision {node}`",
        )
    return res


def _stage_artifacts(remote, node: str, role: str, task: Task, stager) -> bool:
    """Fetch (on the host, once per run) and upload the task's artifacts before anything else
    of the task touches the node. A fetch failure becomes a TaskError; nothing was written."""
    stager = stager or Stager()
    try:
        return bool(stager.stage(remote, node, task.artifacts))
    except ArtifactError as exc:
        raise TaskError(f"{node}: role {role}, task {task.name!r}: {exc.message}", hint=exc.hint) from None


class PendingHandlers:
    """Handler tasks (no check: run only after their files changed) whose files were written but
    whose commands have not finished yet, kept in the lab's state.

    Without this, a run interrupted between writing a config and restarting its service would
    leave the service on the old config for good: the next run finds the file up to date.
    """

    def __init__(self, lab_dir=None):
        self.lab_dir = lab_dir
        self.lock = threading.Lock()

    def _update(self, key: str, add: bool) -> None:
        if self.lab_dir is None:
            return
        with self.lock:
            state = self.lab_dir.load_state()
            pending = set(state.get("pending", []))
            pending = pending | {key} if add else pending - {key}
            state["pending"] = sorted(pending)
            self.lab_dir.save_state(state)

    def is_pending(self, key: str) -> bool:
        if self.lab_dir is None:
            return False
        with self.lock:
            return key in self.lab_dir.load_state().get("pending", [])

    def mark(self, key: str) -> None:
        self._update(key, True)

    def clear(self, key: str) -> None:
        self._update(key, False)


def apply_task(
    remote, node: str, role: str, task: Task, artifacts=None, pending: PendingHandlers | None = None
) -> bool:
    """Converge one task on `node`; True if it changed anything. Raises TaskError.

    `artifacts` is the run's artifacts.Stager (one per provision run, so each download
    happens once); uploading a new artifact counts as a change. `pending` remembers handler
    commands that an interrupted run still owes (see PendingHandlers).
    """
    pending = pending or PendingHandlers()
    key = f"{node}|{role}/{task.name}"
    handler = task.check is None and bool(task.run)
    owed = handler and pending.is_pending(key)
    changed = _stage_artifacts(remote, node, role, task, artifacts) if task.artifacts else False
    for f in task.files:
        want = hashlib.sha256(f.content.encode("utf-8")).hexdigest()
        if remote.file_sha256(node, f.path) != want:
            if handler and not owed:
                pending.mark(key)
                owed = True
            remote.put_file(node, f.content, f.path, mode=f.mode, owner=f.owner)
            changed = True
    if task.check is not None:
        if remote.run(node, task.check, sudo=True, timeout=120).ok:
            return changed
        for command in task.run:
            _run_checked(remote, node, role, task, command)
        after = remote.run(node, task.check, sudo=True, timeout=120)
        if not after.ok:
            raise TaskError(
                f"{node}: role {role}, task {task.name!r}: still not done after running "
                f"it (check `{task.check}` exits {after.exit_code})",
                hint="the task's commands ran but did not reach the wanted state",
            )
        return True
    if changed or owed:
        for command in task.run:
            _run_checked(remote, node, role, task, command)
        if owed:
            pending.clear(key)
        return True
    return changed


def provision(
    lab: Lab,
    lab_dir,
    remote,
    facts: Facts | str,
    nodes: list[str] | None = None,
    roles: list[str] | None = None,
    events: Events | None = None,
    artifacts=None,
    stop: threading.Event | None = None,
) -> list[NodeReport]:
    """Provision `nodes` (default all) in parallel; returns one report per node.

    Changes the nodes; records finished roles in the lab dir's state. A failing task stops
    its node; the other nodes finish the task they are in, then stop. `artifacts`: an
    artifacts.Stager (default: the user's cache, downloads allowed), shared by all nodes.
    `stop`, when set by the caller (a classroom's Ctrl-C reaches only the main thread), acts
    like `abort`: each node finishes the task it is in and starts no other.
    """
    emit = events or (lambda *a: None)
    if artifacts is None:
        artifacts = Stager()
    targets = [n for n in lab.nodes if nodes is None or n.name in nodes]
    abort = threading.Event()
    state_lock = threading.Lock()
    pending = PendingHandlers(lab_dir)

    def work(node: Node) -> NodeReport:
        report = NodeReport(node.name)
        for role, tasks in node_plan(lab, node, facts, roles):
            if isinstance(tasks, RoleUnavailable):
                report.unavailable.append(tasks)
                emit(node.name, role, "", "unavailable")
                continue
            for task in tasks:
                if abort.is_set() or (stop is not None and stop.is_set()):
                    report.stopped = True
                    emit(node.name, role, task.name, "stopped")
                    return report
                emit(node.name, role, task.name, "running")
                try:
                    did = apply_task(remote, node.name, role, task, artifacts, pending)
                except LabgenError as exc:
                    report.error = exc if isinstance(exc, TaskError) else TaskError(exc.message, exc.hint)
                    abort.set()
                    emit(node.name, role, task.name, "failed")
                    return report
                (report.changed if did else report.unchanged).append(f"{role}/{task.name}")
                emit(node.name, role, task.name, "changed" if did else "ok")
            with state_lock:
                lab_dir.record_role(node.name, role, fingerprint(tasks))
        return report

    # Ctrl-C sets `abort`: every node finishes the task it is in (leaving the node consistent
    # and the state true), starts no other; the next run completes the rest.
    return per_node(targets, work, abort=abort)


@dataclass
class Blocked:
    """One reason roles could not run, and every role/node it blocked (said once, not per role)."""

    reason: str
    roles: dict[str, list[str]]  # role -> nodes, in report order


def blocked(reports: list[NodeReport]) -> list[Blocked]:
    """The unavailable roles of a run grouped by reason (a role blocked by a role it needs is
    listed under that role's reason), in first-seen order."""
    by_reason: dict[str, Blocked] = {}
    for report in reports:
        for u in report.unavailable:
            reason = u.cause or u.reason
            entry = by_reason.setdefault(reason, Blocked(reason, {}))
            nodes = entry.roles.setdefault(u.role, [])
            if report.node not in nodes:
                nodes.append(report.node)
    return list(by_reason.values())
