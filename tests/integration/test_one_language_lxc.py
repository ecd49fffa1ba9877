"""A scenario written in English only, run for real in Chinese (issue 19): the steps run on a
real LXC node, the terminal and the handout show the English text and say once, in Chinese,
that parts are shown as written.

Its own 1-node lab fm-one on 192.168.174.0/24 (no roles: nothing to download), beside the
other test roots, destroyed at the end even after a failure.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.lxcenv import TEST_ROOT, destroy_lab_dir, destroy_leftovers, labgen, lxc_skip_reason

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = lxc_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)

ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-fm")
NOTE = "本场景有些内容只有英文，按原文显示。"
LAB = """\
# yaml-language-server: $schema=../../labgen/schemas/lab.json
name: fm-one
description: one node, no roles (tests/integration/test_one_language_lxc.py)
network: {cidr: 192.168.174.0/24}
boxes: {lxc: labgen/debian-12}
defaults: {memory: 256, cpus: 1}
nodes:
  - {name: n1, ip: 192.168.174.21, roles: []}
"""
SCENARIO = """\
id: english-only
title: Look at the lab link
summary: A scenario written in English only.
lab: ./fm-one.yml
steps:
  - id: look
    kind: observe
    title: The lab network's link
    explain: eth1 is the node's link on the lab network.
    "on": n1
    run: ip -br addr show dev eth1
    expect: {stdout_contains: 192.168.174.21}
  - id: tidy
    kind: cleanup
    title: Nothing to tidy
    "on": all
    run: "true"
"""


@pytest.fixture(scope="module")
def made():
    destroy_leftovers(ROOT)
    work = ROOT / f"one-{int(time.time())}"
    work.mkdir(parents=True)
    (work / "fm-one.yml").write_text(LAB, encoding="utf-8")
    (work / "english.yml").write_text(SCENARIO, encoding="utf-8")
    try:
        yield work
    finally:
        destroy_lab_dir(work / "lab")
        destroy_leftovers(ROOT)


def test_an_english_only_scenario_runs_in_chinese_and_says_so(made):
    show = labgen("scenario", "show", str(made / "english.yml"), "--lang", "zh", check=True)
    assert "lab fm-one: n1" in show.stdout and NOTE in show.stdout
    res = labgen(
        "--provider",
        "lxc",
        "scenario",
        "run",
        str(made / "english.yml"),
        "--lang",
        "zh",
        "--dir",
        str(made / "lab"),
        timeout=900,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Look at the lab link" in res.stdout and NOTE in res.stdout
    assert "192.168.174.21" in res.stdout  # the command really ran on the node
    html = next((made / "lab" / "transcripts").glob("english-only-*.html")).read_text(encoding="utf-8")
    md = next((made / "lab" / "transcripts").glob("english-only-*.md")).read_text(encoding="utf-8")
    assert f"<em>{NOTE}</em>" in html and "The lab network&#x27;s link" in html
    assert f"_{NOTE}_" in md
