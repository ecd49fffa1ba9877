"""challenge.py in detail: what each action records in progress.json, the messages a student
reads, and the paths off the happy one (a failing setup, a failing solution, a reset to a
setup step, a challenge reopened from the lab dir). SSH is the FakeRemote of
test_challenge.py's Box; the real flow runs on LXC in tests/integration/test_challenge_lxc.py."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from labgen.errors import LabgenError, ScenarioFailed
from labgen.labdir import LabDir
from labgen.model import Text
from labgen.scenario import challenge as chmod
from labgen.scenario import student_progress as prog
from labgen.scenario.challenge import Challenge, Outcome, challenge_variant, normalise_answer, open_challenge, steps_of
from labgen.scenario.load import load_scenario
from tests.unit.test_challenge import DATA, Box, lab

LABS = Path(__file__).resolve().parent.parent / "data" / "labs"
BUILTIN_LAB = Path(chmod.__file__).resolve().parents[1] / "labs" / "mesos-calico.yml"


@pytest.fixture
def ch(tmp_path):
    lab_dir = LabDir(tmp_path)
    box = Box()
    sc = load_scenario(DATA / "challenge.yml")
    reporters = []

    def make(reporter=None):
        reporters.append(reporter)
        return Challenge(lab_dir, sc, "default", lab(), box.remote, reporter)

    return SimpleNamespace(make=make, box=box, lab_dir=lab_dir, sc=sc, p=lambda: prog.load(lab_dir))


def errors(fn, *args):
    with pytest.raises(LabgenError) as exc:
        fn(*args)
    return exc.value.message, exc.value.hint


# ---- pure parts


def test_normalise_answer_drops_each_separator_and_folds_case():
    assert normalise_answer("a b\tc:d-e.f_g") == "abcdefg"
    assert normalise_answer("A::--..__  B") == "ab"
    assert normalise_answer("Straße") == "strasse"  # casefold, not lower
    assert normalise_answer("a/b+c") == "a/b+c"  # only those separators go


def test_outcome_defaults_are_empty_and_not_shared():
    a, b = Outcome(True), Outcome(False)
    assert (a.messages, a.details, a.current) == ([], [], None)
    a.messages.append(Text("x", "x"))
    a.details.append("d")
    assert b.messages == [] and b.details == []


def test_steps_of_splits_off_the_cleanup_steps(ch):
    main, cleanups = steps_of(ch.sc, "default")
    assert [s.id for s in main] == ["prepare", "make-file", "what-secret", "done"]
    assert [s.id for s in cleanups] == ["tidy"]


def variants(**kinds):
    return SimpleNamespace(
        id="sc",
        variants={name: SimpleNamespace(steps=[SimpleNamespace(kind=k) for k in ks]) for name, ks in kinds.items()},
    )


def test_challenge_variant_choice_and_messages():
    sc = variants(default=["setup", "explain"], b=["setup", "question"], c=["task"])
    assert challenge_variant(sc, None) == "b"  # the first one a student can do
    assert challenge_variant(sc, "c") == "c"
    assert challenge_variant(sc, "default") == "default"  # asked for: taken as it is
    assert errors(challenge_variant, sc, "nope") == ("scenario sc has no variant 'nope'", "variants: default, b, c")
    assert errors(challenge_variant, variants(default=["setup"], x=["cleanup"]), None) == (
        "scenario sc has no task or question for a student",
        "`labgen scenario run` shows it as a presenter instead",
    )
    assert challenge_variant(variants(default=["task"], b=["question"]), "") == "default"


# ---- reading


def test_reading_before_start_names_the_scenario(ch):
    assert errors(ch.make().progress) == (
        "no scenario started on this lab",
        "`labgen scenario start challenge` starts one",
    )


def test_step_current_values_and_text(ch):
    c = ch.make()
    assert c.step(None) is None and c.step("tidy") is None and c.step("nope") is None
    assert c.step("done").id == "done"
    c.start()
    assert c.current().id == "make-file"
    c = ch.make()  # captures come back from progress.json
    assert c.values()["secret"] == "42" and c.values()["word"] == "hello"
    mine = c.values("ubuntu-1")
    assert mine["secret"] == "42" and mine["node"] == "ubuntu-1"
    assert mine["node_ip"] == "192.168.63.101"
    assert c.text(None, "en") == ""
    assert (
        c.text(Text("{{ word }} on {{ node }}", "在 {{ node }} 上 {{ secret }}"), "zh", "ubuntu-1")
        == "在 ubuntu-1 上 42"
    )
    assert c.text(Text("{{ word }} {{ secret }}", "-"), "en") == "hello 42"


# ---- start


def test_start_records_a_fresh_progress_and_waits_at_the_first_task(ch, monkeypatch):
    monkeypatch.setattr(prog, "now", lambda: 5.0)
    out = ch.make().start()
    assert (out.ok, out.current, out.messages) == (True, "make-file", [])
    p = ch.p()
    assert p["scenario"] == "challenge" and p["variant"] == "default"
    assert p["source"] == str((DATA / "challenge.yml").resolve())
    assert p["current"] == "make-file" and p["finished"] is None
    assert p["steps"] == {
        "make-file": {
            "kind": "task",
            "status": "open",
            "opened": 5.0,
            "closed": None,
            "attempts": 0,
            "passed": 0,
            "hints": 0,
            "last": None,
        }
    }
    assert [c for _, c in ch.box.remote.commands] == ['echo "secret is 42"']


def test_start_again_replaces_the_earlier_progress(ch):
    ch.make().start()
    ch.box.f = "hello\n"
    ch.make().check()
    ch.make().start()
    p = ch.p()
    assert p["current"] == "make-file" and list(p["steps"]) == ["make-file"]
    assert p["steps"]["make-file"]["attempts"] == 0


def test_start_without_a_source_file_records_an_empty_source(tmp_path):
    import dataclasses

    sc = dataclasses.replace(load_scenario(DATA / "challenge.yml"), source=None)
    Challenge(LabDir(tmp_path), sc, "default", lab(), Box().remote).start()
    assert prog.load(LabDir(tmp_path))["source"] == ""


def test_a_failing_setup_step_stops_with_its_failures_and_keeps_the_place(ch):
    ch.box.remote.handler = lambda node, cmd: (3, "", "boom")
    with pytest.raises(ScenarioFailed) as exc:
        ch.make().start()
    assert exc.value.message.startswith("scenario challenge: step prepare failed: ubuntu-1: ")
    assert exc.value.hint == "`labgen scenario reset` runs the cleanup and starts over"
    assert ch.p()["current"] == "prepare" and ch.p()["finished"] is None


# ---- check


def test_a_failed_check_is_recorded_with_its_message_and_details(ch, monkeypatch):
    ch.make().start()
    monkeypatch.setattr(prog, "now", lambda: 8.0)
    called = []
    out = ch.make().check(passed=called.append)
    assert not out.ok and out.current == "make-file" and called == []
    rec = ch.p()["steps"]["make-file"]
    assert (rec["attempts"], rec["passed"], rec["status"], rec["closed"]) == (1, 0, "open", None)
    assert rec["last"] == {
        "ok": False,
        "at": 8.0,
        "details": out.details,
        "messages": [{"en": "/tmp/f does not say hello yet.", "zh": "/tmp/f 里还没有 hello。"}],
    }
    assert out.details[0].startswith("ubuntu-1: ")
    assert ch.p()["current"] == "make-file"


def test_a_passed_check_says_so_first_then_moves_on(ch, monkeypatch):
    ch.make().start()
    ch.box.f = "hello\n"
    monkeypatch.setattr(prog, "now", lambda: 9.0)
    called = []
    out = ch.make().check(passed=lambda o: called.append((o.ok, ch.p()["current"])))
    assert called == [(True, "make-file")]  # before the next step was opened
    assert out.ok and out.current == "what-secret"
    rec = ch.p()["steps"]["make-file"]
    assert (rec["attempts"], rec["passed"], rec["status"], rec["closed"]) == (1, 1, "passed", 9.0)
    assert rec["last"] == {"ok": True, "at": 9.0, "details": [], "messages": []}
    assert ch.p()["steps"]["what-secret"]["opened"] == 9.0
    assert ch.make().check is not None


def test_checks_run_quietly_and_the_reporter_comes_back(ch):
    seen = []

    class Rep:
        def scenario_started(self, r):
            pass

        def scenario_finished(self, r):
            pass

        def step_started(self, step, commands=None):
            seen.append(step.id)

        def step_finished(self, r):
            pass

    rep = Rep()
    ch.make(rep).start()
    assert seen == ["prepare"]
    c = ch.make(rep)
    c.check()
    assert seen == ["prepare"] and c.runner.reporter is rep  # the check showed nothing


def test_check_messages_name_the_failing_node(tmp_path):
    """A check message with {{ node }} is filled in per failing node; the same text once."""
    import dataclasses

    sc = load_scenario(DATA / "challenge.yml")
    task = sc.variants["default"].steps[1]
    check = dataclasses.replace(task.checks[0], message=Text("{{ node }}: no file", "{{ node }}：没有"))
    steps = list(sc.variants["default"].steps)
    steps[1] = dataclasses.replace(task, checks=(check, check))
    sc = dataclasses.replace(sc, variants={"default": dataclasses.replace(sc.variants["default"], steps=tuple(steps))})
    c = Challenge(LabDir(tmp_path), sc, "default", lab(), Box().remote)
    c.start()
    out = c.check()
    assert [(m.en, m.zh) for m in out.messages] == [("ubuntu-1: no file", "ubuntu-1：没有")]
    assert len(out.details) == 4  # both checks' failures, each named once


# ---- solve


def test_solve_records_a_solved_step_and_calls_passed(ch, monkeypatch):
    ch.make().start()
    monkeypatch.setattr(prog, "now", lambda: 4.0)
    called = []
    out = ch.make().solve(passed=called.append)
    assert [o.ok for o in called] == [True] and out.current == "what-secret"
    rec = ch.p()["steps"]["make-file"]
    assert (rec["status"], rec["closed"], rec["attempts"]) == ("solved", 4.0, 0)
    assert rec["last"] == {"ok": True, "at": 4.0, "details": [], "messages": [], "solution": True}


def test_a_solution_that_fails_is_an_error_and_recorded(ch):
    ch.make().start()
    ch.box.remote.handler = lambda node, cmd: (2, "", "denied")  # solution and check fail
    called = []
    with pytest.raises(ScenarioFailed) as exc:
        ch.make().solve(passed=called.append)
    assert exc.value.message.startswith("the solution of make-file did not pass its check: ubuntu-1: ")
    assert exc.value.hint == "`labgen scenario reset` puts the lab back as the task expects"
    rec = ch.p()["steps"]["make-file"]
    assert rec["status"] == "open" and rec["closed"] is None and called == []
    assert rec["last"]["ok"] is False and rec["last"]["solution"] is True
    assert rec["last"]["details"][0] == "ubuntu-1: exit status 2, expected 0"  # the solution's
    assert len(rec["last"]["details"]) == 3  # then the check's
    assert ch.p()["current"] == "make-file"


def test_a_solution_that_fails_while_the_check_passes_is_still_a_failure(ch):
    ch.make().start()
    ch.box.f = "hello\n"

    def handler(node, cmd):
        return (1, "", "no") if cmd.startswith("echo hello") else ch.box.handle(node, cmd)

    ch.box.remote.handler = handler
    with pytest.raises(ScenarioFailed, match="did not pass its check"):
        ch.make().solve()
    assert ch.p()["steps"]["make-file"]["last"]["ok"] is False


# ---- hint


def test_hints_are_recorded_one_by_one(ch):
    ch.make().start()
    c = ch.make()
    n, total, text = c.hint()
    assert (n, total, text.en) == (1, 2, "Use echo.")
    assert ch.p()["steps"]["make-file"]["hints"] == 1
    assert ch.make().hint()[0] == 2 and ch.make().hint()[0] == 2
    assert ch.p()["steps"]["make-file"]["hints"] == 2


# ---- answer


def test_answers_right_wrong_and_blank(ch, monkeypatch):
    ch.make().start()
    ch.make().solve()
    monkeypatch.setattr(prog, "now", lambda: 6.0)
    out = ch.make().answer("   ")
    assert not out.ok and out.current == "what-secret"
    assert [m.en for m in out.messages] == ["Look at the first step."]
    rec = ch.p()["steps"]["what-secret"]
    assert rec["last"] == {
        "ok": False,
        "at": 6.0,
        "answer": "   ",
        "details": [],
        "messages": [{"en": "Look at the first step.", "zh": "看第一步的输出。"}],
    }
    ch.make().answer("x" * 300)
    assert ch.p()["steps"]["what-secret"]["last"]["answer"] == "x" * 200
    assert (ch.p()["steps"]["what-secret"]["attempts"], ch.p()["steps"]["what-secret"]["passed"]) == (2, 0)
    called = []
    out = ch.make().answer("Forty Two", passed=called.append)
    assert out.ok and out.current is None
    assert [(o.ok, o.current, [m.en for m in o.messages]) for o in called] == [(True, "what-secret", ["Yes."])]
    assert [m.en for m in out.messages] == ["Yes."]
    rec = ch.p()["steps"]["what-secret"]
    assert (rec["attempts"], rec["passed"], rec["status"], rec["closed"]) == (3, 1, "passed", 6.0)
    assert rec["last"]["messages"] == [{"en": "Yes.", "zh": "对。"}] and rec["last"]["ok"] is True
    assert ch.p()["finished"] == 6.0 and ch.p()["current"] is None


def test_an_answer_without_feedback_has_no_message(tmp_path):
    import dataclasses

    sc = load_scenario(DATA / "challenge.yml")
    steps = list(sc.variants["default"].steps)
    steps[2] = dataclasses.replace(steps[2], correct=None, wrong=None)
    sc = dataclasses.replace(sc, variants={"default": dataclasses.replace(sc.variants["default"], steps=tuple(steps))})
    lab_dir = LabDir(tmp_path)
    c = Challenge(lab_dir, sc, "default", lab(), Box().remote)
    c.start()
    c.solve()
    out = c.answer("nope")
    assert not out.ok and out.messages == []
    assert prog.load(lab_dir)["steps"]["what-secret"]["last"]["messages"] == []
    out = c.answer("42")
    assert out.ok and out.messages == []


# ---- where the student is: wrong kind, finished, nothing waiting


def test_waiting_messages(ch):
    ch.make().start()
    assert errors(ch.make().answer, "x") == (
        "the current step make-file is a task, not a question",
        "`labgen scenario answer TEXT` answers it",
    )
    ch.make().solve()
    assert errors(ch.make().solve) == (
        "the current step what-secret is a question, not a task",
        "`labgen scenario check` checks it",
    )
    assert ch.make().hint()[:2] == (0, 0)  # a question without hints: hint() any kind
    with prog.changing(ch.lab_dir) as p:
        p["current"] = "prepare"
    assert errors(ch.make().check) == (
        "no task or question is waiting on this lab",
        "`labgen scenario reset` puts the lab back at the first task",
    )
    with prog.changing(ch.lab_dir) as p:
        p["current"] = None
    assert errors(ch.make().hint)[0] == "no task or question is waiting on this lab"
    with prog.changing(ch.lab_dir) as p:
        p["finished"] = 1.0
    assert errors(ch.make().check) == (
        "scenario challenge is finished on this lab",
        "`labgen scenario reset` starts it over",
    )


# ---- reset


def test_reset_to_the_start_runs_cleanup_and_replays_the_setup(ch):
    ch.make().start()
    ch.make().solve()
    ch.make().answer("no")
    ch.box.remote.commands.clear()
    out = ch.make().reset()
    assert [c for _, c in ch.box.remote.commands] == ["rm -f /tmp/f", 'echo "secret is 42"']
    assert out.current == "make-file"
    p = ch.p()
    assert list(p["steps"]) == ["make-file"] and p["steps"]["make-file"]["status"] == "open"
    assert p["captures"] == {"ubuntu-1": {"secret": "42"}} and p["finished"] is None


def test_reset_to_a_later_step_keeps_the_records_before_it(ch):
    ch.make().start()
    ch.make().hint()
    ch.make().solve()
    ch.make().answer("no")
    ch.box.remote.commands.clear()
    out = ch.make().reset("what-secret")
    ran = [c for _, c in ch.box.remote.commands]
    assert ran == ["rm -f /tmp/f", 'echo "secret is 42"', "echo hello > /tmp/f"]  # task solved
    assert out.current == "what-secret"
    p = ch.p()
    assert p["steps"]["make-file"]["hints"] == 1 and p["steps"]["make-file"]["status"] == "solved"
    assert p["steps"]["what-secret"]["attempts"] == 0


def test_reset_to_an_ordinary_step_replays_it_too(ch):
    ch.make().start()
    ch.make().solve()
    ch.box.remote.commands.clear()
    out = ch.make().reset("prepare")
    assert [c for _, c in ch.box.remote.commands] == ["rm -f /tmp/f", 'echo "secret is 42"']
    assert out.current == "make-file" and ch.p()["steps"]["make-file"]["status"] == "open"


def test_reset_after_the_end_and_to_an_unknown_step(ch):
    ch.make().start()
    ch.make().solve()
    ch.make().answer("42")
    assert ch.p()["finished"]
    out = ch.make().reset("done")
    assert out.current is None and ch.p()["finished"]  # past the last student step
    assert errors(ch.make().reset, "tidy") == (
        "no step 'tidy' in this scenario",
        "steps: prepare, make-file, what-secret, done",
    )


# ---- start at a later task or question (`classroom scenario run --to TASK`)


def test_start_at_a_question_solves_the_tasks_before_it_and_waits_there(ch):
    out = ch.make().start(at="what-secret")
    ran = [c for _, c in ch.box.remote.commands]
    assert ran == ['echo "secret is 42"', "echo hello > /tmp/f"]  # no cleanup first: a fresh start
    assert out.current == "what-secret"
    p = ch.p()
    assert p["current"] == "what-secret" and list(p["steps"]) == ["what-secret"]
    assert p["captures"] == {"ubuntu-1": {"secret": "42"}} and p["finished"] is None


def test_start_at_the_first_task_is_a_plain_start(ch):
    out = ch.make().start(at="make-file")
    assert [c for _, c in ch.box.remote.commands] == ['echo "secret is 42"']
    assert out.current == "make-file" and ch.p()["steps"]["make-file"]["status"] == "open"


def test_start_at_an_ordinary_or_unknown_step_is_refused_before_anything_runs(ch):
    for step in ("prepare", "nope"):
        with pytest.raises(LabgenError) as exc:
            ch.make().start(at=step)
        assert exc.value.message == f"no task or question {step!r} in scenario challenge (variant default)"
        assert exc.value.hint == "tasks and questions: make-file, what-secret" and exc.value.exit_code == 2
    assert ch.box.remote.commands == [] and ch.p() is None


# ---- open_challenge: a later process picks the challenge up from the lab dir


def lab_dir_with_labfile(tmp_path, labfile=LABS / "duo.yml"):
    lab_dir = LabDir(tmp_path)
    lab_dir.path.mkdir(parents=True, exist_ok=True)
    shutil.copy(labfile, lab_dir.labfile)
    return lab_dir


def test_open_challenge_from_the_recorded_source(tmp_path):
    lab_dir = lab_dir_with_labfile(tmp_path)
    assert errors(open_challenge, lab_dir, None) == (
        "no scenario started on this lab",
        "`labgen scenario start mac-bug` starts one",
    )
    sc_file = tmp_path / "mine.yml"
    shutil.copy(DATA / "challenge.yml", sc_file)
    prog.replace(lab_dir, prog.fresh("challenge", str(sc_file), "again"))
    c = open_challenge(lab_dir, None, lang="zh", provider="libvirt")
    assert c.scenario.source == sc_file and c.variant == "again"
    assert c.lab.name == "duo" and c.runner.record.lang == "zh" and c.runner.record.provider == "libvirt"
    assert [s.id for s in c.main] == ["prepare", "make-file"] and c.cleanups == []


def test_open_challenge_falls_back_to_the_builtin_and_checks_the_variant(tmp_path):
    lab_dir = lab_dir_with_labfile(tmp_path, BUILTIN_LAB)
    prog.replace(lab_dir, prog.fresh("mac-bug", str(tmp_path / "gone.yml"), "challenge"))
    c = open_challenge(lab_dir, None)
    assert c.scenario.id == "mac-bug" and c.variant == "challenge"
    prog.replace(lab_dir, prog.fresh("mac-bug", "", "challenge"))
    assert open_challenge(lab_dir, None).scenario.id == "mac-bug"
    prog.replace(lab_dir, prog.fresh("mac-bug", "", "gone"))
    assert errors(open_challenge, lab_dir, None) == (
        "scenario mac-bug no longer has variant 'gone'",
        "`labgen scenario start` starts over",
    )


def test_captures_are_copied_not_shared():
    p = {"captures": {"n": {"a": "1"}}}
    got = chmod._captures(p)
    got["n"]["a"] = "2"
    assert p["captures"]["n"]["a"] == "1"
    assert chmod._captures({}) == {} and chmod._captures({"captures": None}) == {}


# ---- a two-node lab: which node a check failed on, and that node's own values


def lab2():
    import ipaddress

    from labgen.model import Lab, Node

    nodes = tuple(Node(f"ubuntu-{i}", ipaddress.ip_address(f"192.168.63.10{i}"), ("base",), 512, 1) for i in (1, 2))
    return Lab("ch-unit2", "", ipaddress.ip_network("192.168.63.0/24"), {}, nodes)


def two_node_challenge(tmp_path, contains=("hello",), checks=1):
    """challenge.yml with make-file's check run on ubuntu-2 (message: its node and address),
    after `checks - 1` checks that pass."""
    import dataclasses

    from labgen.model import Check, Expect

    sc = load_scenario(DATA / "challenge.yml")
    steps = list(sc.variants["default"].steps)
    task = steps[1]
    old = task.checks[0]
    failing = Check(
        dataclasses.replace(old.step, nodes=("ubuntu-2",), expect=Expect(stdout_contains=contains)),
        Text("{{ node }} ({{ node_ip }}): no file", "{{ node }}（{{ node_ip }}）：没有"),
    )
    passing = Check(dataclasses.replace(old.step, run="true", expect=Expect()), Text("never", "never"))
    steps[1] = dataclasses.replace(task, checks=(passing,) * (checks - 1) + (failing,))
    sc = dataclasses.replace(sc, variants={"default": dataclasses.replace(sc.variants["default"], steps=tuple(steps))})
    box = Box()
    return Challenge(LabDir(tmp_path), sc, "default", lab2(), box.remote), box


def test_a_check_message_is_filled_in_for_the_node_it_failed_on(tmp_path):
    c, box = two_node_challenge(tmp_path)
    c.start()
    out = c.check()
    assert [(m.en, m.zh) for m in out.messages] == [
        ("ubuntu-2 (192.168.63.102): no file", "ubuntu-2（192.168.63.102）：没有")
    ]
    assert all(d.startswith("ubuntu-2: ") for d in out.details)


def test_a_failure_text_with_a_colon_still_names_its_node(tmp_path):
    c, box = two_node_challenge(tmp_path, contains=("hello: world",))
    c.start()
    out = c.check()
    assert any("hello: world" in d for d in out.details)
    assert [m.en for m in out.messages] == ["ubuntu-2 (192.168.63.102): no file"]


def test_a_failing_check_after_a_passing_one_still_fails(tmp_path):
    c, box = two_node_challenge(tmp_path, checks=2)
    c.start()
    out = c.check()
    assert out.ok is False and [m.en for m in out.messages] == ["ubuntu-2 (192.168.63.102): no file"]


def test_values_of_a_node_without_captures(tmp_path):
    c, box = two_node_challenge(tmp_path)
    c.start()
    two = c.values("ubuntu-2")
    assert two["node"] == "ubuntu-2" and "secret" not in two  # captured on ubuntu-1 only
    assert c.values("ubuntu-1")["secret"] == "42"


# ---- defaults and pass-through


def test_challenge_defaults_and_open_challenge_passes_the_reporter(tmp_path):
    c = Challenge(LabDir(tmp_path), load_scenario(DATA / "challenge.yml"), "default", lab(), Box().remote)
    assert (c.runner.record.lang, c.runner.record.provider) == ("en", "lxc")
    lab_dir = lab_dir_with_labfile(tmp_path / "o")
    prog.replace(lab_dir, prog.fresh("challenge", str(DATA / "challenge.yml"), "default"))
    rep = chmod._NullReporter()
    c = open_challenge(lab_dir, None, reporter=rep)
    assert c.runner.reporter is rep
    assert (c.runner.record.lang, c.runner.record.provider) == ("en", "lxc")


def test_a_wrong_answer_is_false_and_a_right_one_runs_the_rest(ch):
    seen = []

    class Rep(chmod._NullReporter):
        def step_started(self, step, commands=None):
            seen.append(step.id)

    ch.make().start()
    ch.make().solve()
    assert ch.make(Rep()).answer("41").ok is False
    seen.clear()
    ch.make(Rep()).answer("42")
    assert seen == ["done", "tidy"]  # the explain step after it, then cleanup


# ---- reset: state it clears even when the replay fails, and what it replays


def test_reset_clears_the_end_and_the_captures_before_replaying(ch):
    ch.make().start()
    ch.make().solve()
    ch.make().answer("42")
    assert ch.p()["finished"]
    ch.box.remote.handler = lambda node, cmd: (1, "", "down")  # the replay fails
    with pytest.raises(ScenarioFailed) as exc:
        ch.make().reset()
    assert exc.value.message == "scenario challenge: step prepare failed: ubuntu-1: exit status 1, expected 0"
    p = ch.p()
    assert p["finished"] is None and p["current"] == "prepare" and p["captures"] == {}
    ch.box.remote.handler = ch.box.handle
    ch.make().start()
    ch.make().solve()
    assert ch.p()["current"] == "what-secret"
    ch.box.remote.handler = lambda node, cmd: (1, "", "down")
    with pytest.raises(ScenarioFailed):
        ch.make().reset("make-file")  # replays prepare itself, which fails
    assert ch.p()["current"] is None and ch.p()["captures"] == {}


def test_reset_replays_ordinary_steps_after_a_question_and_skips_bare_explains(tmp_path):
    import dataclasses

    sc = load_scenario(DATA / "challenge.yml")
    steps = list(sc.variants["default"].steps)
    extra = dataclasses.replace(steps[0], id="after", capture={}, run="echo after")
    steps.insert(4, extra)  # prepare, make-file, what-secret, done, after
    sc = dataclasses.replace(sc, variants={"default": dataclasses.replace(sc.variants["default"], steps=tuple(steps))})
    seen = []

    class Rep(chmod._NullReporter):
        def step_started(self, step, commands=None):
            seen.append(step.id)

    box = Box()
    c = Challenge(LabDir(tmp_path), sc, "default", lab(), box.remote, Rep())
    c.start()
    c.solve()
    c.answer("42")
    box.remote.commands.clear()
    seen.clear()
    out = c.reset("after")
    assert [x for _, x in box.remote.commands] == [
        "rm -f /tmp/f",
        'echo "secret is 42"',
        "echo hello > /tmp/f",
        "echo after",
        "rm -f /tmp/f",
    ]
    assert "done" not in seen and out.current is None


def test_reset_of_a_scenario_that_opens_with_a_task(tmp_path):
    import dataclasses

    sc = load_scenario(DATA / "challenge.yml")
    steps = sc.variants["default"].steps
    sc = dataclasses.replace(
        sc, variants={"default": dataclasses.replace(sc.variants["default"], steps=(steps[1], steps[3], steps[4]))}
    )  # make-file, done, tidy
    box = Box()
    c = Challenge(LabDir(tmp_path), sc, "default", lab(), box.remote)
    assert c.start().current == "make-file"
    with prog.changing(c.lab_dir) as p:
        p["captures"] = {"ubuntu-1": {"old": "1"}}
    box.remote.commands.clear()
    out = c.reset()
    assert out.current == "make-file" and box.f is None
    assert [x for _, x in box.remote.commands] == ["rm -f /tmp/f"]  # no solution replayed
    assert prog.load(c.lab_dir)["captures"] == {}


def test_a_failed_solution_records_the_check_messages(ch):
    ch.make().start()
    ch.box.remote.handler = lambda node, cmd: (2, "", "denied")
    with pytest.raises(ScenarioFailed) as exc:
        ch.make().solve()
    assert exc.value.message == (
        "the solution of make-file did not pass its check: ubuntu-1: exit status 2, expected 0; "
        "ubuntu-1: exit status 2, expected 0; ubuntu-1: stdout does not contain 'hello'"
    )
    assert ch.p()["steps"]["make-file"]["last"]["messages"] == [
        {"en": "/tmp/f does not say hello yet.", "zh": "/tmp/f 里还没有 hello。"}
    ]


def test_reset_to_an_ordinary_step_that_fails_leaves_no_place(ch):
    ch.make().start()
    ch.make().solve()
    ch.box.remote.handler = lambda node, cmd: (1, "", "down")
    with pytest.raises(ScenarioFailed):
        ch.make().reset("prepare")  # prepare is replayed by reset, not reached by _advance
    assert ch.p()["current"] is None


def test_a_failing_setup_on_two_nodes_lists_both(tmp_path):
    import dataclasses

    sc = load_scenario(DATA / "challenge.yml")
    steps = list(sc.variants["default"].steps)
    steps[0] = dataclasses.replace(steps[0], nodes=("ubuntu-1", "ubuntu-2"), capture={})
    sc = dataclasses.replace(sc, variants={"default": dataclasses.replace(sc.variants["default"], steps=tuple(steps))})
    box = Box()
    box.remote.handler = lambda node, cmd: (1, "", "down")
    with pytest.raises(ScenarioFailed) as exc:
        Challenge(LabDir(tmp_path), sc, "default", lab2(), box.remote).start()
    assert exc.value.message == (
        "scenario challenge: step prepare failed: ubuntu-1: exit status 1, "
        "expected 0; ubuntu-2: exit status 1, expected 0"
    )
