"""`labgen graph LAB`: draw a lab's topology as SVG (part of the CLI: it prints and exits)."""

from __future__ import annotations

from pathlib import Path

import click

from labgen.cli.options import console, force_option, output_option, refuse_overwrite


@click.command("graph")
@click.argument("lab")
@output_option("Where to write the SVG ('-' for stdout). Default: ./<lab name>.svg", allow_dash=True)
@force_option
def graph(lab, output, force):
    """Draw a lab's topology as an SVG picture.

    Shows LAB's nodes with their addresses and roles, the lab network and the host. LAB is a
    built-in lab's name or a lab file. Graphviz lays it out (Debian/Ubuntu: apt-get install
    graphviz). Scenario handouts embed the same picture.

    \b
    labgen graph mesos-calico                 writes ./mesos-calico.svg
    labgen graph ./my-lab.yml -o - | less     to stdout
    """
    from labgen.errors import LabgenError
    from labgen.graph import lab_svg
    from labgen.labfile import find_lab, load_lab

    model = load_lab(find_lab(lab))
    svg = lab_svg(model)
    if output is not None and str(output) == "-":
        click.echo(svg, nl=False)
        return
    path = output or Path(f"{model.name}.svg")
    refuse_overwrite(path, force)
    try:
        path.write_text(svg, encoding="utf-8")
    except OSError as exc:
        raise LabgenError(f"cannot write {path}: {exc.strerror or exc}") from None
    console().print(f"topology of lab {model.name}: {path}", markup=False, highlight=False)


COMMANDS = (graph,)
