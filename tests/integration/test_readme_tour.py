"""The README's commands that need no lab, run as a user runs them (a real `labgen` process,
the built-in labs and scenarios, Graphviz's real `dot`): `list`, `render`, `graph`,
`scenario list/show/worksheet`, `schema`, and shell completion (the scripts the README tells users to
source, and the completion answer a shell then asks for). No root, no machine: seconds.

tests/unit/test_readme_commands.py fails when a documented command line is run by no
integration or browser test; these are the ones no lab test had a reason to run.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.runcli import labgen


def test_list_names_the_built_in_labs_and_scenarios():
    out = labgen("list", check=True).stdout
    assert "mesos-calico" in out and "mac-bug" in out and "walkthrough" in out, out


def test_render_prints_the_vagrantfile_for_each_provider(tmp_path):
    for provider in ("virtualbox", "libvirt", "lxc"):
        out = labgen("--provider", provider, "render", "mesos-calico", cwd=tmp_path, check=True).stdout
        assert 'Vagrant.configure("2")' in out and "192.168.56.101" in out, out[:400]  # demo lab, rendered only
        assert f'config.vm.provider "{provider}"' in out or f"provider :{provider}" in out, out
    assert list(tmp_path.iterdir()) == []  # render writes nothing


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed (make setup installs it)")
def test_graph_writes_the_topology_as_svg(tmp_path):
    res = labgen("graph", "mesos-calico", cwd=tmp_path, check=True)
    svg = tmp_path / "mesos-calico.svg"
    assert svg.exists(), res.stdout + res.stderr
    text = " ".join(t for t in ET.parse(svg).getroot().itertext())
    for node, ip in (("ubuntu-1", "192.168.56.101"), ("ubuntu-3", "192.168.56.103")):  # the demo lab's, drawn
        assert node in text and ip in text, text


def test_scenario_list_and_show_without_running():
    assert re.search(r"^\s*mac-bug\b", labgen("scenario", "list", check=True).stdout, re.M)
    out = " ".join(labgen("scenario", "show", "mac-bug", "--lang", "en", check=True).stdout.split())
    assert "break-mac" in out and "ee:ee:ee:ee:ee:ee" in out, out[:400]


def test_scenario_worksheet_in_chinese(tmp_path):
    res = labgen("scenario", "worksheet", "mac-bug", "--lang", "zh", cwd=tmp_path, check=True)
    written = sorted(tmp_path.rglob("*.html"))
    assert written, res.stdout + res.stderr
    html = written[0].read_text(encoding="utf-8")
    from labgen.scenario.load import find_scenario, load_scenario

    task = next(s for s in load_scenario(find_scenario("mac-bug")).variants["challenge"].steps if s.kind == "task")
    assert 'lang="zh' in html and task.title.get("zh") in html, html[:400]


def test_shell_completion_scripts_and_a_completion_answer():
    bash = labgen(env={"_LABGEN_COMPLETE": "bash_source"}, check=True).stdout
    assert "complete -o nosort -F _labgen_completion labgen" in bash, bash
    zsh = labgen(env={"_LABGEN_COMPLETE": "zsh_source"}, check=True).stdout
    assert "#compdef labgen" in zsh, zsh
    fish = labgen(env={"_LABGEN_COMPLETE": "fish_source"}, check=True).stdout
    assert "complete --no-files --command labgen" in fish, fish
    # what the bash script asks labgen when the user presses Tab after `labgen class`
    answer = labgen(
        env={"_LABGEN_COMPLETE": "bash_complete", "COMP_WORDS": "labgen class", "COMP_CWORD": "1"}, check=True
    ).stdout
    assert answer.split() == ["plain,classroom"], answer


def test_schema_prints_the_scenario_schema_that_accepts_the_built_in_scenario(tmp_path):
    import json

    import yaml

    out = labgen("schema", "scenario", cwd=tmp_path, check=True).stdout
    schema = json.loads(out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "labgen scenario file"
    macbug = yaml.safe_load((Path(__file__).resolve().parents[2] / "scenarios" / "mac-bug.yml").read_text())
    assert set(macbug) <= set(schema["properties"]), set(macbug) - set(schema["properties"])
