"""Each role's declarations for the mesos-calico lab: the files and commands carry the right
addresses, values are quoted, and what cannot run on Debian 12 says why, with the artifact."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess

import pytest

from labgen.labfile import find_lab, load_lab
from labgen.model import RoleUnavailable
from labgen.provision import engine, pins
from labgen.provision.roles import IMPLEMENTED, ROLE_NAMES, zookeeper

XENIAL, BOOKWORM = "ubuntu-16.04", "debian-12"


@pytest.fixture(scope="module")
def lab():
    return load_lab(find_lab("mesos-calico"))


def tasks_of(lab, node, role, distro=XENIAL):
    result = engine.role_tasks(lab, lab.node(node), role, distro)
    assert not isinstance(result, RoleUnavailable), result
    return result


def files_of(tasks):
    return {f.path: f for t in tasks for f in t.files}


def commands_of(tasks):
    return [c for t in tasks for c in ((t.check,) if t.check else ()) + t.run]


def test_every_role_is_implemented():
    assert set(IMPLEMENTED) == set(ROLE_NAMES)


def shell_syntax_errors(commands) -> list[str]:
    """`sh -n` (the POSIX parser of the nodes' /bin/sh: dash on Debian) on each command; with
    shellcheck installed, its errors too. Returns "command: complaint" for each bad one."""
    import shutil
    import subprocess

    bad = []
    for command in commands:
        done = subprocess.run(["sh", "-n", "-c", command], capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            bad.append(f"{command!r}: {done.stderr.strip()}")
    if shutil.which("shellcheck"):
        for command in commands:
            done = subprocess.run(
                ["shellcheck", "-s", "sh", "-S", "error", "-"],
                input=command,
                capture_output=True,
                text=True,
                timeout=30,
            )
            if done.returncode != 0:
                bad.append(f"{command!r}: {done.stdout.strip()}")
    return bad


def test_the_shell_check_catches_bad_syntax():
    assert shell_syntax_errors(["echo ok", "test -e /x || touch /x"]) == []
    assert len(shell_syntax_errors(["echo 'unbalanced", "if true; then echo", "a && && b"])) >= 3


@pytest.mark.parametrize("distro", [XENIAL, BOOKWORM])
def test_every_command_is_valid_shell(lab, distro):
    commands = sorted(
        {
            c
            for node in lab.nodes
            for _role, tasks in engine.node_plan(lab, node, distro)
            if not isinstance(tasks, RoleUnavailable)
            for c in commands_of(tasks)
        }
    )
    assert len(commands) > 10
    assert shell_syntax_errors(commands) == []


def test_base_writes_the_apt_proxy_first_where_the_provider_runs_one(lab):
    from labgen.model import Facts
    from labgen.providers import get_provider

    facts = get_provider("lxc").facts(lab)
    assert facts == Facts("debian-12", "http://192.168.56.1:3142", default_route=True)
    first = tasks_of(lab, "ubuntu-2", "base", facts)[0]
    (f,) = first.files
    assert f.path == "/etc/apt/apt.conf.d/01labgen-proxy"
    assert 'Acquire::http::Proxy "http://192.168.56.1:3142";' in f.content
    assert 'Acquire::https::Proxy "http://192.168.56.1:3142";' in f.content


def test_base_removes_a_proxy_file_where_no_proxy_runs(lab):
    from labgen.providers import get_provider

    facts = get_provider("virtualbox").facts(lab)
    assert facts.apt_proxy is None
    first = tasks_of(lab, "ubuntu-2", "base", facts)[0]
    assert not first.files and first.name == "no apt proxy"
    assert first.check == "test ! -e /etc/apt/apt.conf.d/01labgen-proxy"
    assert first.run == ("rm -f /etc/apt/apt.conf.d/01labgen-proxy",)


# ---- etcd


@pytest.mark.parametrize("distro", [XENIAL, BOOKWORM])
def test_etcd_member_config(lab, distro):
    tasks = tasks_of(lab, "ubuntu-2", "etcd", distro)
    env = files_of(tasks)["/etc/default/etcd"].content
    assert "ETCD_NAME=ubuntu-2\n" in env
    assert "ETCD_LISTEN_PEER_URLS=http://192.168.56.102:2380\n" in env
    assert "ETCD_ADVERTISE_CLIENT_URLS=http://192.168.56.102:2379\n" in env
    assert (
        "ETCD_INITIAL_CLUSTER=ubuntu-1=http://192.168.56.101:2380,ubuntu-2=http://192.168.56.102:2380,"
        "ubuntu-3=http://192.168.56.103:2380\n"
    ) in env
    assert "https" not in env  # no TLS, as in the article
    assert ("ETCD_ENABLE_V2=true" in env) == (distro == BOOKWORM)  # etcd 2.2.5 is v2 only
    packages = " ".join(commands_of(tasks[:1]))
    assert ("etcd-server" in packages) == (distro == BOOKWORM)


def test_etcd_health_check_waits_bounded_and_counts_members(lab):
    health = tasks_of(lab, "ubuntu-1", "etcd")[-1]
    assert "-eq 3" in health.check and "cluster is healthy" in health.check
    (wait,) = health.run
    assert "+ 180" in wait and "exit 1" in wait
    from labgen.provision.roles.etcd import healthy_check

    assert healthy_check(lab) in wait and healthy_check(lab) in health.check
    assert "+ 30" in health.check  # the check itself tolerates a passing election blip
    restart = tasks_of(lab, "ubuntu-1", "etcd")[1]
    assert restart.check is None and "systemctl restart --no-block etcd" in restart.run


# ---- zookeeper


def test_zookeeper_myid_and_servers(lab):
    for i, node in enumerate(("ubuntu-1", "ubuntu-2", "ubuntu-3"), 1):
        files = files_of(tasks_of(lab, node, "zookeeper", BOOKWORM))
        assert files["/etc/zookeeper/conf/myid"].content == f"{i}\n"
        cfg = files["/etc/zookeeper/conf/zoo.cfg"].content
        for j in (1, 2, 3):
            assert f"server.{j}=192.168.56.10{j}:2888:3888\n" in cfg
        assert "4lw.commands.whitelist=srvr" in cfg and "admin.enableServer=false" in cfg
    check = tasks_of(lab, "ubuntu-1", "zookeeper")[-1].check
    assert "srvr" in check and "leader|follower" in check


def test_zookeeper_returns_only_once_every_member_serves_stably(lab):
    # issue 14: node-1's role passed on its own server's one-shot "follower", then the node fell
    # back to an election; the role now asks every member, for STEADY seconds on end
    serving = tasks_of(lab, "ubuntu-2", "zookeeper", BOOKWORM)[-1]
    for script in (serving.check, serving.run[0]):
        for ip in ("192.168.56.101", "192.168.56.102", "192.168.56.103"):
            assert f"echo @; {zookeeper.srvr(ip)}" in script
        assert "127.0.0.1" not in script and "awk -v n=3" in script
        assert f"-ge {round(zookeeper.STEADY * 1000)} ] && break" in script and f"sleep {zookeeper.POLL:g};" in script
    assert zookeeper.STEADY >= 2 and zookeeper.POLL <= 0.5  # at least 5 asks, none failing
    assert "+ 60" in serving.check
    assert "+ 300" in serving.run[0] and "printf '%s: ' 192.168.56.103" in serving.run[0]


SERVING = "Zookeeper version: 3.8.0\nZxid: 0x{zxid}\nMode: {mode}\nNode count: 5\n"
NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"


@pytest.mark.parametrize(
    "answers, passes",
    [
        ([("leader", "200000000"), ("follower", "200000000"), ("follower", "200000003")], True),
        ([("follower", "0"), ("leader", "100000000"), ("follower", "100000000")], True),  # seen: a follower at 0x0
        ([("leader", "200000000"), ("follower", "200000000"), None], False),  # one not serving
        ([("leader", "200000000"), ("follower", "200000000"), ("leader", "200000000")], False),  # two leaders
        ([("follower", "200000000"), ("follower", "200000000"), ("follower", "200000000")], False),  # none
        ([("leader", "200000000"), ("follower", "200000000"), ("standalone", "0")], False),  # old config
    ],
)
def test_zookeeper_ensemble_check_wants_every_member_serving_under_one_leader(lab, tmp_path, answers, passes):
    texts = [SERVING.format(mode=a[0], zxid=a[1]) if a else NOT_SERVING for a in answers]
    env = _fake_nc(tmp_path, texts)
    res = subprocess.run(["sh", "-c", zookeeper.ensemble_check(lab)], env=env, timeout=30)
    assert (res.returncode == 0) is passes
    assert len((tmp_path / "calls").read_text().splitlines()) == 3  # each member asked once


def _fake_nc(tmp_path, answers: list[str]) -> dict:
    """A `nc` on PATH that gives answers[i] on its i-th call (the last one after that) and
    counts its calls in tmp_path/calls; returns the environment to run sh in."""
    for i, answer in enumerate(answers):
        (tmp_path / f"answer{i}").write_text(answer)
    nc = tmp_path / "nc"
    nc.write_text(f"""#!/bin/sh
cat > /dev/null
echo x >> {tmp_path}/calls
n=$(wc -l < {tmp_path}/calls)
f={tmp_path}/answer$((n - 1)); [ -f "$f" ] || f={tmp_path}/answer{len(answers) - 1}
cat "$f"
""")
    nc.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize(
    "answers, passes, calls",
    [
        (["", "", "Zookeeper version: 3.8.0\nMode: follower\n"], True, 3),  # netcat read nothing twice
        (["This ZooKeeper instance is not currently serving requests\n"], False, 1),  # real: at once
        ([""], False, 5),  # nothing, 5 times
    ],
)
def test_zookeeper_srvr_asks_again_only_when_netcat_read_nothing(tmp_path, answers, passes, calls):
    env = _fake_nc(tmp_path, answers)
    res = subprocess.run(["sh", "-c", zookeeper.mode_check("192.168.56.101")], env=env, timeout=30)
    assert (res.returncode == 0) is passes
    assert len((tmp_path / "calls").read_text().splitlines()) == calls


def test_zookeeper_report_names_each_members_mode_and_epoch(lab, tmp_path):
    env = _fake_nc(
        tmp_path,
        [
            SERVING.format(mode="leader", zxid="300000000"),
            NOT_SERVING,
            SERVING.format(mode="follower", zxid="200000004"),
        ],
    )
    res = subprocess.run(
        ["sh", "-c", zookeeper.ensemble_report(lab)], env=env, capture_output=True, text=True, timeout=30
    )
    assert res.stdout.splitlines() == [
        "192.168.56.101: Zxid: 0x300000000 Mode: leader ",
        "192.168.56.102: not serving",
        "192.168.56.103: Zxid: 0x200000004 Mode: follower ",
    ]


# ---- docker


def test_docker_installs_the_pinned_deb_and_sets_the_cluster_store(lab):
    tasks = tasks_of(lab, "ubuntu-3", "docker")
    assert tasks[0].artifacts == ("docker-ce-18.03.1",)
    assert "'18.03.1~ce-0~ubuntu'" in tasks[0].check
    assert any("'/var/cache/labgen/docker-ce_18.03.1~ce-0~ubuntu_amd64.deb'" in c for c in tasks[0].run)
    daemon = json.loads(files_of(tasks)["/etc/docker/daemon.json"].content)
    assert daemon == {"cluster-store": "etcd://192.168.56.103:2379"}


def test_docker_on_debian_is_docker_io_20_10_with_the_same_cluster_store(lab):
    tasks = tasks_of(lab, "ubuntu-2", "docker", BOOKWORM)
    install = tasks[0]
    assert install.artifacts == () and "docker.io" in install.name and "20.10" in install.name
    assert "dpkg-query -W -f='${Version}' docker.io" in install.check and "'^20[.]10'" in install.check
    assert "install -y --no-install-recommends docker.io" in install.run[0]
    daemon = json.loads(files_of(tasks)["/etc/docker/daemon.json"].content)
    assert daemon == {"cluster-store": "etcd://192.168.56.102:2379"}
    assert "'Cluster Store: etcd://192.168.56.102:2379'" in tasks[-1].check


def test_docker_version_is_a_lab_param(lab):
    fixed = dataclasses.replace(lab, params={**lab.params, "docker_version": "18.06.0"})
    tasks = tasks_of(fixed, "ubuntu-1", "docker")
    assert tasks[0].artifacts == ("docker-ce-18.06.0",)
    unknown = dataclasses.replace(lab, params={**lab.params, "docker_version": "17.12.1"})
    res = engine.role_tasks(unknown, lab.node("ubuntu-1"), "docker", XENIAL)
    assert isinstance(res, RoleUnavailable) and "17.12.1" in res.reason and "18.06.0" in res.reason


# ---- calico


def test_calico_files_follow_the_article(lab):
    tasks = tasks_of(lab, "ubuntu-2", "calico")
    files = files_of(tasks)
    cfg = files["/etc/calico/calicoctl.cfg"].content
    assert "kind: calicoApiConfig" in cfg and 'datastoreType: "etcdv2"' in cfg
    assert ('etcdEndpoints: "http://192.168.56.101:2379,http://192.168.56.102:2379,http://192.168.56.103:2379"') in cfg
    env = files["/etc/calico/calico.env"].content
    assert 'CALICO_IP="192.168.56.102"' in env and "CALICO_NETWORKING_BACKEND=bird" in env
    assert "CALICO_LIBNETWORK_ENABLED=true" in env and "ETCD_AUTHORITY=localhost:2379" in env
    unit = files["/etc/systemd/system/calico-node.service"].content
    assert "docker run --net=host --privileged" in unit and "--name=calico-node" in unit
    assert unit.count(" -v ") == 6 and "quay.io/calico/node:v2.6.2" in unit
    assert "Restart=on-failure" in unit and "EnvironmentFile=/etc/calico/calico.env" in unit
    assert [t.artifacts for t in tasks if t.artifacts] == [("calicoctl",), ("calico-node-image",)]
    assert "calicoctl node status" in tasks[-1].check


def test_calico_network_pool_and_docker_network(lab):
    tasks = tasks_of(lab, "ubuntu-1", "calico-network")
    manifest = files_of(tasks)["/etc/calico/labgen-pool.yaml"].content
    assert "kind: ipPool" in manifest and "cidr: 172.32.0.0/16" in manifest
    create = [c for c in commands_of(tasks) if "docker network create" in c]
    assert create == [
        "docker network create --driver calico --ipam-driver calico-ipam --subnet=172.32.0.0/16 calico-test"
    ]


def test_calico_network_quotes_the_pool(lab):
    odd = dataclasses.replace(lab, params={**lab.params, "calico_pool": "10.9.0.0/16; rm -rf /"})
    for command in commands_of(tasks_of(odd, "ubuntu-1", "calico-network")):
        assert "; rm -rf /" not in command.replace("'10.9.0.0/16; rm -rf /'", "")


# ---- mesos, marathon, the app


def test_mesos_master_config(lab):
    tasks = tasks_of(lab, "ubuntu-1", "mesos-master")
    files = files_of(tasks)
    assert files["/etc/mesos/zk"].content == "zk://192.168.56.101:2181/mesos\n"
    assert files["/etc/mesos-master/ip"].content == "192.168.56.101\n"
    assert files["/etc/mesos-master/quorum"].content == "1\n"
    assert files["/etc/mesos-master/work_dir"].content == "/var/lib/mesos\n"
    assert files["/etc/mesos-master/cluster"].content == "mesos-calico\n"
    assert tasks[0].artifacts == ("mesos-deb",)
    assert "/var/cache/labgen/mesos_1.5.0-2.0.1.ubuntu1604_amd64.deb" in tasks[0].run[0]
    assert "repos.mesosphere.com" not in "".join(commands_of(tasks))  # the repository is gone
    assert "-ge 2" in tasks[-1].check and "/master/slaves" in tasks[-1].check
    assert any("systemctl disable mesos-slave" in c for c in commands_of(tasks))


def test_mesos_slave_config(lab):
    tasks = tasks_of(lab, "ubuntu-3", "mesos-slave")
    files = files_of(tasks)
    assert files["/etc/mesos-slave/containerizers"].content == "docker,mesos\n"
    assert files["/etc/mesos-slave/ip"].content == "192.168.56.103\n"
    assert files["/etc/mesos/zk"].content == "zk://192.168.56.101:2181/mesos\n"
    assert any("systemctl disable mesos-master" in c for c in commands_of(tasks))


def test_marathon_config(lab):
    tasks = tasks_of(lab, "ubuntu-1", "marathon")
    unit = files_of(tasks)["/etc/systemd/system/marathon.service"].content
    assert (
        "ExecStart=/opt/marathon-1.5.6/bin/marathon --master zk://192.168.56.101:2181/mesos "
        "--zk zk://192.168.56.101:2181,192.168.56.102:2181,192.168.56.103:2181/marathon "
        "--hostname 192.168.56.101 --http_port 8080\n"
    ) in unit
    assert [t.artifacts for t in tasks if t.artifacts] == [("mesos-deb",), ("marathon-tarball",)]


def test_marathon_app_is_the_articles(lab):
    tasks = tasks_of(lab, "ubuntu-1", "marathon-app")
    app = json.loads(files_of(tasks)["/etc/marathon/apps/my-docker-task.json"].content)
    assert app["id"] == "my-docker-task" and app["cpus"] == 0.1 and app["mem"] == 64
    assert app["container"]["type"] == "DOCKER" and app["container"]["docker"]["network"] == "USER"
    assert app["container"]["docker"]["image"].startswith("nginx:")
    assert app["ipAddress"] == {"networkName": "calico-test"}
    assert tasks[-1].check.endswith(" 172.32.0.0/16") and "TASK_RUNNING" in tasks[-1].check


# ---- Debian 12: real for etcd and ZooKeeper, explained for the rest


@pytest.mark.parametrize("role", ["base", "etcd", "zookeeper", "docker"])
def test_runs_on_debian(lab, role):
    assert tasks_of(lab, "ubuntu-1", role, BOOKWORM)


@pytest.mark.parametrize(
    "role, words",
    [
        (
            "calico",
            [
                "Calico 2.6",
                "Debian 12's docker.io 20.10",
                "--privileged",
                "calicoctl-v1.6.3",
                "calico-node-v2.6.2.tar",
                "skopeo copy",
                "--artifacts DIR",
            ],
        ),
        ("calico-network", ["needs the calico role", "--artifacts DIR"]),
        (
            "mesos-master",
            [
                "Mesos 1.5.0 is not in the Debian 12 archive",
                "repos.mesosphere.com",
                "mesos_1.5.0-2.0.1.ubuntu1604_amd64.deb",
                "labgen.lock",
                "--artifacts DIR",
            ],
        ),
        ("marathon", ["Marathon 1.5.6 is not in the Debian 12 archive", "--artifacts DIR"]),
        ("marathon-app", ["Marathon 1.5.6", "--artifacts DIR"]),
    ],
)
def test_unavailable_on_debian_with_the_artifact(lab, role, words):
    res = engine.role_tasks(lab, lab.node("ubuntu-1"), role, BOOKWORM)
    assert isinstance(res, RoleUnavailable)
    for w in words:
        assert w in res.reason


def test_mesos_slave_unavailable_on_debian(lab):
    res = engine.role_tasks(lab, lab.node("ubuntu-2"), "mesos-slave", BOOKWORM)
    assert isinstance(res, RoleUnavailable) and "Mesos 1.5.0" in res.reason


def test_unknown_distro_is_unavailable(lab):
    res = engine.role_tasks(lab, lab.node("ubuntu-1"), "etcd", "centos-7")
    assert isinstance(res, RoleUnavailable) and "centos-7" in res.reason


# ---- pins


def test_every_task_artifact_is_declared(lab):
    for node in lab.nodes:
        for _role, tasks in engine.node_plan(lab, node, XENIAL):
            for t in tasks:
                for name in t.artifacts:
                    assert name in pins.ARTIFACTS


def test_no_checksum_is_invented():
    for a in pins.ARTIFACTS.values():
        assert a.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", a.sha256)
    saved = pins.ARTIFACTS["calico-node-image"]
    # the name the docstring of pins.image_tarball promises, in the instructions too
    assert saved.filename == "calico-node-v2.6.2.tar" == pins.image_tarball(pins.CALICO_NODE_IMAGE)
    # quay.io's v2.6.2 is schema 1, which Docker >= 28.2 cannot pull: skopeo can, and names it
    assert (
        "skopeo copy docker://quay.io/calico/node:v2.6.2 "
        "docker-archive:calico-node-v2.6.2.tar:quay.io/calico/node:v2.6.2"
    ) in saved.description
    assert pins.ARTIFACTS["nginx-image"].filename == "nginx-1.13.9.tar"


def test_the_boxes_carry_every_package_of_the_base_roles_tools():
    """A node whose roles are only base provisions without apt (issue 15: its first `apt-get
    update` was a small lab's costliest step, minutes under QEMU TCG): both labgen boxes
    install what base's `tools` task checks for. A package added to the role must be added to
    the boxes too, or every base lab pays for apt again."""
    import re
    from pathlib import Path

    from labgen.provision.roles import base

    repo = Path(__file__).resolve().parents[2]
    for box in ("lxc", "libvirt"):
        text = (repo / "boxes" / box / "build.sh").read_text()
        listed = re.search(r'^PACKAGES="(.*?)"', text, re.M | re.S).group(1).replace("\\\n", "")
        missing = set(base.PACKAGES) - set(listed.split(","))
        assert not missing, f"boxes/{box}/build.sh lacks {sorted(missing)}"


def test_the_roles_box_carries_exactly_what_the_roles_install_on_debian_12():
    """`boxes/lxc/build.sh --roles` installs the Debian 12 packages of etcd, ZooKeeper and
    Docker, so that a lab on that box provisions them without apt: a package a role adds or
    drops must change the box's list too, or the roles box silently costs apt again."""
    import re
    from pathlib import Path

    from labgen.provision.roles import zookeeper

    repo = Path(__file__).resolve().parents[2]
    text = (repo / "boxes" / "lxc" / "build.sh").read_text()
    listed = set(re.search(r'^ROLE_PACKAGES="(.*?)"', text, re.M).group(1).split())
    wanted = {*pins.ETCD_PACKAGES[pins.BOOKWORM], *zookeeper.PACKAGES, "docker.io"}
    assert listed == wanted
