"""The transcript: what the terminal shows during a run, and the handout written after it."""

from __future__ import annotations

import io
from datetime import datetime


from labgen.console import make_console
from labgen.model import Expect, Scenario, Step, Text, Variant
from labgen.scenario.record import CommandResult, RunRecord, StepRecord
from labgen.scenario.handout import write_handout
from labgen.scenario.transcript import TerminalReporter, clean_output, fold

LONG = "\n".join(f"line {i}" for i in range(1, 101))


def _step(sid, kind, title, run="true", nodes=("ubuntu-2",), expect=Expect(), explain=None):
    return Step(
        id=sid,
        kind=kind,
        title=Text(title, f"{title}（中文）"),
        explain=Text(explain, f"{explain}（中文）") if explain else None,
        nodes=nodes if run else (),
        run=run,
        expect=expect,
    )


def make_record(lang="en", failing=True) -> RunRecord:
    intro = _step("intro", "explain", "What we will do", run=None, explain="First we look.")
    look = _step(
        "look",
        "observe",
        "Look at the link",
        run="ip link show dev {{ dev }}",
        expect=Expect(stdout_contains=("link/ether",)),
    )
    listing = _step("listing", "observe", "A long listing", run="seq 100")
    breaker = _step("break-mac", "break", "Break the MAC", run="ip link set eth1 down", expect=Expect(exit="nonzero"))
    steps = (intro, look, listing, breaker)
    scenario = Scenario(
        id="mac-bug",
        title=Text("The MAC bug", "MAC 地址问题"),
        summary=Text("Why packets vanish.", "数据包为何消失。"),
        lab="mesos-calico",
        variants={"default": Variant("default", ("base",), steps)},
    )
    record = RunRecord(
        scenario=scenario,
        variant="default",
        lang=lang,
        lab_name="mesos-calico",
        provider="lxc",
        started=datetime(2024, 5, 1, 10, 30, 0),
        duration=4.5,
    )
    record.steps = [
        StepRecord(intro, "passed"),
        StepRecord(
            look,
            "passed",
            duration=0.4,
            captured={"ubuntu-2:mac": "02:42:ac:11:00:02"},
            results=[
                CommandResult(
                    "ubuntu-2",
                    "ip link show dev eth1",
                    0,
                    "2: eth1: <BROADCAST> mtu 1500\n    link/ether 02:42:ac:11:00:02\n<script>alert(1)</script>\n",
                    "",
                    0.3,
                )
            ],
        ),
        StepRecord(listing, "passed", duration=0.2, results=[CommandResult("ubuntu-2", "seq 100", 0, LONG, "", 0.1)]),
        StepRecord(
            breaker,
            "failed" if failing else "passed",
            duration=1.2,
            failures=["exit status was 0; expected non-zero"] if failing else [],
            results=[
                CommandResult(
                    "ubuntu-2",
                    "ip link set eth1 down",
                    0 if failing else 2,
                    "",
                    "" if failing else "RTNETLINK answers: denied",
                    1.1,
                    attempts=3,
                )
            ],
        ),
    ]
    return record


def render(record: RunRecord) -> str:
    buffer = io.StringIO()
    reporter = TerminalReporter(make_console(file=buffer, width=100), record.lang)
    reporter.scenario_started(record)
    for step_record in record.steps:
        reporter.step_started(step_record.step)
        reporter.step_finished(step_record)
    reporter.scenario_finished(record)
    return buffer.getvalue()


def test_terminal_shows_steps_checks_and_summary():
    out = render(make_record())
    assert "The MAC bug" in out and "mesos-calico (lxc)" in out
    assert " BREAK " in out and "Step 4/4" in out and "Break the MAC" in out
    assert "First we look." in out
    assert "ip link show dev {{ dev }}" in out  # the command, as written
    assert "✓ stdout contains 'link/ether'" in out
    assert "✗ exit status was 0; expected non-zero" in out
    assert "after 3 attempts" in out
    assert "captured mac = 02:42:ac:11:00:02" in out
    assert "Summary" in out
    assert "Failed at step 4: Break the MAC" in out


def test_terminal_folds_long_output():
    out = render(make_record())
    assert "line 15\n" in out and "line 16\n" not in out
    assert "… 80 lines folded …" in out
    assert "line 96" in out and "line 100" in out and "line 95\n" not in out


def test_terminal_passing_run_verdict():
    out = render(make_record(failing=False))
    assert "✓ All 4 steps passed" in out
    assert "✗" not in out
    assert "✓ as expected" in out  # the break step fails by design
    intro_row = next(line for line in out.splitlines() if "What we will do" in line and "│" in line)
    assert "passed" not in intro_row and "0.00s" not in intro_row  # explain: no mark, no time


def test_terminal_in_chinese():
    out = render(make_record(lang="zh"))
    assert "MAC 地址问题" in out and "制造故障" in out and "步骤 4/4" in out
    assert "总结" in out and "失败" in out and "先看看" not in out
    assert "First we look.（中文）" in out


def test_terminal_does_not_interpret_markup_or_escapes():
    record = make_record()
    record.steps[1].results[0].stdout = "[bold red]not markup[/] \x1b[31mred\x1b[0m \x07bell"
    out = render(record)
    assert "[bold red]not markup[/] red bell" in out
    assert "\x1b" not in out and "\x07" not in out


def test_clean_output_and_fold():
    assert clean_output("a\r\nprogress 10%\rprogress 100%\n\x1b[1mb\x1b[0m\x00\n\n") == "a\nprogress 100%\nb"
    # bidi overrides and other format characters from a node are dropped too (labgen.validate)
    assert clean_output("ab\u202ecd\u2066e\tf\u200bg") == "abcde\tfg"
    assert fold("a\nb\nc", 1, 1) == (["a", "b", "c"], 0, [])
    head, folded, tail = fold(LONG, 15, 5)
    assert (head[-1], folded, tail[0]) == ("line 15", 80, "line 96")


def test_handout_files_and_content(tmp_path):
    md_path, html_path = write_handout(make_record(), tmp_path / "out")
    assert md_path.name == "mac-bug-20240501-103000.md"
    assert html_path.name == "mac-bug-20240501-103000.html"
    # no lab in this record, so no topology picture; the record itself is saved as JSON
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        html_path.name,
        "mac-bug-20240501-103000.json",
        md_path.name,
    ]
    md = md_path.read_text(encoding="utf-8")
    assert md.startswith("# The MAC bug\n")
    assert "## Step 4 · BREAK · Break the MAC" in md
    assert "```sh\nip link set eth1 down\n```" in md
    assert "**Output** (`ubuntu-2`, exit 0, after 3 attempts):" in md
    assert "- ✓ stdout contains 'link/ether'" in md
    assert "- ✗ exit status was 0; expected non-zero" in md
    assert "… 20 lines folded …" not in md and "line 100" in md  # 100 lines fit on paper
    assert "| 4 | Break the MAC | BREAK | ✗ failed | 1.20s |" in md


def test_handout_html_is_escaped_and_self_contained(tmp_path):
    record = make_record()
    record.steps[2].results[0].stdout = "x" * 10 + "\n" + "\n".join(str(i) for i in range(500))
    _, html_path = write_handout(record, tmp_path)
    page = html_path.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<link" not in page and "src=" not in page and "http" not in page
    assert "… 341 lines folded …" in page
    assert '<html lang="en">' in page and "<style>" in page


def test_handout_markdown_neutralises_html_in_prose_and_fences(tmp_path):
    record = make_record()
    record.scenario = Scenario(**{**record.scenario.__dict__, "title": Text("<img src=x onerror=alert(1)>", "x")})
    record.steps[2].results[0].stdout = "before\n```\nafter"
    md_path, _ = write_handout(record, tmp_path)
    md = md_path.read_text(encoding="utf-8")
    assert "# \\<img src=x onerror=alert(1)>" in md  # CommonMark's escape, no entity
    assert "&lt;" not in md and "&gt;" not in md
    assert "````text\nbefore\n```\nafter\n````" in md


def test_handout_in_chinese(tmp_path):
    md_path, html_path = write_handout(make_record(lang="zh"), tmp_path)
    md = md_path.read_text(encoding="utf-8")
    page = html_path.read_text(encoding="utf-8")
    assert md.startswith("# MAC 地址问题\n")
    for word in ("步骤", "命令", "输出", "结果", "总结", "失败", "制造故障"):
        assert word in md, word
        assert word in page, word
    assert '<html lang="zh-CN">' in page


def test_handout_variant_in_name(tmp_path):
    record = make_record()
    record.variant = "docker"
    record.scenario = Scenario(
        **{
            **record.scenario.__dict__,
            "variants": {
                **record.scenario.variants,
                "docker": Variant("docker", (), (), Text("With docker", "用 docker")),
            },
        }
    )
    md_path, _ = write_handout(record, tmp_path)
    assert md_path.name == "mac-bug-docker-20240501-103000.md"
    assert "With docker" in md_path.read_text(encoding="utf-8")


def test_terminal_shows_the_command_as_it_runs():
    step = _step("setup", "setup", "Set up", run="ip addr add {{ wl_ip }}/32 dev cali0", nodes=("ubuntu-2", "ubuntu-3"))
    buffer = io.StringIO()
    reporter = TerminalReporter(make_console(file=buffer, width=100), "en")
    reporter.step_started(
        step, {"ubuntu-2": "ip addr add 172.32.2.10/32 dev cali0", "ubuntu-3": "ip addr add 172.32.3.10/32 dev cali0"}
    )
    out = buffer.getvalue()
    assert "ip addr add 172.32.2.10/32 dev cali0" in out and "{{" not in out
    assert "shown with ubuntu-2's values (each node its own)" in out
    buffer.truncate(0)
    reporter.step_started(step, {"ubuntu-2": "hostname", "ubuntu-3": "hostname"})
    assert "each node its own" not in buffer.getvalue()
