"""docs/commands.md, generated from click's own help so the reference cannot drift from `--help`.

`make docs` writes it (`python -m labgen.cli.reference > docs/commands.md`);
tests/unit/test_commands_doc.py fails while the file differs from what this prints.
"""

from __future__ import annotations

import click

WIDTH = 100  # fixed, so the text does not depend on the terminal that runs `make docs`

HEAD = """\
# Command reference

Generated from `labgen --help` and each command's `--help` by `make docs`
(labgen/cli/reference.py); a unit test fails when this page and the help differ. Edit the
help texts in labgen/cli/, never this page.

Commands that act on a lab use the lab dir you are in (or a parent), or `--dir`. Errors are
one line each (`error: ...`), usually followed by `hint: ...`; `NO_COLOR=1` turns colour off.
"""


def _walk(cmd: click.Command, ctx: click.Context):
    yield cmd, ctx
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            yield from _walk(
                sub, click.Context(sub, info_name=name, parent=ctx, terminal_width=WIDTH, max_content_width=WIDTH)
            )


def commands_markdown() -> str:
    from labgen.cli import ALIASES, EXIT_CODES, HELP_OPTIONS, cli

    root = click.Context(
        cli, info_name="labgen", terminal_width=WIDTH, max_content_width=WIDTH, help_option_names=HELP_OPTIONS
    )
    out = [HEAD, "## Exit codes", "", "| code | meaning |", "|---|---|"]
    out += [f"| {code} | {text} |" for code, text in EXIT_CODES]
    out += ["", "## Aliases", ""]
    out += [f"- `labgen {alias}` is `labgen {name}`." for alias, name in ALIASES.items()]
    out.append("")
    entries = list(_walk(cli, root))
    out += ["## Commands", ""]
    for _cmd, ctx in entries:
        path = ctx.command_path
        out.append(f"- [`{path}`](#{_anchor(path)})")
    for cmd, ctx in entries:
        out += ["", f"## {ctx.command_path}", "", "```text", cmd.get_help(ctx).rstrip(), "```"]
    return "\n".join(out) + "\n"


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading: lowercase, spaces to hyphens, punctuation dropped."""
    return "".join(ch for ch in title.lower().replace(" ", "-") if ch.isalnum() or ch in "-_")


if __name__ == "__main__":
    click.echo(commands_markdown(), nl=False)
