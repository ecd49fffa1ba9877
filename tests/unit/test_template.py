"""`{{ name }}` substitution: values reach the shell as one quoted word, whatever they hold."""

from __future__ import annotations

import ipaddress
import shlex
import subprocess

import pytest

from labgen.errors import LabgenError
from labgen.model import Lab, Node, Scenario, Text, Variant
from labgen.scenario.template import UndefinedVariable, node_values, substitute, variables_in

HOSTILE = [
    "; rm -rf /",
    "$(touch {canary})",
    "`touch {canary}`",
    'it\'s "quoted"',
    "line one\nline two; touch {canary}",
    "$HOME ${{PATH}} * ? [a] ~ & | > {canary}",
    "",
    "-n",
    "\\ backslash \\n",
    # no space in these: a value must be quoted whatever it holds, not only when it has blanks
    "$(touch${{IFS}}{canary})",
    "`touch${{IFS}}{canary}`",
    ";touch${{IFS}}{canary}",
    "&&touch${{IFS}}{canary}",
    "|tee${{IFS}}{canary}",
    ">{canary}",
    "$HOME",
    "*",
    "a'b",
    "\ttab",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_values_reach_the_shell_literally(tmp_path, template):
    canary = tmp_path / "canary"
    value = template.format(canary=canary)
    command = substitute("printf '%s' {{ v }}", {"v": value})
    done = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    assert done.stdout == value
    assert not canary.exists()


def test_echo_of_a_hostile_value(tmp_path):
    canary = tmp_path / "canary"
    value = f"a; touch {canary} `touch {canary}` $(touch {canary})"
    done = subprocess.run(
        ["sh", "-c", substitute("echo {{ v }}", {"v": value})], capture_output=True, text=True, timeout=10
    )
    assert done.stdout == value + "\n"
    assert not canary.exists()


def test_every_value_is_quoted_exactly_as_shlex_quote_does():
    for value in ("plain", "192.168.56.1", "$(reboot)", "a b", "", "it's"):
        assert substitute("x {{ v }} y", {"v": value}) == f"x {shlex.quote(value)} y"
    assert substitute("{{ n }}", {"n": 3}) == "3"  # non-strings are made strings first


def test_variables_in_and_spacing():
    text = "ip {{a}} {{  nodes.ubuntu-2.ip  }} {{ b_c }} {{.State.Pid}} {{ json . }}"
    assert variables_in(text) == {"a", "nodes.ubuntu-2.ip", "b_c"}
    assert (
        substitute(text, {"a": "1", "nodes.ubuntu-2.ip": "10.0.0.2", "b_c": "x y"})
        == "ip 1 10.0.0.2 'x y' {{.State.Pid}} {{ json . }}"
    )


def test_undefined_variable_names_it():
    with pytest.raises(UndefinedVariable) as info:
        substitute("echo {{ missing }}", {"other": "1"})
    assert isinstance(info.value, LabgenError) and isinstance(info.value, KeyError)
    assert str(info.value) == "variable {{ missing }} is not defined"
    assert info.value.name == "missing"
    assert info.value.hint == "defined here: other"


def _lab() -> Lab:
    nodes = tuple(Node(f"ubuntu-{i}", ipaddress.IPv4Address(f"192.168.56.{10 + i}"), ("base",), 512, 1) for i in (1, 2))
    return Lab(name="two", description="", network=ipaddress.IPv4Network("192.168.56.0/24"), boxes={}, nodes=nodes)


def test_node_values_order_later_wins():
    scenario = Scenario(
        id="s",
        title=Text("t", "t"),
        summary=Text("s", "s"),
        lab="two",
        variants={"default": Variant("default", (), ())},
        vars={"pool": "172.32.0.0/16", "x": "global"},
        node_vars={"ubuntu-2": {"x": "node", "wl_ip": "172.32.2.10"}},
    )
    values = node_values(scenario, _lab(), "ubuntu-2", {"wl_ip": "captured"})
    assert values == {
        "node": "ubuntu-2",
        "node_ip": "192.168.56.12",
        "lab_network": "192.168.56.0/24",
        "host_ip": "192.168.56.1",
        "nodes.ubuntu-1.ip": "192.168.56.11",
        "nodes.ubuntu-2.ip": "192.168.56.12",
        "pool": "172.32.0.0/16",
        "x": "node",
        "wl_ip": "captured",
    }
    assert node_values(scenario, _lab(), "ubuntu-1", {})["x"] == "global"
    with pytest.raises(LabgenError, match="node 'ubuntu-9' is not in lab two"):
        node_values(scenario, _lab(), "ubuntu-9", {})


def test_hints_name_what_is_defined_and_the_labs_nodes():
    with pytest.raises(UndefinedVariable) as info:
        substitute("{{ x }}", {"b": "1", "a": "2"})
    assert info.value.hint == "defined here: a, b"
    with pytest.raises(UndefinedVariable) as info:
        substitute("{{ x }}", {})
    assert info.value.hint is None
    scenario = Scenario(
        id="s",
        title=Text("t", "t"),
        summary=Text("s", "s"),
        lab="two",
        variants={"default": Variant("default", (), ())},
    )
    with pytest.raises(LabgenError) as info:
        node_values(scenario, _lab(), "ubuntu-9", {})
    assert info.value.hint == "its nodes: ubuntu-1, ubuntu-2"
    assert variables_in("") == set() and variables_in(None) == set()


# ---- addresses come from the lab, never from the scenario (a classroom seat has its own)


def _seat_of(lab_path, cidr):
    """The built-in lab moved to another network, as a classroom seat is."""
    from dataclasses import replace

    from labgen.labfile import load_lab

    lab = load_lab(lab_path)
    net = ipaddress.IPv4Network(cidr)
    nodes = tuple(
        replace(n, ip=net.network_address + (int(n.ip) - int(lab.network.network_address))) for n in lab.nodes
    )
    return replace(lab, network=net, nodes=nodes, instance="cr1-s03")


def test_vars_written_from_builtins_take_the_seats_addresses():
    from labgen.labfile import find_lab
    from labgen.scenario.load import find_scenario, load_scenario

    sc = load_scenario(find_scenario("mac-bug"))
    seat = _seat_of(find_lab("mesos-calico"), "192.168.83.0/24")
    values = node_values(sc, seat, "ubuntu-2", {})
    assert values["peer_ip"] == "192.168.83.103"
    assert values["host_ip"] == "192.168.83.1"
    assert node_values(sc, seat, "ubuntu-3", {})["peer_ip"] == "192.168.83.102"


def test_expectations_are_filled_in_and_regexes_escaped():
    from labgen.model import Expect
    from labgen.scenario.runner import check_expect
    from labgen.scenario.template import expand_expect

    exp = Expect(stdout_contains=("peer {{ node_ip }}",), stdout_matches=("etcd://{{ node_ip }}:2379",))
    filled = expand_expect(exp, {"node_ip": "10.56.3.101"})
    assert filled.stdout_contains == ("peer 10.56.3.101",)
    assert check_expect(filled, 0, "Cluster Store: etcd://10.56.3.101:2379 / peer 10.56.3.101", "") == []
    # the dots are literal: 10x56x3x101 must not match
    assert check_expect(filled, 0, "etcd://10x56x3x101:2379 peer 10.56.3.101", "")


def test_builtin_scenarios_hold_no_lab_address():
    from labgen.resources import resource

    for name in ("mac-bug.yml", "walkthrough.yml"):
        text = resource(f"scenarios/{name}").read_text(encoding="utf-8")
        for line in text.splitlines():
            if line.lstrip().startswith(("peer_ip", "- 'name=", "stdout_matches", "stdout_contains")):
                assert "192.168.56" not in line and "192\\.168" not in line, line
