"""`labgen classroom ...`: N seats of one lab on this host (part of the CLI: it prints and exits).

The work is in labgen/classroom/ (ops.py orchestrates); this module parses options and prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from labgen.cli.options import (
    dir_flag,
    confirm,
    console,
    format_option,
    output_option,
    print_node_results,
    provider_option,
    serve_options,
    variant_option,
    web_settings,
    yes_option,
)
from labgen.errors import InputError, LabgenError


_dir_option = dir_flag("cr_path", "The classroom dir (default: the current directory or a parent).")


def _old_seats(click_ctx, param, value):
    if value is not None:
        raise click.UsageError(
            f"--seats {value}: here seats are chosen with --seat {value} "
            "(--seats is the number of seats, in `classroom up` only)",
            click_ctx,
        )
    return value


def _seats_option(f):
    """--seat LIST chooses seats; --seats (a count, in `classroom up`) gets a pointer here."""
    f = click.option("--seats", "old_seats", hidden=True, expose_value=False, callback=_old_seats)(f)
    return click.option(
        "--seat", "seat_list", metavar="LIST", help="Only these seats: 3, 1,4-6 or all (default: all)."
    )(f)


def _open(cr_path):
    from labgen.classroom.layout import find_classroom_dir, load_classroom

    return load_classroom(cr_path.resolve() if cr_path else find_classroom_dir())


def _say(con):
    import threading

    lock = threading.Lock()

    def say(seat, text):
        with lock:
            con.print(f"[dim]seat {seat:>2}: {text}[/]", highlight=False)

    return say


def _outcomes(con, outcomes, what):
    bad = [o for o in outcomes if not o.ok]
    for o in sorted(outcomes, key=lambda o: o.seat):
        mark = "[green]✓[/]" if o.ok else "[red]✗[/]"
        con.print(f"{mark} seat {o.seat:>2}: ", end="", highlight=False)
        con.print(f"{o.detail} ({o.seconds:.1f} s)", markup=False, highlight=False)
    if bad:
        raise LabgenError(
            f"{what} failed on {len(bad)} of {len(outcomes)} seat(s): " + ", ".join(str(o.seat) for o in bad),
            hint="re-run the same command: it converges only what is missing",
        )


@click.group()
def classroom():
    """One lab per student on this host: seats, isolated networks, student access.

    \b
    labgen classroom up mesos-calico --seats 12      12 seats, in parallel
    labgen classroom status                          one line per seat
    labgen classroom exec all -- hostname            every node of every seat (--seat 1,4-6)
    labgen classroom sheets                          per seat: ssh_config, key, access sheet
    labgen classroom reset 7 --yes                   seat 7 back to a fresh lab
    labgen classroom scenario run mac-bug --to break-mac
    labgen classroom down --yes                      nothing left behind
    labgen classroom images                          seat images on this host (--prune)

    A seat is an ordinary lab dir (seat-07/): `labgen status` and `labgen scenario run`
    work inside it.
    """


@classroom.command("up")
@click.argument("lab")
@click.option(
    "--seats",
    "seats",
    type=int,
    required=True,
    metavar="N",
    help="How many seats (students). Elsewhere --seat LIST chooses seats.",
)
@click.option(
    "--name",
    default="class",
    show_default=True,
    help="Classroom name (≤ 12 chars): prefixes containers, bridges and accounts.",
)
@click.option(
    "--pool",
    default=None,
    metavar="CIDR",
    help="Private network the seats' networks are cut from; seat N gets the pool's "
    "N-th subnet of the lab's size. [default: 10.56.0.0/18: seat 7 = 10.56.7.0/24]",
)
@click.option(
    "--ssh-port",
    type=click.IntRange(1, 65535),
    default=2222,
    show_default=True,
    help="Port of the students' jump sshd that labgen runs (not the host's sshd).",
)
@click.option(
    "--ssh-address",
    default="",
    metavar="ADDR",
    help="Address students connect to, printed on their sheets [default: this host's address on its default route].",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    metavar="ROLE",
    help="Provision only this role (repeatable; default: all the lab's roles). "
    "`classroom scenario run` adds the roles a scenario needs.",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 64),
    default=None,
    metavar="N",
    help="Seats booted at once [default: one per core, one more for clones of the seat image].",
)
@click.option(
    "--image/--no-image",
    "use_image",
    default=True,
    show_default=True,
    help="Provision the lab once as a seat image and make every seat a copy-on-write "
    "clone of it (--no-image: provision every seat from the box).",
)
@dir_flag("cr_path", "The classroom dir (default: ./NAME).")
@provider_option
@click.pass_obj
def up(ctx, lab, seats, name, pool, ssh_port, ssh_address, roles, parallel, use_image, cr_path):
    """Bring up SEATS copies of LAB, each on its own network, in parallel.

    Checks first (nothing is created when one fails): the seat count fits the pool, the pool
    overlaps no host route nor another classroom, the host has the memory and disk. Then it
    raises the kernel limits that many containers need (inotify, PIDs, keys, neighbour tables;
    printed, with how to keep them), builds the seat image once (the lab provisioned and
    stopped; reused until the lab file, its roles or the box change) and makes every seat a
    copy-on-write clone of it, provisioned for its own addresses and identities. Re-running
    converges only what is missing; a failed seat does not stop the others; a node that stops
    while booting is reported with the reason from its console.

    Ctrl-C leaves every seat either up or cleanly absent: seats that finished stay, the ones
    being made stop at their next step and are removed (machines, bridge, account, key),
    then labgen exits 130 naming both. A second Ctrl-C quits at once (`classroom down` or
    re-running `up` deals with what it left).
    """
    import ipaddress
    import time

    from labgen.classroom import ops
    from labgen.classroom.layout import DEFAULT_POOL

    try:
        net = ipaddress.IPv4Network(pool, strict=True) if pool else DEFAULT_POOL
    except ValueError as exc:
        raise InputError(
            [f"--pool {pool!r} is not a network address with a prefix ({exc})"],
            hint="e.g. --pool 192.168.80.0/20 (nothing was created)",
        ) from None
    path = cr_path or Path.cwd() / name
    provider = ctx.requested_provider or "lxc"
    con = console()
    c = ops.create(
        path,
        lab,
        seats=seats,
        name=name,
        pool=net,
        provider=provider,
        ssh_port=ssh_port,
        ssh_address=ssh_address,
        roles=tuple(roles),
        use_image=use_image,
    )
    start = time.monotonic()
    con.print(f"classroom {c.name}: {c.seats} seat(s) of {c.lab} in {c.path} (pool {c.pool})", highlight=False)

    def prepared(changes):
        for change in changes:
            con.print(f"host: {change}", highlight=False)

    def note(text):
        con.print(text, style="yellow", markup=False, highlight=False)

    # Ctrl-C: seats that finished stay, half-made ones are removed, then exit 130 (UpInterrupted).
    outcomes = ops.up(c, _say(con), prepared=prepared, workers=parallel, note=note, use_image=use_image)
    con.print(
        f"{sum(o.ok for o in outcomes)}/{len(outcomes)} seat(s) up in {time.monotonic() - start:.1f} s", highlight=False
    )
    _outcomes(con, outcomes, "up")
    con.print("next: `labgen classroom sheets` writes what each student needs", highlight=False)


@classroom.command("status")
@_dir_option
@_seats_option
@format_option("one object: classroom, lab, pool and seats, one entry per seat")
def status(cr_path, seat_list, fmt):
    """One line per seat: network, nodes up, reachable over SSH, roles, scenario progress."""
    import json

    from labgen.classroom import ops
    from labgen.classroom.layout import parse_seat_list

    c = _open(cr_path)
    rows = ops.status(c, parse_seat_list(seat_list, c.seats))
    if fmt == "json":
        click.echo(json.dumps({"classroom": c.name, "lab": c.lab, "pool": str(c.pool), "seats": rows}, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"classroom {c.name} ({c.path})", title_justify="left")
    for col in ("seat", "network", "nodes up", "ssh", "roles", "scenario"):
        table.add_column(col)
    for r in rows:
        sc = r["scenario"]
        sc_text = (
            "-"
            if not sc
            else (
                f"{sc['id']} {sc['steps']}/{sc['of']} "
                + (
                    f"[red]stopped at {sc['last']}[/]"
                    if not sc["passed"]
                    else f"[green]passed, waits at {sc['waiting']}[/]"
                    if sc.get("waiting")
                    else "[green]passed[/]"
                )
            )
        )
        up_text = r["error"] or f"{r['nodes_up']}/{r['nodes']}"
        colour = "green" if r["nodes_up"] == r["nodes"] else "yellow"
        table.add_row(
            str(r["seat"]),
            r["network"],
            f"[{colour}]{up_text}[/]",
            f"{r['reachable']}/{r['nodes']}",
            f"{r['roles_done']}/{r['roles']}",
            sc_text,
        )
    console().print(table)


@classroom.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("target")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@_dir_option
@_seats_option
@click.option("--sudo", is_flag=True, help="Run the command as root.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds before giving up on a node.")
def exec_cmd(target, command, cr_path, seat_list, sudo, timeout):
    """Run a command on TARGET nodes of every seat: `labgen classroom exec all -- hostname`.

    TARGET is `all` or node names separated by commas. Lines are prefixed with seat and node;
    the exit status is non-zero when any node's command failed.
    """
    import shlex

    from labgen.classroom import ops
    from labgen.classroom.layout import parse_seat_list

    c = _open(cr_path)
    seats = parse_seat_list(seat_list, c.seats)
    lab, _ = ops.lab_of(c)
    names = None if target == "all" else target.split(",")
    known = [n.name for n in lab.nodes]
    if names and any(n not in known for n in names):
        raise InputError(
            [f"no node {', '.join(n for n in names if n not in known)} in lab {lab.name}"],
            hint=f"nodes: {', '.join(known)}",
        )
    line = " ".join(shlex.quote(a) for a in command) if len(command) > 1 else command[0]
    con = console()
    results = ops.exec_all(c, seats, names, line, sudo, timeout)
    width = max(len(n) for n in known)
    print_node_results(con, [(f"s{seat:02d} {res.node:<{width}}", res) for seat, res in results])


@classroom.command("reset")
@click.argument("seat", type=int)
@_dir_option
@yes_option
def reset(seat, cr_path, yes):
    """Put SEAT back to a freshly provisioned lab (its student's work on it is lost)."""
    from labgen.classroom import ops
    from labgen.classroom.layout import parse_seat_list

    c = _open(cr_path)
    parse_seat_list(str(seat), c.seats)
    confirm(yes, f"Reset seat {seat} of classroom {c.name}? Everything on its nodes is lost.", "reset")
    con = console()
    _outcomes(con, [ops.reset(c, seat, _say(con))], "reset")


@classroom.command("down")
@_dir_option
@yes_option
@click.option(
    "--image",
    "image",
    is_flag=True,
    help="Also remove the seat image (kept by default: the next classroom of the same "
    "lab, roles and box starts from it), unless another classroom uses it. "
    "`labgen classroom images` lists the images; `--prune` removes those nobody uses.",
)
def down(cr_path, yes, image):
    """Remove every seat, network rule, account, key and the students' sshd, and the dir."""
    from labgen.classroom import ops

    c = _open(cr_path)
    confirm(yes, f"Remove classroom {c.name} ({c.seats} seats) and everything in {c.path}?", "classroom down")
    con = console()
    removed = ops.down(c, _say(con), image=image)
    con.print(f"[green]✓[/] classroom {c.name} removed: {len(removed)} item(s)", highlight=False)
    for item in removed:
        con.print(f"  [dim]{item}[/]", highlight=False)


@classroom.command("sheets")
@_dir_option
@_seats_option
@output_option("The dir to write them in (default: <classroom>/sheets).", file_okay=False)
@click.option("--out", "old_out", type=click.Path(file_okay=False, path_type=Path), hidden=True)
def sheets(cr_path, seat_list, output, old_out):
    """Write per seat: ssh_config, private key, known_hosts and a one-page access sheet
    (HTML, English and Chinese) in sheets/seat-NN/. Hand each student their folder."""
    from labgen.classroom import sheets as sheets_mod
    from labgen.classroom.layout import parse_seat_list

    c = _open(cr_path)
    seats = parse_seat_list(seat_list, c.seats)
    target = output or old_out or Path(c.path) / "sheets"  # --out: the old spelling, still read
    written = sheets_mod.write_all(c, seats, target)
    con = console()
    for path in written:
        con.print(f"wrote {path}", highlight=False)
    con.print(
        f"students: copy the folder, then `ssh -F ssh_config <node>` inside it (jump: {c.ssh_address}:{c.ssh_port})",
        highlight=False,
    )


@classroom.group("scenario")
def scenario_group():
    """Run a scenario on every seat at once."""


@scenario_group.command("run")
@click.argument("scenario_id")
@_dir_option
@_seats_option
@variant_option
@click.option("--from", "start", metavar="ID", help="Start at this step.")
@click.option("--to", "stop", metavar="ID", help="Stop after this step (prepare seats up to it).")
@click.option("--keep", is_flag=True, help="Skip the cleanup steps (with --to: leave the seats there).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None)
def scenario_run(scenario_id, cr_path, seat_list, variant, start, stop, keep, lang):
    """Run SCENARIO_ID on every seat in parallel; each seat's handout goes to its transcripts/.

    With --to STEP the seats stop after that step (cleanup skipped, as if --keep). With --to a
    task or question (`--variant challenge --to make-them-talk`) the seats stop before it and
    wait there for their students, as `labgen scenario start` does: their pages in
    `classroom serve` show it.
    """
    import time

    from labgen.classroom import ops
    from labgen.classroom.layout import parse_seat_list
    from labgen.cli.scenario import default_lang

    from labgen.scenario.challenge import presenter_variant
    from labgen.scenario.load import find_scenario, load_scenario

    variant = presenter_variant(load_scenario(find_scenario(scenario_id)), variant)
    c = _open(cr_path)
    seats = parse_seat_list(seat_list, c.seats)
    con = console()
    began = time.monotonic()
    outcomes = ops.scenario_run(
        c,
        seats,
        scenario_id,
        _say(con),
        variant=variant,
        start=start,
        stop=stop,
        lang=lang or default_lang(),
        keep=keep or bool(stop),
    )
    con.print(
        f"{sum(o.ok for o in outcomes)}/{len(outcomes)} seat(s) passed in {time.monotonic() - began:.1f} s",
        highlight=False,
    )
    _outcomes(con, outcomes, f"scenario {scenario_id}")


@classroom.command("serve")
@_dir_option
@_seats_option
@serve_options
def serve(cr_path, seat_list, host, port, min_interval, **limits):
    """Serve a page per seat and the instructor's live board (the same app as
    `labgen scenario serve`, one seat per classroom seat).

    Start the scenario on the seats first (`labgen classroom scenario run mac-bug --to
    break-mac`, or `labgen scenario start` inside each seat). Each seat's URL carries its token:
    put it on that student's sheet only.
    """
    from labgen.classroom.layout import parse_seat_list
    from labgen.web.serve import serve_labs

    c = _open(cr_path)
    seats = parse_seat_list(seat_list, c.seats)
    con = console()

    def say(line):
        con.print(line, markup=False, highlight=False)
        sys.stdout.flush()

    from labgen.classroom import ops

    # The seat page tells each student how to log in: with the ssh_config of their sheet folder.
    logins = {}
    for n in seats:
        model, _ = ops.seat_lab(c, n)
        logins[c.seat_dir(n).name] = "\n".join(f"ssh -F ssh_config {node.name}" for node in model.nodes)
    serve_labs(
        [c.seat_dir(n) for n in seats], host, port, min_interval, say, logins=logins, settings=web_settings(limits)
    )


COMMANDS = (classroom,)
