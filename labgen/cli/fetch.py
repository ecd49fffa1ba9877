"""`labgen fetch LAB`: fill the artifact cache ahead of time (part of the CLI: it prints and exits).

On a connected machine before the workshop; with --artifacts DIR, from a cache carried on a
USB stick. Imports stay inside the command: `labgen --help` must stay fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from labgen.errors import LabgenError


@click.command("fetch")
@click.argument("lab")
@click.option("--artifacts", "artifacts_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A dir holding artifacts (e.g. a USB stick); used before the network.")
@click.option("--allow-unpinned", is_flag=True,
              help="Also take artifacts that have no pinned sha256 (supplied or downloaded, NOT verified).")
def fetch_cmd(lab, artifacts_dir, allow_unpinned):
    """Download (and verify) every file LAB's roles need into the cache, ahead of time.

    LAB is a built-in lab's name or a lab file. The cache is ~/.cache/labgen/artifacts
    (LABGEN_CACHE moves it); `labgen create` then uploads from it to the nodes.
    """
    from rich.markup import escape
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TransferSpeedColumn)

    from labgen.artifacts import ArtifactError, cache_dir, fetch, resolve, sha256_file
    from labgen.cli.options import console as _console
    from labgen.labfile import find_lab, load_lab
    from labgen.plan import lab_artifacts

    model = load_lab(find_lab(lab))
    con = _console()
    names = lab_artifacts(model)
    cache = cache_dir()
    if not names:
        con.print(f"lab {model.name}: its roles declare no artifacts; nothing to fetch", highlight=False)
        return
    outcome: dict[str, str] = {}
    failures: list[str] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=con, transient=True) as bar:
        for name in names:
            task_id = bar.add_task(name, total=None)
            downloaded = []

            def progress(done, total, task_id=task_id, downloaded=downloaded):
                downloaded.append(done)
                bar.update(task_id, completed=done, total=total)

            try:
                artifact = resolve(name)
                before = (cache / artifact.filename)
                had = (before.is_file() and artifact.sha256 is not None
                       and sha256_file(before) == artifact.sha256.lower())
                path = fetch(artifact, cache, artifacts_dir, progress, allow_unpinned=allow_unpinned)
                if artifact.sha256 is None:
                    outcome[name] = (f"{'downloaded' if downloaded else 'supplied'}, NOT verified "
                                     f"(no sha256 pinned; this copy's is {sha256_file(path)})")
                elif downloaded:
                    outcome[name] = "downloaded"
                elif had:
                    outcome[name] = "cached"
                else:
                    outcome[name] = "copied from --artifacts"
                con.print(f"[green]✓[/] {escape(name)}: {outcome[name]} ({escape(str(path))})", highlight=False)
            except ArtifactError as exc:
                outcome[name] = "failed"
                failures.append(exc.message)
                con.print(f"[red]✗[/] {escape(exc.message)}", highlight=False)
            bar.remove_task(task_id)
    counts = {k: sum(1 for v in outcome.values() if v == k) for k in ("downloaded", "cached", "failed")}
    other = len(outcome) - sum(counts.values())
    con.print(f"{len(names)} artifact(s) for lab {model.name}: {counts['downloaded']} downloaded, "
              f"{counts['cached']} already cached, {other} supplied, {counts['failed']} failed "
              f"(cache {cache})", highlight=False)
    if failures:
        raise LabgenError(f"{len(failures)} of {len(names)} artifact(s) could not be fetched",
                          hint="fix each one above, then re-run `labgen fetch`")


COMMANDS = (fetch_cmd,)
