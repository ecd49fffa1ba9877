"""The whole product on real LXC containers, as a user runs it: the CLI in a subprocess.

One 3-node mesos-calico lab for the module (booting costs ~30 s); the tests run in order
and the last one destroys it; the fixture destroys it again whatever happened.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time

import pytest

from tests.integration.lxcenv import TEST_ROOT, destroy_lab_dir, destroy_leftovers, labgen, lxc_skip_reason
from tests.runcli import LABGEN

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = lxc_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)

NODES = ("ubuntu-1", "ubuntu-2", "ubuntu-3")


@pytest.fixture(scope="module")
def lab_dir():
    destroy_leftovers()
    TEST_ROOT.mkdir(parents=True, exist_ok=True)
    path = TEST_ROOT / f"lab-{int(time.time())}"
    yield path
    destroy_lab_dir(path)


def lxc_containers() -> set[str]:
    out = subprocess.run(["lxc-ls", "-1"], capture_output=True, text=True).stdout
    return set(out.split())


def test_scenario_runs_from_a_lab_that_does_not_exist_yet(lab_dir):
    assert not lab_dir.exists()
    res = labgen("--provider", "lxc", "scenario", "run", "mac-bug", "--dir", str(lab_dir), "--lang", "en")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "does not exist yet" in res.stdout
    # Vagrant's own lines, printed verbatim: no literal markup around them
    assert "Bringing machine 'ubuntu-1' up" in res.stdout and "[dim]" not in res.stdout, res.stdout
    handouts = list((lab_dir / "transcripts").glob("mac-bug-*.md"))
    assert handouts and list((lab_dir / "transcripts").glob("mac-bug-*.html"))
    # the run record (to render the handout again) and, with Graphviz, the topology picture
    assert list((lab_dir / "transcripts").glob("mac-bug-*.json"))
    if shutil.which("dot"):
        assert list((lab_dir / "transcripts").glob("mac-bug-*.svg"))


def test_nodes_have_their_lab_addresses_and_reach_each_other(lab_dir):
    res = labgen("exec", "all", "--dir", str(lab_dir), "--", "ip -4 -o addr show dev eth1", check=True)
    for i, node in enumerate(NODES, 1):
        assert re.search(rf"^{node}\s+│ .*inet 192\.168\.56\.10{i}/24", res.stdout, re.M), res.stdout
    ping = labgen("exec", "ubuntu-1", "--sudo", "--dir", str(lab_dir), "--",
                  "ping -c 1 -W 2 192.168.56.102 && ping -c 1 -W 2 ubuntu-3", check=True)
    assert ping.stdout.count("1 received") == 2


def test_exec_returns_each_nodes_hostname(lab_dir):
    res = labgen("exec", "all", "--dir", str(lab_dir), "--", "hostname", check=True)
    for node in NODES:
        assert re.search(rf"^{node}\s+│ {node}$", res.stdout, re.M), res.stdout


def test_ssh_runs_one_command_over_real_ssh(lab_dir):
    res = labgen("ssh", "ubuntu-2", "--dir", str(lab_dir), "--", "hostname; ip -4 -o addr show dev eth1",
                 check=True)
    assert res.stdout.startswith("ubuntu-2\n") and "192.168.56.102/24" in res.stdout


def test_exec_failure_is_reported_with_exit_status(lab_dir):
    res = labgen("exec", "ubuntu-2", "--dir", str(lab_dir), "--", "exit 3")
    assert res.returncode != 0 and "exit 3" in res.stdout
    assert "Traceback" not in res.stderr


def test_ctrl_c_during_provisioning_leaves_a_lab_the_next_run_completes(lab_dir):
    # Only base is provisioned so far (by the scenario run): etcd and zookeeper install now.
    proc = subprocess.Popen([*LABGEN, "provision", "--dir", str(lab_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    time.sleep(6)                                   # inside the etcd/zookeeper installs
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)        # nodes finish the task they are in
    assert proc.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in err
    state = json.loads((lab_dir / ".labgen" / "state.json").read_text())
    assert not all({"etcd", "zookeeper"} <= set(r) for r in state["roles"].values())


def test_provision_converges_and_second_run_changes_nothing(lab_dir):
    # Drift: break /etc/hosts on one node; provisioning repairs it (and finishes what the
    # interrupted run left), the next run changes nothing.
    labgen("exec", "ubuntu-3", "--sudo", "--dir", str(lab_dir), "--", "echo junk > /etc/hosts", check=True)
    first = labgen("provision", "--dir", str(lab_dir), check=True)    # also etcd + zookeeper, for real
    assert "ubuntu-3" in first.stdout and "base/hosts file: changed" in first.stdout
    second = labgen("provision", "--dir", str(lab_dir), check=True)
    assert "already converged, nothing changed" in second.stdout
    state = json.loads((lab_dir / ".labgen" / "state.json").read_text())
    assert set(state["roles"]) == set(NODES)
    assert all({"base", "etcd", "zookeeper"} <= set(r) for r in state["roles"].values())
    assert state.get("pending", []) == []


def test_roles_that_cannot_run_on_this_box_are_reported_with_the_reason(lab_dir):
    res = labgen("provision", "--dir", str(lab_dir), check=True)
    text = " ".join(res.stdout.split())      # rich wraps long lines
    # Each reason once, then the roles it blocks (calico needs docker: under docker's reason).
    assert text.count("docker-ce 18.03.1 is not in the Debian 12 archive") == 1, res.stdout
    assert re.search(r"docker-ce 18\.03\.1 is not in the Debian 12 archive .*"
                     r"! role docker: not run on ubuntu-1, ubuntu-2, ubuntu-3 "
                     r"! role calico: not run on ubuntu-1, ubuntu-2, ubuntu-3", text), res.stdout
    assert text.count("Mesos 1.5.0 is not in the Debian 12 archive") == 1, res.stdout
    assert "docker-ce_18.03.1~ce-0~ubuntu_amd64.deb" in text       # the artifact and how to supply it
    assert re.search(r"(Ubuntu 16\.04|xenial).*role mesos-master: not run on ubuntu-1 "
                     r"! role mesos-slave: not run on ubuntu-2, ubuntu-3", text), res.stdout
    assert "already converged, nothing changed" in text


def test_walkthrough_tours_what_is_provisioned(lab_dir):
    res = labgen("scenario", "run", "walkthrough", "--dir", str(lab_dir), "--lang", "en", check=True)
    assert "cluster is healthy" in res.stdout
    assert re.search(r"Mode: leader", res.stdout) and res.stdout.count("Mode: follower") >= 2, res.stdout
    full = labgen("scenario", "run", "walkthrough", "--variant", "full", "--dir", str(lab_dir))
    assert full.returncode != 0 and "nothing was changed" in full.stderr


def test_walkthrough_challenge_a_student_brings_the_etcd_member_back(lab_dir):
    def student(*args, check=False):
        return labgen("scenario", *args, "--dir", str(lab_dir), "--lang", "en", check=check)

    start = student("start", "walkthrough", check=True)
    assert "TASK · Bring the etcd member back" in start.stdout and "cluster is degraded" in start.stdout
    before = student("check")
    assert before.returncode == 6 and "The etcd cluster is not healthy yet" in " ".join(before.stdout.split())
    labgen("ssh", "ubuntu-3", "--dir", str(lab_dir), "--", "sudo systemctl start etcd", check=True)
    assert "passed: Bring the etcd member back" in student("check", check=True).stdout
    assert "Finished" in student("answer", " 2380 ", check=True).stdout


def test_status_table(lab_dir):
    res = labgen("status", "--dir", str(lab_dir), check=True)
    for i, node in enumerate(NODES, 1):
        assert re.search(rf"{node}\s+│ 192\.168\.56\.10{i}\s+│ lxc\s+│ running\s+│ yes", res.stdout), res.stdout


def test_status_json_is_machine_readable(lab_dir):
    res = labgen("status", "--dir", str(lab_dir), "--format", "json", check=True)
    data = json.loads(res.stdout)
    assert data["lab"] == "mesos-calico" and data["dir"] == str(lab_dir)
    assert [n["name"] for n in data["nodes"]] == list(NODES)
    for i, node in enumerate(data["nodes"], 1):
        assert node["ip"] == f"192.168.56.10{i}" and node["provider"] == "lxc"
        assert node["state"] == "running" and node["ssh"] is True
        assert {"base", "etcd", "zookeeper"} <= set(node["roles_done"]) <= set(node["roles"])


def test_second_scenario_run_passes_and_the_transcript_tells_the_story(lab_dir):
    res = labgen("scenario", "run", "mac-bug", "--dir", str(lab_dir), "--lang", "en", check=True)
    out = res.stdout
    assert "roles base: provisioned" in out      # recorded in state.json: not re-provisioned
    assert "ee:ee:ee:ee:ee:ee" in out
    # The handout of this run: the ping fails after the break and works after the fix.
    md = sorted((lab_dir / "transcripts").glob("mac-bug-*.md"))[-1].read_text()
    assert "100% packet loss" in md and " 0% packet loss" in md
    assert md.index("100% packet loss") < md.rindex(" 0% packet loss")


def test_chinese_transcript(lab_dir):
    res = labgen("scenario", "run", "mac-bug", "--dir", str(lab_dir), "--lang", "zh", check=True)
    assert re.search(r"[\u4e00-\u9fff]", res.stdout)


def test_wrong_expectation_fails_and_names_the_step(lab_dir, tmp_path):
    bad = tmp_path / "wrong.yml"
    bad.write_text(
        "id: wrong\n"
        "title: {en: Wrong, zh: 错误}\n"
        "summary: {en: A wrong expectation, zh: 错误的期望}\n"
        "lab: mesos-calico\n"
        "requires: {roles: [base]}\n"
        "steps:\n"
        "  - id: expects-the-impossible\n"
        "    kind: verify\n"
        "    title: {en: hostname, zh: 主机名}\n"
        "    on: [ubuntu-1]\n"
        "    run: hostname\n"
        "    expect: {stdout_contains: ubuntu-9}\n")
    res = labgen("scenario", "run", str(bad), "--dir", str(lab_dir))
    assert res.returncode != 0
    assert "expects-the-impossible" in res.stderr and "ubuntu-9" in res.stderr
    assert "Traceback" not in res.stderr


def test_docker_variant_is_refused_before_touching_anything(lab_dir):
    before = (lab_dir / ".labgen" / "state.json").read_text()
    res = labgen("scenario", "run", "mac-bug", "--variant", "docker", "--dir", str(lab_dir))
    assert res.returncode != 0 and "docker" in res.stderr and "nothing was changed" in res.stderr
    assert (lab_dir / ".labgen" / "state.json").read_text() == before


def test_destroy_leaves_no_container_bridge_or_state(lab_dir):
    from labgen.labfile import load_lab
    from labgen.providers.lxc import bridge_name

    bridge = bridge_name(load_lab(lab_dir / "lab.yml"))
    no = labgen("destroy", "--dir", str(lab_dir))          # no tty, no --yes: refuses
    assert no.returncode != 0 and "--yes" in no.stderr
    labgen("destroy", "--yes", "--dir", str(lab_dir), check=True)
    assert not any(c.startswith("labgen-mesos-calico-") for c in lxc_containers())
    assert subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode != 0
    assert not (lab_dir / ".labgen").exists() and not (lab_dir / ".vagrant").exists()
