"""`labgen box ...`: build the boxes the labs boot."""

from __future__ import annotations

import click

from labgen.cli.options import console, dim_line


@click.group()
def box():
    """Build the boxes labgen's labs boot (labgen/debian-12 for LXC and libvirt, from the Debian archive)."""


@box.command("build")
@click.argument("provider", type=click.Choice(["lxc", "libvirt"]))
@click.option("--force", is_flag=True, help="Rebuild even if the box is already added.")
def box_build(provider, force):
    """Build and add the labgen/debian-12 box for PROVIDER from the Debian archive.

    Needs root. From scratch it takes about a minute for LXC and about 1.5 minutes for
    libvirt; a box already built from the same recipe is not rebuilt (--force rebuilds it).
    """
    from labgen.boxes import build_box

    con = console()
    build_box(provider, force=force, log=dim_line(con))
    con.print(f"[green]✓[/] box labgen/debian-12 ({provider}) is ready")


COMMANDS = (box,)
