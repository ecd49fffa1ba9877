"""Steps several commands share (create, provision, scenario run...): boot a lab, provision
it with live progress and a summary, open the lab dir a command acts on. They print; the work
is done by lifecycle and provision code."""

from __future__ import annotations

from pathlib import Path

from labgen.cli.options import console, dim_line
from labgen.errors import LabgenError


def first_clause(reason: str, limit: int = 110) -> str:
    """The gist of a long reason (up to its first `;`), for one-line summaries."""
    first = reason.split(";")[0].strip()
    return first if len(first) <= limit else first[: limit - 3] + "..."


def boot(model, lab_dir, provider) -> None:
    import time

    from labgen import lifecycle

    con = console()
    start = time.monotonic()
    with con.status(f"booting {len(model.nodes)} nodes with {provider} (vagrant up)…"):
        lifecycle.boot(
            model,
            lab_dir,
            provider,
            on_line=dim_line(con),
            on_host=lambda change: con.print(f"host: {change}", highlight=False),
        )
    con.print(f"[green]✓[/] booted in {time.monotonic() - start:.1f} s")


def lab_dir_path(model, lab_path) -> Path:
    """The lab dir a LAB argument means: --dir, else ./NAME (as `labgen create` does)."""
    return Path(lab_path or Path.cwd() / model.name)


def make_stager(model, lab_dir: Path, artifacts_dir=None, frozen: bool = False, mirror_options=()):
    """The run's artifacts.Stager: the lab dir's labgen.lock, the lab file's mirrors with
    --mirror over them. Raises InputError for a bad --mirror, LockError for a bad lock."""
    from labgen import lockfile
    from labgen.artifacts import Stager
    from labgen.mirrors import Mirrors, from_options
    from labgen.provision import pins

    mirrors = Mirrors(tuple(model.mirrors)).then(from_options(mirror_options, pins.ARTIFACTS))
    lock = lockfile.load(lockfile.lock_path(lab_dir), must_exist=frozen)
    return Stager(artifacts_dir=artifacts_dir, lock=lock, frozen=frozen, mirrors=mirrors)


def fetch_all(con, stager, names) -> list[str]:
    """Fetch `names` through `stager` with a progress bar, one line per artifact. Returns the
    failure messages."""
    from rich.markup import escape
    from labgen.artifacts import ArtifactError, obtain, resolve
    from labgen.console import download_bar
    from labgen.lockfile import LockError

    failures: list[str] = []
    with download_bar(con) as bar:
        for name in names:
            task_id = bar.add_task(name, total=None)

            def progress(done, total, task_id=task_id):
                bar.update(task_id, completed=done, total=total)

            try:
                artifact = resolve(name)
                got = obtain(
                    artifact,
                    stager.cache,
                    stager.artifacts_dir,
                    progress,
                    timeout=stager.timeout,
                    lock=stager.lock,
                    frozen=stager.frozen,
                    mirrors=stager.mirrors,
                )
                how = {"supplied": "copied from --artifacts", "cached": "already cached", "downloaded": "downloaded"}[
                    got.source
                ]
                if got.locked:
                    entry = stager.lock.get(name)
                    how += (
                        f", {'locked' if got.locked == 'new' else 're-locked (its URL changed)'}: "
                        f"sha256 {entry.sha256}, {entry.size} bytes"
                    )
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
    from labgen.plan import lab_artifacts

    names = lab_artifacts(model, [provider])
    if not names:
        return
    failures = fetch_all(con, stager, names)
    if failures:
        raise LabgenError(
            f"{len(failures)} of {len(names)} artifact(s) lab {model.name} needs on "
            f"{provider} are missing (above); nothing was booted",
            hint="supply them with --artifacts DIR or a mirror, or pass --no-provision to boot without provisioning",
        )


def print_blocked(con, reports) -> None:
    """Each reason roles could not run, once, then the roles and nodes it blocks."""
    from labgen.provision.engine import blocked

    for entry in blocked(reports):
        con.print(entry.reason, markup=False, highlight=False, style="magenta")
        for role, nodes in entry.roles.items():
            con.print(f"  [magenta]![/] role {role}: not run on {', '.join(nodes)}", highlight=False)


def provision(model, lab_dir, provider, nodes=None, roles=None, remote=None, verbose=False, stager=None):
    """Provision and print a summary. Returns the reports; raises the first TaskError."""
    import time

    from labgen import lifecycle
    from labgen.provision_view import ProvisionView
    from labgen.provision.engine import provision as run_provision
    from labgen.providers import get_provider

    con = console()
    start = time.monotonic()
    if stager is None:  # e.g. a scenario run provisioning: still the lab's lock and mirrors
        stager = make_stager(model, lab_dir.path)
    own = remote is None
    remote = remote or lifecycle.open_remote(lab_dir, provider)
    try:
        names = [n.name for n in model.nodes if nodes is None or n.name in nodes]
        with ProvisionView(con, names, verbose=verbose) as view:
            reports = run_provision(
                model,
                lab_dir,
                remote,
                get_provider(provider).facts(model),
                nodes=nodes,
                roles=roles,
                events=view.event,
                artifacts=stager,
            )
    finally:
        if own:
            remote.close()
    print_blocked(con, reports)
    errors = [r.error for r in reports if r.error is not None]
    if errors:
        raise errors[0]
    took = time.monotonic() - start
    changed = sum(len(r.changed) for r in reports)
    if changed:
        con.print(f"[green]✓[/] provisioned: {changed} task(s) changed in {took:.1f} s")
    else:
        con.print(f"[green]✓[/] provisioned: already converged, nothing changed ({took:.1f} s)")
    return reports


def open_lab(ctx, lab_path):
    """(model, lab_dir, provider) of the lab dir given with --dir, or the current one."""
    from labgen import lifecycle
    from labgen.labdir import LabDir, find_lab_dir

    lab_dir = LabDir(lab_path) if lab_path else find_lab_dir()
    if lab_path and not lab_dir.exists():
        raise LabgenError(f"{lab_dir.path} is not a lab dir", hint="create one with `labgen create LAB --dir DIR`")
    model = lifecycle.load_lab_of(lab_dir)
    provider = lifecycle.provider_of(lab_dir, ctx.requested_provider) or ctx.provider()
    return model, lab_dir, provider


def check_nodes(model, nodes) -> None:
    known = [n.name for n in model.nodes]
    bad = [n for n in nodes if n not in known]
    if bad:
        raise LabgenError(f"no node {', '.join(bad)} in lab {model.name}", hint=f"nodes: {', '.join(known)}")


def lab_dir_for(lab_name: str, lab_path: Path | None):
    """The lab dir `scenario run` uses: --dir, else the current one if it holds `lab_name`,
    else ./LAB."""
    from labgen.labdir import LabDir, find_lab_dir

    if lab_path:
        return LabDir(lab_path)
    try:
        lab_dir = find_lab_dir()
        if lab_dir.load_state().get("lab") == lab_name:
            return lab_dir
    except LabgenError:
        pass
    return LabDir(Path.cwd() / lab_name)


def lab_for_scenario(ctx, sc, variant: str, lab_path: Path | None):
    """(lab, lab_dir, provider, remote) to run scenario `sc`'s `variant` on: the lab dir is
    --dir, else the current one if it holds the scenario's lab, else ./LAB; it is created and
    booted when missing, booted when stopped. Before anything changes, raises LabgenError when
    the provider cannot run the roles the variant needs. The caller closes `remote`."""
    from labgen import lifecycle
    from labgen.providers import get_provider
    from labgen.provision.engine import unavailable_roles
    from labgen.scenario.load import scenario_lab

    lab = scenario_lab(sc)
    con = console()
    lab_dir = lab_dir_for(lab.name, lab_path)
    provider = (lifecycle.provider_of(lab_dir, ctx.requested_provider) if lab_dir.exists() else None) or ctx.provider()
    missing = unavailable_roles(lab, sc.variants[variant].requires_roles, get_provider(provider).facts(lab))
    if missing:
        raise LabgenError(
            f"scenario {sc.id} (variant {variant}) needs roles this lab cannot provide "
            f"with {provider}:\n" + "\n".join(f"  {r}: {first_clause(why)}" for r, why in missing),
            hint=f"nothing was changed; `labgen plan {lab.name} --provider {provider} "
            f"--role ROLE` gives each reason in full and how to supply what is missing",
        )
    if not lab_dir.exists():
        con.print(f"lab {lab.name} does not exist yet: creating it in {lab_dir.path}", highlight=False)
        lifecycle.write_lab_dir(lab, lab_dir, provider)
        boot(lab, lab_dir, provider)
    lab = lifecycle.load_lab_of(lab_dir)
    try:
        remote = lifecycle.open_remote(lab_dir, provider)
    except LabgenError:
        con.print("lab is not running: booting it", highlight=False)
        boot(lab, lab_dir, provider)
        remote = lifecycle.open_remote(lab_dir, provider)
    return lab, lab_dir, provider, remote
