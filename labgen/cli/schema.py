"""`labgen schema KIND`: print a file format's JSON Schema (part of the CLI: it prints)."""

from __future__ import annotations

import click

KINDS = ("lab", "scenario", "classroom", "lock", "bundle")


@click.command("schema")
@click.argument("kind", type=click.Choice(KINDS), metavar="KIND")
def schema(kind):
    """Print the JSON Schema (draft 2020-12) of a file format.

    \b
    KIND is one of:
      lab        lab files (labgen/labs/*.yml, your own)
      scenario   scenario files (scenarios/*.yml, your own)
      classroom  classroom.yml, written by `labgen classroom up`
      lock       labgen.lock, written by `labgen fetch`
      bundle     the manifest inside a .labgen bundle

    \b
    Editors with the YAML language server (VS Code's YAML extension, Neovim, Emacs,
    JetBrains) complete keys and underline errors as you type when a YAML file starts with
    a header naming the schema:
      labgen schema scenario > scenario.schema.json
      # yaml-language-server: $schema=./scenario.schema.json
    In a checkout, point at labgen/schemas/KIND.json by a relative path instead (the
    built-in labs and scenarios do). The schema checks structure only: run
    `labgen scenario show FILE` for the rules that need the lab.
    """
    from labgen import schemas

    click.echo(schemas.text(kind), nl=False)


COMMANDS = (schema,)
