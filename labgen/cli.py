"""The command line: the only place that prints or exits.

Start-up must stay fast (`labgen --help`): import click only; everything heavy (rich, Fabric,
paramiko, python-vagrant, Jinja2, YAML) is imported inside the command that needs it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from labgen import __version__
from labgen.cli_options import (Ctx, artifacts_options, dir_option, pass_ctx,
                                provider_option)
from labgen.cli_options import console as _console
from labgen.errors import LabgenError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.option("--provider", type=click.Choice(["virtualbox", "libvirt", "lxc"]),
              help="Machine provider (default: VirtualBox if installed, else libvirt, else LXC as root).")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(__version__, "--version", prog_name="labgen")
@click.pass_context
def cli(ctx, provider, debug):
    """labgen: turn a documented infrastructure walkthrough into a reproducible lab.

    \b
    A first session:
      labgen list                      built-in labs and scenarios
      labgen create mesos-calico       write ./mesos-calico/, boot it, provision it
      cd mesos-calico && labgen status
      labgen scenario run mac-bug      replay the MAC bug, break -> observe -> fix -> verify
      labgen destroy                   remove the machines (asks first)
    """
    ctx.obj = Ctx(provider, debug)


# ---------------------------------------------------------------- labs


@cli.command("list")
def list_cmd():
    """List the built-in labs and scenarios, one line each."""
    from labgen.labfile import builtin_labs
    from labgen.scenario.load import builtin_scenarios, load_scenario

    con = _console()
    con.print("[bold]Labs[/]  (labgen create NAME)")
    for name, description in builtin_labs():
        con.print(f"  [cyan]{name:<18}[/] ", end="", highlight=False)
        con.print(description, markup=False, highlight=False)
    con.print("[bold]Scenarios[/]  (labgen scenario run ID)")
    for path in builtin_scenarios():
        sc = load_scenario(path)
        con.print(f"  [cyan]{sc.id:<18}[/] ", end="", highlight=False)
        con.print(f"{sc.title.en}  (lab {sc.lab})", markup=False, highlight=False)


@cli.command()
@click.argument("lab")
@provider_option
@pass_ctx
def render(ctx, lab):
    """Print the Vagrantfile that `create LAB` would write (LAB: a built-in name or a file)."""
    from labgen.labfile import find_lab, load_lab
    from labgen.render import render_vagrantfile

    model = load_lab(find_lab(lab))
    click.echo(render_vagrantfile(model, ctx.provider()), nl=False)


def _lab_dir_for_create(model, lab_path):
    from labgen.labdir import LabDir

    return LabDir(lab_path or Path.cwd() / model.name)


@cli.command()
@click.argument("lab")
@dir_option
@click.option("--force", is_flag=True, help="Regenerate a Vagrantfile you edited by hand.")
@click.option("--no-provision", is_flag=True, help="Boot only; provision later with `labgen provision`.")
@artifacts_options
@provider_option
@pass_ctx
def create(ctx, lab, lab_path, force, no_provision, artifacts_dir, allow_unpinned):
    """Create LAB: write its lab dir, boot its machines, provision every node.

    LAB is a built-in lab's name (see `labgen list`) or a path to a lab file. The lab dir is
    ./NAME unless --dir says otherwise. Re-running it on an existing lab boots what is stopped
    and provisions what is missing; a converged lab changes nothing.
    """
    from labgen import lifecycle
    from labgen.labfile import find_lab, load_lab

    model = load_lab(find_lab(lab))
    lab_dir = _lab_dir_for_create(model, lab_path)
    provider = lifecycle.provider_of(lab_dir, ctx.requested_provider) if lab_dir.exists() else None
    provider = provider or ctx.provider()
    con = _console()
    for line in lifecycle.write_lab_dir(model, lab_dir, provider, force=force):
        con.print(f"wrote {lab_dir.path / line.split()[0]}", highlight=False)
    _boot(model, lab_dir, provider)
    if not no_provision:
        _provision(model, lab_dir, provider, stager=_stager(artifacts_dir, allow_unpinned))
    con.print(f"\n[bold green]lab {model.name} is up[/] in {lab_dir.path}", highlight=False)
    if model.message:
        con.print(model.message.strip(), markup=False, highlight=False)


def _boot(model, lab_dir, provider):
    import time

    from labgen import lifecycle

    con = _console()
    start = time.monotonic()
    with con.status(f"booting {len(model.nodes)} nodes with {provider} (vagrant up)…"):
        changes = lifecycle.boot(model, lab_dir, provider,
                                 on_line=lambda line: con.print(f"[dim]{line}[/]", highlight=False,
                                                                markup=False, style="dim"))
    for change in changes:
        con.print(f"host: {change}", highlight=False)
    con.print(f"[green]✓[/] booted in {time.monotonic() - start:.1f} s")


def _stager(artifacts_dir, allow_unpinned):
    from labgen.artifacts import Stager

    return Stager(artifacts_dir=artifacts_dir, allow_unpinned=allow_unpinned or None)


def _provision(model, lab_dir, provider, nodes=None, roles=None, remote=None, verbose=False,
               stager=None):
    """Provision and print a summary. Returns the reports; raises the first TaskError."""
    import time

    from labgen import lifecycle
    from labgen.progress import ProvisionView
    from labgen.provision.engine import provision
    from labgen.providers import get_provider

    con = _console()
    start = time.monotonic()
    own = remote is None
    remote = remote or lifecycle.open_remote(lab_dir, provider)
    try:
        names = [n.name for n in model.nodes if nodes is None or n.name in nodes]
        with ProvisionView(con, names, verbose=verbose) as view:
            reports = provision(model, lab_dir, remote, get_provider(provider).distro,
                                nodes=nodes, roles=roles, events=view.event, artifacts=stager)
    finally:
        if own:
            remote.close()
    changed = sum(len(r.changed) for r in reports)
    unavailable = sorted({(u.role, u.reason) for r in reports for u in r.unavailable})
    for role, reason in unavailable:
        on = ", ".join(r.node for r in reports if any(u.role == role for u in r.unavailable))
        con.print(f"[magenta]![/] role {role}: not run on {on}", highlight=False)
        con.print(reason, markup=False, highlight=False, style="magenta")
    failed = [r for r in reports if r.error]
    if failed:
        raise failed[0].error
    took = time.monotonic() - start
    if changed:
        con.print(f"[green]✓[/] provisioned: {changed} task(s) changed in {took:.1f} s")
    else:
        con.print(f"[green]✓[/] provisioned: already converged, nothing changed ({took:.1f} s)")
    return reports


def first_clause(reason: str, limit: int = 110) -> str:
    """The gist of a long reason (up to its first `;`), for one-line summaries."""
    first = reason.split(";")[0].strip()
    return first if len(first) <= limit else first[:limit - 3] + "..."


def _open_lab(ctx, lab_path):
    from labgen import lifecycle
    from labgen.labdir import LabDir, find_lab_dir

    lab_dir = LabDir(lab_path) if lab_path else find_lab_dir()
    if lab_path and not lab_dir.exists():
        raise LabgenError(f"{lab_dir.path} is not a lab dir", hint="create one with `labgen create LAB --dir DIR`")
    model = lifecycle.load_lab_of(lab_dir)
    provider = lifecycle.provider_of(lab_dir, ctx.requested_provider) or ctx.provider()
    return model, lab_dir, provider


@cli.command("provision")
@click.argument("nodes", nargs=-1)
@dir_option
@click.option("--role", "roles", multiple=True, help="Only this role (repeatable).")
@click.option("-v", "--verbose", is_flag=True, help="Also list the tasks that were already done.")
@artifacts_options
@pass_ctx
def provision_cmd(ctx, nodes, lab_path, roles, verbose, artifacts_dir, allow_unpinned):
    """Re-run provisioning on NODES (default: all). A converged lab changes nothing."""
    model, lab_dir, provider = _open_lab(ctx, lab_path)
    _check_nodes(model, nodes)
    _provision(model, lab_dir, provider, nodes=list(nodes) or None, roles=list(roles) or None,
               verbose=verbose, stager=_stager(artifacts_dir, allow_unpinned))


def _check_nodes(model, nodes):
    known = [n.name for n in model.nodes]
    bad = [n for n in nodes if n not in known]
    if bad:
        raise LabgenError(f"no node {', '.join(bad)} in lab {model.name}", hint=f"nodes: {', '.join(known)}")


@cli.command()
@dir_option
@pass_ctx
def status(ctx, lab_path):
    """Show each node: ip, provider, state, whether SSH answers, roles done."""
    from rich.table import Table

    from labgen import lifecycle
    from labgen.remote import Remote
    from labgen.vagrant import VagrantEnv

    model, lab_dir, provider = _open_lab(ctx, lab_path)
    con = _console()
    states = VagrantEnv(lab_dir.path, provider).status()
    reach = {}
    running = [n for n, s in states.items() if s == "running"]
    if running:
        text = lab_dir.cached_ssh_config() or VagrantEnv(lab_dir.path, provider).ssh_config()
        with Remote(text, connect_timeout=5) as remote:
            unreachable = lifecycle.probe(remote)
        reach = {n: n not in unreachable and n in remote.hosts for n in running}
    done = lab_dir.load_state().get("roles", {})
    table = Table(title=f"lab {model.name} ({lab_dir.path})", title_justify="left")
    for col in ("node", "ip", "provider", "state", "ssh", "roles done"):
        table.add_column(col)
    for node in model.nodes:
        state = states.get(node.name, "unknown")
        ssh = {True: "[green]yes[/]", False: "[red]no[/]"}.get(reach.get(node.name), "[dim]-[/]")
        roles_done = [r for r in node.roles if r in done.get(node.name, {})]
        roles = f"{len(roles_done)}/{len(node.roles)} " + (",".join(roles_done) or "-")
        colour = "green" if state == "running" else "yellow"
        table.add_row(node.name, str(node.ip), provider, f"[{colour}]{state}[/]", ssh, roles)
    con.print(table)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("node")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@dir_option
@pass_ctx
def ssh(ctx, node, command, lab_path):
    """Open a shell on NODE, or run one command: `labgen ssh ubuntu-2 -- ip a`."""
    from labgen.remote import parse_ssh_config
    from labgen.vagrant import VagrantEnv

    model, lab_dir, provider = _open_lab(ctx, lab_path)
    _check_nodes(model, [node])
    if lab_dir.cached_ssh_config() is None:
        lab_dir.save_ssh_config(VagrantEnv(lab_dir.path, provider).ssh_config())
    if node not in parse_ssh_config(lab_dir.cached_ssh_config()):
        raise LabgenError(f"node {node} is not running", hint="`labgen create` boots it")
    argv = ["ssh", "-F", str(lab_dir.ssh_config_file), "-o", "LogLevel=ERROR", node, *command]
    sys.stdout.flush()
    os.execvp("ssh", argv)


@cli.command("exec", context_settings={"ignore_unknown_options": True})
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
    from concurrent.futures import ThreadPoolExecutor

    from labgen import lifecycle

    model, lab_dir, provider = _open_lab(ctx, lab_path)
    names = [n.name for n in model.nodes] if target == "all" else target.split(",")
    _check_nodes(model, names)
    line = " ".join(shlex.quote(a) for a in command) if len(command) > 1 else command[0]
    con = _console()
    width = max(len(n) for n in names)
    with lifecycle.open_remote(lab_dir, provider) as remote:
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            results = list(pool.map(lambda n: remote.run(n, line, sudo=sudo, timeout=timeout), names))
    failed = 0
    for res in results:
        for out, style in ((res.stdout, ""), (res.stderr, "red")):
            for text in out.splitlines():
                con.print(f"[bold]{res.node:<{width}}[/] │ ", end="", highlight=False)
                con.print(text, style=style, markup=False, highlight=False)
        if not res.ok:
            failed += 1
            con.print(f"[bold]{res.node:<{width}}[/] │ [red]exit {res.exit_code}[/]", highlight=False)
    if failed:
        raise LabgenError(f"the command failed on {failed} of {len(results)} node(s)")


@cli.command()
@dir_option
@pass_ctx
def halt(ctx, lab_path):
    """Stop the lab's machines (keeps them; `labgen create` boots them again)."""
    from labgen.vagrant import VagrantEnv

    model, lab_dir, provider = _open_lab(ctx, lab_path)
    con = _console()
    with con.status("halting…"):
        VagrantEnv(lab_dir.path, provider).halt(
            on_line=lambda l: con.print(l, style="dim", markup=False, highlight=False))
    lab_dir.drop_ssh_config()
    con.print(f"[green]✓[/] lab {model.name} halted")


@cli.command()
@dir_option
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def destroy(ctx, lab_path, yes):
    """Destroy the lab's machines and host network, and labgen's state (asks first).

    Keeps the Vagrantfile, lab.yml and transcripts/ so the handouts survive.
    """
    from labgen import lifecycle

    model, lab_dir, provider = _open_lab(ctx, lab_path)
    if not yes:
        if not sys.stdin.isatty():
            raise LabgenError("destroy needs confirmation", hint="pass --yes to destroy without asking")
        click.confirm(f"Destroy the {len(model.nodes)} machines of lab {model.name} in {lab_dir.path}?",
                      abort=True)
    con = _console()
    with con.status("destroying…"):
        removed = lifecycle.destroy(model, lab_dir, provider,
                                    on_line=lambda l: con.print(l, style="dim", markup=False, highlight=False))
    con.print(f"[green]✓[/] destroyed lab {model.name}: {', '.join(removed) or 'nothing was left'}",
              highlight=False)


# ---------------------------------------------------------------- boxes


@cli.group()
def box():
    """Build the boxes labgen's labs boot (the LXC box is built locally from the Debian archive)."""


@box.command("build")
@click.argument("provider", type=click.Choice(["lxc"]))
@click.option("--force", is_flag=True, help="Rebuild even if the box is already added.")
def box_build(provider, force):
    """Build and add the labgen/debian-12 box for PROVIDER (needs root; ~1 minute cold)."""
    from labgen.boxes import build_lxc_box

    con = _console()
    build_lxc_box(force=force, log=lambda l: con.print(l, style="dim", markup=False, highlight=False))
    con.print("[green]✓[/] box labgen/debian-12 (lxc) is ready")


def _register_subcommands() -> None:
    # Each lives in its own module; those import only click at module level.
    from labgen.cli_classroom import classroom
    from labgen.cli_fetch import fetch_cmd
    from labgen.cli_plan import plan
    from labgen.cli_scenario import scenario

    for command in (scenario, plan, fetch_cmd, classroom):
        cli.add_command(command)


_register_subcommands()


def main() -> None:
    """Entry point: run the CLI; a LabgenError becomes one clean message and its exit code."""
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False, prog_name="labgen")
    except LabgenError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        _print_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort too; a "no" at a confirmation prompt is the other case.
        if not isinstance(exc.__context__, KeyboardInterrupt):
            click.echo("aborted: nothing was changed", err=True)
            sys.exit(1)
        _interrupted()
    except KeyboardInterrupt:
        _interrupted()
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


def _interrupted() -> None:
    click.echo("\ninterrupted: re-run the same command to finish the work", err=True)
    # Not sys.exit: at exit Python joins worker threads, and a second Ctrl-C (given while
    # nodes finish their current task) must quit even if a remote command hangs. Nothing
    # is lost: state.json is only ever replaced whole.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def _print_error(exc: LabgenError) -> None:
    lines = exc.message.splitlines() or ["error"]
    for line in lines:
        click.secho(f"error: {line}", fg="red", err=True)
    if exc.hint:
        click.secho(f"hint: {exc.hint}", fg="yellow", err=True)


if __name__ == "__main__":
    main()
