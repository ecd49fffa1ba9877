"""The docker role for real on LXC: Debian's docker.io 20.10 in labgen's privileged nodes, with
the lab's etcd as its cluster store (WALKTHROUGH §3.3), through the CLI.

The smallest lab that proves it: two nodes with roles base, etcd, docker (a two-member etcd
cluster, so "every node" and "another node sees it" mean something), lab ub-docker on
192.168.68.0/24, its own test root. No registry is reachable: the container image is built on
the node from Debian's busybox-static package (`docker import`). The fixture destroys the lab
whatever happened.
"""

from __future__ import annotations

import re
import time

import pytest

from labgen import aptproxy
from tests.integration.lxcenv import DOCKER_ROOT, destroy_lab_dir, destroy_leftovers, labgen, lxc_skip_reason

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = lxc_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)

NODES = ("ub-1", "ub-2")
IPS = ("192.168.68.101", "192.168.68.102")
LAB = f"""\
name: ub-docker
description: docker.io with etcd as its cluster store on two LXC nodes (labgen's docker test)
network: {{cidr: 192.168.68.0/24}}
boxes: {{lxc: labgen/debian-12}}
defaults: {{memory: 1024, cpus: 1}}
nodes:
  - {{name: {NODES[0]}, ip: {IPS[0]}, roles: [base, etcd, docker]}}
  - {{name: {NODES[1]}, ip: {IPS[1]}, roles: [base, etcd, docker]}}
"""
IMAGE = "labgen/busybox:local"


@pytest.fixture(scope="module")
def lab_dir():
    destroy_leftovers(DOCKER_ROOT)  # what an interrupted earlier run left
    DOCKER_ROOT.mkdir(parents=True, exist_ok=True)
    path = DOCKER_ROOT / f"lab-{int(time.time())}"
    lab_file = DOCKER_ROOT / "ub-docker.yml"
    lab_file.write_text(LAB)
    started_proxy = not aptproxy.is_running()
    try:
        start = time.monotonic()
        res = labgen("--provider", "lxc", "create", str(lab_file), "--dir", str(path), timeout=1500)
        print(f"create (boot + provision base, etcd, docker): {time.monotonic() - start:.0f} s")
        assert res.returncode == 0, res.stdout + res.stderr
        yield path
    finally:
        destroy_lab_dir(path)
        lab_file.unlink(missing_ok=True)
        if started_proxy:  # only if no other lab uses it: a module beside this one may (make test's -n 2)
            aptproxy.stop_if_unused()


def run_on(lab_dir, nodes, command):
    return labgen("exec", nodes, "--sudo", "--dir", str(lab_dir), "--", command, check=True).stdout


def test_every_node_shows_its_etcd_member_as_cluster_store(lab_dir):
    out = run_on(lab_dir, "all", "docker info 2>/dev/null | grep -E 'Server Version|Cluster Store'")
    for node, ip in zip(NODES, IPS):
        assert re.search(rf"^{node}\s+│\s+Cluster Store: etcd://{re.escape(ip)}:2379$", out, re.M), out
        assert re.search(rf"^{node}\s+│\s+Server Version: 20\.10\.", out, re.M), out


def test_a_global_network_made_on_one_node_is_seen_on_the_other_through_etcd(lab_dir):
    """What the article needs the cluster store for: a network of global scope (its calico
    network) exists on every node, kept in etcd. Here with Docker's own overlay driver."""
    run_on(
        lab_dir,
        NODES[0],
        "docker network rm ub-global >/dev/null 2>&1 || true; docker network create -d overlay ub-global",
    )
    try:
        out = run_on(
            lab_dir,
            NODES[1],
            "docker network ls --filter name=ub-global "
            "--format '{{.Name}} {{.Driver}} {{.Scope}}'; "
            "ETCDCTL_API=2 etcdctl ls --recursive /docker/network/v1.0/overlay",
        )
        assert "ub-global overlay global" in out, out
        assert "/docker/network/v1.0/overlay/network/" in out, out
    finally:
        run_on(lab_dir, NODES[0], "docker network rm ub-global >/dev/null 2>&1 || true")


def ensure_image(lab_dir) -> None:
    """IMAGE on node 1, imported from Debian's busybox-static (no registry is reachable)."""
    build = (
        'set -e; d=$(mktemp -d); cd "$d"; apt-get download -q busybox-static >/dev/null; '
        "dpkg-deb -x busybox-static_*.deb x; mkdir -p root/bin; cp x/bin/busybox root/bin/; "
        f'tar -C root -c . | docker import - {IMAGE} >/dev/null; cd /; rm -rf "$d"'
    )
    run_on(lab_dir, NODES[0], f"docker image inspect {IMAGE} >/dev/null 2>&1 || {{ {build}; }}")


def test_a_container_runs_with_a_cpu_limit(lab_dir):
    """A locally built image runs, with --cpus: that needs the cpu cgroup, which the LXC
    block's `mount.auto = cgroup:mixed:force` provides."""
    ensure_image(lab_dir)
    out = run_on(lab_dir, NODES[0], f"docker run --rm --cpus 0.5 {IMAGE} /bin/busybox echo hello from busybox")
    assert "hello from busybox" in out, out


def test_the_saved_image_instructions_give_what_the_calico_role_loads_and_checks(lab_dir):
    """The artifact's instructions (skopeo into a docker-archive named by pins) make a file
    that `docker load` tags as the calico role's check expects. The source here is a local
    archive (quay.io is not reachable), so this proves the destination half only."""
    from labgen.provision import pins

    ensure_image(lab_dir)
    image = pins.CALICO_NODE_IMAGE
    art = pins.ARTIFACTS["calico-node-image"]
    dest = f"docker-archive:{art.filename}:{image}"
    assert f"skopeo copy docker://{image} {dest}" in art.description
    check = f"docker image inspect {image} >/dev/null 2>&1"  # the calico role's check
    out = run_on(
        lab_dir,
        NODES[0],
        (
            "set -e; command -v skopeo >/dev/null || DEBIAN_FRONTEND=noninteractive "
            "apt-get install -y -q --no-install-recommends skopeo >/dev/null; "
            f'd=$(mktemp -d); cd "$d"; docker save -o src.tar {IMAGE}; '
            f"skopeo copy -q docker-archive:src.tar {dest}; "
            f"docker rmi {image} >/dev/null 2>&1 || true; ! {check}; "
            f"docker load -i {art.filename}; {check} && echo loaded-as-calico-checks; "
            f'docker rmi {image} >/dev/null; cd /; rm -rf "$d"'
        ),
    )
    assert f"Loaded image: {image}" in out and "loaded-as-calico-checks" in out, out


def test_second_provision_changes_nothing(lab_dir):
    res = labgen("provision", "--dir", str(lab_dir), check=True)
    assert "already converged, nothing changed" in res.stdout, res.stdout
