"""`labgen doctor [LAB]`: is this host ready (for LAB)? The checks live in labgen/doctor.py."""

from __future__ import annotations

import click

from labgen.cli.options import console, format_option, pass_ctx, provider_option


@click.command()
@click.argument("lab", required=False)
@click.option(
    "--seats",
    type=click.IntRange(1, 250),
    default=None,
    metavar="N",
    help="Also check what a classroom of N seats of LAB needs: kernel limits (inotify, "
    "PIDs, keys, neighbour tables, open files), memory and disk.",
)
@format_option(
    "one object {lab, provider, checks: [{topic, status, detail, hint}], usable, ready}; "
    "status is ok, warn, fail or info; the exit status is the same as for the table"
)
@provider_option
@pass_ctx
def doctor(ctx, lab, fmt, seats):
    """Check this host before a workshop: can it run labs, or LAB?

    \b
    Per provider: installed and usable (VirtualBox's version and host-only range rule, KVM
    really usable or QEMU TCG fallback, libvirt's daemons, LXC's bridge and DHCP, the boxes);
    with LAB, also memory, disk and address clashes with the host's routes, for the provider
    LAB would use (--provider, else the detected one). One line per check, a hint for each
    failure; the exit status is 3 when the lab (or, without LAB, every provider) cannot run.

    \b
    labgen doctor mesos-calico --seats 30    before a workshop of 30 students
    """
    from labgen import doctor as doc
    from labgen.errors import PreflightError
    from labgen.model import PROVIDERS

    model = None
    if seats and not lab:
        from labgen.errors import InputError

        raise InputError(
            ["--seats needs LAB: the lab each seat runs"], hint="e.g. labgen doctor mesos-calico --seats 30"
        )
    if lab:
        from labgen.labfile import find_lab, load_lab

        model = load_lab(find_lab(lab))
    provider = ctx.requested_provider
    if provider is None and model is not None:
        try:
            provider = ctx.provider()
        except PreflightError:
            provider = None
    providers = [provider] if provider else list(PROVIDERS)
    checks = doc.run(model, providers, seats or 0)
    failed = doc.blocking(checks)
    usable = [p for p in providers if not [c for c in failed if c.topic.split(":")[0] in (p, "vagrant")]]
    if fmt == "json":
        import json
        from dataclasses import asdict

        ready = bool(usable) if provider is None else not failed
        click.echo(
            json.dumps(
                {
                    "lab": model.name if model else None,
                    "provider": provider,
                    "checks": [asdict(c) for c in checks],
                    "usable": usable,
                    "ready": ready,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        if not ready:
            raise PreflightError(
                "this host is not ready (see the checks)"
                if provider is None
                else f"{'lab ' + model.name if model else 'labs'} cannot run with {provider} here"
            )
        return
    con = console()
    marks = {doc.OK: "[green]✓[/]", doc.WARN: "[yellow]![/]", doc.FAIL: "[red]✗[/]", doc.INFO: "[dim]-[/]"}
    width = max(len(c.topic) for c in checks)
    for c in checks:
        con.print(f"{marks[c.status]} {c.topic:<{width}}  ", end="", highlight=False)
        # soft_wrap: one check stays one line (a terminal may still fold it; a pipe gets it whole)
        con.print(
            c.detail + (f"  → {c.hint}" if c.hint and c.status == doc.FAIL else ""),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if provider is None:
        if usable:
            con.print(f"usable here: {', '.join(usable)}", highlight=False)
            return
        raise PreflightError("no provider can run labs on this host", hint="fix one of the ✗ lines above")
    if failed:
        what = f"lab {model.name}" if model else "labs"
        raise PreflightError(
            f"{what} cannot run with {provider} here: {len(failed)} check(s) failed", hint="fix the ✗ lines above"
        )
    con.print(f"[green]ready[/]: {'lab ' + model.name if model else 'labs'} can run with {provider}", highlight=False)


COMMANDS = (doctor,)
