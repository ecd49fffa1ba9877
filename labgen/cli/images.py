"""`labgen classroom images [--prune]`: the seat images on this host, and the removal of those
nobody uses (the work is in labgen/classroom/imagelist.py). Added to the `classroom` group."""

from __future__ import annotations

import click

from labgen.cli.classroom import classroom
from labgen.cli.options import aligned_lines, confirm, console, format_option, yes_option


def size_text(n: int | None) -> str:
    """A disk figure; "?" when du could not measure it."""
    from labgen.artifacts import size_text as sized

    return "?" if n is None else sized(n)


def built_text(built: str | None, state: str) -> str:
    if state != "ready":
        return state
    return (built or "?").replace("T", " ")[:16]  # minutes are enough to tell builds apart


def name_text(e) -> str:
    return f"{e.image.instance} ({e.lab})"


@classroom.command("images")
@click.option(
    "--prune",
    is_flag=True,
    help="Remove every image nobody uses (no clone of it exists and no classroom on this host "
    "recorded it), half-built ones included, after asking; print what went and the space freed.",
)
@yes_option
@format_option(
    "a list of images {instance, key, dir, state, lab, provider, nodes, machines, built, "
    "disk_bytes, clones, classrooms}; with --prune, {removed, kept, failed, freed_bytes}"
)
def images(prune, yes, fmt):
    """List this host's seat images (disk, clones, users); --prune removes unused ones.

    Per image: its instance name, lab, provider, nodes, disk, build time, how many clones of
    it exist and the classrooms on this host that use it.

    `classroom up` builds a seat image per lab (under ~/.cache/labgen/seat-images/, or
    $LABGEN_CACHE) and `classroom down` keeps it for the next classroom of that lab: a
    mesos-calico image holds about 3.5 GiB. Disk counts the image's dir and its machines'
    dirs (/var/lib/lxc/<machine>, rootfs included), not what each clone changed (that is
    its seat's). An image with clones is never removed.
    """
    from labgen.classroom import imagelist
    from labgen.classroom.image import images_root

    entries = imagelist.list_images()
    if prune:
        return _prune(entries, yes, fmt)
    if fmt == "json":
        import json

        click.echo(json.dumps([e.as_dict() for e in entries], indent=2))
        return
    con = console()
    if not entries:
        con.print(
            f"no seat images on this host ({images_root()} holds none); `labgen classroom up LAB --seats N` builds one",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        _strays(con, entries)
        return
    # Plain aligned lines (like `labgen ls`): a table would fold at 80 columns.
    rows = [("image", "lab", "provider", "nodes", "disk", "built (UTC)", "clones", "used by")]
    rows += [
        (
            e.image.instance,
            e.lab,
            e.image.provider,
            str(len(e.nodes)) if e.nodes else "?",
            size_text(e.disk),
            built_text(e.built, e.state),
            str(len(e.clones)),
            ", ".join(e.classrooms) or "-",
        )
        for e in entries
    ]
    for n, line in enumerate(aligned_lines(rows, right={3, 4, 6})):
        con.print(line, style="bold" if n == 0 else None, markup=False, highlight=False, soft_wrap=True)
    con.print(imagelist.DISK_COUNTS, style="dim", markup=False, highlight=False, soft_wrap=True)
    total = sum(e.disk or 0 for e in entries)
    free = len(imagelist.prunable(entries))
    con.print(
        f"{len(entries)} image(s), {size_text(total)}"
        + (f"; {free} used by nobody: `labgen classroom images --prune` removes them" if free else ""),
        highlight=False,
        soft_wrap=True,
    )
    _strays(con, entries)


def _strays(con, entries) -> None:
    from labgen.classroom import imagelist

    strays = imagelist.stray_machines(entries)
    if strays:
        con.print(
            f"also {len(strays)} seat-image container(s) whose image is not in this cache (another "
            f"LABGEN_CACHE, or a dir removed by hand), not counted: {', '.join(strays)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _prune(entries, yes, fmt):
    from labgen.classroom import imagelist
    from labgen.errors import LabgenError

    con = console()
    going = imagelist.prunable(entries)
    if going:
        if fmt != "json":
            con.print(f"seat image(s) nobody uses ({size_text(sum(e.disk or 0 for e in going))}):", highlight=False)
            for e in going:
                con.print(f"  {name_text(e)}  {size_text(e.disk)}  {e.state}", markup=False, highlight=False)
        confirm(yes, f"Remove these {len(going)} seat image(s)?", "classroom images --prune")
    done = imagelist.prune(entries)
    if fmt == "json":
        import json

        click.echo(
            json.dumps(
                {
                    "removed": [dict(e.as_dict(), items=items) for e, items in done.removed],
                    "kept": [dict(e.as_dict(), reason=why) for e, why in done.kept],
                    "failed": [dict(e.as_dict(), error=why) for e, why in done.failed],
                    "freed_bytes": done.freed,
                },
                indent=2,
            )
        )
    else:
        if not entries:
            con.print("no seat images on this host: nothing to prune", highlight=False)
        for e, items in done.removed:
            con.print(f"[green]✓[/] removed {name_text(e)}: {size_text(e.disk)}", highlight=False)
            for item in items:
                con.print(f"  [dim]{item}[/]", highlight=False)
        for e, why in done.kept:
            con.print(f"kept {name_text(e)}: {why}", markup=False, highlight=False)
        for e, why in done.failed:
            con.print(f"[red]✗[/] {name_text(e)}: ", end="", highlight=False)
            con.print(why, markup=False, highlight=False)
        if entries:
            con.print(
                f"{len(done.removed)} removed, {len(done.kept)} kept; freed {size_text(done.freed)}", highlight=False
            )
    if done.failed:
        raise LabgenError(
            f"{len(done.failed)} seat image(s) could not be removed",
            hint="re-run `labgen classroom images --prune`; `labgen classroom images` shows what is left",
        )


COMMANDS = ()
