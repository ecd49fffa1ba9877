import ipaddress

import pytest

from labgen.errors import TaskError
from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import engine
from labgen.provision import shell
from labgen.provision.roles import base
from tests.unit.fakes import FakeRemote

LXC_FACTS = Facts("debian-12", "http://192.168.56.1:3142", default_route=True)  # what the LXC provider says


def make_lab():
    net = ipaddress.ip_network("192.168.56.0/24")
    nodes = tuple(Node(f"n{i}", ipaddress.ip_address(f"192.168.56.10{i}"), ("base", "etcd"), 512, 1) for i in (1, 2))
    return Lab("t", "", net, {"lxc": "labgen/debian-12"}, nodes)


def test_file_task_writes_only_when_content_differs():
    remote = FakeRemote()
    task = Task("f", files=(File("/etc/x", "hello\n"),), run=("systemctl restart x",))
    assert engine.apply_task(remote, "n1", "r", task) is True
    assert ("n1", "systemctl restart x") in remote.commands  # handler ran after the change
    remote.commands.clear()
    assert engine.apply_task(remote, "n1", "r", task) is False
    assert remote.commands == []  # converged: nothing ran


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

    monkeypatch.setattr(engine, "IMPLEMENTED", ("base",))  # every real role is implemented now
    lab = make_lab()
    remote = FakeRemote()
    events = []
    reports = engine.provision(lab, LabDir(tmp_path), remote, "debian-12", events=lambda *e: events.append(e))
    assert all(r.error is None for r in reports)
    assert all([u.role for u in r.unavailable] == ["etcd"] for r in reports)
    assert ("n1", "etcd", "", "unavailable") in events
    assert set(LabDir(tmp_path).load_state()["roles"]["n1"]) == {"base"}


def test_a_failure_stops_the_other_nodes_after_their_current_task(tmp_path):
    import threading

    from labgen.labdir import LabDir

    lab = make_lab()
    n1_failed, n2_inside = threading.Event(), threading.Event()
    named = set()

    def handler(node, cmd):
        if node == "n1" and cmd == "hostname n1":
            assert n2_inside.wait(10), "n2 never reached its hostname task"
            return 1, "", "hostname: you must be root"
        if node == "n2" and cmd == "hostname n2":
            # n2 is inside its hostname task when n1 fails: it must finish it, then stop.
            n2_inside.set()
            assert n1_failed.wait(10), "n1 never failed"
            named.add(node)
        if "$(hostname)" in cmd and node in named:
            return 0, "", ""
        if cmd.startswith("test") or cmd.startswith("sha256sum"):
            return 1, "", ""
        return 0, "", ""

    seen = []

    def events(node, role, task, status):
        seen.append((node, role, task, status))
        if (node, status) == ("n1", "failed"):
            n1_failed.set()

    remote = FakeRemote(handler)
    reports = engine.provision(lab, LabDir(tmp_path), remote, LXC_FACTS, events=events)
    by = {r.node: r for r in reports}
    assert by["n1"].error is not None and "you must be root" in by["n1"].error.message
    assert by["n1"].stopped is False
    assert by["n2"].error is None and by["n2"].stopped is True
    assert by["n2"].changed == ["base/apt proxy", "base/hostname"]  # finished, nothing after
    assert not any(node == "n2" and ("hosts" in cmd or "apt-get" in cmd) for node, cmd in remote.commands)
    assert LabDir(tmp_path).load_state().get("roles", {}) == {}  # no role finished
    assert ("n1", "base", "hostname", "failed") in seen
    assert seen[-1] == ("n2", "base", "hosts file", "stopped") or ("n2", "base", "hosts file", "stopped") in seen


def test_base_role_declares_hostname_hosts_and_tools():
    lab = make_lab()
    tasks = base.tasks(lab, lab.nodes[0], LXC_FACTS)
    names = ["apt proxy", "default route (DHCP on the management network)", "hostname", "hosts file", "tools"]
    assert [t.name for t in tasks] == names
    hosts = tasks[3].files[0].content
    assert "192.168.56.101\tn1" in hosts and "192.168.56.102\tn2" in hosts
    # libvirt's management network is isolated (no router by DHCP): base does not wait for a
    # default route, it points one at the host
    libvirt = base.tasks(lab, lab.nodes[0], Facts("debian-12", "http://192.168.56.1:3142", gateway="10.0.4.1"))
    gateway = "default route to the host (the management network names no router)"
    assert [t.name for t in libvirt] == [gateway if n.startswith("default route") else n for n in names]
    # a provider with neither (VirtualBox: its NAT NIC's DHCP gives the route, unwaited)
    plain = base.tasks(lab, lab.nodes[0], Facts("debian-12", "http://192.168.56.1:3142"))
    assert [t.name for t in plain] == [n for n in names if not n.startswith("default route")]


def test_the_gateway_hook_sets_the_default_route_on_a_lease_and_only_then():
    """On libvirt, dhclient sources base's exit hook on every lease: in a network namespace of
    its own, the hook (sourced as dhclient-script does) adds the default route via the host for
    BOUND and RENEW, not for EXPIRE; the task's run command does the same at once."""
    import os
    import shlex
    import shutil
    import subprocess

    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a network namespace of its own")
    task = base.gateway_task("10.99.0.1")
    hook = shlex.quote(task.files[0].content)
    setup = (
        "ip link set lo up; ip link add lgdr0 type veth peer name lgdr1; "
        "ip addr add 10.99.0.2/24 dev lgdr0; ip link set lgdr1 up; ip link set lgdr0 up; "
    )

    def routes_after(reason: str) -> str:
        script = setup + f"reason={reason}; interface=lgdr0; eval {hook}; ip -4 route show default"
        out = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert routes_after("BOUND").startswith("default via 10.99.0.1 dev lgdr0")
    assert routes_after("RENEW").startswith("default via 10.99.0.1 dev lgdr0")
    assert routes_after("EXPIRE") == ""
    script = setup + f"if {task.check}; then echo before; fi; {task.run[0]}; if {task.check}; then echo after; fi"
    out = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["after"], out.stdout + out.stderr


def test_the_default_route_check_really_detects_a_missing_route():
    """base waits for the management network's DHCP lease: its check must fail in a network
    namespace without a default route and pass once one exists (real `ip`, no mock)."""
    import os
    import shutil
    import subprocess

    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a network namespace of its own")
    check = base.DEFAULT_ROUTE
    script = (
        f"ip link set lo up; if {check}; then echo route-before; fi; "
        "ip link add lgdr0 type veth peer name lgdr1; ip addr add 10.99.0.2/24 dev lgdr0; "
        "ip link set lgdr1 up; ip link set lgdr0 up; "
        f"ip route add default via 10.99.0.1; if {check}; then echo route-after; fi"
    )
    out = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["route-after"], out.stdout + out.stderr


def test_packages_check_really_detects_installed_packages():
    import shutil
    import subprocess

    if not shutil.which("dpkg-query"):
        pytest.skip("dpkg-query is not on this machine")
    ok = subprocess.run(["sh", "-c", shell.packages_installed_check(["dpkg"])])
    missing = subprocess.run(["sh", "-c", shell.packages_installed_check(["dpkg", "no-such-package-lg"])])
    assert ok.returncode == 0 and missing.returncode != 0


def test_fingerprint_is_stable_for_equal_declarations_and_changes_with_any_field():
    def declare(**change):
        fields = dict(name="x", files=(File("/etc/x", "a\n"),), check="c", run=("r",), artifacts=("calicoctl",))
        fields.update(change)
        return [Task(**fields)]

    first, again = declare(), declare()  # built twice: equal, not the same objects
    assert first[0] is not again[0]
    fp = engine.fingerprint(first)
    assert fp == engine.fingerprint(again) and len(fp) == 16 and int(fp, 16) >= 0
    variants = [
        declare(name="y"),
        declare(files=(File("/etc/x", "b\n"),)),
        declare(files=(File("/etc/y", "a\n"),)),
        declare(files=(File("/etc/x", "a\n", mode="0600"),)),
        declare(check="c2"),
        declare(check=None),
        declare(run=("r2",)),
        declare(run=("r", "r")),
        declare(artifacts=()),
        first + first,
    ]
    prints = [engine.fingerprint(v) for v in variants]
    assert fp not in prints and len(set(prints)) == len(prints)


def test_a_handler_owed_by_an_interrupted_run_runs_next_time(tmp_path):
    from labgen.labdir import LabDir

    lab_dir = LabDir(tmp_path)
    pending = engine.PendingHandlers(lab_dir)
    task = Task("config", files=(File("/etc/x.conf", "new\n"),), run=("systemctl restart x",))

    def dies_on_restart(node, cmd):
        if cmd == "systemctl restart x":
            raise KeyboardInterrupt  # Ctrl-C after the file was written, before the restart
        return 0, "", ""

    remote = FakeRemote(dies_on_restart)
    with pytest.raises(KeyboardInterrupt):
        engine.apply_task(remote, "n1", "svc", task, pending=pending)
    assert remote.files[("n1", "/etc/x.conf")] == "new\n"
    assert lab_dir.load_state()["pending"] == ["n1|svc/config"]

    remote.handler = lambda node, cmd: (0, "", "")
    assert engine.apply_task(remote, "n1", "svc", task, pending=pending) is True  # file unchanged...
    assert ("n1", "systemctl restart x") in remote.commands  # ...restart owed
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
    d.record_role("n2", "base", "stale-fingerprint")  # the role's declarations changed
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
        report.unavailable = [t for _, t in engine.node_plan(lab, node, "debian-12") if not isinstance(t, list)]
        reports.append(report)
    groups = engine.blocked(reports)
    reasons = [g.reason for g in groups]
    assert len(reasons) == len(set(reasons))
    calico = next(g for g in groups if g.reason.startswith("Calico 2.6"))
    # docker runs on Debian 12 (docker.io); calico-network fails because calico does
    assert calico.roles == {"calico": ["ubuntu-1", "ubuntu-2", "ubuntu-3"], "calico-network": ["ubuntu-1"]}
    mesos = next(g for g in groups if g.reason.startswith("Mesos 1.5.0"))
    assert mesos.roles == {"mesos-master": ["ubuntu-1"], "mesos-slave": ["ubuntu-2", "ubuntu-3"]}
    marathon = next(g for g in groups if g.reason.startswith("Marathon 1.5.6"))
    assert marathon.roles == {"marathon": ["ubuntu-1"], "marathon-app": ["ubuntu-1"]}
    assert len(groups) == 3


# ---- found by mutation testing: what the engine passes on and reports, exactly


class RecordingRemote(FakeRemote):
    """FakeRemote that also keeps how each command ran (sudo, timeout) and each file's mode/owner."""

    def __init__(self, handler=None):
        super().__init__(handler)
        self.runs, self.puts = [], []

    def run(self, node, command, *, sudo=True, timeout=60, stream=None):
        self.runs.append((command, sudo, timeout))
        return super().run(node, command, sudo=sudo, timeout=timeout)

    def put_file(self, node, content, path, mode="0644", owner="root"):
        self.puts.append((path, mode, owner))
        super().put_file(node, content, path, mode=mode, owner=owner)


def test_checks_and_commands_run_as_root_with_their_timeouts_and_files_keep_mode_and_owner():
    done = set()

    def handler(node, cmd):
        if cmd == "check":
            return (0 if done else 1), "", ""
        done.add(cmd)
        return 0, "", ""

    remote = RecordingRemote(handler)
    task = Task("t", files=(File("/etc/x", "x\n", mode="0600", owner="etcd"),), check="check", run=("do",))
    assert engine.apply_task(remote, "n1", "r", task) is True
    assert remote.runs == [("check", True, 120), ("do", True, 900), ("check", True, 120)]
    assert remote.puts == [("/etc/x", "0600", "etcd")]


def test_a_failed_command_reports_its_tail_and_how_to_retry():
    many = "\n".join(f"line {i}" for i in range(20))
    remote = FakeRemote(lambda n, c: (1, "", "") if c == "check" else (2, "", many))
    with pytest.raises(TaskError) as err:
        engine.apply_task(remote, "n1", "r", Task("t", check="check", run=("do",)))
    assert err.value.message == (
        "n1: role r, task 't': `do` failed (exit code 2)\n" + "\n".join(f"line {i}" for i in range(12, 20))
    )
    assert err.value.hint == "fix the cause, then re-run `labgen provision n1`"
    out = "o" * 600
    remote = FakeRemote(lambda n, c: (1, "", "") if c == "check" else (None, out, ""))
    with pytest.raises(TaskError) as err:
        engine.apply_task(remote, "n1", "r", Task("t", check="check", run=("do",)))
    assert err.value.message == "n1: role r, task 't': `do` failed (timed out)\n" + "o" * 500
    remote = FakeRemote(lambda n, c: (1, "", "") if c == "check" else (3, "", ""))
    with pytest.raises(TaskError) as err:
        engine.apply_task(remote, "n1", "r", Task("t", check="check", run=("do",)))
    assert err.value.message == "n1: role r, task 't': `do` failed (exit code 3)"


def test_a_task_that_does_not_converge_says_so_with_a_hint():
    remote = FakeRemote(lambda node, cmd: (1, "", "") if cmd == "check" else (0, "", ""))
    with pytest.raises(TaskError) as err:
        engine.apply_task(remote, "n1", "r", Task("t", check="check", run=("do",)))
    assert err.value.message == "n1: role r, task 't': still not done after running it (check `check` exits 1)"
    assert err.value.hint == "the task's commands ran but did not reach the wanted state"


def test_provision_emits_each_task_in_order_and_records_roles(tmp_path, monkeypatch):
    from labgen.labdir import LabDir

    monkeypatch.setattr(engine, "IMPLEMENTED", ("etcd",))  # base unavailable, etcd after it
    lab = make_lab()
    node = Node("n1", lab.nodes[0].ip, ("base", "etcd"), 512, 1)
    lab = Lab("t", "", lab.network, lab.boxes, (node,))
    events = []
    reports = engine.provision(lab, LabDir(tmp_path), FakeRemote(), LXC_FACTS, events=lambda *e: events.append(e))
    (report,) = reports
    etcd = [t.name for t in engine.role_tasks(lab, node, "etcd", LXC_FACTS)]
    assert events[0] == ("n1", "base", "", "unavailable")
    outcome = {name: "changed" if f"etcd/{name}" in report.changed else "ok" for name in etcd}
    assert events[1:] == [
        e for name in etcd for e in (("n1", "etcd", name, "running"), ("n1", "etcd", name, outcome[name]))
    ]
    assert report.changed and sorted(report.changed + report.unchanged) == sorted(f"etcd/{n}" for n in etcd)
    assert set(LabDir(tmp_path).load_state()["roles"]["n1"]) == {"etcd"}


def test_a_connection_failure_becomes_the_nodes_task_error(tmp_path):
    from labgen.errors import LabgenError
    from labgen.labdir import LabDir

    def handler(node, cmd):
        raise LabgenError("ssh to n1 failed", hint="is it running?")

    lab = make_lab()
    lab = Lab("t", "", lab.network, lab.boxes, lab.nodes[:1])
    (report,) = engine.provision(lab, LabDir(tmp_path), FakeRemote(handler), LXC_FACTS)
    assert isinstance(report.error, TaskError)
    assert (report.error.message, report.error.hint) == ("ssh to n1 failed", "is it running?")


def test_provision_remembers_a_handler_owed_by_an_interrupted_run(tmp_path, monkeypatch):
    from labgen.labdir import LabDir

    lab = make_lab()
    lab = Lab("t", "", lab.network, lab.boxes, lab.nodes[:1])
    task = Task("config", files=(File("/etc/x", "new\n"),), run=("restart",))
    monkeypatch.setattr(engine, "node_plan", lambda *a, **k: [("r", [task])])

    def dies(node, cmd):
        raise KeyboardInterrupt  # Ctrl-C during the restart, after the file was written

    with pytest.raises(KeyboardInterrupt):
        engine.provision(lab, LabDir(tmp_path), FakeRemote(dies), LXC_FACTS)
    assert LabDir(tmp_path).load_state()["pending"] == ["n1|r/config"]


def test_unavailable_roles_names_each_role_the_lab_cannot_provide():
    from labgen.labfile import find_lab, load_lab

    lab = load_lab(find_lab("mesos-calico"))
    missing = dict(engine.unavailable_roles(lab, ["base", "no-such-role", "calico", "etcd"], "debian-12"))
    assert list(missing) == ["no-such-role", "calico"]
    assert missing["no-such-role"] == "no node of lab mesos-calico has it"
    assert missing["calico"].startswith("Calico 2.6 (calicoctl v1.6.3")
    assert engine.unavailable_roles(lab, ["base"], "ubuntu-16.04") == []
    only_3 = Lab(
        lab.name,
        "",
        lab.network,
        lab.boxes,
        (Node("a", lab.nodes[0].ip, ("base",), 512, 1), Node("b", lab.nodes[1].ip, ("calico",), 512, 1)),
    )
    assert [r for r, _ in engine.unavailable_roles(only_3, ["calico"], "debian-12")] == ["calico"]


def test_roles_recorded_is_false_while_a_role_cannot_run(tmp_path):
    from labgen.labdir import LabDir
    from labgen.labfile import find_lab, load_lab

    lab = load_lab(find_lab("mesos-calico"))
    assert engine.roles_recorded(lab, LabDir(tmp_path), "debian-12", ["calico"]) is False


def test_provision_only_the_nodes_and_roles_asked_for(tmp_path):
    from labgen.labdir import LabDir

    lab = make_lab()
    remote = FakeRemote()
    reports = engine.provision(lab, LabDir(tmp_path), remote, LXC_FACTS, nodes=["n2"], roles=["base"])
    assert [r.node for r in reports] == ["n2"]
    assert {n for n, _ in remote.commands} == {"n2"}
    assert all(item.startswith("base/") for item in reports[0].changed + reports[0].unchanged)
    assert LabDir(tmp_path).load_state()["roles"] == {
        "n2": {"base": engine.fingerprint(engine.role_tasks(lab, lab.nodes[1], "base", LXC_FACTS))}
    }


def test_a_handler_that_ran_owes_nothing(tmp_path):
    from labgen.labdir import LabDir

    pending = engine.PendingHandlers(LabDir(tmp_path))
    task = Task("config", files=(File("/etc/x.conf", "v1\n"),), run=("restart",))
    assert engine.apply_task(FakeRemote(), "n1", "svc", task, pending=pending) is True
    assert LabDir(tmp_path).load_state().get("pending", []) == []


def test_ctrl_c_on_one_node_stops_the_others_after_their_task(tmp_path):
    import threading

    from labgen.labdir import LabDir

    lab = make_lab()
    n2_inside, n1_interrupted = threading.Event(), threading.Event()
    ran = []

    def handler(node, cmd):
        ran.append((node, cmd))
        if node == "n1" and cmd == "hostname n1":
            assert n2_inside.wait(10)
            n1_interrupted.set()
            raise KeyboardInterrupt
        if node == "n2" and cmd == "hostname n2":
            n2_inside.set()
            assert n1_interrupted.wait(10)
            time_left = 50
            while time_left and not abort_seen():  # bounded: until the engine's abort is set
                time_left -= 1
                threading.Event().wait(0.02)
        return (1, "", "") if cmd.startswith("test") else (0, "", "")

    state = {}

    def abort_seen():
        return state.get("abort") is not None and state["abort"].is_set()

    real_event = threading.Event

    def capture_event():
        ev = real_event()
        state.setdefault("abort", ev)
        return ev

    import labgen.provision.engine as eng

    eng_threading = eng.threading
    with pytest.raises(KeyboardInterrupt):
        try:
            eng.threading = type("T", (), {"Event": staticmethod(capture_event), "Lock": eng_threading.Lock})
            engine.provision(lab, LabDir(tmp_path), FakeRemote(handler), LXC_FACTS)
        finally:
            eng.threading = eng_threading
    assert abort_seen()
    assert not [c for n, c in ran if n == "n2" and ("hosts" in c or "apt-get" in c)]
