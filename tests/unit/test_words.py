"""The one catalogue of UI words (labgen/words.py): every key in both languages, and the
modules that show words read theirs from it."""

from __future__ import annotations

import re

import pytest

from labgen.words import CATALOGUE, table, words

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("area", sorted(CATALOGUE))
def test_every_key_has_both_languages(area):
    for key, pair in CATALOGUE[area].items():
        assert isinstance(pair, tuple) and len(pair) == 2, (area, key)
        en, zh = pair
        assert isinstance(en, str) and isinstance(zh, str), (area, key)
        assert bool(en) == bool(zh), (area, key)  # empty only in both (a blank column)
        # the same {placeholders} in both, so neither language loses a value
        assert sorted(re.findall(r"\{\w+\}", en)) == sorted(re.findall(r"\{\w+\}", zh)), (area, key)


def test_chinese_is_chinese_and_uses_one_word_per_step_kind():
    for area, pairs in CATALOGUE.items():
        for key, (en, zh) in pairs.items():
            assert not CJK.search(en) or (area, key) == ("web", "lang_other"), (area, key)
            assert "「" not in zh and "」" not in zh, (area, key)
            assert "提问" not in zh and "破坏" not in zh, (area, key)  # 问答题, 制造故障
    assert words("kinds", "zh")["question"] == "问答题" and words("kinds", "zh")["break"] == "制造故障"
    assert words("web", "zh")["question"] == words("worksheet", "zh")["question"] == "问答题"


def test_modules_read_the_catalogue():
    from labgen import graph
    from labgen.cli import challenge as cli_challenge
    from labgen.scenario import transcript, worksheet
    from labgen.web import words as web_words

    assert web_words.WORDS == table("web")  # the web's re-export keeps its old shape
    assert transcript.WORDS == table("transcript") and transcript.KIND_NAMES == table("kinds")
    assert worksheet.WORDS == table("worksheet") and graph.WORDS == table("graph")
    assert cli_challenge.WORDS == table("challenge_cli")
    assert words("web", "fr") == words("web", "en")  # anything but zh is English
