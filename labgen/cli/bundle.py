"""`labgen bundle LAB -o FILE` and `labgen bundle load FILE`: carry a lab to a classroom with
no internet (part of the CLI: it prints and exits). The work is in labgen/bundle.py.
"""

from __future__ import annotations

from pathlib import Path

import click

from labgen.cli.fetch import lab_dir_option
from labgen.cli.options import artifacts_options, dir_flag
from labgen.errors import LabgenError

PROVIDERS = ("virtualbox", "libvirt", "lxc")


class _BundleGroup(click.Group):
    """`labgen bundle LAB ...` means `labgen bundle create LAB ...`; `load` is the other verb."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            _not_a_typo(ctx, args[0], list(self.commands))
            args = ["create", *args]
        return super().parse_args(ctx, args)


def _not_a_typo(ctx, word: str, verbs: list[str]) -> None:
    """`labgen bundle lod x`: a word close to a verb that is no lab is a typo, not a LAB for
    the hidden `create` (which would only complain about its missing -o)."""
    import difflib
    import os

    close = difflib.get_close_matches(word, verbs, n=1, cutoff=0.6)
    if not close or os.path.exists(word):
        return
    from labgen.labfile import builtin_labs

    if word not in [name for name, _ in builtin_labs()]:
        raise click.UsageError(f"no bundle command and no lab {word!r}: did you mean `labgen bundle {close[0]}`?", ctx)


@click.group(cls=_BundleGroup)
def bundle():
    """Pack a lab for a classroom without internet, and unpack it there.

    \b
    On a connected machine:   labgen bundle mesos-calico -o workshop.labgen
    On the classroom host:    labgen bundle load workshop.labgen
                              labgen create mesos-calico/lab.yml --frozen
    """


class _Tracker:
    """bundle.Progress -> one rich task per member."""

    def __init__(self, bar):
        self.bar, self.tasks = bar, {}

    def __call__(self, label, done, total):
        if label not in self.tasks:
            self.tasks[label] = self.bar.add_task(label, total=total)
        self.bar.update(self.tasks[label], completed=done)


@bundle.command("create")
@click.argument("lab")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The bundle file to write."
)
@click.option(
    "--provider",
    "providers",
    multiple=True,
    type=click.Choice(PROVIDERS),
    help="Pack for this provider: its box and its distribution's artifacts "
    "(repeatable; default: every provider the lab has a box for).",
)
@click.option("--no-boxes", is_flag=True, help="Leave the boxes out (the classroom has them).")
@lab_dir_option
@artifacts_options
def bundle_create(lab, output, providers, no_boxes, lab_path, artifacts_dir, frozen, mirrors):
    """Write one file holding LAB, its scenarios, its lock, the locked artifacts and boxes.

    Fetches (and locks) what is missing first, exactly like `labgen fetch`; refuses to write
    a bundle that lacks an artifact. Boxes come from labgen's cache (~/.cache/labgen/boxes)
    or are exported from Vagrant (`vagrant box repackage`).
    """
    import tempfile

    from labgen import bundle as b
    from labgen.artifacts import cache_root
    from labgen.boxes import vagrant_boxes_dir
    from labgen.cli import steps
    from labgen.cli.options import console as _console
    from labgen.console import download_bar
    from labgen.plan import lab_artifacts
    from labgen.labfile import find_lab, load_lab
    from labgen.scenario.load import builtin_scenarios, load_scenario

    path = find_lab(lab)
    model = load_lab(path)
    con = _console()
    providers = list(providers) or [p for p in PROVIDERS if p in model.boxes]
    missing = [p for p in providers if p not in model.boxes]
    if missing:
        raise LabgenError(
            f"lab {model.name} has no box for {', '.join(missing)}", hint=f"its boxes: {', '.join(model.boxes)}"
        )
    stager = steps.make_stager(model, steps.lab_dir_path(model, lab_path), artifacts_dir, frozen, mirrors)
    names = lab_artifacts(model, providers)
    failures = steps.fetch_all(con, stager, names)
    if failures:
        raise LabgenError(
            f"{len(failures)} of {len(names)} artifact(s) are missing: no bundle written",
            hint="supply them (--artifacts DIR, a mirror) or bundle fewer --provider",
        )
    sources = [b.source("lab", model.name, path)]
    lock_file = stager.lock.path
    if not lock_file.exists():  # a lab without artifacts: an empty lock, still committed
        from labgen.labdir import atomic_write

        atomic_write(lock_file, stager.lock.text())
    sources.append(b.source("lock", model.name, lock_file))
    for scenario in builtin_scenarios():
        if load_scenario(scenario).lab == model.name:
            sources.append(b.source("scenario", scenario.name, scenario))
    for name in names:
        entry = stager.lock.get(name)
        sources.append(b.source("artifact", entry.filename, stager.local(name)[1], sha256=entry.sha256))
    with tempfile.TemporaryDirectory(prefix="labgen-export-") as scratch:
        if not no_boxes:
            for provider in providers:
                box = model.boxes[provider]
                box_file = b.cached_box_file(cache_root(), box, provider)
                if box_file is None:
                    with con.status(f"exporting box {box} ({provider}) from Vagrant…"):
                        box_file = b.export_box(box, provider, vagrant_boxes_dir(), Path(scratch) / provider)
                sources.append(b.source("box", box, box_file, provider=provider))
        with download_bar(con) as bar:
            size = b.write(output, model.name, sources, _Tracker(bar))
    counts = {k: sum(1 for s in sources if s.item.kind == k) for k in ("scenario", "artifact", "box")}
    con.print(
        f"[green]✓[/] wrote {output}: lab {model.name}, {counts['artifact']} artifact(s), "
        f"{counts['scenario']} scenario(s), {counts['box']} box(es), {size / 2**20:.1f} MiB",
        highlight=False,
    )


@bundle.command("load")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@dir_flag("lab_path", "Where to put the lab file, lock and scenarios (default: ./NAME).")
@click.option("--force", is_flag=True, help="Replace a different lab file or lock there, and re-add boxes.")
def bundle_load(file, lab_path, force):
    """Install a bundle: its boxes into Vagrant, its artifacts into the cache (each verified
    against the bundle's lock), its lab file, lock and scenarios into ./NAME/."""
    from labgen import bundle as b
    from labgen.artifacts import cache_dir
    from labgen.console import download_bar
    from labgen.boxes import box_installed
    from labgen.cli.options import console as _console

    con = _console()
    with download_bar(con) as bar:
        done = b.load(file, lab_path, cache_dir(), b.vagrant_box_add, box_installed, _Tracker(bar), force=force)
    con.print(f"[green]✓[/] {len(done.artifacts)} artifact(s) verified into {cache_dir()}", highlight=False)
    for box in done.boxes:
        con.print(f"[green]✓[/] box {box} added to Vagrant", highlight=False)
    for box in done.boxes_kept:
        con.print(f"[green]✓[/] box {box} already installed (kept; --force re-adds it)", highlight=False)
    con.print(
        f"[green]✓[/] lab {done.lab_name}: lab.yml, labgen.lock and {len(done.scenarios)} "
        f"scenario(s) in {done.lab_dir}",
        highlight=False,
    )
    con.print(
        f"next: labgen create {done.lab_dir / 'lab.yml'} --dir {done.lab_dir} --frozen", highlight=False, markup=False
    )


COMMANDS = (bundle,)
