"""`labgen plan`: golden plans for mesos-calico, filters, and that it is the engine's plan.

Regenerate the golden files after an intended change with
    LABGEN_REGEN_GOLDEN=1 python -m pytest tests/unit/test_plan.py
and review the diff: it is every file and command a change to a role would alter.
"""

from __future__ import annotations


import pytest
from click.testing import CliRunner

from labgen.errors import InputError
from labgen.labfile import find_lab, load_lab
from labgen.model import RoleUnavailable
from labgen.plan import plan_text
from labgen.provision import engine
from tests.unit.golden import assert_golden


@pytest.fixture(scope="module")
def lab():
    return load_lab(find_lab("mesos-calico"))


@pytest.mark.parametrize("provider", ["virtualbox", "lxc"])
def test_golden_plan(lab, provider):
    assert_golden(plan_text(lab, provider), f"mesos-calico.plan.{provider}.txt")


def test_plan_shows_every_declared_file_and_command(lab):
    text = plan_text(lab, "virtualbox")
    for node in lab.nodes:
        for _role, tasks in engine.node_plan(lab, node, "ubuntu-16.04"):
            assert not isinstance(tasks, RoleUnavailable)
            for t in tasks:
                for f in t.files:
                    assert f"file {f.path} (mode {f.mode}" in text
                    for line in f.content.splitlines():
                        assert line in text
                for c in (t.check,) + t.run if t.check else t.run:
                    assert c in text


def test_lxc_plan_says_what_cannot_run(lab):
    text = plan_text(lab, "lxc")
    assert text.count("-- role calico: UNAVAILABLE on debian-12") == 3
    assert "-- role etcd: 4 task(s)" in text and "-- role zookeeper: 4 task(s)" in text
    assert text.count("-- role docker: 3 task(s)") == 3 and "install docker.io 20.10" in text
    assert "calico-node-v2.6.2.tar" in text


def test_filters(lab):
    text = plan_text(lab, "virtualbox", node="ubuntu-2", role="etcd")
    assert "== node ubuntu-2" in text and "== node ubuntu-1" not in text
    assert "-- role etcd" in text and "-- role base" not in text
    none = plan_text(lab, "virtualbox", node="ubuntu-2", role="marathon")
    assert "has no role marathon" in none


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"node": "ubuntu-9"}, ["ubuntu-9", "ubuntu-1"]),
        ({"role": "etcdd"}, ["etcdd", "zookeeper"]),
    ],
)
def test_bad_filters_name_the_choices(lab, kwargs, words):
    with pytest.raises(InputError) as err:
        plan_text(lab, "virtualbox", **kwargs)
    for w in words:
        assert w in err.value.message


def test_cli_plan_touches_nothing():
    from labgen.cli import cli

    res = CliRunner().invoke(
        cli, ["--provider", "lxc", "plan", "mesos-calico", "--node", "ubuntu-3", "--role", "zookeeper"]
    )
    assert res.exit_code == 0, res.output
    assert "/etc/zookeeper/conf/myid" in res.output and "      | 3" in res.output
    assert res.output == plan_text(load_lab(find_lab("mesos-calico")), "lxc", "ubuntu-3", "zookeeper")
