"""The mac-bug worksheet as students hold it, in the real Chromium: made by the CLI from the
record of a real run (tests/data/records/mac-bug.json, lab handouts-mc), printed on A4.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runcli import labgen

RECORD = Path(__file__).resolve().parents[1] / "data" / "records" / "mac-bug.json"
MAX_PAGES = 6


@pytest.fixture(scope="module")
def worksheets(tmp_path_factory):
    """{lang: the worksheet's HTML file}, written by `labgen scenario worksheet`."""
    out = {}
    for lang in ("en", "zh"):
        path = tmp_path_factory.mktemp(f"ws-{lang}") / f"mac-bug-{lang}.html"
        labgen("scenario", "worksheet", "mac-bug", "--lang", lang, "--record", str(RECORD), "-o", str(path), check=True)
        out[lang] = path
    return out


def _open(page, path: Path):
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_prints_the_story_outputs_tasks_and_hints_last(
    worksheets, page, print_pdf, pdf_pages, pdf_page_texts, tmp_path, lang
):
    pdf = print_pdf(_open(page, worksheets[lang]), tmp_path / "ws.pdf")
    assert pdf_pages(pdf) <= MAX_PAGES
    pages = pdf_page_texts(pdf)
    text = "\n".join(pages)
    assert "`" not in text  # Markdown rendered
    assert "{{" not in text and "ee:aa:66:53:32:86 > de:17:29:d6:a3:02" in text  # recorded capture
    hints_title = {"en": "Hints (open one only", "zh": "提示（卡住时再看）"}[lang]
    # pdftotext reads the upside-down page back to front in Chinese: accept either direction
    last = pages[-1] + pages[-1][::-1]
    assert hints_title in last and hints_title not in "\n".join(pages[:-1])
    assert "ee:aa:66:53:32:86" in last  # hint 2 with the captured MAC
    pointer = {"en": "upside down on the last page", "zh": "最后一页倒印着"}[lang]
    assert pointer in text.replace("\n", " ")
    assert "192.168.65.101" in pages[0]  # the topology picture, page 1
    for p in pages:  # no output label ends a page
        lines = [line for line in p.splitlines() if line.strip()]
        assert not lines or not lines[-1].startswith(("Output on", "ubuntu-2 上的输出"))


def test_in_print_hints_are_upside_down_and_folded_ones_hidden(worksheets, page):
    _open(page, worksheets["en"]).emulate_media(media="print")
    transform = page.eval_on_selector(".hints-print", "e => getComputedStyle(e).transform")
    a, b = (float(x) for x in transform[len("matrix(") :].split(",")[:2])
    assert (round(a, 6), round(b, 6)) == (-1.0, 0.0)  # rotate(180deg)
    assert page.eval_on_selector_all("details", "es => es.every(e => getComputedStyle(e).display == 'none')")
    assert page.is_visible(".hint-pointer")
    page.emulate_media(media="screen")
    assert not page.is_visible(".hints-print") and page.is_visible("details summary")


def test_topology_and_code_render_on_screen(worksheets, page):
    _open(page, worksheets["zh"])
    assert page.locator("figure.topology svg").count() == 1
    assert page.locator("section.task code", has_text="ssh -F ssh_config ubuntu-2").count() == 1
    assert "问答题 · 回包发给了谁？" in page.inner_text("section.question")
