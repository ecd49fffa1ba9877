"""`labgen fetch LAB`: fill the artifact cache ahead of time and lock what was fetched.

On a connected machine before the workshop; with --artifacts DIR, from files carried on a
USB stick. Imports stay inside the command: `labgen --help` must stay fast.
"""

from __future__ import annotations


import click

from labgen.cli.options import artifacts_options, dir_flag
from labgen.errors import LabgenError


lab_dir_option = dir_flag(
    "lab_path", "The lab dir whose labgen.lock is used (default: ./NAME, the dir `labgen create` makes)."
)


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
    from labgen.cli import steps
    from labgen.cli.options import console
    from labgen.labfile import find_lab, load_lab
    from labgen.plan import lab_artifacts

    model = load_lab(find_lab(lab))
    con = console()
    stager = steps.make_stager(model, steps.lab_dir_path(model, lab_path), artifacts_dir, frozen, mirrors)
    names = lab_artifacts(model)
    if not names:
        con.print(f"lab {model.name}: its roles declare no artifacts; nothing to fetch", highlight=False)
        return
    before = set(stager.lock.entries)
    failures = steps.fetch_all(con, stager, names)
    new = len(set(stager.lock.entries) - before)
    con.print(
        f"{len(names)} artifact(s) for lab {model.name}: {len(names) - len(failures)} ready, "
        f"{len(failures)} failed; {new} newly locked in {stager.lock.path} (cache {cache_dir()})",
        highlight=False,
    )
    if failures:
        raise LabgenError(
            f"{len(failures)} of {len(names)} artifact(s) could not be fetched",
            hint="fix each one above (--artifacts DIR supplies files), then re-run `labgen fetch`",
        )


COMMANDS = (fetch_cmd,)
