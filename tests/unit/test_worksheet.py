"""The student's worksheet (scenario/worksheet.py, `labgen scenario worksheet`): what the page
holds with and without a recorded run, and the variants it refuses. Pure rendering; the
printed pages are looked at in Chromium by tests/browser/test_worksheet.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labgen.errors import LabgenError
from labgen.scenario.load import find_scenario, load_scenario
from labgen.scenario.record import load_record
from labgen.scenario.worksheet import BLANK, WORDS, captured_values, render_worksheet, worksheet_variant
from tests.runcli import labgen_sealed

RECORD = Path(__file__).resolve().parents[1] / "data" / "records" / "mac-bug.json"


@pytest.fixture(scope="module")
def mac_bug():
    return load_scenario(find_scenario("mac-bug"))


def body(html: str) -> str:
    """The page without its <style> (CSS may hold quotes and backticks' look-alikes)."""
    return re.sub(r"<style>.*?</style>", "", html, flags=re.S)


def test_a_recorded_run_fills_in_the_captured_mac_and_the_observe_outputs(mac_bug):
    html = body(render_worksheet(mac_bug, "challenge", "en", record=load_record(RECORD)))
    assert 'cali0 now has <span class="addr">ee:aa:66:53:32:86</span>' in html  # hint 2
    assert "{{" not in html and BLANK not in html
    assert "recorded on lab handouts-mc on 2026-11-29" in html
    assert html.count("Output on ubuntu-2") == 2 and html.count("Output on ubuntu-3") == 1
    assert "ICMP echo reply" in html and "100% packet loss" in html  # the symptom's capture
    assert "`" not in html  # Markdown rendered: no raw backticks
    assert "<code>labgen scenario check</code>" in html


def test_without_a_record_the_page_says_so_and_leaves_a_blank(mac_bug):
    html = body(render_worksheet(mac_bug, "challenge", "en"))
    assert WORDS["en"]["not_recorded"] in html
    assert html.count(WORDS["en"]["no_output"]) == 2  # observe-healthy, observe-symptom
    assert f"cali0 now has {BLANK}" in html and "{{" not in html


def test_hints_are_folded_on_screen_and_printed_on_the_last_page(mac_bug):
    html = body(render_worksheet(mac_bug, "challenge", "en", record=load_record(RECORD)))
    assert html.count("<details>") == 5  # 3 + 2 hints, folded on screen
    last = html[html.index('<section class="hints-print">') :]
    assert last.count('<p class="hint">') == 5 and "Hint 3:</strong> The article&#x27;s fix" in last
    assert "Stuck? 3 hints, upside down on the last page." in html


def test_the_symptom_title_does_not_give_the_answer_away(mac_bug):
    html = body(render_worksheet(mac_bug, "challenge", "en"))
    question = html.index("Where did the replies go?")
    before = html[:question]
    titles = re.findall(r"<h2>(.*?)</h2>", before)
    assert any(t.startswith("Symptom") for t in titles)
    assert not any("ee:ee:ee:ee:ee:ee" in t for t in titles if t.startswith("Symptom"))


def test_the_goal_names_the_classroom_login(mac_bug):
    html = body(render_worksheet(mac_bug, "challenge", "en"))
    assert "<code>ssh -F ssh_config ubuntu-2</code>" in html


def test_chinese_worksheet_uses_the_reviewed_words(mac_bug):
    zh = body(render_worksheet(mac_bug, "challenge", "zh", record=load_record(RECORD, lang="zh")))
    assert "问答题 · 回包发给了谁？" in zh and "提问" not in zh
    assert "工作负载（用 netns 模拟的容器）" in zh and "「" not in zh
    assert "卡住了？最后一页倒印着 3 条提示。" in zh


def test_captured_values_merge_nodes_in_lab_order():
    record = load_record(RECORD)
    values = captured_values(record, ["ubuntu-2", "ubuntu-3"])
    assert values["bad_mac"] == "ee:aa:66:53:32:86"
    assert values["gw_mac"] == next(
        v for k, v in ((k, v) for s in record.steps for k, v in s.captured.items()) if k == "ubuntu-3:gw_mac"
    )
    assert captured_values(None, []) == {}


def test_a_variant_without_tasks_is_refused(mac_bug):
    with pytest.raises(LabgenError) as info:
        worksheet_variant(mac_bug, "docker")
    assert info.value.exit_code == 2
    assert info.value.message == (
        "variant docker of scenario mac-bug has no task or question: a worksheet for it would hold nothing to do"
    )
    assert info.value.hint == (
        "variants with tasks: challenge; `labgen scenario run mac-bug --variant docker` presents it"
    )
    assert worksheet_variant(mac_bug, None) == "challenge"


def test_cli_refuses_the_docker_variant_with_exit_2(tmp_path):
    res = labgen_sealed("scenario", "worksheet", "mac-bug", "--variant", "docker", cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "has no task or question" in res.stderr and "Traceback" not in res.stderr
    assert not list(tmp_path.glob("*.html"))


def test_cli_takes_the_newest_readable_record_of_the_lab(tmp_path):
    lab = tmp_path / "lab"
    (lab / "transcripts").mkdir(parents=True)
    (lab / "transcripts" / "mac-bug-20991231-000000.json").write_text("{not a record", encoding="utf-8")
    (lab / "transcripts" / "mac-bug-20261129-195900.json").write_bytes(RECORD.read_bytes())
    (lab / "transcripts" / "other-20991231-000000.json").write_bytes(RECORD.read_bytes())
    out = tmp_path / "ws.html"
    res = labgen_sealed(
        "scenario", "worksheet", "mac-bug", "--lang", "en", "--dir", str(lab), "-o", str(out), cwd=tmp_path
    )
    assert res.returncode == 0, res.stdout + res.stderr
    html = out.read_text(encoding="utf-8")
    assert "recorded on lab handouts-mc on 2026-11-29" in html and "ee:aa:66:53:32:86" in html


def test_cli_without_a_lab_says_there_is_no_record(tmp_path):
    res = labgen_sealed("scenario", "worksheet", "mac-bug", "--lang", "zh", "-o", "ws.html", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "no recorded run found" in res.stderr
    assert WORDS["zh"]["not_recorded"] in (tmp_path / "ws.html").read_text(encoding="utf-8")


def test_the_story_after_the_last_question_is_marked_read_after(mac_bug):
    html = body(render_worksheet(mac_bug, "challenge", "en"))
    marker = html.index(WORDS["en"]["read_after"])
    assert html.index("Where did the replies go?") < marker < html.index("Root cause and the real fix")
    assert html.count(WORDS["en"]["read_after"]) == 1
