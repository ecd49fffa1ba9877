"""What the CLI's command modules share: the console, the context object (--provider), and
the options several commands take. Imports only click, like every module on the start-up path.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import click


def console():
    from labgen.console import get_console

    return get_console()


class Ctx:
    def __init__(self, provider: str | None, debug: bool):
        self.requested_provider = provider
        self.debug = debug

    def provider(self) -> str:
        """The --provider given, else the detected one (and say which and why)."""
        if self.requested_provider:
            return self.requested_provider
        from labgen.providers import detect_provider

        name, why = detect_provider()
        # On stderr: `labgen render LAB > Vagrantfile` must write only the Vagrantfile.
        click.echo(f"provider: {name} ({why}); choose with --provider", err=True)
        return name


pass_ctx = click.make_pass_decorator(Ctx)


def _set_provider(click_ctx, param, value):
    if value:
        click_ctx.ensure_object(Ctx).requested_provider = value
    return value


def provider_option(f):
    """--provider after the subcommand too (`labgen render LAB --provider lxc`)."""
    return click.option(
        "--provider",
        "provider_",
        type=click.Choice(["virtualbox", "libvirt", "lxc"]),
        expose_value=False,
        callback=_set_provider,
        help="Same as the global --provider.",
    )(f)


def artifacts_options(f):
    """--artifacts / --frozen / --mirror for the commands that fetch or provision."""
    f = click.option(
        "--mirror",
        "mirrors",
        multiple=True,
        metavar="FROM=TO",
        help="Fetch an artifact from elsewhere: NAME=URL for one artifact, or "
        "BASE/=OTHER/ for every URL under a base (repeatable; wins over the "
        "lab file's mirrors:).",
    )(f)
    f = click.option(
        "--frozen",
        is_flag=True,
        help="Use only artifacts recorded in the lab's labgen.lock; never record a new one (for classrooms and CI).",
    )(f)
    return click.option(
        "--artifacts",
        "artifacts_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="A dir holding the roles' downloads (e.g. a USB stick), used before "
        "the cache and the network. See `labgen fetch`.",
    )(f)


def dir_flag(dest: str, help: str, **extra):
    """A `--dir` option naming a dir (a lab's, a classroom's...): one spelling for every command;
    `dest` is the parameter's name, `extra` click's other settings (multiple=True...)."""
    return click.option("--dir", dest, type=click.Path(file_okay=False, path_type=Path), help=help, **extra)


dir_option = dir_flag("lab_path", "The lab dir (default: the current directory or a parent).")

# for the commands that take a scenario: its lab's dir is found, or made, from it
scenario_dir_option = dir_flag(
    "lab_path", "The lab dir (default: the current one if it holds the scenario's lab, else ./LAB)."
)


def aligned_lines(rows: Sequence[Sequence[str]], right: Collection[int] = ()) -> list[str]:
    """Rows as plain lines in aligned columns (`labgen ls`, `classroom images`): a rich table
    would fold at 80 columns. The last column is left ragged (paths, lists); the columns in
    `right` are right-aligned (numbers)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))] + [row[-1]])
        for row in rows
    ]


def dim_line(con):
    """A callback that prints one line of a tool's output (Vagrant, debootstrap) dimmed and
    verbatim: the text is data, never markup, so `[...]` in it prints as is."""
    return lambda line: con.print(line, style="dim", markup=False, highlight=False)


def print_node_results(con, tagged) -> None:
    """Print (tag, result) pairs of a command run on many nodes, each line prefixed by its tag
    (node, or seat and node); raise LabgenError naming how many failed."""
    from labgen.errors import LabgenError

    failed = 0
    for tag, res in tagged:
        for out, style in ((res.stdout, ""), (res.stderr, "red")):
            for text in out.splitlines():
                con.print(f"[bold]{tag}[/] │ ", end="", highlight=False)
                con.print(text, style=style, markup=False, highlight=False)
        if not res.ok:
            failed += 1
            con.print(f"[bold]{tag}[/] │ [red]exit {res.exit_code}[/]", highlight=False)
    if failed:
        raise LabgenError(f"the command failed on {failed} of {len(tagged)} node(s)")


def web_settings(limits: dict):
    """The web server's Settings from the serve options (minutes become seconds)."""
    from labgen.web.room import Settings

    return Settings(
        max_terminals=limits["max_terminals"],
        idle_timeout=limits["idle_timeout"] * 60,
        stuck_fails=limits["stuck_fails"],
        stuck_minutes=limits["stuck_minutes"],
    )


def serve_options(f):
    """--host, --port, --min-interval and the terminal/board limits of the seat pages' server
    (scenario and classroom serve). The limits reach the command as keyword arguments
    (`**limits`), for web_settings()."""
    f = click.option(
        "--stuck-minutes",
        default=10.0,
        show_default=True,
        type=click.FloatRange(0.5, 600),
        help="... or when nothing happened on its step for this many minutes.",
    )(f)
    f = click.option(
        "--stuck-fails",
        default=3,
        show_default=True,
        type=click.IntRange(1, 100),
        help="The board flags a seat stuck when the same check failed this many times...",
    )(f)
    f = click.option(
        "--idle-timeout",
        default=30.0,
        show_default=True,
        type=click.FloatRange(1, 1440),
        help="Minutes without a keystroke before a web terminal closes (the shell stays).",
    )(f)
    f = click.option(
        "--max-terminals",
        default=6,
        show_default=True,
        type=click.IntRange(1, 64),
        help="Web terminals open at once per seat.",
    )(f)
    f = click.option(
        "--min-interval",
        default=3.0,
        show_default=True,
        type=click.FloatRange(0, 600),
        help="Seconds between two checks of one seat.",
    )(f)
    f = click.option(
        "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port."
    )(f)
    return click.option(
        "--host",
        default="127.0.0.1",
        show_default=True,
        help="Address to listen on. Anything but loopback exposes the pages to the network.",
    )(f)


def format_option(json_help: str):
    """--format table|json, one wording for every command that has it."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help=f"json: {json_help}; for scripts.",
    )


def variant_option(f):
    """--variant, one rule for run, show, start, worksheet and classroom scenario run."""
    return click.option(
        "--variant",
        default=None,
        metavar="NAME",
        help="Which telling of the scenario (`labgen scenario list` names them). "
        "Default: `default`; for the student commands (start, worksheet), the "
        "first variant with a task or question when `default` has none.",
    )(f)


def yes_option(f):
    return click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")(f)


def confirm(yes: bool, question: str, what: str = "this") -> None:
    """Ask `question` on a terminal unless --yes; without a terminal, refuse (exit 1) naming --yes."""
    import sys

    if yes:
        return
    if not sys.stdin.isatty():
        from labgen.errors import LabgenError

        raise LabgenError(f"{what} needs confirmation", hint="pass --yes to go ahead without asking")
    click.confirm(question, abort=True)


def output_option(default_help: str, allow_dash: bool = False, file_okay: bool = True):
    """-o/--output for every command that writes a file (or dir) of its own."""

    def deco(f):
        kind = click.Path(dir_okay=not file_okay, file_okay=file_okay, allow_dash=allow_dash, path_type=Path)
        return click.option("-o", "--output", type=kind, help=default_help)(f)

    return deco


def force_option(f):
    return click.option("--force", is_flag=True, help="Overwrite the output if it exists.")(f)


def refuse_overwrite(path: Path, force: bool) -> None:
    """The one overwrite policy (graph, worksheet): an existing output file needs --force."""
    if path.exists() and not force:
        from labgen.errors import LabgenError

        raise LabgenError(f"{path} exists; not overwriting it", hint="pass --force, or -o another file")
