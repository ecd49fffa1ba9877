"""A lab's topology as a picture: nodes (name, address, roles), the lab network and the host.

Graphviz lays it out (the `graphviz` Python binding writes the DOT, Debian's `dot` draws
it), so nothing here places coordinates by hand. Every label comes from a lab file, that is
from a stranger: it goes into Graphviz as an HTML-like label with each value html-escaped,
and Graphviz escapes again when it writes the SVG.
"""

from __future__ import annotations

import html
import re
import shutil

import graphviz

from labgen.errors import LabgenError
from labgen.model import Lab
from labgen.words import table

ROLES_PER_LINE = 3
WORDS = table("graph")  # labgen/words.py
NETWORK_COLOUR = "#1565c0"
NODE_FILL = "#f6f8fa"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _node_label(name: str, ip: str, roles: tuple[str, ...]) -> str:
    rows = [f"<TR><TD><B>{_e(name)}</B></TD></TR>", f'<TR><TD><FONT FACE="monospace">{_e(ip)}</FONT></TD></TR>']
    for i in range(0, len(roles), ROLES_PER_LINE):
        chunk = ", ".join(roles[i : i + ROLES_PER_LINE])
        rows.append(f'<TR><TD><FONT POINT-SIZE="10" COLOR="#555555">{_e(chunk)}</FONT></TD></TR>')
    return '<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">' + "".join(rows) + "</TABLE>>"


def lab_dot(lab: Lab, lang: str = "en"):
    """The lab as a `graphviz.Graph` (not yet laid out), its few fixed words in `lang`. Pure;
    needs the graphviz package."""
    w = WORDS["zh" if lang == "zh" else "en"]
    graph = graphviz.Graph(
        lab.name,
        graph_attr={
            "rankdir": "TB",
            "nodesep": "0.3",
            "ranksep": "0.45",
            "fontname": "sans-serif",
            "charset": "UTF-8",
            "bgcolor": "transparent",
            "pad": "0.1",
        },
        node_attr={"fontname": "sans-serif", "fontsize": "12"},
        edge_attr={"fontname": "monospace", "fontsize": "10"},
    )
    # Ids are ours (a colon would make Graphviz read a port); names only appear in labels.
    net = "network"
    graph.node(
        net,
        label=f'<<B>{_e(lab.network)}</B><BR/><FONT POINT-SIZE="10">{_e(w["network"])}</FONT>>',
        shape="box",
        style="rounded,filled",
        fillcolor="#e3f2fd",
        color=NETWORK_COLOUR,
    )
    graph.node(
        "host",
        label=_node_label(w["host"], f"{lab.host_ip}", (w["host_note"],)),
        shape="box",
        style="dashed,rounded",
        color="#757575",
    )
    graph.edge("host", net, color=NETWORK_COLOUR)
    with graph.subgraph(name="nodes", graph_attr={"rank": "same"}) as row:
        for i, node in enumerate(lab.nodes):
            row.node(
                f"node{i}",
                label=_node_label(node.name, str(node.ip), node.roles),
                shape="box",
                style="rounded,filled",
                fillcolor=NODE_FILL,
                color="#444444",
            )
    for i, _ in enumerate(lab.nodes):
        graph.edge(net, f"node{i}", color=NETWORK_COLOUR)
    return graph


def dot_available() -> bool:
    return shutil.which("dot") is not None


def lab_svg(lab: Lab, lang: str = "en") -> str:
    """The lab's topology as an SVG document (a string, starting at `<svg`).

    Runs Graphviz's `dot` (no other side effect). Raises LabgenError when the `dot` program
    is missing or fails.
    """
    if not dot_available():
        raise LabgenError(
            "Graphviz's dot program is not installed", hint="apt-get install graphviz (Debian/Ubuntu)", exit_code=3
        )
    try:
        svg = lab_dot(lab, lang).pipe(format="svg", encoding="utf-8")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError) as exc:
        raise LabgenError(f"Graphviz could not draw lab {lab.name}: {exc}", hint="check `dot -V`") from None
    # Drop the XML prolog and DOCTYPE so the SVG can sit inline in an HTML page.
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    # Comments carry node ids (names from the lab file): not needed in the picture.
    return re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
