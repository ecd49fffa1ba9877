"""Every YAML example in README.md and docs/*.md goes through labgen's own loaders, so none can
go stale again (issue 19: the README's scenario skeleton failed labgen's validation).

A block is a lab file (top-level `nodes:`), a scenario (top-level `steps:`) or a fragment of a
scenario's step list (starting `  - id:`), which is checked inside a minimal scenario whose
vars give a value to each {{ name }} it uses that a full scenario would define elsewhere.
Any other YAML block fails the test: classify it here when you add one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labgen import yamlsrc
from labgen.labfile import find_lab, load_lab, parse_lab
from labgen.scenario.load import check_against_lab, parse_scenario, scenario_lab
from labgen.scenario.template import is_builtin, variables_in

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```ya?ml\n(.*?)^```", re.M | re.S)


def blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 2
            found.append((f"{page.relative_to(REPO)}:{line}", match.group(1)))
    return found


EXAMPLES = blocks()


def test_the_docs_have_yaml_examples():
    assert len(EXAMPLES) >= 3, EXAMPLES


def fragment_as_scenario(text: str) -> str:
    names = sorted(n for n in variables_in(text) if not is_builtin(n) and not n.startswith("nodes."))
    values = ", ".join(f"{n}: x" for n in names)
    return (
        f"id: fragment\ntitle: A fragment\nsummary: A documented fragment.\nlab: mesos-calico\n"
        f"vars: {{{values}}}\nsteps:\n{text}"
    )


@pytest.mark.parametrize("where, text", EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_every_yaml_example_in_the_docs_is_valid(where, text):
    if re.search(r"^nodes:", text, re.M):
        lab = parse_lab(yamlsrc.load_text(text, where), where)
        assert lab.nodes
        return
    if re.search(r"^steps:", text, re.M):
        sc = parse_scenario(yamlsrc.load_text(text, where), where)
    elif text.startswith("  - id:"):
        sc = parse_scenario(yamlsrc.load_text(fragment_as_scenario(text), where), where)
    else:
        pytest.fail(f"{where}: a YAML example that is neither a lab, a scenario nor a step list")
    # as a run would: the lab it names, and every node and variable against that lab
    lab = scenario_lab(sc) if "/" in sc.lab else load_lab(find_lab(sc.lab))
    check_against_lab(sc, lab)
