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

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# The command modules, in `labgen --help` order. Each exports COMMANDS, the click commands or
# groups it adds at the top level. A new group is one more name here: e.g. "classroom" for
# labgen/cli/classroom.py. (Student challenge commands go under `scenario`: a module
# labgen/cli/challenge.py that adds its commands to labgen.cli.scenario.scenario, listed here
# after "scenario", with COMMANDS = ().)
MODULES = ("lab", "scenario", "challenge", "plan", "graph", "fetch", "bundle", "box", "doctor", "classroom",
           "schema")


@click.group(context_settings=CONTEXT)
@click.option("--provider", type=click.Choice(["virtualbox", "libvirt", "lxc"]),
              help="Machine provider (default: VirtualBox if installed, else libvirt, else LXC as root).")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(__version__, "--version", prog_name="labgen")
@click.pass_context
def cli(ctx, provider, debug):
    """labgen: turn a documented infrastructure walkthrough into a reproducible lab.

    \b
    A first session:
      labgen list                      built-in labs and scenarios
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
        if exc.exit_code == 130:     # interrupted: do not join worker threads (see _interrupted)
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
    lines = exc.message.splitlines() or ["error"]
    for line in lines:
        click.secho(f"error: {line}", fg="red", err=True)
    if exc.hint:
        click.secho(f"hint: {exc.hint}", fg="yellow", err=True)
