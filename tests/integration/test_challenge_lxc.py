"""The student's side of mac-bug on a real LXC lab, as a student types it: the CLI in a
subprocess, fixes by hand over `labgen ssh`.

One 2-node lab (base role only: the default mac-bug variant needs nothing else) for the
module, on this branch's own subnet, with the challenge started; the fixture destroys the lab
whatever happened. Each test first puts the lab where it needs it (`labgen scenario start`, or
`reset --to STEP`: cleanup, then the steps replayed, tasks by their solution), so none relies on
what another left: they pass alone (`-k`) and in any order (`--random-order`). Every command is
its own process, so progress surviving a restart of labgen is exercised throughout.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.integration.lxcenv import CHALLENGE_ROOT, destroy_lab_dir, destroy_leftovers, lxc_skip_reason
from tests.runcli import labgen

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = lxc_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)

SUBNET = "192.168.63"  # this module's own lab network (tests/README.md, subnet table)
LAB = f"""\
name: ch-macbug
description: two nodes for the mac-bug challenge
network: {{cidr: {SUBNET}.0/24}}
boxes: {{lxc: labgen/debian-12}}
defaults: {{memory: 512, cpus: 1}}
nodes:
  - {{name: ubuntu-2, ip: {SUBNET}.102, roles: [base]}}
  - {{name: ubuntu-3, ip: {SUBNET}.103, roles: [base]}}
"""
WL2, HOST_IF2 = "172.32.2.10", "cali00c4bdd2604"
NO_REPLIES = "The workload on ubuntu-2 (172.32.2.10) still gets no replies"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    files = tmp_path_factory.mktemp("ch-files")
    (files / "ch-macbug.yml").write_text(LAB)
    # The built-in scenario, on this lab's subnet. Only peer_ip names the lab network.
    text = (Path(__file__).resolve().parents[2] / "scenarios" / "mac-bug.yml").read_text()
    (files / "mac-bug.yml").write_text(text.replace("192.168.56.", f"{SUBNET}."))
    destroy_leftovers(CHALLENGE_ROOT)  # what an interrupted earlier run left
    CHALLENGE_ROOT.mkdir(parents=True, exist_ok=True)
    path = CHALLENGE_ROOT / f"ch-macbug-{int(time.time())}"
    try:
        labgen("--provider", "lxc", "create", str(files / "ch-macbug.yml"), "--dir", str(path), check=True, timeout=900)
        # a challenge on the lab, so that any test may begin with `reset --to`
        labgen("scenario", "start", str(files / "mac-bug.yml"), "--dir", str(path), "--lang", "en", check=True)
        yield path, files / "mac-bug.yml"
    finally:
        destroy_lab_dir(path)


def cli(lab_dir, *args, check=False):
    return labgen("scenario", *args, "--dir", str(lab_dir), "--lang", "en", check=check)


def ssh(lab_dir, node, command):
    return labgen("ssh", node, "--dir", str(lab_dir), "--", command, check=True)


def progress(lab_dir):
    return json.loads((lab_dir / ".labgen" / "progress.json").read_text())


def flat(text):
    return " ".join(text.split())


def at(lab, step):
    """The lab as `step` expects it, the student waiting at the next task or question: a
    fresh record for it (no attempts, no hints) and the captured values (bad_mac) set again."""
    lab_dir, _ = lab
    cli(lab_dir, "reset", "--to", step, "--yes", check=True)
    p = progress(lab_dir)
    assert not p["finished"] and p["captures"]["ubuntu-2"]["bad_mac"], p
    return lab_dir


def at_broken_task(lab):
    """The task waiting, untouched: ubuntu-2's cali0 has the reported MAC, nothing tried."""
    lab_dir = at(lab, "break-mac")
    rec = progress(lab_dir)["steps"]["make-them-talk"]
    assert progress(lab_dir)["current"] == "make-them-talk" and rec["attempts"] == rec["hints"] == 0
    return lab_dir


def test_start_runs_up_to_the_task_and_shows_its_goal(lab):
    lab_dir, scenario = lab
    res = labgen("scenario", "start", str(scenario), "--dir", str(lab_dir), "--lang", "en", "--yes", check=True)
    assert "TASK · Make the two workloads talk again" in res.stdout
    assert "100% packet loss" in res.stdout  # the symptom step ran on the way
    p = progress(lab_dir)
    assert p["current"] == "make-them-talk" and p["variant"] == "challenge"
    assert p["captures"]["ubuntu-2"]["bad_mac"] == "ee:aa:66:53:32:86"  # the author's report


def test_check_before_fixing_fails_with_the_plain_message(lab):
    lab_dir = at_broken_task(lab)
    res = cli(lab_dir, "check")
    assert res.returncode == 6, res.stdout + res.stderr
    out = flat(res.stdout)
    assert NO_REPLIES in out and "The workload on ubuntu-3 (172.32.3.10) still gets no replies" in out
    assert "does not match" not in out and "Traceback" not in res.stderr  # plain words only


def test_hints_come_in_order_with_the_captured_mac(lab):
    lab_dir = at_broken_task(lab)
    first = cli(lab_dir, "hint", check=True)
    assert flat(first.stdout).startswith("hint 1/3 Start from the symptom")
    second = cli(lab_dir, "hint", check=True)
    assert flat(second.stdout).startswith("hint 2/3 Inside the workload")
    assert progress(lab_dir)["captures"]["ubuntu-2"]["bad_mac"] in flat(second.stdout)
    assert progress(lab_dir)["steps"]["make-them-talk"]["hints"] == 2


def test_a_wrong_fix_fails_with_the_plain_message(lab):
    lab_dir = at_broken_task(lab)
    ssh(lab_dir, "ubuntu-2", "sudo ip -n wl-ubuntu-2 link set cali0 address 02:00:00:00:00:01")
    res = cli(lab_dir, "check")
    assert res.returncode == 6 and NO_REPLIES in flat(res.stdout)


def test_the_articles_fix_by_hand_passes(lab):
    lab_dir = at_broken_task(lab)
    assert cli(lab_dir, "check").returncode == 6  # a first try, before the fix
    ssh(lab_dir, "ubuntu-2", "sudo ip -n wl-ubuntu-2 link set cali0 address ee:ee:ee:ee:ee:ee")
    res = cli(lab_dir, "check", check=True)
    assert "passed: Make the two workloads talk again" in res.stdout
    assert "QUESTION · Where did the replies go?" in res.stdout
    rec = progress(lab_dir)["steps"]["make-them-talk"]
    assert (rec["status"], rec["attempts"], rec["passed"]) == ("passed", 2, 1)  # both tries counted


def test_answer_is_normalised_and_finishes_the_scenario(lab):
    lab_dir = at(lab, "where-replies-went")  # the task done by its solution
    assert progress(lab_dir)["current"] == "where-replies-went"
    wrong = cli(lab_dir, "answer", "02:00:00:00:00:01")
    assert wrong.returncode == 6 and "Not that one" in flat(wrong.stdout)
    right = cli(lab_dir, "answer", "EE-EE-EE-EE-EE-EE", check=True)
    assert "Right: the host took ee:ee:ee:ee:ee:ee" in flat(right.stdout)
    assert "Finished" in right.stdout and progress(lab_dir)["finished"]
    gone = ssh(lab_dir, "ubuntu-2", "ip netns list | grep -c wl- || true")
    assert gone.stdout.strip() == "0"  # the end ran the cleanup


def test_reset_to_break_mac_restores_the_broken_state(lab):
    # from the hardest place to come back from: finished, the cleanup ran, the workloads gone
    lab_dir = at(lab, "where-replies-went")
    cli(lab_dir, "answer", "ee:ee:ee:ee:ee:ee", check=True)
    assert progress(lab_dir)["finished"]
    res = cli(lab_dir, "reset", "--to", "break-mac", "--yes", check=True)
    assert "TASK · Make the two workloads talk again" in res.stdout
    p = progress(lab_dir)
    assert p["current"] == "make-them-talk" and not p["finished"]
    assert "make-them-talk" in p["steps"] and p["steps"]["make-them-talk"]["attempts"] == 0
    link = ssh(lab_dir, "ubuntu-2", "sudo ip -n wl-ubuntu-2 link show cali0").stdout
    assert p["captures"]["ubuntu-2"]["bad_mac"] in link  # broken again
    assert cli(lab_dir, "check").returncode == 6


def entry(lab_dir):
    return ssh(lab_dir, "ubuntu-2", f"ip neigh show {WL2} dev {HOST_IF2}").stdout


def test_removing_the_neighbour_entry_fails_with_its_own_message(lab):
    lab_dir = at_broken_task(lab)
    ssh(lab_dir, "ubuntu-2", f"sudo ip neigh del {WL2} dev {HOST_IF2}")
    res = cli(lab_dir, "check")
    assert res.returncode == 6
    out = flat(res.stdout)
    assert "On ubuntu-2 you removed the host's permanent neighbour entry for its workload 172.32.2.10" in out
    assert "Calico has just undone" not in out
    # the check did what Felix's route refresh does: the entry is back, and ping fails again
    assert "lladdr ee:ee:ee:ee:ee:ee PERMANENT" in entry(lab_dir)
    assert NO_REPLIES in out


def test_repointing_the_neighbour_entry_is_undone_by_calicos_refresh(lab):
    # the fix that works only until Felix's next route refresh (issue 20)
    lab_dir = at_broken_task(lab)
    bad = progress(lab_dir)["captures"]["ubuntu-2"]["bad_mac"]
    ssh(lab_dir, "ubuntu-2", f"sudo ip neigh replace {WL2} lladdr {bad} dev {HOST_IF2} nud permanent")
    assert ssh(lab_dir, "ubuntu-2", "sudo ip netns exec wl-ubuntu-2 ping -c 1 -W 1 172.32.3.10").returncode == 0
    res = cli(lab_dir, "check")
    assert res.returncode == 6, res.stdout
    out = flat(res.stdout)
    assert (
        "Calico has just undone your fix on ubuntu-2: you pointed the host's permanent "
        "neighbour entry for 172.32.2.10 at cali0's new MAC"
    ) in out
    assert "undone your fix on ubuntu-3" not in out and "you removed" not in out
    assert "lladdr ee:ee:ee:ee:ee:ee PERMANENT" in entry(lab_dir)
    assert progress(lab_dir)["current"] == "make-them-talk"
    # the article's fix on top of it now passes: the refresh cannot undo it
    ssh(lab_dir, "ubuntu-2", "sudo ip -n wl-ubuntu-2 link set cali0 address ee:ee:ee:ee:ee:ee")
    assert "passed: Make the two workloads talk again" in cli(lab_dir, "check", check=True).stdout


def test_the_chinese_message_says_calico_undid_the_fix(lab):
    lab_dir = at_broken_task(lab)
    bad = progress(lab_dir)["captures"]["ubuntu-2"]["bad_mac"]
    ssh(lab_dir, "ubuntu-2", f"sudo ip neigh replace {WL2} lladdr {bad} dev {HOST_IF2} nud permanent")
    res = labgen("scenario", "check", "--dir", str(lab_dir), "--lang", "zh")
    assert res.returncode == 6
    assert "Calico刚刚撤销了你在ubuntu-2上的修复" in "".join(res.stdout.split())


def test_solve_after_a_reset_is_recorded_as_by_solution(lab):
    lab_dir, _ = lab
    cli(lab_dir, "reset", "--to", "make-them-talk", "--yes", check=True)
    res = cli(lab_dir, "solve", check=True)
    assert "solved by the solution" in res.stdout
    rows = json.loads(cli(lab_dir, "progress", "--format", "json", check=True).stdout)["steps"]
    assert rows[0]["solved"] == "by solution" and rows[1]["status"] == "open"


def test_presenter_mode_runs_each_tasks_solution_then_its_check(lab):
    lab_dir, scenario = lab
    res = labgen(
        "scenario", "run", str(scenario), "--variant", "challenge", "--dir", str(lab_dir), "--lang", "en", check=True
    )
    out = flat(res.stdout)
    assert "Make the two workloads talk again · solution" in out
    assert "Make the two workloads talk again · check" in out
    assert "Answer: ee:ee:ee:ee:ee:ee" in out and "{{ bad_mac }}" not in out
