"""The student's side of a scenario (scenario/challenge.py, student_progress.py): the flow, the
progress file and its lock. SSH is a FakeRemote here; the real thing runs on LXC in
tests/integration/test_challenge_lxc.py."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest

from labgen.errors import InputError, LabgenError
from labgen.labdir import LabDir
from labgen.model import Lab, Node
from labgen.scenario import student_progress as prog
from labgen.scenario.challenge import Challenge, challenge_variant, normalise_answer
from labgen.scenario.load import load_scenario
from labgen.scenario.runner import Runner
from labgen.scenario.summary import summarise
from tests.unit.fakes import FakeRemote

DATA = Path(__file__).resolve().parent.parent / "data" / "scenarios"


def lab():
    node = Node("ubuntu-1", ipaddress.ip_address("192.168.63.101"), ("base",), 512, 1)
    return Lab("ch-unit", "", ipaddress.ip_network("192.168.63.0/24"), {}, (node,))


class Box:
    """A one-node 'machine': /tmp/f's content, and every command it ran."""

    def __init__(self):
        self.f = None
        self.remote = FakeRemote(self.handle)

    def handle(self, node, cmd):
        if cmd.startswith('echo "secret'):
            return 0, "secret is 42\n", ""
        if cmd.startswith("echo hello > /tmp/f"):
            self.f = "hello\n"
            return 0, "", ""
        if cmd == "cat /tmp/f":
            return (0, self.f, "") if self.f is not None else (1, "", "cat: /tmp/f: No such file")
        if cmd == "rm -f /tmp/f":
            self.f = None
        return 0, "", ""


@pytest.fixture
def setup(tmp_path):
    lab_dir = LabDir(tmp_path)
    box = Box()
    sc = load_scenario(DATA / "challenge.yml")

    def make():  # a new process would build a new Challenge from the same lab dir
        return Challenge(lab_dir, sc, "default", lab(), box.remote)

    return make, box, lab_dir


def test_answers_are_normalised():
    assert normalise_answer("EE-EE-EE-EE-EE-EE") == normalise_answer("ee:ee:ee:ee:ee:ee")
    assert normalise_answer(" Proxy ARP ") == "proxyarp"
    assert normalise_answer("ee:ee") != normalise_answer("ee:ef")


def test_the_whole_flow_check_hint_answer_and_restart(setup):
    make, box, lab_dir = setup
    out = make().start()
    assert out.current == "make-file"
    p = prog.load(lab_dir)
    assert p["captures"] == {"ubuntu-1": {"secret": "42"}}
    # check before doing anything: fails with the author's plain message
    out = make().check()
    assert not out.ok and [m.en for m in out.messages] == ["/tmp/f does not say hello yet."]
    assert out.details and "exit status 1" in out.details[0]
    # hints in order, variables filled in, then no more
    ch = make()
    assert ch.hint()[:2] == (1, 2)
    number, total, text = ch.hint()
    assert (number, total, ch.text(text, "en")) == (2, 2, "echo hello > /tmp/f")
    assert ch.hint() == (2, 2, None)
    # the student does it by hand; the check passes and the question waits
    box.f = "hello\n"
    out = make().check()
    assert out.ok and out.current == "what-secret"
    # a new Challenge (as after a restart) still knows the captured secret
    out = make().answer("41")
    assert not out.ok and out.messages[0].en == "Look at the first step."
    with pytest.raises(LabgenError, match="is a question, not a task"):
        make().check()
    out = make().answer(" 4-2 ")
    assert out.ok and out.current is None
    p = prog.load(lab_dir)
    assert p["finished"] and box.f is None  # the end ran the cleanup step
    rows = {r["step"]: r for r in summarise(make())["steps"]}
    assert rows["make-file"]["attempts"] == 2 and rows["make-file"]["passed"] == 1
    assert rows["make-file"]["hints"] == 2 and rows["make-file"]["solved"] == "yes"
    assert rows["what-secret"]["attempts"] == 2 and rows["what-secret"]["status"] == "passed"
    with pytest.raises(LabgenError, match="finished"):
        make().hint()


def test_solve_runs_the_solution_then_the_check(setup):
    make, box, lab_dir = setup
    make().start()
    out = make().solve()
    assert out.current == "what-secret" and box.f == "hello\n"
    row = summarise(make())["steps"][0]
    assert (row["status"], row["solved"], row["attempts"]) == ("solved", "by solution", 0)


def test_reset_to_a_step_replays_up_to_it(setup):
    make, box, lab_dir = setup
    make().start()
    box.f = "hello\n"
    make().check()
    assert make().current().id == "what-secret"
    box.remote.commands.clear()
    out = make().reset("make-file")
    ran = [c for _, c in box.remote.commands]
    assert ran[0] == "rm -f /tmp/f" and ran[1].startswith('echo "secret')  # cleanup, then replay
    assert out.current == "make-file" and box.f is None
    assert "make-file" not in prog.load(lab_dir)["steps"] or prog.load(lab_dir)["steps"]["make-file"]["attempts"] == 0
    with pytest.raises(LabgenError, match="no step 'nope'"):
        make().reset("nope")


def test_no_progress_means_a_clear_error(setup):
    make, _, _ = setup
    with pytest.raises(LabgenError, match="no scenario started"):
        make().check()


def test_one_check_at_a_time(setup):
    make, _, lab_dir = setup
    make().start()
    with prog.check_slot(lab_dir):
        with pytest.raises(LabgenError, match="already running"):
            make().check()


def test_two_processes_do_not_lose_updates(tmp_path):
    lab_dir = LabDir(tmp_path)
    prog.replace(lab_dir, prog.fresh("x", "", "default"))
    script = (
        "import sys\n"
        "from labgen.labdir import LabDir\n"
        "from labgen.scenario import student_progress as prog\n"
        "for _ in range(150):\n"
        "    with prog.changing(LabDir(sys.argv[1])) as p:\n"
        "        rec = prog.step_record(p, 't', 'task')\n"
        "        rec['attempts'] += 1\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)]) for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert prog.load(lab_dir)["steps"]["t"]["attempts"] == 300
    json.loads(prog.progress_file(lab_dir).read_text())  # a whole file, always


def test_presenter_mode_runs_solution_then_check_and_shows_the_answer():
    box = Box()
    sc = load_scenario(DATA / "challenge.yml")

    class Seen:
        def __init__(self):
            self.steps = []

        def scenario_started(self, r):
            pass

        def scenario_finished(self, r):
            pass

        def step_started(self, step, commands=None):
            self.steps.append(step)

        def step_finished(self, r):
            pass

    seen = Seen()
    record = Runner(sc, "default", lab(), box.remote, seen, "en", "lxc").run()
    assert record.passed
    kinds = [s.kind for s in seen.steps]
    assert kinds == ["setup", "fix", "verify", "question", "explain", "cleanup"]
    assert "Answer: 42" in seen.steps[3].explain.en


def test_challenge_variant_picks_the_first_with_a_task():
    sc = load_scenario(DATA / "challenge.yml")
    assert challenge_variant(sc, None) == "default"
    assert [s.id for s in sc.variants["again"].steps] == ["prepare", "make-file"]
    with pytest.raises(LabgenError, match="no variant"):
        challenge_variant(sc, "nope")


def test_task_and_question_problems_have_file_line_and_did_you_mean():
    with pytest.raises(InputError) as exc:
        load_scenario(DATA / "challenge-broken.yml")
    text = str(exc.value)
    src = str(DATA / "challenge-broken.yml")
    for expected in (
        f"{src} line 9: step t: goal uses {{{{ wrod }}}}, which is not defined",
        f"{src} line 10: step t: unknown key 'hint' (did you mean 'hints'?)",
        f"{src} line 13: step t, check[0]: missing key 'message'",
        f"{src} line 15: step t, check[0]: unknown key 'mesage' (did you mean 'message'?)",
        f"{src} line 16: step t, solution: missing key 'run'",
        f"{src} line 21: step q: answers is an empty list",
        f"{src} line 25: variant v, step #1: use names 'tt', which is not a step",
    ):
        assert expected in text, text


def test_builtin_mac_bug_has_a_challenge_path():
    from labgen.scenario.load import find_scenario

    sc = load_scenario(find_scenario("mac-bug"))
    name = challenge_variant(sc, None)
    kinds = [s.kind for s in sc.variants[name].steps]
    assert "task" in kinds and "question" in kinds
    task = next(s for s in sc.variants[name].steps if s.kind == "task")
    assert len(task.hints) >= 2 and task.solution is not None and task.checks


def test_worksheet_has_the_story_tasks_and_folded_hints_but_no_solution():
    from labgen.scenario.load import find_scenario
    from labgen.scenario.worksheet import render_worksheet

    sc = load_scenario(find_scenario("mac-bug"))
    html = render_worksheet(sc, "challenge", "en")
    assert "Make the two workloads talk again" in html and "Where did the replies go?" in html
    assert html.count("<details>") == 5  # 3 + 2 hints, folded
    task = next(s for s in sc.variants["challenge"].steps if s.kind == "task")
    assert task.solution.run.splitlines()[1].strip() not in html  # the solution's command
    assert "ip neigh replace" not in html and "tcpdump -l -e" not in html  # no commands
    assert "Clean up" not in html  # no cleanup steps
    zh = render_worksheet(sc, "challenge", "zh")
    assert "练习单" in zh and "让两个工作负载重新互通" in zh and 'lang="zh-CN"' in zh


def test_hints_and_answers_follow_the_one_character_policy():
    from labgen import yamlsrc
    from labgen.scenario.load import parse_scenario

    text = (DATA / "challenge.yml").read_text(encoding="utf-8")
    text = text.replace('- {en: "Use echo.",', '- {en: "Use \\u202eecho.",').replace(
        '"forty-two"]', '"forty\\u200b-two"]'
    )
    with pytest.raises(InputError) as exc:
        parse_scenario(yamlsrc.load_text(text, "c.yml"), "c.yml")
    problems = str(exc.value)
    assert "c.yml line 18: step make-file: hints[0].en contains the control character U+202E" in problems
    assert "c.yml line 32: step what-secret: answers[1] contains the control character U+200B" in problems


def test_the_verdict_comes_before_the_steps_that_follow(setup):
    make, box, _ = setup
    make().start()
    box.f = "hello\n"
    make().check()
    seen = []
    make().answer("42", passed=lambda outcome: seen.append(list(box.remote.commands)))
    assert seen and "rm -f /tmp/f" not in [c for _, c in seen[0]]  # said before cleanup ran
    assert "rm -f /tmp/f" in [c for _, c in box.remote.commands]
