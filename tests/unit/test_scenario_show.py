"""`labgen scenario show FILE` (issue 19): checks the file against its lab as `scenario run`
would, with file:line problems; shows each step's expectations; never hard-wraps a command."""

from __future__ import annotations

from pathlib import Path

from labgen.cli.scenario import expectations
from labgen.scenario.load import load_scenario
from tests.runcli import labgen, labgen_sealed

REPO = Path(__file__).resolve().parents[2]
LONG = (
    "ip -d link show dev eth1 | grep -q 'addrgenmode eui64 numtxqueues 1 numrxqueues 1 "
    "gso_max_size 65536 gso_max_segs 65535' && echo permanent"
)
SCENARIO = f"""\
id: show-me
title: Show me
summary: What show checks.
lab: mesos-calico
steps:
  - id: look
    kind: observe
    title: Look
    "on": [ubuntu-1]
    run: {LONG}
    expect: {{stdout_contains: [permanent], stderr_not_contains: denied, retry: 5}}
    capture: {{mac: 'ether ([0-9a-f:]+)'}}
"""


def write(tmp_path: Path, text: str = SCENARIO) -> Path:
    path = tmp_path / "s.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_node_the_lab_does_not_have_is_refused_with_file_and_line(tmp_path):
    path = write(tmp_path, SCENARIO.replace("[ubuntu-1]", "[ubuntu-9]"))
    res = labgen_sealed("scenario", "show", str(path), cwd=tmp_path)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.splitlines()[0] == (
        f"error: {path} line 9: step look: on: node 'ubuntu-9' is not in lab mesos-calico "
        "(did you mean 'ubuntu-3'?); expected a node of lab mesos-calico (ubuntu-1, ubuntu-2, ubuntu-3)"
    )


def test_a_lab_file_that_does_not_exist_is_refused_with_file_and_line(tmp_path):
    path = write(tmp_path, SCENARIO.replace("lab: mesos-calico", "lab: ./nolab.yml"))
    res = labgen_sealed("scenario", "show", str(path), cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.splitlines()[0] == (
        f"error: {path} line 4: scenario: lab './nolab.yml' does not exist (no file "
        f"{tmp_path / 'nolab.yml'}); expected a built-in lab name (like mesos-calico) or a lab "
        "file path relative to this file (with a / or ending in .yml)"
    )
    path = write(tmp_path, SCENARIO.replace("lab: mesos-calico", "lab: mesos-calicoo"))
    res = labgen_sealed("scenario", "show", str(path), cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.startswith(
        f"error: {path} line 4: scenario: lab 'mesos-calicoo' is neither a file nor a built-in lab "
        "(did you mean 'mesos-calico'?)"
    )


def test_a_lab_file_relative_to_the_scenario_is_the_lab_it_is_checked_against(tmp_path):
    (tmp_path / "duo.yml").write_bytes((REPO / "tests/data/labs/duo.yml").read_bytes())
    path = write(tmp_path, SCENARIO.replace("lab: mesos-calico", "lab: ./duo.yml"))
    res = labgen_sealed("scenario", "show", str(path), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "lab duo: ubuntu-1, ubuntu-2" in res.stdout
    write(tmp_path, SCENARIO.replace("lab: mesos-calico", "lab: ./duo.yml").replace("ubuntu-1", "ubuntu-3"))
    res = labgen_sealed("scenario", "show", str(path), cwd=tmp_path)
    assert res.returncode == 2 and "line 9: step look: on: node 'ubuntu-3' is not in lab duo" in res.stderr


def test_commands_are_never_hard_wrapped_and_expectations_are_shown(tmp_path):
    path = write(tmp_path)
    res = labgen("scenario", "show", str(path), "--lang", "en", env={"COLUMNS": "60"}, check=True)
    lines = res.stdout.splitlines()
    assert LONG in lines  # one line, whole, although it is wider than 60
    after = lines[lines.index(LONG) + 1 :]
    assert after[:4] == [
        "  expect: exit status 0, run as root, within 60 s",
        "  expect: stdout contains 'permanent'",
        "  expect: stderr does not contain 'denied'",
        "  expect: retried for up to 5 s until it holds",
    ]
    assert after[4] == "  capture: {{ mac }} = first group of 'ether ([0-9a-f:]+)'"


def test_expectations_in_words():
    steps = load_scenario(REPO / "tests/data/scenarios/full.yml").variants["default"].steps
    setup, look, brk = steps[1], steps[2], steps[3]
    assert expectations(setup) == ["exit status 0, run as the login user, within 30 s"]
    assert expectations(look) == [
        "any exit status, run as root, within 60 s",
        "stdout contains 'link/ether'",
        "stdout does not contain 'DOWN'",
        "stdout does not contain 'NO-CARRIER'",
        "stdout matches 'mtu \\\\d+'",
        "stderr matches '^$'",
        "retried for up to 10 s until it holds",
    ]
    assert expectations(brk) == ["a non-zero exit status, run as root, within 60 s", "stderr contains 'denied'"]


def test_builtin_scenarios_show_in_both_languages():
    for sid in ("mac-bug", "walkthrough"):
        for lang in ("en", "zh"):
            res = labgen("scenario", "show", sid, "--lang", lang, check=True)
            assert "expect: " in res.stdout and "lab mesos-calico: ubuntu-1, ubuntu-2, ubuntu-3" in res.stdout
