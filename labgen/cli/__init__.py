"""The command line: the only place that prints or exits.

Start-up must stay fast (`labgen --help`): this package imports click only; every command
module imports its heavy parts (rich, Fabric, paramiko, python-vagrant, Jinja2, YAML) inside
the command that needs them. Commands are thin: they parse, call lifecycle/scenario/provision
code, and print what it returns.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from labgen import __version__
from labgen.cli.options import Ctx
from labgen.errors import LabgenError

HELP_OPTIONS = ["-h", "--help"]
CONTEXT = {"help_option_names": HELP_OPTIONS, "max_content_width": 100}

# The command modules, in `labgen --help` order. Each exports COMMANDS, the click commands or
# groups it adds at the top level. A new group is one more name here: e.g. "classroom" for
# labgen/cli/classroom.py. (Student challenge commands go under `scenario`: a module
# labgen/cli/challenge.py that adds its commands to labgen.cli.scenario.scenario, listed here
# after "scenario", with COMMANDS = (); likewise images.py adds `classroom images`.)
MODULES = (
    "lab",
    "scenario",
    "challenge",
    "plan",
    "graph",
    "fetch",
    "bundle",
    "box",
    "doctor",
    "classroom",
    "images",
    "hostlabs",
    "schema",
)

# Words people bring from Vagrant, containerlab and netlab. ALIASES run the command they name;
# INSTEAD only answers a mistyped or borrowed word (`labgen deploy` must never hint `destroy`,
# which click's own did-you-mean would: the words are close).
ALIASES = {"up": "create", "down": "destroy"}
INSTEAD = {
    "deploy": ("up",),
    "start": ("up", "scenario start"),
    "stop": ("halt",),
    "delete": ("down",),
    "remove": ("down",),
    "rm": ("down",),
    "ps": ("ls",),
    "inspect": ("status",),
    "connect": ("ssh",),
    "run": ("exec", "scenario run"),
}

# Exit codes, one table for `labgen --help`, docs/commands.md and the tests.
EXIT_CODES = (
    (0, "done"),
    (
        1,
        "the command ran but did not succeed: a command failed on a node (exec), a download "
        "failed (fetch), a confirmation was declined or needed --yes",
    ),
    (2, "bad input: a lab or scenario file, an option, a name"),
    (3, "this host is not ready (a provider, plugin, box, root or memory is missing)"),
    (4, "Vagrant failed"),
    (5, "a provisioning task failed"),
    (6, "a scenario expectation, a check or an answer failed"),
    (130, "interrupted (Ctrl-C)"),
)


class LabgenGroup(click.Group):
    """The top-level group: `up`/`down` are aliases of create/destroy; borrowed words get the
    labgen command that does that job."""

    def get_command(self, ctx, cmd_name):
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

    def resolve_command(self, ctx, args):
        name = args[0] if args else ""
        if name in INSTEAD and self.get_command(ctx, name) is None:
            words = " or ".join(f"'{w}'" for w in INSTEAD[name])
            raise click.UsageError(f"No such command {name!r}. Did you mean {words}?", ctx)
        return super().resolve_command(ctx, args)

    def format_epilog(self, ctx, formatter):
        with formatter.section("Aliases"):
            formatter.write_dl([(alias, f"same as `labgen {name}`") for alias, name in ALIASES.items()])
        with formatter.section("Exit codes"):
            formatter.write_dl([(str(code), text) for code, text in EXIT_CODES])


@click.group(cls=LabgenGroup, context_settings=CONTEXT)
@click.option(
    "--provider",
    type=click.Choice(["virtualbox", "libvirt", "lxc"]),
    help="Machine provider. Default: VirtualBox if installed, else libvirt when KVM really "
    "works, else LXC when running as root (the choice is printed); `classroom up` "
    "defaults to LXC.",
)
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(__version__, "--version", prog_name="labgen")
@click.pass_context
def cli(ctx, provider, debug):
    """labgen: turn a documented infrastructure walkthrough into a reproducible lab.

    \b
    A first session:
      labgen list                      built-in labs and scenarios
      labgen ls                        labs and classrooms on this host
      labgen create mesos-calico       write ./mesos-calico/, boot it, provision it
      cd mesos-calico && labgen status
      labgen scenario run mac-bug      replay the MAC bug, break -> observe -> fix -> verify
      labgen destroy                   remove the machines (asks first)
    """
    ctx.obj = Ctx(provider, debug)


def _register() -> None:
    for name in MODULES:
        module = importlib.import_module(f"labgen.cli.{name}")
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    """Entry point: run the CLI; a LabgenError becomes one clean message and its exit code."""
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False, prog_name="labgen")
    except LabgenError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        _print_error(exc)
        if exc.exit_code == 130:  # interrupted: do not join worker threads (see _interrupted)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort too; a "no" at a confirmation prompt is the other case.
        if not isinstance(exc.__context__, KeyboardInterrupt):
            click.echo("aborted: nothing was changed", err=True)
            sys.exit(1)
        _interrupted()
    except KeyboardInterrupt:
        _interrupted()
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


def _interrupted() -> None:
    click.echo("\ninterrupted: re-run the same command to finish the work", err=True)
    # Not sys.exit: at exit Python joins worker threads, and a second Ctrl-C (given while
    # nodes finish their current task) must quit even if a remote command hangs. Nothing
    # is lost: state.json is only ever replaced whole.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def _print_error(exc: LabgenError) -> None:
    # NO_COLOR (no-color.org): any non-empty value turns colour off, terminal or not.
    plain = bool(os.environ.get("NO_COLOR"))
    lines = exc.message.splitlines() or ["error"]
    texts = [(f"error: {line}", "red") for line in lines] + ([(f"hint: {exc.hint}", "yellow")] if exc.hint else [])
    for text, colour in texts:
        click.echo(text if plain else click.style(text, fg=colour), err=True)
