"""One-language scenarios: which language a plain string is in, and the note a page shows
when some of a scenario's texts exist only in the other language."""

from __future__ import annotations

import re
from typing import Iterator

from labgen.model import Scenario, Text
from labgen.words import words

# CJK Unified Ideographs (and extension A): a string holding any is Chinese.
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile("[A-Za-z]+")

NOTES = {lang: words("language", lang)["fallback_note"] for lang in ("en", "zh")}  # labgen/words.py


def guess(text: str) -> str:
    """ "zh" when `text` holds a Chinese character, else "en"."""
    return "zh" if _HAN.search(text) else "en"


def majority(text: str) -> str:
    """The language most of a long text is written in: "zh" when it has more Chinese characters
    than English words (Chinese prose names its tools in English: `docker 与 calico 整合`)."""
    return "zh" if len(_HAN.findall(text)) > len(_LATIN_WORD.findall(text)) else "en"


def texts(scenario: Scenario) -> Iterator[Text]:
    """Every text of the scenario a reader may see: titles, summaries, explanations, goals,
    hints, check messages, answer feedback."""
    yield scenario.title
    yield scenario.summary
    for variant in scenario.variants.values():
        if variant.summary:
            yield variant.summary
        for step in variant.steps:
            for text in (
                step.title,
                step.explain,
                step.goal,
                step.correct,
                step.wrong,
                *step.hints,
                *(c.message for c in step.checks),
            ):
                if text is not None:
                    yield text


def fallback_note(scenario: Scenario, lang: str) -> str | None:
    """The note to show a `lang` reader when some text falls back to the other language."""
    if all(t.has(lang) for t in texts(scenario)):
        return None
    return NOTES["zh" if lang == "zh" else "en"]
