"""`labgen ls`: the labs and classrooms that exist on this host (the work is in labgen/hostlabs.py)."""

from __future__ import annotations

import click

from pathlib import Path

from labgen.cli.options import aligned_lines, console, format_option


@click.command("ls")
@format_option(
    "one object: labs [{name, dir, provider, nodes: [{name, state}], running}] and "
    "classrooms [{name, dir, lab, provider, seats, seats_with_machines, nodes, running}]"
)
def ls(fmt):
    """List the labs and classrooms on this host, with their dirs and state.

    Found through Vagrant's machine index (what `vagrant global-status` reads), so a lab
    appears from its first boot until `labgen destroy`, wherever its dir is; a classroom from
    `classroom up` until `classroom down`. LXC nodes show their live state, other providers
    Vagrant's last record (`labgen status` refreshes it). `labgen list` shows the built-in
    labs instead.
    """
    from labgen.hostlabs import index_path, labs_on_host

    labs = labs_on_host()
    alone = [lab for lab in labs if lab.classroom is None]
    rooms: dict = {Path(entry["dir"]): [] for entry in _registered() if Path(entry["dir"]).is_dir()}
    for lab in labs:
        if lab.classroom is not None:
            rooms.setdefault(lab.classroom, []).append(lab)
    classrooms = [_classroom_row(path, seats) for path, seats in sorted(rooms.items())]
    if fmt == "json":
        import json

        click.echo(json.dumps({"labs": [lab.as_dict() for lab in alone], "classrooms": classrooms}, indent=2))
        return
    con = console()
    if not labs and not classrooms:
        con.print(
            f"no labs on this host (Vagrant's index {index_path()} lists none of labgen's)",
            markup=False,
            highlight=False,
        )
        return
    # Plain aligned lines, the dir last and never cut (a table would fold or shorten it).
    rows = [
        ("lab", lab.name, lab.provider, _state_text(lab.as_dict()["running"], len(lab.nodes)), str(lab.dir))
        for lab in alone
    ]
    rows += [
        (
            "classroom",
            f"{room['name']} ({room['seats']} seats of {Path(room['lab']).stem})",
            room["provider"],
            _state_text(room["running"], room["nodes"]),
            room["dir"],
        )
        for room in classrooms
    ]
    for line in aligned_lines(rows):
        con.print(line, markup=False, highlight=False, soft_wrap=True)


def _state_text(running: int, nodes: int) -> str:
    return f"{running}/{nodes} running"


def _registered() -> list[dict]:
    """Classrooms recorded on this host by `classroom up` (also those with no machine yet)."""
    from labgen.classroom.access import registry

    return [entry for entry in registry().values() if isinstance(entry, dict) and isinstance(entry.get("dir"), str)]


def _classroom_row(path, seats) -> dict:
    """`seats`: the seat labs Vagrant knows machines of."""
    from labgen.classroom.layout import load_classroom
    from labgen.errors import LabgenError

    try:
        c = load_classroom(path)
        name, lab, count, provider = c.name, c.lab, c.seats, c.provider
    except LabgenError:
        name, lab, count, provider = path.name, "?", len(seats), "?"
    return {
        "name": name,
        "dir": str(path),
        "lab": lab,
        "provider": provider,
        "seats": count,
        "seats_with_machines": len(seats),
        "nodes": sum(len(s.nodes) for s in seats),
        "running": sum(s.as_dict()["running"] for s in seats),
    }


COMMANDS = (ls,)
