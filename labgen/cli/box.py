"""`labgen box ...`: build the boxes the labs boot."""

from __future__ import annotations

import click

from labgen.cli.options import console, dim_line


@click.group()
def box():
    """Build the boxes labgen's labs boot (the LXC box is built locally from the Debian archive)."""


@box.command("build")
@click.argument("provider", type=click.Choice(["lxc"]))
@click.option("--force", is_flag=True, help="Rebuild even if the box is already added.")
def box_build(provider, force):
    """Build and add the labgen/debian-12 box for PROVIDER (needs root; ~1 minute cold)."""
    from labgen.boxes import build_lxc_box

    con = console()
    build_lxc_box(force=force, log=dim_line(con))
    con.print("[green]✓[/] box labgen/debian-12 (lxc) is ready")


COMMANDS = (box,)
