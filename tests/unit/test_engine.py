import ipaddress

import pytest

from labgen.errors import TaskError
from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import engine
from labgen.provision import shell
from labgen.provision.roles import base
from tests.unit.fakes import FakeRemote

LXC_FACTS = Facts("debian-12", "http://192.168.56.1:3142")     # what the LXC provider says


def make_lab():
    net = ipaddress.ip_network("192.168.56.0/24")
    nodes = tuple(Node(f"n{i}", ipaddress.ip_address(f"192.168.56.10{i}"), ("base", "etcd"), 512, 1)
                  for i in (1, 2))
    return Lab("t", "", net, {"lxc": "labgen/debian-12"}, nodes)


def test_file_task_writes_only_when_content_differs():
    remote = FakeRemote()
    task = Task("f", files=(File("/etc/x", "hello\n"),), run=("systemctl restart x",))
    assert engine.apply_task(remote, "n1", "r", task) is True
    assert ("n1", "systemctl restart x") in remote.commands      # handler ran after the change
    remote.commands.clear()
    assert engine.apply_task(remote, "n1", "r", task) is False
    assert remote.commands == []                                  # converged: nothing ran


def test_checked_task_runs_only_when_check_fails_and_must_pass_after():
    done = set()

    def handler(node, cmd):
        if cmd == "check":
            return (0 if node in done else 1, "", "")
        if cmd == "do":
            done.add(node)
        return 0, "", ""

    remote = FakeRemote(handler)
    task = Task("t", check="check", run=("do",))
    assert engine.apply_task(remote, "n1", "r", task) is True
    assert engine.apply_task(remote, "n1", "r", task) is False


def test_task_that_does_not_converge_is_an_error():
    remote = FakeRemote(lambda node, cmd: (1, "", "") if cmd == "check" else (0, "", ""))
    with pytest.raises(TaskError, match="still not done"):
        engine.apply_task(remote, "n1", "r", Task("t", check="check", run=("do",)))


def test_failing_command_names_node_role_task_command_and_stderr():
    remote = FakeRemote(lambda node, cmd: (1, "", "") if cmd == "check" else (100, "", "E: boom\nlast line"))
    with pytest.raises(TaskError) as err:
        engine.apply_task(remote, "n2", "etcd", Task("install", check="check", run=("apt-get install x",)))
    msg = err.value.message
    assert "n2" in msg and "etcd" in msg and "'install'" in msg and "apt-get install x" in msg
    assert "exit code 100" in msg and "last line" in msg


def test_unimplemented_roles_are_reported_not_skipped(tmp_path, monkeypatch):
    from labgen.labdir import LabDir

    monkeypatch.setattr(engine, "IMPLEMENTED", ("base",))   # every real role is implemented now
    lab = make_lab()
    remote = FakeRemote()
    events = []
    reports = engine.provision(lab, LabDir(tmp_path), remote, "debian-12",
                               events=lambda *e: events.append(e))
    assert all(r.error is None for r in reports)
    assert all([u.role for u in r.unavailable] == ["etcd"] for r in reports)
    assert ("n1", "etcd", "", "unavailable") in events
    assert set(LabDir(tmp_path).load_state()["roles"]["n1"]) == {"base"}


def test_a_failure_stops_the_other_nodes_after_their_current_task(tmp_path):
    from labgen.labdir import LabDir

    lab = make_lab()

    def handler(node, cmd):
        if node == "n1" and "hostname" in cmd and not cmd.startswith("test"):
            return 1, "", "hostname: you must be root"
        if cmd.startswith("test") or cmd.startswith("sha256sum"):
            return 1, "", ""
        return 0, "", ""

    reports = engine.provision(lab, LabDir(tmp_path), FakeRemote(handler), LXC_FACTS)
    by = {r.node: r for r in reports}
    assert by["n1"].error is not None and "you must be root" in by["n1"].error.message


def test_base_role_declares_hostname_hosts_and_tools():
    lab = make_lab()
    tasks = base.tasks(lab, lab.nodes[0], LXC_FACTS)
    assert [t.name for t in tasks] == ["apt proxy", "hostname", "hosts file", "tools"]
    hosts = tasks[2].files[0].content
    assert "192.168.56.101\tn1" in hosts and "192.168.56.102\tn2" in hosts


def test_packages_check_really_detects_installed_packages():
    import shutil
    import subprocess

    if not shutil.which("dpkg-query"):
        pytest.skip("dpkg-query is not on this machine")
    ok = subprocess.run(["sh", "-c", shell.packages_installed_check(["dpkg"])])
    missing = subprocess.run(["sh", "-c", shell.packages_installed_check(["dpkg", "no-such-package-lg"])])
    assert ok.returncode == 0 and missing.returncode != 0


def test_fingerprint_changes_with_declarations():
    a = [Task("x", check="c", run=("r",))]
    b = [Task("x", check="c", run=("r2",))]
    assert engine.fingerprint(a) != engine.fingerprint(b)
    assert engine.fingerprint(a) == engine.fingerprint(list(a))


def test_a_handler_owed_by_an_interrupted_run_runs_next_time(tmp_path):
    from labgen.labdir import LabDir

    lab_dir = LabDir(tmp_path)
    pending = engine.PendingHandlers(lab_dir)
    task = Task("config", files=(File("/etc/x.conf", "new\n"),), run=("systemctl restart x",))

    def dies_on_restart(node, cmd):
        if cmd == "systemctl restart x":
            raise KeyboardInterrupt      # Ctrl-C after the file was written, before the restart
        return 0, "", ""

    remote = FakeRemote(dies_on_restart)
    with pytest.raises(KeyboardInterrupt):
        engine.apply_task(remote, "n1", "svc", task, pending=pending)
    assert remote.files[("n1", "/etc/x.conf")] == "new\n"
    assert lab_dir.load_state()["pending"] == ["n1|svc/config"]

    remote.handler = lambda node, cmd: (0, "", "")
    assert engine.apply_task(remote, "n1", "svc", task, pending=pending) is True   # file unchanged...
    assert ("n1", "systemctl restart x") in remote.commands                         # ...restart owed
    assert lab_dir.load_state()["pending"] == []
    remote.commands.clear()
    assert engine.apply_task(remote, "n1", "svc", task, pending=pending) is False
    assert remote.commands == []


def test_roles_recorded_only_with_current_fingerprints_and_nothing_owed(tmp_path):
    from labgen.labdir import LabDir

    lab = make_lab()
    d = LabDir(tmp_path)
    assert not engine.roles_recorded(lab, d, "debian-12", ["base"])
    engine.provision(lab, d, FakeRemote(), "debian-12", roles=["base"])
    assert engine.roles_recorded(lab, d, "debian-12", ["base"])
    d.record_role("n2", "base", "stale-fingerprint")          # the role's declarations changed
    assert not engine.roles_recorded(lab, d, "debian-12", ["base"])
    engine.provision(lab, d, FakeRemote(), "debian-12", roles=["base"])
    d.update_state(pending=["n1|base/x"])
    assert not engine.roles_recorded(lab, d, "debian-12", ["base"])


def test_blocked_roles_are_grouped_under_the_reason_they_share():
    from labgen.labfile import find_lab, load_lab

    lab = load_lab(find_lab("mesos-calico"))
    reports = []
    for node in lab.nodes:
        report = engine.NodeReport(node.name)
        report.unavailable = [t for _, t in engine.node_plan(lab, node, "debian-12")
                              if not isinstance(t, list)]
        reports.append(report)
    groups = engine.blocked(reports)
    reasons = [g.reason for g in groups]
    assert len(reasons) == len(set(reasons))
    docker = next(g for g in groups if g.reason.startswith("docker-ce 18.03.1 is not in the Debian 12"))
    # calico and calico-network fail because docker does: listed under docker's reason
    assert docker.roles == {"docker": ["ubuntu-1", "ubuntu-2", "ubuntu-3"],
                            "calico": ["ubuntu-1", "ubuntu-2", "ubuntu-3"],
                            "calico-network": ["ubuntu-1"]}
    mesos = next(g for g in groups if g.reason.startswith("Mesos 1.5.0"))
    assert mesos.roles == {"mesos-master": ["ubuntu-1"], "mesos-slave": ["ubuntu-2", "ubuntu-3"]}
    marathon = next(g for g in groups if g.reason.startswith("Marathon 1.5.6"))
    assert marathon.roles == {"marathon": ["ubuntu-1"], "marathon-app": ["ubuntu-1"]}
    assert len(groups) == 3
