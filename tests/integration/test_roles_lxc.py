"""The etcd and ZooKeeper roles really provisioned on three LXC nodes, through the CLI.

A lab of its own (name tests-roles-lxc, network 192.168.73.0/24, its own test root) so it can exist
beside test_lab_lxc.py's lab on 192.168.70.0/24 and the demo's on 192.168.56.0/24. Node 1 also asks for the roles
this Debian 12 box cannot run: they must be reported with the artifact message, not faked.
(The docker role runs on Debian 12: test_docker_lxc.py and test_lab_lxc.py provision it.)
The fixture destroys the lab whatever happened.
"""

from __future__ import annotations

import re
import time

import pytest
from pathlib import Path

from labgen import aptproxy
from tests.integration.lxcenv import ROLES_ROOT, destroy_lab_dir, destroy_leftovers, labgen, lxc_skip_reason

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = lxc_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)

NODES = ("node-1", "node-2", "node-3")
IPS = ("192.168.73.101", "192.168.73.102", "192.168.73.103")
LAB = f"""\
name: tests-roles-lxc
description: etcd and ZooKeeper on three LXC nodes (labgen's role integration test)
network: {{cidr: 192.168.73.0/24}}
boxes: {{lxc: labgen/debian-12}}
defaults: {{memory: 1024, cpus: 1}}
nodes:
  - {{name: node-1, ip: {IPS[0]}, roles: [base, etcd, zookeeper, calico, mesos-master]}}
  - {{name: node-2, ip: {IPS[1]}, roles: [base, etcd, zookeeper]}}
  - {{name: node-3, ip: {IPS[2]}, roles: [base, etcd, zookeeper]}}
"""


# The test's own ask, not the role's: netcat sometimes reads nothing from a server that answers
# (about 1 in 18 asks with `nc -w` on a healthy ensemble, measured 2026-12-05), so an empty answer
# is asked again; any real answer (a Mode, or "not currently serving") counts at once.
SRVR_MODE = (
    'for t in 1 2 3 4 5; do a=$(echo srvr | nc -q 2 -w 10 127.0.0.1 2181); [ -n "$a" ] && break; '
    "sleep 0.2; done; printf '%s\\n' \"$a\" | grep Mode:"
)


class LabPath(type(Path())):
    """The lab dir, carrying the fixture's first provisioning (result, seconds) and what each
    ZooKeeper server said the moment it returned."""

    first_provision = None
    zookeeper_at_return = None


@pytest.fixture(scope="module")
def lab_dir():
    destroy_leftovers(ROLES_ROOT)  # what an interrupted earlier run left
    ROLES_ROOT.mkdir(parents=True, exist_ok=True)
    path = LabPath(ROLES_ROOT / f"lab-{int(time.time())}")
    lab_file = ROLES_ROOT / "roles-lxc.yml"
    lab_file.write_text(LAB)
    started_proxy = not aptproxy.is_running()
    try:
        res = labgen("--provider", "lxc", "create", str(lab_file), "--dir", str(path), "--no-provision", timeout=600)
        assert res.returncode == 0, res.stdout + res.stderr
        # The nodes reach the Debian archive only through the host's apt proxy, which
        # `labgen create` must have started for an LXC lab.
        assert aptproxy.is_running(), "labgen create did not start the apt proxy"
        # The first provision belongs to the fixture: every test then starts from a
        # provisioned lab (no test relies on another having run first).
        start = time.monotonic()
        first = labgen("provision", "--dir", str(path), timeout=1500)
        path.first_provision = (first, time.monotonic() - start)
        # Asked at once, before any test gives the ensemble more time: the role promises every
        # member serves when provisioning returns (issue 14), not some seconds later.
        path.zookeeper_at_return = labgen("exec", "all", "--sudo", "--dir", str(path), "--", SRVR_MODE)
        yield path
    finally:
        destroy_lab_dir(path)
        lab_file.unlink(missing_ok=True)
        if started_proxy:  # only if no other lab uses it: a module beside this one may (make test's -n 2)
            aptproxy.stop_if_unused()


def exec_all(lab_dir, command, nodes="all"):
    return labgen("exec", nodes, "--sudo", "--dir", str(lab_dir), "--", command, check=True).stdout


def test_first_provision_converges(lab_dir):
    res, took = lab_dir.first_provision
    print(f"first provision: {took:.0f} s")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "task(s) changed" in res.stdout


def test_etcd_has_three_healthy_members_on_the_lab_network(lab_dir):
    out = exec_all(lab_dir, "ETCDCTL_API=2 etcdctl cluster-health; ETCDCTL_API=3 etcdctl member list")
    for node in NODES:
        assert re.search(rf"^{node}\s+│ cluster is healthy$", out, re.M), out
    for node, ip in zip(NODES, IPS):
        # v3 member list: id, status, name, peer URLs, client URLs
        assert re.search(rf"started, {node}, http://{re.escape(ip)}:2380, http://{re.escape(ip)}:2379", out), out
    assert out.count("got healthy result from http://192.168.73.") == 9, out
    v2 = exec_all(
        lab_dir, "ETCDCTL_API=2 etcdctl set /labgen/test ok && ETCDCTL_API=2 etcdctl get /labgen/test", nodes="node-2"
    )
    assert "ok" in v2


def test_zookeeper_has_one_leader_and_two_followers(lab_dir):
    # when provisioning returned, and still now
    at_return = lab_dir.zookeeper_at_return
    out = at_return.stdout + at_return.stderr
    assert sorted(re.findall(r"^node-\d\s+│ Mode: (\w+)$", out, re.M)) == ["follower", "follower", "leader"], out
    assert at_return.returncode == 0, out
    now = exec_all(lab_dir, SRVR_MODE)
    assert sorted(re.findall(r"^node-\d\s+│ Mode: (\w+)$", now, re.M)) == ["follower", "follower", "leader"], now


def test_roles_this_box_cannot_run_are_reported_with_the_artifact(lab_dir):
    res = labgen("provision", "--dir", str(lab_dir), check=True)
    out = re.sub(r"\s+", " ", res.stdout)
    assert "role calico:" in out and "calico-node-v2.6.2.tar" in out, res.stdout
    assert out.count("Calico 2.6 (calicoctl v1.6.3") == 1, res.stdout
    assert re.search(r"! role calico: not run on node-1", out), res.stdout
    assert "role mesos-master:" in out and "Mesos 1.5.0 is not in the Debian 12 archive" in out, res.stdout


def test_second_provision_changes_nothing(lab_dir):
    res = labgen("provision", "--dir", str(lab_dir), check=True)
    assert "already converged, nothing changed" in res.stdout, res.stdout


def test_plan_matches_what_ran(lab_dir):
    res = labgen(
        "--provider", "lxc", "plan", str(lab_dir / "lab.yml"), "--node", "node-2", "--role", "etcd", check=True
    )
    assert "ETCD_INITIAL_CLUSTER=node-1=http://192.168.73.101:2380" in res.stdout
    cfg = exec_all(lab_dir, "cat /etc/default/etcd", nodes="node-2")
    assert "ETCD_NAME=node-2" in cfg and "ETCD_ENABLE_V2=true" in cfg
