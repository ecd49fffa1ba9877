"""Scenario files: a valid one becomes the right model; every broken one says exactly what
is wrong, where, and what was expected, all problems at once."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest

from labgen import yamlsrc
from labgen.errors import InputError
from labgen.model import Expect, Lab, Node, Scenario, Step, Text, Variant
from labgen.scenario.load import builtin_scenarios, check_against_lab, find_scenario, load_scenario, parse_scenario

DATA = Path(__file__).resolve().parent.parent / "data" / "scenarios"


def test_minimal_scenario_loads_to_the_model():
    scenario = load_scenario(DATA / "minimal.yml")
    assert scenario.id == "minimal"
    assert scenario.title == Text("Minimal", "最小")
    assert scenario.lab == "mesos-calico"
    assert scenario.source == DATA / "minimal.yml"
    assert scenario.vars == {} and scenario.node_vars == {}
    assert list(scenario.variants) == ["default"]
    default = scenario.variants["default"]
    assert default.requires_roles == () and default.summary is None
    assert default.steps == (
        Step(
            id="hello",
            kind="observe",
            title=Text("Say hello", "打招呼"),
            explain=None,
            nodes=("ubuntu-1",),
            run="echo hello",
        ),
    )


def test_every_feature_maps_to_the_model():
    scenario = load_scenario(DATA / "full.yml")
    assert scenario.vars == {"pool": "172.32.0.0/16", "count": "3"}
    assert scenario.node_vars == {"ubuntu-2": {"wl_ip": "172.32.2.10"}, "ubuntu-3": {"wl_ip": "172.32.3.10"}}
    default = scenario.variants["default"]
    assert default.requires_roles == ("base", "docker")
    intro, setup, look, brk = default.steps
    assert (intro.kind, intro.run, intro.nodes) == ("explain", None, ())
    assert intro.explain == Text("First we look.", "先看看。")
    assert (setup.nodes, setup.sudo, setup.timeout) == (("ubuntu-2", "ubuntu-3"), False, 30.0)
    assert look.expect == Expect(
        exit="any",
        stdout_contains=("link/ether",),
        stdout_not_contains=("DOWN", "NO-CARRIER"),
        stdout_matches=(r"mtu \d+",),
        stderr_matches=("^$",),
        retry=10.0,
    )
    assert look.capture == {"bad_mac": "link/ether ([0-9a-f:]{17})"}
    assert look.timeout == 60.0 and look.sudo is True
    assert brk.nodes == ("all",) and brk.expect == Expect(exit="nonzero", stderr_contains=("denied",))
    docker = scenario.variants["docker"]
    assert docker.requires_roles == ("docker",)
    assert docker.summary == Text("With docker", "用 docker")
    assert docker.steps[0].expect.exit == "3"


def test_bare_on_key_is_not_a_boolean():
    # YAML 1.1 reads a bare `on:` key as true; the loader gives it back its name.
    text = (DATA / "minimal.yml").read_text(encoding="utf-8")
    assert "\n    on: ubuntu-1\n" in text
    data = yamlsrc.load_text(text.replace("    on: ubuntu-1", '    "on": ubuntu-1'), "quoted.yml")
    assert parse_scenario(data, "quoted.yml").variants["default"].steps[0].nodes == ("ubuntu-1",)


PINNED = {
    "bad-capture-groups.yml": [
        " line 12: step one: capture none 'link/ether [0-9a-f:]+' has 0 groups; expected a regular expression with exactly one group, like 'ether ([0-9a-f:]+)'",
        " line 13: step one: capture two '(link)/ether ([0-9a-f:]+)' has 2 groups; expected a regular expression with exactly one group, like 'ether ([0-9a-f:]+)'",
        " line 15: step one: capture name '1bad' is not valid; expected a variable name: letters, digits and '_', starting with a letter or '_', and not a built-in (node, node_ip, lab_network, host_ip)",
        " line 16: step one: capture name 'node' is reserved for a built-in; expected a variable name: letters, digits and '_', starting with a letter or '_', and not a built-in (node, node_ip, lab_network, host_ip)",
    ],
    "bad-control-chars.yml": [
        " line 2: scenario: title.en contains the control character U+0007 at character 5; expected printable text (newline and tab are allowed; no control or bidi characters)",
        " line 5: vars: variable esc contains the control character U+001B at character 1; expected printable text (newline and tab are allowed; no control or bidi characters)",
        " line 9: step one: title.zh contains the control character U+0000 at character 1; expected printable text (newline and tab are allowed; no control or bidi characters)",
        " line 11: step one: run contains the control character U+000D at character 6; expected printable text (newline and tab are allowed; no control or bidi characters)",
    ],
    "bad-duplicate-ids.yml": [
        " line 11: step look: duplicate step id 'look' (first at line 6); expected step ids unique within the variant",
    ],
    "bad-exit.yml": [
        " line 11: step too-big: expect.exit is 256 (a number); expected 0, nonzero, any, or an exit status 0..255",
        " line 17: step word: expect.exit is 'zero' (a string); expected 0, nonzero, any, or an exit status 0..255",
        " line 23: step boolean: expect.exit is false (a boolean); expected 0, nonzero, any, or an exit status 0..255",
        " line 23: step boolean: expect.stdout_contains '' is empty; expected a non-empty string or a list of them",
    ],
    "bad-hostnames.yml": [
        " line 6: node_vars: node name 'ubuntu_2' is not valid; expected a node name: letters, digits and '-', not starting or ending with '-'",
        " line 7: node_vars: node name '-bad' is not valid; expected a node name: letters, digits and '-', not starting or ending with '-'",
        " line 13: step one: node name 'ubuntu-2' is listed twice; expected each node name once",
        " line 13: step one: on[1] 'ubuntu 3' is not a valid node name; expected a node name: letters, digits and '-', not starting or ending with '-'",
        " line 13: step one: on[3] 'ubuntu-3.lab' is not a valid node name; expected a node name: letters, digits and '-', not starting or ending with '-'",
    ],
    "bad-ids.yml": [
        " line 1: scenario: id 'Bad_IDs' is not valid; expected lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters, e.g. mac-bug",
        " line 4: scenario: lab 'Mesos Calico' is not valid; expected a built-in lab name (like mesos-calico) or a lab file path relative to this file (with a / or ending in .yml), e.g. mesos-calico",
        " line 6: step #1: id '-one' is not valid; expected lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters",
        " line 11: step #2: id is 7 (a number); expected lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters",
    ],
    "bad-kind.yml": [
        " line 7: step one: unknown kind 'brake' (did you mean 'break'?); expected one of setup, observe, break, fix, verify, explain, cleanup, task, question",
        " line 12: step two: unknown kind 3 (a number); expected one of setup, observe, break, fix, verify, explain, cleanup, task, question",
    ],
    "bad-missing-keys.yml": [
        " line 1: scenario: missing key 'summary'; expected non-empty text: a plain string in one language, or {en: ..., zh: ...} with either or both (a reader of the other language sees what exists), e.g. Look at the MAC",
        " line 1: scenario: missing key 'lab'; expected a built-in lab name (like mesos-calico) or a lab file path relative to this file (with a / or ending in .yml), e.g. mesos-calico",
        " line 4: step one: missing key 'kind'; expected one of setup, observe, break, fix, verify, explain, cleanup, task, question",
        " line 4: step one: missing key 'title'; expected non-empty text: a plain string in one language, or {en: ..., zh: ...} with either or both (a reader of the other language sees what exists), e.g. Look at the MAC",
    ],
    "bad-not-mapping.yml": [
        " line 1: scenario: the file holds a list; expected a mapping with keys id, title, summary, lab, steps",
    ],
    "bad-regex.yml": [
        " line 14: step one: expect.stdout_matches 'ether ([0-9a-f' is not a valid regular expression (unterminated character set at position 7); expected a Python regular expression",
        " line 15: step one: expect.stderr_matches '*oops' is not a valid regular expression (nothing to repeat at position 0); expected a Python regular expression",
        " line 16: step one: capture mac 'ether ([' is not a valid regular expression (unterminated character set at position 7); expected a Python regular expression",
    ],
    "bad-roles.yml": [
        " line 5: scenario: unknown role 'dokcer' (did you mean 'docker'?); expected one of base, etcd, zookeeper, docker, calico, calico-network, mesos-master, mesos-slave, marathon, marathon-app",
        " line 5: scenario: unknown role 5 (a number); expected one of base, etcd, zookeeper, docker, calico, calico-network, mesos-master, mesos-slave, marathon, marathon-app",
        " line 14: variant docker: requires.roles is 'docker' (a string); expected a list of role names, e.g. [base, docker]",
    ],
    "bad-run-on.yml": [
        " line 6: step no-run: missing key 'run'; expected a shell script: every step but an explain step has one",
        " line 9: step no-run: 'on' is given without 'run'; expected 'run' as well, or no 'on'",
        " line 13: step no-on: 'run' is given without 'on'; expected 'on' as well, or no 'run'",
        " line 17: step talk: 'expect' is given without 'run'; expected 'run' as well, or no 'expect'",
        " line 21: step talk-and-run: on[1] 'all' is allowed only alone (on: all); expected a node name; \"all\" stands alone (on: all)",
        ' line 26: step empty-run: on is an empty list; expected the node names to run on: a name, a list of names, or "all", e.g. ubuntu-1',
        " line 27: step empty-run: run '   ' is only white space; expected a shell script; {{ name }} is replaced by a variable's value (shell-quoted)",
    ],
    "bad-template-vars.yml": [
        " line 5: vars: variable name 'node' is reserved for a built-in; expected a variable name: letters, digits, '_', '.', '-', starting with a letter or '_', and not a built-in (node, node_ip, lab_network, host_ip, nodes.<name>.ip)",
        " line 14: step early: run uses {{ later }}, which is not defined; expected a var, a node_var of every node the step runs on, a built-in (node, node_ip, lab_network, host_ip, nodes.<name>.ip) or a capture of an earlier step on that node",
        " line 14: step early: run uses {{ pol }}, which is not defined (did you mean 'pool'?); expected a var, a node_var of every node the step runs on, a built-in (node, node_ip, lab_network, host_ip, nodes.<name>.ip) or a capture of an earlier step on that node",
        " line 14: step early: run uses {{ wl_ip }}, which is not defined for ubuntu-3; expected a var, a node_var of every node the step runs on, a built-in (node, node_ip, lab_network, host_ip, nodes.<name>.ip) or a capture of an earlier step on that node",
        " line 25: step use-on-3: run uses {{ mac }}, which is not defined for ubuntu-3; expected a var, a node_var of every node the step runs on, a built-in (node, node_ip, lab_network, host_ip, nodes.<name>.ip) or a capture of an earlier step on that node",
        " line 25: step use-on-3: run uses {{ wl_ip }}, which is not defined for ubuntu-3; expected a var, a node_var of every node the step runs on, a built-in (node, node_ip, lab_network, host_ip, nodes.<name>.ip) or a capture of an earlier step on that node",
        " line 30: step use-everywhere: run uses {{ nowhere }}, which is not defined; expected a var, a node_var of every node the step runs on, a built-in (node, node_ip, lab_network, host_ip, nodes.<name>.ip) or a capture of an earlier step on that node",
        " line 44: variant docker, step use-capture-of-default: run uses {{ mac }}, which is not defined; expected a var, a node_var of every node the step runs on, a built-in (node, node_ip, lab_network, host_ip, nodes.<name>.ip) or a capture of an earlier step on that node",
    ],
    "bad-text.yml": [
        " line 2: scenario: title is an empty mapping; expected non-empty text: a plain string in one language, or {en: ..., zh: ...} with either or both (a reader of the other language sees what exists), e.g. Look at the MAC",
        " line 3: scenario: summary.en '' is empty; expected non-empty text",
        " line 3: scenario: summary.zh '  ' is only white space; expected non-empty text",
        " line 9: step one: explain.en is a list; expected non-empty text",
    ],
    "bad-timeouts.yml": [
        " line 11: step negative: timeout -1 is too small; expected a number more than 0 and at most 3600 (seconds the command may take)",
        " line 12: step negative: expect.retry -5 is too small; expected a number from 0 to 600 (seconds to keep re-running the command until the expectation holds)",
        " line 18: step zero: timeout 0 is too small; expected a number more than 0 and at most 3600 (seconds the command may take)",
        " line 24: step absurd: timeout 86400 is too large; expected a number more than 0 and at most 3600 (seconds the command may take)",
        " line 25: step absurd: expect.retry 601 is too large; expected a number from 0 to 600 (seconds to keep re-running the command until the expectation holds)",
    ],
    "bad-types.yml": [
        " line 3: scenario: summary is 42 (a number); expected non-empty text: a plain string in one language, or {en: ..., zh: ...} with either or both (a reader of the other language sees what exists), e.g. Look at the MAC",
        " line 5: vars: variable pool is a list; expected a string or a number",
        " line 5: vars: variable on_off is true (a boolean); expected a string or a number",
        " line 6: scenario: node_vars is a list; expected variables with a value per node: node name to {variable: value}, e.g. {ubuntu-2: {wl_ip: 172.32.2.10}}",
        ' line 11: step one: on is 5 (a number); expected the node names to run on: a name, a list of names, or "all", e.g. ubuntu-1',
        " line 12: step one: sudo is 'yes' (a string); expected true or false",
        " line 14: step one: timeout is true (a boolean); expected a number more than 0 and at most 3600 (seconds the command may take)",
        " line 15: step one: expect.stdout_contains[1] is 3 (a number); expected non-empty text",
        " line 15: step one: expect.retry is '10' (a string); expected a number from 0 to 600 (seconds to keep re-running the command until the expectation holds)",
        " line 16: step one: capture is a list; expected variable name to a regular expression with exactly one group: later steps on the same node can use {{ name }}, e.g. {bad_mac: link/ether ([0-9a-f:]{17})}",
        " line 17: scenario: variants is a list; expected other paths through the scenario: variant name to {requires, summary, steps}",
    ],
    "bad-unknown-keys.yml": [
        " line 2: scenario: title has unknown language 'fr'; expected one of en, zh",
        " line 5: scenario: requires has unknown key 'role' (did you mean 'roles'?); expected one of roles",
        " line 6: scenario: unknown key 'varz' (did you mean 'vars'?); expected one of id, title, summary, lab, requires, vars, node_vars, steps, variants, normalise",
        " line 13: step one: unknown key 'tmeout' (did you mean 'timeout'?); expected one of id, kind, title, explain, on, sudo, run, timeout, expect, capture",
        " line 14: step one: expect has unknown key 'stdout_contain' (did you mean 'stdout_contains'?); expected one of exit, stdout_contains, stdout_not_contains, stdout_matches, stderr_contains, stderr_not_contains, stderr_matches, retry",
        " line 16: variant docker: missing key 'steps'; expected the variant's steps, in order; `use: ID` tells a step of the default path unchanged",
        " line 17: variant docker: unknown key 'step' (did you mean 'steps'?); expected one of requires, summary, steps",
    ],
    "bad-variants.yml": [
        " line 12: variants: variant name 'default' is the name of the steps at the top; expected a variant name: an id other than default (the steps at the top are the default)",
        " line 13: variant 'default': steps is an empty list; expected at least one step: the variant's steps, in order; `use: ID` tells a step of the default path unchanged",
        " line 14: variants: variant name 'Docker' is not valid; expected lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters",
        " line 14: variants: missing key 'steps'; expected the variant's steps, in order; `use: ID` tells a step of the default path unchanged",
        " line 15: variant no-steps: missing key 'steps'; expected the variant's steps, in order; `use: ID` tells a step of the default path unchanged",
        " line 18: variant empty-steps: steps is an empty list; expected at least one step: the variant's steps, in order; `use: ID` tells a step of the default path unchanged",
        " line 19: variant listy: the variant is a list; expected another path through the scenario: its steps (and optionally requires, summary)",
    ],
    "bad-yaml.yml": [
        " line 3: YAML syntax error: expected ',' or '}', but got '<scalar>'",
    ],
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_broken_scenario_messages(name):
    path = DATA / name
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.problems == [f"{path}{suffix}" for suffix in PINNED[name]]


def test_every_broken_file_is_pinned():
    assert sorted(p.name for p in DATA.glob("bad-*.yml")) == sorted(PINNED)


def test_all_problems_are_collected_across_the_file():
    # One file, problems at the top, in steps, in expect, in captures and in variants.
    with pytest.raises(InputError) as info:
        load_scenario(DATA / "bad-types.yml")
    problems = info.value.problems
    assert len(problems) == 11
    assert [int(p.split(" line ")[1].split(":")[0]) for p in problems] == sorted(
        int(p.split(" line ")[1].split(":")[0]) for p in problems
    )
    assert info.value.hint == "fix these in the scenario file and run again"


def test_file_larger_than_a_megabyte_is_refused(tmp_path):
    big = tmp_path / "big.yml"
    big.write_text("id: big\n# " + "x" * 1_000_001 + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(big)
    assert info.value.problems == [f"{big}: file is larger than 1000000 bytes"]


def test_missing_file():
    with pytest.raises(InputError, match="no such file"):
        load_scenario(DATA / "nope.yml")


def test_parse_scenario_without_lines_still_reports():
    with pytest.raises(InputError) as info:
        parse_scenario({"id": "x"}, "inline")
    assert info.value.problems[0] == (
        "inline: scenario: missing key 'title'; expected non-empty text: a plain string in one language, or "
        "{en: ..., zh: ...} with either or both (a reader of the other language sees what exists), e.g. Look at the MAC"
    )


# ---- against a lab


def _problems(text: str) -> list[str]:
    """What parse_scenario refuses in `text` (as t.yml), each problem up to its "; expected"."""
    with pytest.raises(InputError) as info:
        parse_scenario(yamlsrc.load_text(text, "t.yml"), "t.yml")
    return [p.split("; expected")[0] for p in info.value.problems]


def _lab(*names: str) -> Lab:
    nodes = tuple(
        Node(n, ipaddress.IPv4Address(f"192.168.56.{101 + i}"), ("base",), 512, 1) for i, n in enumerate(names)
    )
    return Lab(
        name="mesos-calico", description="", boxes={}, nodes=nodes, network=ipaddress.IPv4Network("192.168.56.0/24")
    )


def test_check_against_lab_accepts_matching_nodes():
    scenario = load_scenario(DATA / "full.yml")
    # break-mac runs on all and uses bad_mac, captured only on ubuntu-2
    with pytest.raises(InputError) as info:
        check_against_lab(scenario, _lab("ubuntu-2", "ubuntu-3"))
    source = DATA / "full.yml"
    assert info.value.problems == [
        f"{source} line 40: step break-mac: run uses {{{{ bad_mac }}}}, which is not defined for ubuntu-3 "
        "(the step runs on all nodes); expected a var, a node_var of every node the step runs on, "
        "a built-in (node, node_ip, lab_network, host_ip, nodes.<name>.ip) or a capture of an "
        "earlier step on that node",
    ]
    check_against_lab(load_scenario(DATA / "minimal.yml"), _lab("ubuntu-1"))


def test_check_against_lab_names_unknown_nodes_in_every_variant():
    scenario = load_scenario(DATA / "full.yml")
    with pytest.raises(InputError) as info:
        check_against_lab(scenario, _lab("ubuntu-1", "ubuntu-2"))
    source = DATA / "full.yml"
    expected = "expected a node of lab mesos-calico (ubuntu-1, ubuntu-2)"
    assert info.value.problems == [
        f"{source} line 9: node_vars: node 'ubuntu-3' is not in lab mesos-calico (did you mean "
        f"'ubuntu-2'?); {expected}",
        f"{source} line 18: step setup-workloads: on: node 'ubuntu-3' is not in lab mesos-calico "
        f"(did you mean 'ubuntu-2'?); {expected}",
        f"{source} line 27: step look: run uses {{{{ nodes.ubuntu-3.ip }}}}: node 'ubuntu-3' is not in "
        f"lab mesos-calico (did you mean 'ubuntu-2'?); {expected}",
        f"{source} line 40: step break-mac: run uses {{{{ bad_mac }}}}, which is not defined for ubuntu-1 "
        "(the step runs on all nodes); expected a var, a node_var of every node the step runs on, "
        "a built-in (node, node_ip, lab_network, host_ip, nodes.<name>.ip) or a capture of an "
        "earlier step on that node",
    ]
    assert info.value.hint == "lab mesos-calico has nodes ubuntu-1, ubuntu-2"


def test_check_against_lab_all_steps_need_node_vars_everywhere(tmp_path):
    path = tmp_path / "s.yml"
    path.write_text(
        "id: s\ntitle: {en: t, zh: t}\nsummary: {en: s, zh: s}\nlab: mesos-calico\n"
        "node_vars: {ubuntu-1: {ip2: 10.0.0.1}, ubuntu-2: {ip2: 10.0.0.2}}\n"
        "steps:\n"
        "  - {id: a, kind: observe, title: {en: a, zh: a}, 'on': all, run: 'echo {{ ip2 }}',"
        " capture: {out: '(.*)'}}\n"
        "  - {id: b, kind: observe, title: {en: b, zh: b}, 'on': all, run: 'echo {{ out }}'}\n"
        "variants:\n"
        "  v:\n"
        "    steps:\n"
        "      - {id: c, kind: observe, title: {en: c, zh: c}, 'on': [ubuntu-3], run: 'true'}\n",
        encoding="utf-8",
    )
    scenario = load_scenario(path)
    with pytest.raises(InputError) as info:  # the default variant is fine on two nodes
        check_against_lab(scenario, _lab("ubuntu-1", "ubuntu-2"))
    assert [p.split("; expected")[0] for p in info.value.problems] == [
        f"{path} line 12: variant v, step c: on: node 'ubuntu-3' is not in lab mesos-calico (did you mean 'ubuntu-2'?)",
    ]
    with pytest.raises(InputError) as info:  # on three, ubuntu-3 has no ip2
        check_against_lab(scenario, _lab("ubuntu-1", "ubuntu-2", "ubuntu-3"))
    assert [p.split("; expected")[0] for p in info.value.problems] == [
        f"{path} line 7: step a: run uses {{{{ ip2 }}}}, which is not defined for ubuntu-3 "
        "(the step runs on all nodes)",
    ]


def test_check_against_lab_reads_vars_expectations_and_every_variable_of_a_step(tmp_path):
    path = tmp_path / "s.yml"
    path.write_text(
        "id: s\ntitle: T\nsummary: S\nlab: mesos-calico\n"
        "vars: {peer: '{{ nodes.ubuntu-9.ip }}'}\n"
        "node_vars: {ubuntu-1: {zz: '1'}}\n"
        "steps:\n"
        "  - {id: one, kind: observe, title: O, 'on': all, run: 'echo {{ node }} {{ zz }}'}\n"
        "  - {id: two, kind: observe, title: W, 'on': all, run: 'echo {{ nodes.ubuntu-1.ip }} {{ zz }}'}\n"
        "  - id: three\n"
        "    kind: observe\n"
        "    title: E\n"
        "    'on': all\n"
        "    run: 'true'\n"
        "    expect: {stdout_contains: ['{{ zz }}', '{{ nodes.ubuntu-7.ip }}']}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        check_against_lab(load_scenario(path), _lab("ubuntu-1", "ubuntu-2", "ubuntu-3"))
    expected = "expected a node of lab mesos-calico (ubuntu-1, ubuntu-2, ubuntu-3)"
    undefined = "which is not defined for ubuntu-2, ubuntu-3 (the step runs on all nodes)"
    assert [p.split("; expected a var")[0] for p in info.value.problems] == [
        f"{path} line 5: vars: vars use {{{{ nodes.ubuntu-9.ip }}}}: node 'ubuntu-9' is not in lab mesos-calico "
        f"(did you mean 'ubuntu-3'?); {expected}",
        f"{path} line 8: step one: run uses {{{{ zz }}}}, {undefined}",
        f"{path} line 9: step two: run uses {{{{ zz }}}}, {undefined}",
        f"{path} line 15: step three: expect uses {{{{ nodes.ubuntu-7.ip }}}}: node 'ubuntu-7' is not in lab "
        f"mesos-calico (did you mean 'ubuntu-3'?); {expected}",
        f"{path} line 15: step three: expect uses {{{{ zz }}}}, {undefined}",
    ]


def test_check_against_lab_without_lines_says_the_steps_line_or_none():
    # A scenario built in code (or a step whose keys have no line) still gets every message.
    def step(sid: str, lines: dict) -> Step:
        return Step(sid, "observe", Text("t"), None, ("ubuntu-9",), "{{ nodes.ubuntu-8.ip }}", lines=lines)

    on_all = Step("c", "observe", Text("t"), None, ("all",), "{{ zz }}", lines={"step": 9})
    variant = Variant("default", (), (step("a", {"step": 7}), step("b", {}), on_all))
    scenario = Scenario(
        "s",
        Text("t"),
        Text("s"),
        "x",
        {"default": variant},
        vars={"p": "{{ nodes.ubuntu-6.ip }}"},
        node_vars={"ubuntu-7": {}, "ubuntu-1": {"zz": "1"}},
    )
    with pytest.raises(InputError) as info:
        check_against_lab(scenario, _lab("ubuntu-1", "ubuntu-2"))
    assert [p.split(" (did you mean")[0].split("; expected")[0] for p in info.value.problems] == [
        "scenario s: node_vars: node 'ubuntu-7' is not in lab mesos-calico",
        "scenario s: vars: vars use {{ nodes.ubuntu-6.ip }}: node 'ubuntu-6' is not in lab mesos-calico",
        "scenario s: step b: on: node 'ubuntu-9' is not in lab mesos-calico",
        "scenario s: step b: run uses {{ nodes.ubuntu-8.ip }}: node 'ubuntu-8' is not in lab mesos-calico",
        "scenario s line 7: step a: on: node 'ubuntu-9' is not in lab mesos-calico",
        "scenario s line 7: step a: run uses {{ nodes.ubuntu-8.ip }}: node 'ubuntu-8' is not in lab mesos-calico",
        "scenario s line 9: step c: run uses {{ zz }}, which is not defined for ubuntu-2 (the step runs on all nodes)",
    ]


# ---- finding scenarios


def test_find_scenario_by_path_and_unknown_id(tmp_path, monkeypatch):
    assert find_scenario(str(DATA / "minimal.yml")) == DATA / "minimal.yml"
    with pytest.raises(InputError) as info:
        find_scenario("no-such-scenario-here")
    assert info.value.problems[0].startswith("unknown scenario 'no-such-scenario-here'")
    assert info.value.hint.startswith("built-in scenarios: ")
    with pytest.raises(InputError, match="no such scenario file"):
        find_scenario(str(tmp_path / "missing.yml"))


def test_find_scenario_did_you_mean(tmp_path, monkeypatch):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "mac-bug.yml").write_text("id: mac-bug\n", encoding="utf-8")
    (folder / "other.yml").write_text("id: other\n", encoding="utf-8")
    monkeypatch.setattr("labgen.scenario.load._builtin_dir", lambda: folder)
    monkeypatch.chdir(tmp_path)
    assert builtin_scenarios() == [folder / "mac-bug.yml", folder / "other.yml"]
    assert find_scenario("mac-bug") == folder / "mac-bug.yml"
    with pytest.raises(InputError) as info:
        find_scenario("mac-bgu")
    assert info.value.problems == ["unknown scenario 'mac-bgu' (did you mean 'mac-bug'?)"]
    assert info.value.hint == ("built-in scenarios: mac-bug, other; or give the path of a scenario file")
    with pytest.raises(InputError):
        find_scenario("../scenarios/mac-bug")  # ids only; paths must exist


# ---- the scenarios that ship with labgen


@pytest.mark.parametrize("path", builtin_scenarios(), ids=lambda p: p.name)
def test_builtin_scenario_loads(path):
    scenario = load_scenario(path)
    assert scenario.id == path.stem  # find_scenario looks built-ins up by file name
    for variant in scenario.variants.values():
        for step in variant.steps:
            assert step.title.en and step.title.zh


def test_there_are_builtin_scenarios():
    assert any(p.stem == "mac-bug" for p in builtin_scenarios())


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200f", "\u2028", "\u2029"])
def test_bidi_and_control_characters_are_refused_with_file_and_line(tmp_path, char):
    # The lab files' policy (labgen.validate): a bidi override in a title would make the
    # handout read differently than the file does.
    path = tmp_path / "bidi.yml"
    path.write_text(
        "id: bidi\n"
        "lab: mesos-calico\n"
        f'title: {{en: "evil{char}txt", zh: 标题}}\n'
        "summary: {en: s, zh: s}\n"
        "steps:\n"
        "  - {id: one, kind: explain, title: {en: t, zh: t}, explain: {en: e, zh: e}}\n",
        encoding="utf-8",
    )
    clean = tmp_path / "clean.yml"
    clean.write_text(path.read_text(encoding="utf-8").replace(char, ""), encoding="utf-8")
    load_scenario(clean)  # the same file without it loads
    with pytest.raises(InputError) as info:
        load_scenario(path)
    code = f"U+{ord(char):04X}"
    assert info.value.problems == [
        f"{path} line 3: scenario: title.en contains the control character {code} "
        f"at character 5; expected printable text (newline and tab are allowed; no control or bidi characters)"
    ]


def test_numbers_the_schema_takes_become_the_models_types():
    text = (
        "id: n\ntitle: T\nsummary: S\nlab: mesos-calico\nvars: {count: 3, ratio: 1.5}\nsteps:\n"
        "  - {id: a, kind: observe, title: A, 'on': ubuntu-1, run: 'true', timeout: 5,\n"
        "     expect: {exit: 3.0, retry: 2}}\n"
    )
    scenario = parse_scenario(yamlsrc.load_text(text, "n.yml"), "n.yml")
    step = scenario.variants["default"].steps[0]
    assert (step.expect.exit, step.expect.retry, step.timeout) == ("3", 2.0, 5.0)
    assert scenario.vars == {"count": "3", "ratio": "1.5"}


def test_rules_between_fields_name_the_field_and_its_line():
    head = "id: r\ntitle: T\nsummary: S\nlab: mesos-calico\n"
    text = (
        head + "vars: {a: '{{ b }}'}\nnode_vars: {ubuntu-1: {c: 1, node_ip: x}}\nsteps:\n"
        "  - {id: q, kind: question, title: Q, goal: G, answers: ['{{ nope }}']}\n"
        "  - {use: q}\n"
    )
    with pytest.raises(InputError) as info:
        parse_scenario(yamlsrc.load_text(text, "r.yml"), "r.yml")
    assert [p.split("; expected")[0] for p in info.value.problems] == [
        "r.yml line 5: vars: variable a uses {{ b }}: a variable's value may only use built-ins",
        "r.yml line 6: node_vars ubuntu-1: variable name 'node_ip' is reserved for a built-in",
        "r.yml line 8: step q: answers use {{ nope }}, which is not defined (did you mean 'node'?)",
        "r.yml line 9: step #2: unknown key 'use'",
        "r.yml line 9: step #2: missing key 'id'",
        "r.yml line 9: step #2: missing key 'kind'",
        "r.yml line 9: step #2: missing key 'title'",
        "r.yml line 9: step #2: 'use' is only for variants",
    ]


# ---- the lab a scenario names (scenario_lab)

LAB_TEXT = (
    "name: own\nnetwork: {cidr: 192.168.56.0/24}\nboxes: {lxc: labgen/debian-12}\n"
    "nodes:\n  - {name: n1, ip: 192.168.56.11, roles: [base]}\n"
)
LAB_EXPECTED = (
    "expected a built-in lab name (like mesos-calico) or a lab file path relative to this file "
    "(with a / or ending in .yml)"
)


def _naming(tmp_path: Path, lab: str) -> Path:
    """A scenario file in tmp_path/sc whose `lab:` (line 4) is `lab`."""
    path = tmp_path / "sc" / "s.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        f"id: s\ntitle: T\nsummary: S\nlab: {lab}\nsteps:\n  - {{id: a, kind: explain, title: A, explain: E}}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("name", ["own.yml", "own.yaml", "labs/own", "labs/own.yml"])
def test_a_lab_file_is_found_beside_the_scenario_whatever_the_working_directory(tmp_path, monkeypatch, name):
    from labgen.scenario.load import scenario_lab

    path = _naming(tmp_path, name)
    (path.parent / name).parent.mkdir(exist_ok=True)
    (path.parent / name).write_text(LAB_TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # not the scenario's folder
    lab = scenario_lab(load_scenario(path))
    assert (lab.name, lab.source) == ("own", path.parent / name)


def test_a_builtin_lab_is_found_by_name(tmp_path):
    from labgen.scenario.load import scenario_lab

    assert scenario_lab(load_scenario(_naming(tmp_path, "mesos-calico"))).name == "mesos-calico"


@pytest.mark.parametrize("name", ["gone.yml", "gone.yaml", "labs/gone"])
def test_a_missing_lab_file_names_the_scenarios_line_and_the_file_looked_for(tmp_path, monkeypatch, name):
    from labgen.scenario.load import scenario_lab

    path = _naming(tmp_path, name)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        scenario_lab(load_scenario(path))
    assert info.value.problems == [
        f"{path} line 4: scenario: lab {name!r} does not exist (no file {path.parent / name}); {LAB_EXPECTED}"
    ]
    assert info.value.hint == "`labgen list` shows the built-in labs"


def test_a_lab_file_named_from_the_working_directory_is_still_taken(tmp_path, monkeypatch):
    # Not beside the scenario, but a file where the user stands: find_lab takes it as given.
    from labgen.scenario.load import scenario_lab

    path = _naming(tmp_path, "here.yml")
    (tmp_path / "here.yml").write_text(LAB_TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert scenario_lab(load_scenario(path)).name == "own"


def test_an_unknown_builtin_lab_says_so_at_the_scenarios_line(tmp_path):
    from labgen.scenario.load import scenario_lab

    unknown = (
        "scenario: lab 'mesos-calcio' is neither a file nor a built-in lab (did you mean 'mesos-calico'?); "
        "expected a path to a lab file or one of the built-in labs: mesos-calico"
    )
    path = _naming(tmp_path, "mesos-calcio")
    with pytest.raises(InputError) as info:
        scenario_lab(load_scenario(path))
    assert info.value.problems == [f"{path} line 4: {unknown}"]
    assert info.value.hint == "`labgen list` shows the built-in labs with their descriptions"
    steps = [{"id": "a", "kind": "explain", "title": "A", "explain": "E"}]
    inline = {"id": "s", "title": "T", "summary": "S", "lab": "mesos-calcio", "steps": steps}
    with pytest.raises(InputError) as info:  # no line known: the file alone
        scenario_lab(parse_scenario(inline, "inline.yml"))
    assert info.value.problems == [f"inline.yml: {unknown}"]
    with pytest.raises(InputError) as info:  # no file either: the scenario's id
        scenario_lab(parse_scenario({**inline, "lab": "x/y.yml"}))
    assert info.value.problems == [
        "scenario s: scenario: lab 'x/y.yml' is neither a file nor a built-in lab; "
        "expected a path to a lab file or one of the built-in labs: mesos-calico"
    ]


def test_rules_inside_tasks_checks_solutions_and_variants_name_where_they_stand():
    text = (
        "id: r\ntitle: T\nsummary: S\nlab: mesos-calico\n"
        "normalise:\n"
        "  - {match: '(', replace: x}\n"
        "steps:\n"
        "  - id: t\n"
        "    kind: task\n"
        "    title: T\n"
        "    goal: G {{ nope }}\n"
        "    hints: ['{{ nah }}']\n"
        "    check:\n"
        "      - run: 'true'\n"
        "        'on': ubuntu-1\n"
        "        expect: {stdout_matches: ['(']}\n"
        "        message: M {{ zilch }}\n"
        "    solution:\n"
        "      run: 'echo {{ gone }}'\n"
        "      'on': ubuntu-1\n"
        "  - {id: c, kind: observe, title: C, 'on': ubuntu-1, run: 'true', capture: {x: '(a)(b)'}}\n"
        "  - {use: t}\n"
        "variants:\n"
        "  v:\n"
        "    steps:\n"
        "      - {use: t}\n"
        "      - {use: q}\n"
    )
    with pytest.raises(InputError) as info:
        parse_scenario(yamlsrc.load_text(text, "t.yml"), "t.yml")
    undefined = "which is not defined"
    assert [p.split("; expected")[0] for p in info.value.problems] == [
        "t.yml line 6: normalise[0]: match '(' is not a valid regular expression (missing ), unterminated "
        "subpattern at position 0)",
        f"t.yml line 11: step t: goal uses {{{{ nope }}}}, {undefined} (did you mean 'node'?)",
        f"t.yml line 12: step t: hints[0] uses {{{{ nah }}}}, {undefined}",
        "t.yml line 16: step t, check[0]: expect.stdout_matches '(' is not a valid regular expression (missing ), "
        "unterminated subpattern at position 0)",
        f"t.yml line 17: step t: message uses {{{{ zilch }}}}, {undefined}",
        f"t.yml line 19: step t, solution: run uses {{{{ gone }}}}, {undefined}",
        "t.yml line 21: step c: capture x '(a)(b)' has 2 groups",
        "t.yml line 22: step #3: unknown key 'use'",
        "t.yml line 22: step #3: missing key 'id'",
        "t.yml line 22: step #3: missing key 'kind'",
        "t.yml line 22: step #3: missing key 'title'",
        "t.yml line 22: step #3: 'use' is only for variants",
        "t.yml line 27: variant v, step #2: use names 'q', which is not a step of the default path",
    ]
    assert info.value.problems[-1].endswith("; expected one of t, c")
    assert info.value.problems[-2].endswith("; expected the step written out in full")
    assert info.value.hint == "fix these in the scenario file and run again"


def test_a_scenario_without_a_file_is_named_as_such():
    with pytest.raises(InputError) as info:
        parse_scenario(yamlsrc.load_text("id: r\ntitle: T\nsummary: S\nlab: mesos-calico\nsteps: []\n", "x.yml"))
    assert info.value.problems == [
        "<scenario> line 5: scenario: steps is an empty list; expected at least one step: the default path's steps, "
        "in order"
    ]


@pytest.mark.parametrize("text", ["gone.yml", "gone.yaml", "dir/gone", "dir\\gone"])
def test_a_path_to_no_scenario_is_no_such_file(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        find_scenario(text)
    assert (info.value.problems, info.value.hint) == ([f"{text}: no such scenario file"], None)


def test_no_builtin_scenarios_installed(monkeypatch, tmp_path):
    monkeypatch.setattr("labgen.scenario.load._builtin_dir", lambda: None)
    monkeypatch.chdir(tmp_path)
    assert builtin_scenarios() == []
    with pytest.raises(InputError) as info:
        find_scenario("mac-bug")
    assert info.value.hint == "built-in scenarios: (none installed); or give the path of a scenario file"


def test_a_value_the_schema_refused_is_not_also_refused_for_its_characters():
    # one message per wrong value: an id that misses its pattern is not also "contains a control
    # character"; a tab is allowed in text, an escape is not
    text = 'id: "a\\e"\ntitle: T\nsummary: S\nlab: mesos-calico\nsteps:\n  - {id: a, kind: explain, title: "A\\tB\\e", explain: E}\n'
    assert _problems(text) == [
        "t.yml line 1: scenario: id 'a\\x1b' is not valid",
        "t.yml line 6: step a: title contains the control character U+001B at character 4",
    ]


def test_where_errors_inside_checks_solutions_variants_and_node_vars_are_named():
    text = (
        "id: r\ntitle: T\nsummary: S\nlab: mesos-calico\n"
        "node_vars: {ubuntu-1: 5}\n"
        "steps:\n"
        "  - just-text\n"
        "  - {id: t, kind: task, title: T, goal: G, check: 5, solution: {run: 5, 'on': ubuntu-1}}\n"
        "  - id: u\n"
        "    kind: task\n"
        "    title: U\n"
        "    goal: G\n"
        "    check:\n"
        "      - {run: 6, 'on': ubuntu-1, message: M}\n"
        "    solution: {run: 'true', 'on': ubuntu-1}\n"
        "variants:\n"
        "  v:\n"
        "    steps:\n"
        "      - {id: w, kind: observe, title: W, 'on': ubuntu-1, run: 7}\n"
    )
    found = _problems(text)
    assert "t.yml line 7: step #1: the step is 'just-text' (a string)" in found
    assert [p for p in found if "just-text" not in p] == [
        "t.yml line 5: node_vars: ubuntu-1 is 5 (a number)",
        "t.yml line 8: step t: check is 5 (a number)",
        "t.yml line 8: step t, solution: run is 5 (a number)",
        "t.yml line 14: step u, check[0]: run is 6 (a number)",
        "t.yml line 19: variant v, step w: run is 7 (a number)",
    ]


def test_a_tasks_checks_and_solution_are_steps_of_their_own():
    from labgen.scenario.load import runnable

    text = (
        "id: r\ntitle: T\nsummary: S\nlab: mesos-calico\nsteps:\n"
        "  - id: t\n"
        "    kind: task\n"
        "    title: T\n"
        "    goal: G\n"
        "    check:\n"
        "      - run: 'true'\n"
        "        'on': ubuntu-1\n"
        "        message: M\n"
        "    solution:\n"
        "      run: 'true'\n"
        "      'on': ubuntu-9\n"
    )
    scenario = parse_scenario(yamlsrc.load_text(text, "t.yml"), "t.yml")
    task = scenario.variants["default"].steps[0]
    check, solution = task.checks[0].step, task.solution
    assert (check.id, check.kind, check.title, check.lines) == (
        "t.check-1",
        "verify",
        Text("Check", "检查"),
        {"step": 11, "on": 12, "run": 11},
    )
    assert (solution.id, solution.kind, solution.title, solution.lines) == (
        "t.solution",
        "fix",
        Text("Solution", "参考解法"),
        {"step": 14, "on": 16, "run": 15},
    )
    assert task.lines == {"step": 6}
    hello = load_scenario(DATA / "minimal.yml").variants["default"].steps[0]
    assert hello.lines == {"step": 6, "on": 9, "run": 10}
    assert runnable(task) == (solution, check)
    assert runnable(replace(task, solution=None)) == (check,)
    with pytest.raises(InputError) as info:  # the solution runs on the lab too
        check_against_lab(scenario, _lab("ubuntu-1"))
    assert [p.split(" (did you")[0] for p in info.value.problems] == [
        "t.yml line 16: step t.solution: on: node 'ubuntu-9' is not in lab mesos-calico"
    ]


def test_builtin_scenarios_need_a_folder(monkeypatch, tmp_path):
    (tmp_path / "scenarios").write_text("not a folder", encoding="utf-8")
    monkeypatch.setattr("labgen.resources.resource", lambda name: tmp_path / name)
    from labgen.scenario.load import _builtin_dir

    assert _builtin_dir() is None and builtin_scenarios() == []


def test_the_scenario_keeps_where_its_keys_stand_and_its_normalise_rules():
    text = (
        "id: r\ntitle: T\nsummary: S\nlab: mesos-calico\n"
        "vars: {a: '1'}\n"
        "node_vars:\n  ubuntu-1: {b: '2'}\n"
        "normalise:\n  - {match: 'x+', replace: 'x'}\n"
        "steps:\n  - {id: q, kind: question, title: Q, goal: G, answers: [a]}\n"
        "  - {id: e, kind: explain, title: E, explain: E}\n"
    )
    scenario = parse_scenario(yamlsrc.load_text(text, "r.yml"), "r.yml")
    assert scenario.lines == {"lab": 4, "vars": 5, "node_vars": 6, "node_vars.ubuntu-1": 7}
    assert scenario.normalise == (("x+", "x"),)
    question = scenario.variants["default"].steps[0]
    assert question.lines == {"step": 11} and question.solution is None
    assert scenario.variants["default"].steps[1].lines == {"step": 12}


def test_malformed_parts_of_student_steps_are_messages_not_tracebacks():
    head = "id: r\ntitle: T\nsummary: S\nlab: mesos-calico\n"
    text = head + (
        "steps:\n"
        "  - {id: t, kind: task, title: T, goal: {en: G, zh: '目标 {{ nope }}'}, check: [5],"
        " solution: {run: 'true', 'on': ubuntu-1}}\n"
        "  - {id: q, kind: question, title: Q, goal: G, answers: 5}\n"
    )
    found = _problems(text)
    assert "t.yml line 6: step t: goal uses {{ nope }}, which is not defined (did you mean 'node'?)" in found
    assert "t.yml line 7: step q: answers is 5 (a number)" in found
    assert len(found) == 3  # and one for check[0]
    text = head + "steps:\n  - 5\nvariants:\n  v:\n    steps:\n      - {use: x}\n"
    with pytest.raises(InputError) as info:
        parse_scenario(yamlsrc.load_text(text, "t.yml"), "t.yml")
    assert info.value.problems[-1] == (
        "t.yml line 10: variant v, step #1: use names 'x', which is not a step of the default path; "
        "expected one of (none)"
    )


def test_one_language_mappings_a_match_that_is_no_string_and_an_expectations_variable():
    head = "id: r\ntitle: {zh: 标题}\nsummary: {en: S}\nlab: mesos-calico\n"
    scenario = parse_scenario(
        yamlsrc.load_text(head + "steps:\n  - {id: a, kind: explain, title: A, explain: E}\n", "t.yml"), "t.yml"
    )
    assert (scenario.title, scenario.summary) == (Text("", "标题"), Text("S", ""))
    text = head + (
        "normalise:\n  - {match: 5, replace: x}\nsteps:\n"
        "  - {id: a, kind: observe, title: A, 'on': ubuntu-1, run: 'true', expect: {stdout_contains: ['{{ nothere }}']}}\n"
    )
    assert _problems(text) == [
        "t.yml line 6: normalise[0]: match is 5 (a number)",
        "t.yml line 8: step a: expect uses {{ nothere }}, which is not defined",
    ]


def test_a_variants_step_ids_are_unique_whether_used_or_written_and_a_used_step_captures():
    text = (
        "id: r\ntitle: T\nsummary: S\nlab: mesos-calico\nsteps:\n"
        "  - {id: a, kind: observe, title: A, 'on': ubuntu-1, run: 'true', capture: {c: '(x)'}}\n"
        "  - id: b\n    kind: observe\n    title: B\n    'on': ubuntu-1\n    run: 'true'\n"
        "variants:\n  v:\n    steps:\n"
        "      - {use: a}\n"
        "      - {id: a, kind: observe, title: A2, 'on': ubuntu-1, run: 'echo {{ c }}'}\n"
        "      - kind: observe\n        id: b\n        title: B\n        'on': ubuntu-1\n        run: 'true'\n"
        "      - {use: b}\n"
    )
    assert _problems(text) == [
        "t.yml line 16: variant v, step a: duplicate step id 'a' (first at line 15)",
        "t.yml line 22: variant v, step #4: duplicate step id 'b' (first at line 18)",
    ]


def test_use_where_it_stands_a_use_of_no_name_and_nested_fields_of_checks_and_variants():
    text = (
        "id: r\ntitle: T\nsummary: S\nlab: mesos-calico\nsteps:\n"
        "  - {id: cc, kind: observe, title: A, 'on': ubuntu-1, run: 'true'}\n"
        "  - kind: observe\n    use: cc\n"
        "  - id: u\n    kind: task\n    title: U\n    goal: G\n    check:\n"
        "      - {run: 'true', 'on': ubuntu-1, message: M, expect: {exit: [1]}}\n"
        "    solution: {run: 'true', 'on': ubuntu-1, expect: {exit: [2]}}\n"
        "variants:\n  v:\n    steps:\n"
        "      - {use: c}\n"
        "      - {use: 5}\n"
        "      - {id: w, kind: observe, title: W, 'on': ubuntu-1, run: 'true', expect: {exit: [3]}}\n"
    )
    assert _problems(text) == [
        "t.yml line 7: step #2: missing key 'id'",
        "t.yml line 7: step #2: missing key 'title'",
        "t.yml line 8: step #2: unknown key 'use'",
        "t.yml line 8: step #2: 'use' is only for variants",
        "t.yml line 14: step u, check[0]: expect.exit is a list",
        "t.yml line 15: step u, solution: expect.exit is a list",
        "t.yml line 19: variant v, step #1: use names 'c', which is not a step of the default path (did you mean 'cc'?)",
        "t.yml line 20: variant v, step #2: use is 5 (a number)",
        "t.yml line 21: variant v, step w: expect.exit is a list",
    ]


def test_a_variable_missing_on_several_nodes_names_them_all():
    text = (
        "id: r\ntitle: T\nsummary: S\nlab: mesos-calico\nnode_vars: {ubuntu-3: {x: '1'}}\nsteps:\n"
        "  - {id: a, kind: observe, title: A, 'on': [ubuntu-1, ubuntu-2], run: 'echo {{ x }}'}\n"
    )
    with pytest.raises(InputError) as info:
        parse_scenario(yamlsrc.load_text(text, "t.yml"), "t.yml")
    assert info.value.problems[0].startswith(
        "t.yml line 7: step a: run uses {{ x }}, which is not defined for ubuntu-1, ubuntu-2; expected"
    )
