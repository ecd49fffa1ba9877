"""The provisioning plan as text: per node, per role, each task's files, uploads and commands.

Built from engine.node_plan, the same declarations `labgen provision` executes, so the plan
cannot drift from what runs. Pure: touches no machine, reads nothing but its arguments.
"""

from __future__ import annotations

from labgen.errors import InputError
from labgen.model import File, Lab, PROVIDERS, RoleUnavailable, Task
from labgen.provision import engine, pins
from labgen.provision.roles import ROLE_NAMES
from labgen.providers import get_provider

INDENT = "    "


def plan_text(lab: Lab, provider: str, node: str | None = None, role: str | None = None) -> str:
    """The plan for `lab` on `provider` (optionally one node, one role), as plain text.

    Raises InputError for an unknown provider, node or role.
    """
    facts = get_provider(provider).facts(lab)
    distro = facts.distro
    nodes = list(lab.nodes)
    if node is not None:
        names = [n.name for n in nodes]
        if node not in names:
            raise InputError([f"no node {node!r} in lab {lab.name}; expected one of {', '.join(names)}"])
        nodes = [lab.node(node)]
    if role is not None and role not in ROLE_NAMES:
        raise InputError([f"unknown role {role!r}; expected one of {', '.join(ROLE_NAMES)}"])

    out = [
        f"# labgen plan: lab {lab.name}, provider {provider} (nodes run {distro})",
        "# What provisioning would do, in order; nothing here touches a machine. A task",
        "# writes its files (only those whose content differs), then runs its commands:",
        "# after `check` fails (and `check` must pass afterwards), or, without a check,",
        "# only when one of its files changed. Commands run as root through `sh -c`.",
        f"# Uploads go to {pins.NODE_CACHE}/ on the node before the task runs.",
    ]
    for n in nodes:
        out += ["", f"== node {n.name} ({n.ip}): roles {', '.join(n.roles)}"]
        plan = engine.node_plan(lab, n, facts, None if role is None else [role])
        if not plan:
            out += ["", f"-- (node {n.name} has no role {role})"]
        for role_name, tasks in plan:
            out.append("")
            if isinstance(tasks, RoleUnavailable):
                out += [f"-- role {role_name}: UNAVAILABLE on {distro}", f"{INDENT}{tasks.reason}"]
                continue
            out.append(f"-- role {role_name}: {len(tasks)} task(s)")
            for i, task in enumerate(tasks, 1):
                out += _task_lines(i, task)
    return "\n".join(out) + "\n"


def plan_data(lab: Lab, provider: str, node: str | None = None, role: str | None = None) -> dict:
    """The same plan as plan_text, as plain data for `labgen plan --format json`."""
    plan_text(lab, provider, node=node, role=role)  # the same checks of node and role
    facts = get_provider(provider).facts(lab)
    nodes = [lab.node(node)] if node is not None else list(lab.nodes)
    out = []
    for n in nodes:
        roles = []
        for role_name, tasks in engine.node_plan(lab, n, facts, None if role is None else [role]):
            if isinstance(tasks, RoleUnavailable):
                roles.append({"role": role_name, "unavailable": tasks.reason, "tasks": []})
                continue
            roles.append(
                {
                    "role": role_name,
                    "unavailable": None,
                    "tasks": [
                        {
                            "name": task.name,
                            "artifacts": [
                                {
                                    "name": a,
                                    "url": pins.ARTIFACTS[a].url,
                                    "path": f"{pins.NODE_CACHE}/{pins.ARTIFACTS[a].filename}",
                                }
                                for a in task.artifacts
                            ],
                            "files": [
                                {"path": f.path, "mode": f.mode, "owner": f.owner, "content": f.content}
                                for f in task.files
                            ],
                            "check": task.check,
                            "run": list(task.run),
                        }
                        for task in tasks
                    ],
                }
            )
        out.append({"name": n.name, "ip": str(n.ip), "roles": roles})
    return {"lab": lab.name, "provider": provider, "distro": facts.distro, "nodes": out}


def _task_lines(i: int, task: Task) -> list[str]:
    lines = [f"  {i}. {task.name}"]
    for name in task.artifacts:
        a = pins.ARTIFACTS[name]
        lines.append(f"{INDENT}upload {a.name} -> {pins.NODE_CACHE}/{a.filename}")
        gone = " (gone: supply the file, see `labgen fetch --help`)" if a.gone else ""
        lines.append(f"{INDENT}  from {a.url}{gone}")
        if a.sha256:
            lines.append(f"{INDENT}  sha256 {a.sha256}")
        elif a.signed:
            lines.append(f"{INDENT}  sha256 from {a.signed.describe()}, then labgen.lock")
        else:
            lines.append(f"{INDENT}  sha256 none published: checked against labgen.lock (recorded on first fetch)")
    for f in task.files:
        lines += _file_lines(f)
    if task.check is not None:
        lines.append(f"{INDENT}check: {task.check}")
        when = "run when the check fails"
    else:
        when = "run when a file above changed"
    for command in task.run:
        lines.append(f"{INDENT}{when}: {command}")
    return lines


def _file_lines(f: File) -> list[str]:
    lines = [f"{INDENT}file {f.path} (mode {f.mode}, owner {f.owner})"]
    body = f.content
    for text in body.splitlines():
        lines.append(f"{INDENT}  | {text}" if text else f"{INDENT}  |")
    if body and not body.endswith("\n"):
        lines.append(f"{INDENT}  (no newline at end of file)")
    return lines


def lab_artifacts(lab: Lab, providers=None) -> list[str]:
    """Names of every artifact the lab's roles declare, for the distributions of `providers`
    (default: every provider), in first-use order (what `labgen fetch` gets ahead of time)."""
    every = []
    for provider in providers or PROVIDERS:
        facts = get_provider(provider).facts(lab)
        if facts not in every:
            every.append(facts)
    names: list[str] = []
    for facts in every:
        for node in lab.nodes:
            for _role, tasks in engine.node_plan(lab, node, facts):
                if isinstance(tasks, RoleUnavailable):
                    continue
                for task in tasks:
                    names += [n for n in task.artifacts if n not in names]
    return names
