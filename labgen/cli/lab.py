"""Commands on one lab: list, render, create, provision, status, ssh, exec, halt, destroy."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from labgen.cli import steps
from labgen.cli.options import (
    artifacts_options,
    confirm,
    console,
    dim_line,
    dir_option,
    format_option,
    pass_ctx,
    print_node_results,
    provider_option,
    yes_option,
)


@click.command("list")
@format_option("one object: labs (name, description) and scenarios (id, title, lab, variants)")
def list_cmd(fmt):
    """List the built-in labs and scenarios, one line each.

    `labgen ls` lists the labs and classrooms that exist on this host instead.
    """
    from labgen.labfile import builtin_labs
    from labgen.scenario.load import builtin_scenarios, load_scenario

    if fmt == "json":
        import json

        scenarios = [load_scenario(path) for path in builtin_scenarios()]
        click.echo(
            json.dumps(
                {
                    "labs": [{"name": name, "description": description} for name, description in builtin_labs()],
                    "scenarios": [
                        {"id": sc.id, "title": sc.title.en, "lab": sc.lab, "variants": list(sc.variants)}
                        for sc in scenarios
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    con = console()
    con.print("[bold]Labs[/]  (labgen create NAME)")
    for name, description in builtin_labs():
        con.print(f"  [cyan]{name:<18}[/] ", end="", highlight=False)
        con.print(description, markup=False, highlight=False)
    con.print("[bold]Scenarios[/]  (labgen scenario run ID)")
    for path in builtin_scenarios():
        sc = load_scenario(path)
        con.print(f"  [cyan]{sc.id:<18}[/] ", end="", highlight=False)
        con.print(f"{sc.title.get('en')}  (lab {sc.lab})", markup=False, highlight=False)


@click.command()
@click.argument("lab")
@provider_option
@pass_ctx
def render(ctx, lab):
    """Print the Vagrantfile that `create LAB` would write (LAB: a built-in name or a file)."""
    from labgen.labfile import find_lab, load_lab
    from labgen.render import render_vagrantfile

    model = load_lab(find_lab(lab))
    click.echo(render_vagrantfile(model, ctx.provider()), nl=False)


@click.command()
@click.argument("lab")
@dir_option
@click.option("--force", is_flag=True, help="Regenerate a Vagrantfile you edited by hand.")
@click.option("--no-provision", is_flag=True, help="Boot only; provision later with `labgen provision`.")
@artifacts_options
@provider_option
@pass_ctx
def create(ctx, lab, lab_path, force, no_provision, artifacts_dir, frozen, mirrors):
    """Create LAB: write its lab dir, boot its machines, provision every node.

    LAB is a built-in lab's name (see `labgen list`) or a path to a lab file. The lab dir is
    ./NAME unless --dir says otherwise. Re-running it on an existing lab boots what is stopped
    and provisions what is missing; a converged lab changes nothing.
    """
    from labgen import lifecycle
    from labgen.labdir import LabDir
    from labgen.labfile import find_lab, load_lab

    model = load_lab(find_lab(lab))
    lab_dir = LabDir(lab_path or Path.cwd() / model.name)
    # before anything boots: a bad --mirror, an unreadable lock or a missing file fails fast
    stager = None if no_provision else steps.make_stager(model, lab_dir.path, artifacts_dir, frozen, mirrors)
    provider = lifecycle.provider_of(lab_dir, ctx.requested_provider) if lab_dir.exists() else None
    provider = provider or ctx.provider()
    con = console()
    if stager is not None:
        steps.prefetch(con, model, provider, stager)
    for line in lifecycle.write_lab_dir(model, lab_dir, provider, force=force):
        con.print(f"wrote {lab_dir.path / line.split()[0]}", markup=False, highlight=False)
    steps.boot(model, lab_dir, provider)
    if not no_provision:
        steps.provision(model, lab_dir, provider, stager=stager)
    con.print(f"\n[bold green]lab {model.name} is up[/] in {lab_dir.path}", highlight=False)
    if model.message:
        con.print(model.message.strip(), markup=False, highlight=False)


@click.command("provision")
@click.argument("nodes", nargs=-1)
@dir_option
@click.option("--role", "roles", multiple=True, help="Only this role (repeatable).")
@click.option("-v", "--verbose", is_flag=True, help="Also list the tasks that were already done.")
@artifacts_options
@pass_ctx
def provision_cmd(ctx, nodes, lab_path, roles, verbose, artifacts_dir, frozen, mirrors):
    """Re-run provisioning on NODES (default: all). A converged lab changes nothing."""
    model, lab_dir, provider = steps.open_lab(ctx, lab_path)
    steps.check_nodes(model, nodes)
    steps.provision(
        model,
        lab_dir,
        provider,
        nodes=list(nodes) or None,
        roles=list(roles) or None,
        verbose=verbose,
        stager=steps.make_stager(model, lab_dir.path, artifacts_dir, frozen, mirrors),
    )


@click.command()
@dir_option
@format_option(
    "one object {lab, dir, nodes}, each node {name, ip, provider, state, ssh, roles, "
    "roles_done}; state is Vagrant's (running, stopped, not_created...), ssh true/false "
    "for a running node and null for one that is not running"
)
@pass_ctx
def status(ctx, lab_path, fmt):
    """Show each node: ip, provider, state, whether SSH answers, roles done. Changes nothing."""
    from labgen import lifecycle

    model, lab_dir, provider = steps.open_lab(ctx, lab_path)
    nodes = lifecycle.status(model, lab_dir, provider)
    if fmt == "json":
        import json

        click.echo(
            json.dumps({"lab": model.name, "dir": str(lab_dir.path), "nodes": [n.as_dict() for n in nodes]}, indent=2)
        )
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"lab {model.name} ({lab_dir.path})"), title_justify="left")
    for col in ("node", "ip", "provider", "state", "ssh", "roles done"):
        table.add_column(col)
    for node in nodes:
        ssh = "[dim]-[/]" if node.ssh is None else "[green]yes[/]" if node.ssh else "[red]no[/]"
        roles = f"{len(node.roles_done)}/{len(node.roles)} " + (",".join(node.roles_done) or "-")
        colour = "green" if node.state == "running" else "yellow"
        table.add_row(node.name, node.ip, node.provider, f"[{colour}]{escape(node.state)}[/]", ssh, roles)
    console().print(table)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("node")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@dir_option
@pass_ctx
def ssh(ctx, node, command, lab_path):
    """Open a shell on NODE, or run one command: `labgen ssh ubuntu-2 -- ip a`."""
    from labgen import lifecycle

    model, lab_dir, provider = steps.open_lab(ctx, lab_path)
    steps.check_nodes(model, [node])
    argv = lifecycle.ssh_argv(lab_dir, provider, node, list(command))
    sys.stdout.flush()
    os.execvp("ssh", argv)


@click.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("target")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@dir_option
@click.option("--sudo", is_flag=True, help="Run the command as root.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds before giving up on a node.")
@pass_ctx
def exec_cmd(ctx, target, command, lab_path, sudo, timeout):
    """Run a command on TARGET nodes in parallel: `labgen exec all -- hostname`.

    TARGET is `all`, a node name, or names separated by commas. Each output line is prefixed
    with its node; the exit status is non-zero when any node's command failed.
    """
    import shlex

    from labgen import lifecycle

    model, lab_dir, provider = steps.open_lab(ctx, lab_path)
    names = [n.name for n in model.nodes] if target == "all" else target.split(",")
    steps.check_nodes(model, names)
    line = " ".join(shlex.quote(a) for a in command) if len(command) > 1 else command[0]
    con = console()
    width = max(len(n) for n in names)
    with lifecycle.open_remote(lab_dir, provider) as remote:
        results = lifecycle.run_everywhere(remote, names, line, sudo=sudo, timeout=timeout)
    print_node_results(con, [(f"{res.node:<{width}}", res) for res in results])


@click.command()
@dir_option
@pass_ctx
def halt(ctx, lab_path):
    """Stop the lab's machines (keeps them; `labgen create` boots them again)."""
    from labgen import lifecycle

    model, lab_dir, provider = steps.open_lab(ctx, lab_path)
    con = console()
    with con.status("halting…"):
        lifecycle.halt(lab_dir, provider, on_line=dim_line(con))
    con.print(f"[green]✓[/] lab {model.name} halted")


@click.command()
@dir_option
@yes_option
@pass_ctx
def destroy(ctx, lab_path, yes):
    """Destroy the lab's machines and host network, and labgen's state (asks first).

    Keeps the Vagrantfile, lab.yml and transcripts/ so the handouts survive.
    """
    from labgen import lifecycle

    model, lab_dir, provider = steps.open_lab(ctx, lab_path)
    confirm(yes, f"Destroy the {len(model.nodes)} machines of lab {model.name} in {lab_dir.path}?", "destroy")
    con = console()
    with con.status("destroying…"):
        removed = lifecycle.destroy(model, lab_dir, provider, on_line=dim_line(con))
    con.print(f"[green]✓[/] destroyed lab {model.name}: {', '.join(removed) or 'nothing was left'}", highlight=False)


COMMANDS = (list_cmd, render, create, provision_cmd, status, ssh, exec_cmd, halt, destroy)
