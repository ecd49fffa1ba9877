"""The mac-bug handout as a student gets it, in the real Chromium: printed to PDF (A4 and
Letter) and shown on a 390-px-wide phone screen.

Input: tests/data/records/mac-bug.json, the record of a real run of `labgen scenario run
mac-bug` on an LXC lab (lab handouts-mc, 192.168.65.0/24), rendered by the handout code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labgen.scenario.handout import write_handout
from labgen.scenario.record import load_record

RECORD = Path(__file__).resolve().parents[1] / "data" / "records" / "mac-bug.json"
MAX_PAGES = 8
PHONE = {"width": 390, "height": 844}
# An address: IPv4 (optionally with a prefix length) or a MAC. Defined here, independently of
# the handout code, so a renderer that forgets one kind of address is caught.
ADDRESS = r"(?<![\w:.])(?:[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}|\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?)(?![\w:])"


@pytest.fixture(scope="module")
def handouts(tmp_path_factory):
    """{lang: the handout's HTML file}, rendered from the recorded run."""
    out = {}
    for lang in ("en", "zh"):
        record = load_record(RECORD, lang=lang)
        _, html = write_handout(record, tmp_path_factory.mktemp(f"handout-{lang}"))
        out[lang] = html
    return out


def _open(page, path: Path, viewport=None):
    if viewport:
        page.set_viewport_size(viewport)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page


# ---- print


@pytest.mark.parametrize("lang,paper", [("en", "A4"), ("en", "Letter"), ("zh", "A4")])
def test_prints_in_at_most_eight_pages(handouts, page, print_pdf, pdf_pages, tmp_path, lang, paper):
    pdf = print_pdf(_open(page, handouts[lang]), tmp_path / f"handout-{paper}.pdf", paper)
    assert pdf_pages(pdf) <= MAX_PAGES


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("lang,paper", [("en", "A4"), ("en", "Letter"), ("zh", "A4")])
def test_no_label_or_heading_is_left_without_its_block(
    handouts, page, print_pdf, pdf_page_texts, tmp_path, lang, paper
):
    """Every label ("Output (ubuntu-2, exit 1)", "Command (...)") and step heading is on the
    same page as the start of what follows it: found in the PDF's text, page by page, in
    document order (whitespace ignored, so line wrapping does not matter)."""
    _open(page, handouts[lang])
    pairs = page.evaluate("""() => [...document.querySelectorAll('.label, h2')].map(el => {
        const next = el.nextElementSibling;
        const first = next && (next.querySelector('.l, th') || next);
        // a heading's badge is drawn apart from its text, which pdftotext may order differently
        const own = [...el.childNodes].filter(n => !(n.classList && n.classList.contains('badge')));
        return [own.map(n => n.textContent).join(''), first ? first.innerText : ''];
    }).filter(([label, next]) => next.trim())""")
    assert len(pairs) > 20, "the handout should have many labels"
    pages = [_squeeze(t) for t in pdf_page_texts(print_pdf(page, tmp_path / "h.pdf", paper))]
    at_page, at = 0, 0
    checked = 0
    for label, following in pairs:
        label, following = _squeeze(label), _squeeze(following)[:12]
        while at_page < len(pages) and pages[at_page].find(label, at) < 0:
            at_page, at = at_page + 1, 0
        assert at_page < len(pages), f"label {label!r} not found in the PDF text"
        where = pages[at_page].find(label, at)
        at = where + len(label)
        assert pages[at_page].find(following, at) >= 0, (
            f"page {at_page + 1}: {label!r} is separated from its block ({following!r}...)"
        )
        checked += 1
    assert checked == len(pairs)


def _addresses_split_in(text: str) -> list[str]:
    """Pieces of an address cut by a line break: '172.32.3.\\n10', 'ee:ee:\\nee:...'."""
    return re.findall(r"(?:\d{1,3}\.){1,3}\n\d|(?:\b[0-9a-f]{2}:){1,5}\n[0-9a-f]{2}\b", text)


def test_no_address_is_split_on_paper(handouts, page, print_pdf, pdf_page_texts, tmp_path):
    _open(page, handouts["en"])
    dom_text = page.evaluate("document.body.innerText")
    pages = pdf_page_texts(print_pdf(page, tmp_path / "h.pdf", "A4"))
    text = "\n".join(pages)
    assert _addresses_split_in(text) == []
    # Every address the page shows is whole in the PDF, as often as on the page (the
    # picture's labels are drawn text: counted on both sides too).
    for address in set(re.findall(ADDRESS, dom_text)):
        assert len(re.findall(re.escape(address) + r"(?![\w:])", text)) >= len(
            re.findall(re.escape(address) + r"(?![\w:])", dom_text)
        ), address


# ---- phone


ADDRESS_RECTS_JS = """(pattern) => {
    const re = new RegExp(pattern, 'g');
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const split = [];
    let count = 0;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.parentElement.closest('svg, style, title')) continue;
        for (const m of node.data.matchAll(re)) {
            count++;
            const range = document.createRange();
            range.setStart(node, m.index);
            range.setEnd(node, m.index + m[0].length);
            const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                                 .map(r => Math.round(r.top)));
            if (tops.size > 1) split.push(m[0]);
        }
    }
    const svgText = [...document.querySelectorAll('svg')].map(s => s.textContent).join(' ');
    return {count, split, text: document.body.innerText, svgText};
}"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_address_is_split_on_a_phone(handouts, page, lang):
    _open(page, handouts[lang], PHONE)
    found = page.evaluate(ADDRESS_RECTS_JS, ADDRESS)
    assert found["split"] == []
    # Every address in the visible text was measured (none hides across two text nodes).
    assert found["count"] >= len(re.findall(ADDRESS, found["text"])) - len(re.findall(ADDRESS, found["svgText"]))
    assert found["count"] > 50


def test_phone_page_does_not_scroll_sideways(handouts, page):
    """Long output lines wrap at spaces or scroll inside their own block; the page itself
    stays 390 px wide."""
    _open(page, handouts["en"], PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# ---- content


def test_evidence_lines_are_marked(handouts, page):
    _open(page, handouts["en"], PHONE)
    marked = page.evaluate("""() => [...document.querySelectorAll('pre .hit')].map(el => [
        el.innerText, getComputedStyle(el).backgroundColor])""")
    plain = page.evaluate("""() => getComputedStyle(document.querySelector('pre .l:not(.hit)'))
                                   .backgroundColor""")
    texts = [t for t, _ in marked]
    assert any(re.search(r"> ee:ee:ee:ee:ee:ee, .*ICMP echo reply", t) for t in texts)
    assert any("100% packet loss" in t for t in texts)
    assert any(t.startswith("64 bytes from ") for t in texts)
    assert not any("ping statistics" in t for t in texts), "only matched lines are marked"
    assert all(colour != plain for _, colour in marked), "marked lines must look different"


def test_topology_picture_is_in_the_handout(handouts, page):
    _open(page, handouts["en"], PHONE)
    picture = page.evaluate("""() => {
        const svg = document.querySelector('figure.topology svg');
        if (!svg) return null;
        const box = svg.getBoundingClientRect();
        return {text: svg.textContent, width: box.width, right: box.right};
    }""")
    assert picture is not None
    for word in ("ubuntu-1", "ubuntu-2", "ubuntu-3", "192.168.65.101", "192.168.65.0/24", "mesos-master"):
        assert word in picture["text"], word
    assert 200 < picture["width"] and picture["right"] <= PHONE["width"]


def test_prose_code_links_and_verdicts(handouts, page):
    _open(page, handouts["en"])
    links = page.evaluate("() => [...document.querySelectorAll('a')].map(a => [a.innerText, a.href])")
    assert ["projectcalico/calicoctl#898", "https://github.com/projectcalico/calicoctl/issues/898"] in links
    codes = page.evaluate("() => [...document.querySelectorAll('p code')].map(c => c.innerText)")
    assert "lladdr ee:ee:ee:ee:ee:ee PERMANENT" in codes
    assert "`" not in page.evaluate("() => [...document.querySelectorAll('section p')].map(p => p.innerText).join('')")
    symptom = page.locator("section.kind-observe", has_text="Symptom")
    assert "as expected" in symptom.locator(".result").inner_text()
    explain = page.locator("section.kind-explain")
    assert explain.locator(".result").count() == 0


def test_chinese_text_uses_noto_sans_cjk(handouts, page):
    """The zh handout's prose asks for Noto Sans CJK SC first (the CSS), and is drawn with it
    (Debian: fonts-noto-cjk, which make setup installs), not whatever fallback is installed."""
    _open(page, handouts["zh"])
    stack = page.evaluate("() => getComputedStyle(document.querySelector('section.step p')).fontFamily")
    assert stack.split(",")[0].strip().strip('"') == "Noto Sans CJK SC", stack
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "section.step p"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    used = {f["familyName"] for f in fonts if f["glyphCount"] > 0}
    assert any(f.startswith("Noto Sans CJK") for f in used), (
        f"drawn with {used}, not Noto Sans CJK (apt-get install fonts-noto-cjk)"
    )
