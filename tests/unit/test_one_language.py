"""A scenario in one language (issue 19): a plain string or a mapping with en, zh or both;
every page shows the reader's language where it exists, else the other, and says so once."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import pytest

from labgen import yamlsrc
from labgen.errors import InputError
from labgen.model import Text
from labgen.scenario import language
from labgen.scenario.handout import render_html, render_markdown
from labgen.scenario.load import builtin_scenarios, load_scenario, parse_scenario
from labgen.scenario.worksheet import render_worksheet
from tests.unit.test_transcript import make_record, render

ENGLISH_ONLY = """\
id: english
title: Look at the MAC
summary: A scenario written in English only.
lab: mesos-calico
steps:
  - id: look
    kind: observe
    title: Look
    explain: {en: "The link layer."}
    "on": ubuntu-1
    run: ip link
  - id: say
    kind: question
    title: Which MAC?
    goal: Type the MAC address.
    hints: [It starts with 02, {zh: "看 link/ether 那一行"}]
    answers: 02:42:ac:11:00:02
"""


def scenario_of(text: str):
    return parse_scenario(yamlsrc.load_text(textwrap.dedent(text), "s.yml"), "s.yml")


def test_plain_strings_and_partial_mappings_load_in_their_language():
    sc = scenario_of(ENGLISH_ONLY)
    look, say = sc.variants["default"].steps
    assert sc.title == Text(en="Look at the MAC") and look.explain == Text(en="The link layer.")
    assert say.hints == (Text(en="It starts with 02"), Text(zh="看 link/ether 那一行"))
    chinese = scenario_of(ENGLISH_ONLY.replace("title: Look at the MAC", "title: 查看 MAC 地址"))
    assert chinese.title == Text(zh="查看 MAC 地址")


def test_text_falls_back_to_the_language_that_exists():
    assert Text(en="hello").get("zh") == "hello" and Text(zh="你好").get("en") == "你好"
    assert Text("hello", "你好").get("zh") == "你好" and Text("hello", "你好").get("en") == "hello"
    assert Text(en="x").has("en") and not Text(en="x").has("zh")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("title: ''", "s.yml line 2: scenario: title '' is empty"),
        ("title: {}", "s.yml line 2: scenario: title is an empty mapping; expected non-empty text"),
        ("title: {fr: Bonjour}", "s.yml line 2: scenario: title has unknown language 'fr'; expected one of en, zh"),
        ('title: {en: "\\u202e"}', "s.yml line 2: scenario: title.en contains the control character U+202E"),
    ],
)
def test_a_text_must_still_be_text(text, problem):
    with pytest.raises(InputError) as exc:
        scenario_of(ENGLISH_ONLY.replace("title: Look at the MAC", text))
    assert any(p.startswith(problem) for p in exc.value.problems), exc.value.problems


def test_builtin_scenarios_keep_both_languages():
    for path in builtin_scenarios():
        sc = load_scenario(path)
        missing = [t for t in language.texts(sc) if not (t.has("en") and t.has("zh"))]
        assert not missing, f"{path.name}: {missing[:3]}"
        assert language.fallback_note(sc, "en") is None and language.fallback_note(sc, "zh") is None


def test_the_note_names_the_fallback_in_the_readers_language():
    sc = scenario_of(ENGLISH_ONLY)
    assert language.fallback_note(sc, "zh") == "本场景有些内容只有英文，按原文显示。"
    # one hint is Chinese only: the English reader is told too
    assert language.fallback_note(sc, "en") == (
        "Parts of this scenario are written in Chinese only; they are shown as written."
    )


def test_the_worksheet_shows_what_exists_and_says_so():
    html = render_worksheet(scenario_of(ENGLISH_ONLY), "default", "zh")
    assert "Type the MAC address." in html and "本场景有些内容只有英文，按原文显示。" in html
    assert "看 link/ether 那一行" in html


def one_language_record(lang: str):
    record = make_record(lang=lang)
    sc = record.scenario
    return replace(record, scenario=replace(sc, title=Text(en=sc.title.en), summary=Text(en=sc.summary.en)))


def test_the_transcript_and_handout_show_what_exists_and_say_so():
    record = one_language_record("zh")
    terminal = render(record)
    assert "The MAC bug" in terminal and "本场景有些内容只有英文" in terminal
    assert "_本场景有些内容只有英文，按原文显示。_" in render_markdown(record)
    assert "<em>本场景有些内容只有英文，按原文显示。</em>" in render_html(record)
    both = make_record(lang="zh")
    assert "本场景有些内容只有英文" not in render(both) + render_markdown(both)


def test_scenario_show_of_a_one_language_file(tmp_path):
    from tests.runcli import labgen

    (tmp_path / "english.yml").write_text(ENGLISH_ONLY, encoding="utf-8")
    res = labgen("scenario", "show", str(tmp_path / "english.yml"), "--lang", "zh", check=True)
    assert "Look at the MAC" in res.stdout and "本场景有些内容只有英文，按原文显示。" in res.stdout
