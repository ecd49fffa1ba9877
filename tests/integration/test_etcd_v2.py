"""The etcd role's etcdctl commands run for real against Debian's etcd in v2 mode.

Three etcd 3.4 members (Debian's etcd-server) on 127.0.0.1 with ports the kernel picks, a
temporary data dir each, `--enable-v2`: the health check and wait of the etcd role exactly as
the Ubuntu 16.04 plan declares them (only the local client URL is swapped for the test's), and
a v2 write on one member read through `--peers` from another (the walkthrough's etcd step).
etcdctl 2.2.5 (xenial) cannot run here; the flags used are the ones it has (--peers/-C;
--endpoints came with 2.3), and etcdctl 3.4 must accept them too: that is what this proves.
No root, loopback only; every process is stopped at the end.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from labgen.labfile import find_lab, load_lab
from labgen.model import RoleUnavailable
from labgen.provision import engine
from labgen.provision.roles.etcd import etcdctl2, healthy_check

pytestmark = [pytest.mark.slow]

if not (shutil.which("etcd") and shutil.which("etcdctl")):
    pytest.skip("etcd/etcdctl are not installed (Debian packages etcd-server, etcd-client)", allow_module_level=True)

ROLE_URL = "http://127.0.0.1:2379"  # the local member, as the role's commands name it


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """[client URL of each member]: a three-member etcd 3.4 cluster with the v2 API on."""
    ports = free_ports(6)
    names = ["m1", "m2", "m3"]
    clients = [f"http://127.0.0.1:{p}" for p in ports[:3]]
    peers = [f"http://127.0.0.1:{p}" for p in ports[3:]]
    initial = ",".join(f"{n}={p}" for n, p in zip(names, peers))
    procs = []
    try:
        for name, client, peer in zip(names, clients, peers):
            data = tmp_path_factory.mktemp(f"etcd-{name}")
            procs.append(
                subprocess.Popen(
                    [
                        "etcd",
                        "--name",
                        name,
                        "--data-dir",
                        str(data),
                        "--enable-v2",
                        "--listen-client-urls",
                        client,
                        "--advertise-client-urls",
                        client,
                        "--listen-peer-urls",
                        peer,
                        "--initial-advertise-peer-urls",
                        peer,
                        "--initial-cluster",
                        initial,
                        "--initial-cluster-state",
                        "new",
                        "--initial-cluster-token",
                        "labgen-test",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=(data / "log").open("w"),
                )
            )
        yield clients
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture(scope="module")
def healthy(cluster):
    """The cluster once it answers as healthy (bounded wait, plain etcdctl: the role's own wait
    is what the first test proves, whichever test runs first)."""
    deadline = time.monotonic() + 60
    while sh(f"ETCDCTL_API=2 etcdctl --peers {cluster[0]} cluster-health", timeout=20).returncode != 0:
        assert time.monotonic() < deadline, "the etcd cluster was not healthy within 60 s"
        time.sleep(0.5)
    return cluster


def sh(command, timeout=240):
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=timeout)


def local(command, url):
    assert ROLE_URL in command
    return command.replace(ROLE_URL, url)


@pytest.fixture(scope="module")
def health_task():
    """The etcd role's last task on Ubuntu 16.04 (lab mesos-calico: three members)."""
    lab = load_lab(find_lab("mesos-calico"))
    tasks = engine.role_tasks(lab, lab.node("ubuntu-1"), "etcd", "ubuntu-16.04")
    assert not isinstance(tasks, RoleUnavailable)
    return lab, tasks[-1]


def test_the_roles_wait_and_check_pass_on_a_healthy_cluster(cluster, health_task):
    _lab, task = health_task
    start = time.monotonic()
    waited = sh(local(task.run[0], cluster[0]))  # waits until healthy (3 times in a row)
    assert waited.returncode == 0, waited.stderr
    print(f"cluster healthy after {time.monotonic() - start:.1f} s")
    checked = sh(local(task.check, cluster[0]))
    assert checked.returncode == 0, checked.stderr


def test_the_commands_output_is_what_the_check_reads(healthy):
    cluster = healthy
    health = sh(local(etcdctl2("cluster-health"), cluster[1]))
    assert health.returncode == 0 and "cluster is healthy" in health.stdout.splitlines(), health
    members = sh(local(etcdctl2("member list"), cluster[1]))
    assert members.stdout.count("clientURLs=http://") == 3, members.stdout
    assert sh(local(etcdctl2("ls /"), cluster[1])).returncode == 0


def test_a_v2_key_written_on_one_member_is_read_through_peers_on_another(healthy):
    """The walkthrough's etcd step: set on one member, `etcdctl --peers URL get` on another."""
    cluster = healthy
    put = sh(local(etcdctl2("set /labgen/walkthrough 'written on m2'"), cluster[1]))
    assert put.returncode == 0, put.stderr
    got = sh(f"ETCDCTL_API=2 etcdctl --peers {cluster[2]} get /labgen/walkthrough")
    assert got.returncode == 0 and got.stdout.strip() == "written on m2", got
    short = sh(f"ETCDCTL_API=2 etcdctl -C {cluster[0]} get /labgen/walkthrough")
    assert short.stdout.strip() == "written on m2", short


def test_the_check_fails_when_a_member_is_missing(healthy, health_task):
    """The check counts members: a lab with four etcd nodes is not healthy with three."""
    import dataclasses

    cluster = healthy
    lab, _task = health_task
    extra = dataclasses.replace(lab.nodes[0], name="ubuntu-4", ip=lab.nodes[0].ip)
    bigger = dataclasses.replace(lab, nodes=(*lab.nodes, extra))
    assert sh(local(healthy_check(lab), cluster[0])).returncode == 0
    assert sh(local(healthy_check(bigger), cluster[0])).returncode != 0
