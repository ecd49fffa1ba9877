"""The lab topology picture: drawn by Graphviz from the lab model, labels escaped."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil

import pytest

from labgen.graph import lab_dot, lab_svg
from labgen.labfile import find_lab, load_lab
from labgen.model import Lab
from tests.runcli import labgen

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (apt-get install graphviz)"
)


def test_the_dot_source_names_every_node_address_network_and_role():
    lab = load_lab(find_lab("mesos-calico"))
    source = lab_dot(lab).source
    for node in lab.nodes:
        assert node.name in source and str(node.ip) in source
    assert "192.168.56.0/24" in source and "192.168.56.1" in source
    assert "mesos-master" in source and "calico-network" in source
    assert "pos=" not in source  # no hand-placed coordinates: Graphviz lays it out


@needs_dot
def test_svg_of_the_builtin_lab():
    svg = lab_svg(load_lab(find_lab("mesos-calico")))
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert {"ubuntu-1", "192.168.56.101", "192.168.56.0/24"} <= set(texts)


@needs_dot
def test_labels_from_a_strangers_file_are_escaped():
    # Lab files are validated, but the picture must not depend on it: build a hostile model.
    lab = load_lab(find_lab("mesos-calico"))
    evil = dataclasses.replace(lab.nodes[0], name='<script>alert(1)</script>&"', roles=("<b>x</b>",))
    lab = Lab(lab.name, lab.description, lab.network, lab.boxes, (evil,) + lab.nodes[1:])
    svg = lab_svg(lab)
    assert "<script" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg


@needs_dot
def test_graph_command_writes_svg_and_never_overwrites(tmp_path):
    res = labgen("graph", "mesos-calico", cwd=tmp_path, check=True)
    assert "mesos-calico.svg" in res.stdout
    assert (tmp_path / "mesos-calico.svg").read_text().startswith("<svg")
    again = labgen("graph", "mesos-calico", cwd=tmp_path)
    assert again.returncode != 0 and "exists" in again.stderr and "--force" in again.stderr
    out = labgen("graph", "mesos-calico", "-o", "-", cwd=tmp_path, check=True)
    assert out.stdout.startswith("<svg")
