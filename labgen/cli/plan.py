"""`labgen plan LAB`: print what provisioning would do, without touching a machine."""

from __future__ import annotations

import click

from labgen.cli.options import format_option, provider_option


@click.command("plan")
@click.argument("lab")
@click.option("--node", help="Only this node.")
@click.option("--role", help="Only this role.")
@format_option(
    "one object {lab, provider, distro, nodes: [{name, ip, roles: [{role, unavailable, "
    "tasks: [{name, artifacts, files, check, run}]}]}]}"
)
@provider_option
@click.pass_context
def plan(ctx, lab, node, role, fmt):
    """Show, per node and in order, every task of LAB's roles: the exact files (path, mode,
    content), uploads and commands provisioning would run, and which roles cannot run on this
    provider's distribution, and why. LAB is a built-in lab's name or a lab file.

    The provider (global --provider, else detected) decides the distribution: Ubuntu 16.04 for
    virtualbox and libvirt, Debian 12 for lxc.
    """
    from labgen.labfile import find_lab, load_lab
    from labgen.plan import plan_data, plan_text

    model = load_lab(find_lab(lab))
    if fmt == "json":
        import json

        click.echo(json.dumps(plan_data(model, ctx.obj.provider(), node=node, role=role), indent=2, ensure_ascii=False))
        return
    click.echo(plan_text(model, ctx.obj.provider(), node=node, role=role), nl=False)


COMMANDS = (plan,)
