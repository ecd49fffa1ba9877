"""`labgen fetch LAB`: fill the artifact cache ahead of time and lock what was fetched (part of
the CLI: it prints and exits).

On a connected machine before the workshop; with --artifacts DIR, from files carried on a
USB stick. Imports stay inside the functions: `labgen --help` must stay fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from labgen.cli_options import artifacts_options
from labgen.errors import LabgenError


def lab_artifacts(lab, providers=None) -> list[str]:
    """Names of every artifact the lab's roles declare, for the distributions of `providers`
    (default: every provider), in first-use order."""
    from labgen.model import PROVIDERS, RoleUnavailable
    from labgen.providers import get_provider
    from labgen.provision.engine import node_plan

    distros = []
    for provider in providers or PROVIDERS:
        distro = get_provider(provider).distro
        if distro not in distros:
            distros.append(distro)
    names: list[str] = []
    for distro in distros:
        for node in lab.nodes:
            for _role, tasks in node_plan(lab, node, distro):
                if isinstance(tasks, RoleUnavailable):
                    continue
                for task in tasks:
                    names += [n for n in task.artifacts if n not in names]
    return names


def lab_dir_path(model, lab_path) -> Path:
    """The lab dir a LAB argument means: --dir, else ./NAME (as `labgen create` does)."""
    return Path(lab_path or Path.cwd() / model.name)


def stager_for(model, lab_dir: Path, artifacts_dir, frozen: bool, mirror_options, progress=None):
    """The run's artifacts.Stager: the lab dir's labgen.lock, the lab file's mirrors with
    --mirror over them. Raises InputError for a bad --mirror, LockError for a bad lock."""
    from labgen import lockfile
    from labgen.artifacts import Stager
    from labgen.mirrors import Mirrors, from_options
    from labgen.provision import pins

    mirrors = Mirrors(tuple(model.mirrors)).then(from_options(mirror_options, pins.ARTIFACTS))
    lock = lockfile.load(lockfile.lock_path(lab_dir), must_exist=frozen)
    return Stager(artifacts_dir=artifacts_dir, lock=lock, frozen=frozen, mirrors=mirrors,
                  progress=progress)


def fetch_all(con, stager, names) -> list[str]:
    """Fetch `names` through `stager` with a progress bar, one line per artifact. Returns the
    failure messages."""
    from rich.markup import escape
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TransferSpeedColumn)

    from labgen.artifacts import ArtifactError, obtain, resolve
    from labgen.lockfile import LockError

    failures: list[str] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=con, transient=True) as bar:
        for name in names:
            task_id = bar.add_task(name, total=None)

            def progress(done, total, task_id=task_id):
                bar.update(task_id, completed=done, total=total)

            try:
                artifact = resolve(name)
                got = obtain(artifact, stager.cache, stager.artifacts_dir, progress,
                             timeout=stager.timeout, lock=stager.lock, frozen=stager.frozen,
                             mirrors=stager.mirrors)
                how = {"supplied": "copied from --artifacts", "cached": "already cached",
                       "downloaded": "downloaded"}[got.source]
                if got.locked:
                    entry = stager.lock.get(name)
                    how += (f", {'locked' if got.locked == 'new' else 're-locked (its URL changed)'}: "
                            f"sha256 {entry.sha256}, {entry.size} bytes")
                else:
                    how += ", verified"
                con.print(f"[green]✓[/] {escape(name)}: {escape(how)}", highlight=False)
            except (ArtifactError, LockError) as exc:
                failures.append(exc.message)
                con.print(f"[red]✗[/] {escape(exc.message)}", highlight=False)
            bar.remove_task(task_id)
    return failures


def prefetch(con, model, provider: str, stager) -> None:
    """Before anything boots: fetch what the lab's roles need on `provider`, with progress.
    Raises LabgenError when one is missing, so a classroom learns it in seconds, not after
    the machines booted."""
    names = lab_artifacts(model, [provider])
    if not names:
        return
    failures = fetch_all(con, stager, names)
    if failures:
        raise LabgenError(f"{len(failures)} of {len(names)} artifact(s) lab {model.name} needs on "
                          f"{provider} are missing (above); nothing was booted",
                          hint="supply them with --artifacts DIR or a mirror, or pass --no-provision "
                               "to boot without provisioning")


def lab_dir_option(f):
    return click.option("--dir", "lab_path", type=click.Path(file_okay=False, path_type=Path),
                        help="The lab dir whose labgen.lock is used (default: ./NAME, the dir "
                             "`labgen create` makes).")(f)


@click.command("fetch")
@click.argument("lab")
@lab_dir_option
@artifacts_options
def fetch_cmd(lab, lab_path, artifacts_dir, frozen, mirrors):
    """Download every file LAB's roles need into the cache, and lock it.

    LAB is a built-in lab's name or a lab file. The first successful fetch of a file records
    its URL, size and sha256 in the lab dir's labgen.lock (./NAME/labgen.lock unless --dir
    says otherwise; the dir `labgen create` uses); every later fetch, here or on a machine
    given that lock, must match it. A file that changed upstream is refused, naming both
    hashes. Review and commit the lock. The cache is ~/.cache/labgen/artifacts (LABGEN_CACHE
    moves ~/.cache/labgen).
    """
    from labgen.artifacts import cache_dir
    from labgen.cli_options import console as _console
    from labgen.labfile import find_lab, load_lab

    model = load_lab(find_lab(lab))
    con = _console()
    lab_dir = lab_dir_path(model, lab_path)
    stager = stager_for(model, lab_dir, artifacts_dir, frozen, mirrors)
    names = lab_artifacts(model)
    if not names:
        con.print(f"lab {model.name}: its roles declare no artifacts; nothing to fetch", highlight=False)
        return
    before = set(stager.lock.entries)
    failures = fetch_all(con, stager, names)
    new = len(set(stager.lock.entries) - before)
    con.print(f"{len(names)} artifact(s) for lab {model.name}: {len(names) - len(failures)} ready, "
              f"{len(failures)} failed; {new} newly locked in {stager.lock.path} (cache {cache_dir()})",
              highlight=False)
    if failures:
        raise LabgenError(f"{len(failures)} of {len(names)} artifact(s) could not be fetched",
                          hint="fix each one above (--artifacts DIR supplies files), then re-run `labgen fetch`")
