import ipaddress

import pytest

from labgen.errors import LabgenError
from labgen.model import Expect, Lab, Node, Scenario, Step, Text, Variant
from labgen.scenario.runner import Runner, check_expect, select_steps
from tests.unit.fakes import FakeRemote

T = Text("t", "t")


def step(id, kind="observe", run="true", nodes=("n1",), **kw):
    return Step(id=id, kind=kind, title=Text(id, id), explain=None, nodes=nodes, run=run, **kw)


def scenario(*steps):
    return Scenario("s", T, T, "lab", {"default": Variant("default", (), tuple(steps))})


def lab():
    nodes = tuple(
        Node(n, ipaddress.ip_address(f"192.168.56.10{i}"), ("base",), 512, 1) for i, n in enumerate(("n1", "n2"), 1)
    )
    return Lab("lab", "", ipaddress.ip_network("192.168.56.0/24"), {}, nodes)


class Reporter:
    def __init__(self):
        self.seen = []

    def scenario_started(self, record):
        pass

    def step_started(self, step, commands=None):
        self.seen.append(step.id)

    def step_finished(self, rec):
        pass

    def scenario_finished(self, record):
        pass


def test_check_expect_each_rule():
    assert check_expect(Expect(), 0, "", "") == []
    assert check_expect(Expect(), 1, "", "") == ["exit status 1, expected 0"]
    assert check_expect(Expect(exit="nonzero"), 0, "", "") == ["exit status 0, expected a failure (non-zero)"]
    assert check_expect(Expect(exit="nonzero"), 2, "", "") == []
    assert check_expect(Expect(exit="any"), 7, "", "") == []
    assert check_expect(Expect(exit="3"), 3, "", "") == []
    assert check_expect(Expect(), None, "", "") == ["did not finish (timeout or lost connection)"]
    e = Expect(
        stdout_contains=("ee:ee",),
        stdout_not_contains=("bad",),
        stdout_matches=(r"^ok \d+$",),
        stderr_contains=("warn",),
    )
    assert check_expect(e, 0, "ee:ee\nok 12\n", "warn") == []
    assert check_expect(e, 0, "bad\n", "") == [
        "stdout does not contain 'ee:ee'",
        "stdout contains 'bad'",
        "stdout does not match /^ok \\d+$/",
        "stderr does not contain 'warn'",
    ]


def test_select_steps():
    steps = (step("a"), step("b"), step("c"))
    assert select_steps(steps, None, None, None) == {"a", "b", "c"}
    assert select_steps(steps, "b", None, None) == {"b", "c"}
    assert select_steps(steps, None, "b", None) == {"a", "b"}
    assert select_steps(steps, None, None, "c") == {"c"}
    with pytest.raises(LabgenError, match="no step 'x'"):
        select_steps(steps, "x", None, None)


def test_failure_skips_the_rest_but_cleanup_runs():
    remote = FakeRemote(lambda node, cmd: (1, "", "") if cmd == "false" else (0, "", ""))
    sc = scenario(step("a"), step("b", run="false"), step("c"), step("z", kind="cleanup", run="cleanup"))
    rec = Runner(sc, "default", lab(), remote, Reporter(), "en", "lxc").run()
    assert [(s.step.id, s.status) for s in rec.steps] == [
        ("a", "passed"),
        ("b", "failed"),
        ("c", "skipped"),
        ("z", "passed"),
    ]
    assert not rec.passed and rec.first_failure.step.id == "b"
    assert ("n1", "cleanup") in remote.commands


def test_capture_feeds_later_steps_quoted():
    remote = FakeRemote(lambda node, cmd: (0, "link/ether 02:aa:bb:cc:dd:ee brd", ""))
    sc = scenario(
        step("a", capture={"mac": r"link/ether ([0-9a-f:]{17})"}), step("b", run="echo {{ mac }} {{ node_ip }}")
    )
    rec = Runner(sc, "default", lab(), remote, Reporter(), "en", "lxc").run()
    assert rec.passed
    assert ("n1", "echo 02:aa:bb:cc:dd:ee 192.168.56.101") in remote.commands
    assert rec.steps[0].captured == {"n1:mac": "02:aa:bb:cc:dd:ee"}


def test_retry_until_expectation_holds():
    calls = {"n": 0}

    def handler(node, cmd):
        calls["n"] += 1
        return (0 if calls["n"] >= 3 else 1), "", ""

    sc = scenario(step("a", expect=Expect(retry=5)))
    rec = Runner(sc, "default", lab(), FakeRemote(handler), Reporter(), "en", "lxc").run()
    assert rec.passed and rec.steps[0].results[0].attempts == 3


def test_all_runs_on_every_node_in_parallel():
    remote = FakeRemote()
    sc = scenario(step("a", nodes=("all",), run="hostname"))
    rec = Runner(sc, "default", lab(), remote, Reporter(), "en", "lxc").run()
    assert sorted(r.node for r in rec.steps[0].results) == ["n1", "n2"]


def test_presenter_skip_and_quit_still_cleans_up():
    remote = FakeRemote()
    answers = iter(["skip", "quit"])
    sc = scenario(step("a"), step("b"), step("c"), step("z", kind="cleanup", run="cleanup"))
    rec = Runner(sc, "default", lab(), remote, Reporter(), "en", "lxc", ask=lambda s: next(answers)).run()
    assert [(s.step.id, s.status) for s in rec.steps] == [("a", "skipped"), ("z", "passed")]
    assert rec.interrupted and not rec.passed


def test_ctrl_c_runs_cleanup():
    def handler(node, cmd):
        if cmd == "slow":
            raise KeyboardInterrupt
        return 0, "", ""

    remote = FakeRemote(handler)
    sc = scenario(step("a", run="slow"), step("z", kind="cleanup", run="cleanup"))
    rec = Runner(sc, "default", lab(), remote, Reporter(), "en", "lxc").run()
    assert rec.interrupted and ("n1", "cleanup") in remote.commands


def test_evidence_lines_are_the_lines_each_expectation_matched():
    from labgen.scenario.runner import evidence_lines

    out = "PING x\n64 bytes from a\n64 bytes from b\n--- stats ---\n2 packets, 100% packet loss\n"
    e = Expect(
        stdout_contains=("100% packet loss", "stats ---\n2 packets"),
        stdout_matches=(r"^64 bytes",),
        stdout_not_contains=("PING",),
        stderr_contains=("warn",),
    )
    assert evidence_lines(e, out, "a warning") == {"stdout": (1, 2, 3, 4), "stderr": (0,)}
    assert evidence_lines(Expect(), out, "") == {}


# ---- found by mutation testing: what the runner records when things go wrong, exactly


def test_select_steps_refuses_an_unknown_step_as_bad_input():
    steps = (step("a"), step("b"))
    for args in (("x", None, None), (None, "x", None), (None, None, "x")):
        with pytest.raises(LabgenError) as err:
            select_steps(steps, *args)
        assert err.value.exit_code == 2 and err.value.hint == "steps: a, b"
    assert select_steps(steps, "b", "b", None) == {"b"}


def test_from_to_only_and_cleanup_choose_what_runs():
    def ran(**kw):
        remote = FakeRemote()
        sc = scenario(step("a", run="a"), step("b", run="b"), step("c", run="c"), step("z", kind="cleanup", run="z"))
        cleanup = kw.pop("cleanup", True)
        Runner(sc, "default", lab(), remote, Reporter(), "en", "lxc").run(cleanup=cleanup, **kw)
        return [cmd for _, cmd in remote.commands]

    assert ran() == ["a", "b", "c", "z"]
    assert ran(start="b") == ["b", "c", "z"]
    assert ran(stop="b") == ["a", "b", "z"]
    assert ran(only="b") == ["b"]  # --only: no cleanup
    assert ran(start="b", cleanup=False) == ["b", "c"]  # --keep


def test_a_command_that_cannot_be_built_or_run_is_recorded_on_its_node():
    def handler(node, cmd):
        if cmd == "unreachable":
            raise LabgenError("ssh: connection refused")
        return 0, "", ""

    sc = scenario(step("a", run="echo {{ nope }}"), step("b", run="unreachable"))
    rec = Runner(sc, "default", lab(), FakeRemote(handler), Reporter(), "en", "lxc").run()
    bad = rec.steps[0]
    assert bad.status != "passed"
    (res,) = bad.results
    assert (res.node, res.exit_code, res.stdout, res.attempts) == ("n1", None, "", 0)
    assert "variable {{ nope }} is not defined" in res.stderr
    sc = scenario(step("b", run="unreachable"))
    rec = Runner(sc, "default", lab(), FakeRemote(handler), Reporter(), "en", "lxc").run()
    (res,) = rec.steps[0].results
    assert (res.node, res.command, res.exit_code, res.stderr, res.attempts) == (
        "n1",
        "unreachable",
        None,
        "ssh: connection refused",
        1,
    )
    assert rec.steps[0].failures == ["n1: did not finish (timeout or lost connection)"]


def test_steps_run_with_their_sudo_and_timeout_and_record_a_duration():
    seen = []

    class Remote(FakeRemote):
        def run(self, node, command, *, sudo=True, timeout=60, stream=None):
            seen.append((command, sudo, timeout))
            return super().run(node, command, sudo=sudo, timeout=timeout)

    sc = scenario(step("a", run="id", sudo=False, timeout=7), step("b", run="id2"))
    rec = Runner(sc, "default", lab(), Remote(), Reporter(), "en", "lxc").run()
    assert seen == [("id", False, 7), ("id2", True, 60)]
    assert all(isinstance(s.duration, float) and s.duration >= 0 for s in rec.steps)
    assert isinstance(rec.duration, float)


def test_ctrl_c_during_cleanup_marks_the_run_interrupted():
    def handler(node, cmd):
        if cmd == "cleanup":
            raise KeyboardInterrupt
        return 0, "", ""

    sc = scenario(step("a"), step("z", kind="cleanup", run="cleanup"))
    rec = Runner(sc, "default", lab(), FakeRemote(handler), Reporter(), "en", "lxc").run()
    assert rec.interrupted is True and not rec.passed


def test_the_record_and_the_reporter_get_everything_they_show():
    class Seen(Reporter):
        def __init__(self):
            super().__init__()
            self.calls = []

        def scenario_started(self, record):
            self.calls.append(("started", record))

        def step_started(self, step, commands=None):
            self.calls.append(("step", step.id, commands))

        def step_finished(self, rec):
            self.calls.append(("finished", rec))

        def scenario_finished(self, record):
            self.calls.append(("done", record))

    remote = FakeRemote(lambda node, cmd: (1, "no mac here\nline two", "err") if cmd == "x" else (0, "", ""))
    sc = scenario(
        step(
            "a",
            run="x",
            nodes=("all",),
            expect=Expect(stdout_contains=("line two",), exit="any"),
            capture={"mac": r"^line (two)$"},
        ),
        step("b", run="x", nodes=("all",), capture={"ip": r"inet (\S+)"}),
    )
    reporter = Seen()
    rec = Runner(sc, "default", lab(), remote, reporter, "zh", "libvirt").run()
    assert (rec.scenario, rec.variant, rec.lang, rec.lab_name, rec.provider) == (sc, "default", "zh", "lab", "libvirt")
    assert rec.lab == lab() and 0 <= rec.duration < 60
    assert reporter.calls[0] == ("started", rec) and reporter.calls[-1] == ("done", rec)
    assert ("step", "a", {"n1": "x", "n2": "x"}) in reporter.calls
    finished = [c[1] for c in reporter.calls if c[0] == "finished"]
    assert [r.step.id for r in finished] == ["a", "b"] and finished == rec.steps
    a, b = rec.steps
    assert a.status == "passed" and a.captured == {"n1:mac": "two", "n2:mac": "two"}  # ^...$ per line
    assert all(r.evidence == {"stdout": (1,)} for r in a.results)
    assert all(r.stderr == "err" and r.duration == 0.01 and r.command == "x" for r in a.results)
    # a failed expectation is reported, not a capture it then skipped; both nodes' problems kept
    assert sorted(b.failures) == ["n1: exit status 1, expected 0", "n2: exit status 1, expected 0"]
    assert 0 <= a.duration < 60


def test_a_step_whose_template_fails_shows_the_step_as_written():
    sc = scenario(step("a", run="echo {{ nope }}"))
    rec = Runner(sc, "default", lab(), FakeRemote(), Reporter(), "en", "lxc").run()
    (res,) = rec.steps[0].results
    assert res.command == "echo {{ nope }}" and res.duration == 0.0
