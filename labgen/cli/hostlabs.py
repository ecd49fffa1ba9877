"""`labgen ls`: the labs and classrooms that exist on this host (the work is in labgen/hostlabs.py)."""

from __future__ import annotations

import click

from labgen.cli.options import console, format_option


@click.command("ls")
@format_option("one object: labs (name, dir, provider, nodes with their state) and classrooms "
               "(name, dir, lab, seats, nodes running)")
def ls(fmt):
    """List the labs and classrooms on this host, with their dirs and state.

    Found through Vagrant's machine index (what `vagrant global-status` reads), so a lab
    appears from its first boot until `labgen destroy`, wherever its dir is. LXC nodes show
    their live state; other providers Vagrant's last record (`labgen status` refreshes it).
    `labgen list` shows the built-in labs instead.
    """
    from labgen.hostlabs import index_path, labs_on_host

    labs = labs_on_host()
    alone = [lab for lab in labs if lab.classroom is None]
    rooms: dict = {}
    for lab in labs:
        if lab.classroom is not None:
            rooms.setdefault(lab.classroom, []).append(lab)
    classrooms = [_classroom_row(path, seats) for path, seats in sorted(rooms.items())]
    if fmt == "json":
        import json

        click.echo(json.dumps({"labs": [lab.as_dict() for lab in alone], "classrooms": classrooms}, indent=2))
        return
    con = console()
    if not labs:
        con.print(f"no labs on this host (Vagrant's index {index_path()} lists none of labgen's)",
                  markup=False, highlight=False)
        return
    from rich.table import Table

    if alone:
        table = Table(title="labs", title_justify="left")
        for col in ("lab", "dir", "provider", "state"):
            table.add_column(col)
        for lab in alone:
            table.add_row(lab.name, str(lab.dir), lab.provider, _state_text(lab.as_dict()["running"], len(lab.nodes)))
        con.print(table)
    if classrooms:
        table = Table(title="classrooms", title_justify="left")
        for col in ("classroom", "dir", "lab", "seats", "state"):
            table.add_column(col)
        for room in classrooms:
            table.add_row(room["name"], room["dir"], room["lab"], str(room["seats"]),
                          _state_text(room["running"], room["nodes"]))
        con.print(table)


def _state_text(running: int, nodes: int) -> str:
    colour = "green" if running == nodes else ("yellow" if running else "red")
    return f"[{colour}]{running}/{nodes} nodes running[/]"


def _classroom_row(path, seats) -> dict:
    from labgen.classroom.seats import load_classroom
    from labgen.errors import LabgenError

    try:
        c = load_classroom(path)
        name, lab = c.name, c.lab
    except LabgenError:
        name, lab = path.name, "?"
    return {"name": name, "dir": str(path), "lab": lab, "seats": len(seats),
            "nodes": sum(len(s.nodes) for s in seats),
            "running": sum(s.as_dict()["running"] for s in seats)}


COMMANDS = (ls,)
