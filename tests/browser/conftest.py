"""The browser tests: every test here is marked `browser`; Chromium comes from the `browser`
fixture (tests/conftest.py, one per session) and pages load only loopback (tests/chromium.py).

Fixtures: `page` (a fresh context and page per test),
`print_pdf(page, path, paper)` (print to PDF like a student's browser) and `pdf_pages`/
`pdf_page_texts` (poppler's pdfinfo/pdftotext on the result).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.chromium import local_context


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def page(browser):
    context = local_context(browser)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def print_pdf():
    """print_pdf(page, path, paper="A4") -> path: the page printed as a student's browser
    would (print media, backgrounds on, the paper's default margins left to the page's CSS)."""

    def printer(page, path: Path, paper: str = "A4") -> Path:
        page.emulate_media(media="print")
        page.pdf(path=str(path), format=paper, print_background=True)
        return Path(path)

    return printer


def _poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} is not installed (Debian: apt-get install poppler-utils)")
    return found


@pytest.fixture
def pdf_pages():
    """pdf_pages(path) -> the page count pdfinfo reports."""

    def count(path: Path) -> int:
        out = subprocess.run(
            [_poppler("pdfinfo"), str(path)], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))

    return count


@pytest.fixture
def pdf_page_texts(pdf_pages):
    """pdf_page_texts(path) -> [the text of each page, in reading order] (pdftotext)."""

    def texts(path: Path) -> list[str]:
        tool = _poppler("pdftotext")
        return [
            subprocess.run(
                [tool, "-f", str(i), "-l", str(i), str(path), "-"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
            for i in range(1, pdf_pages(path) + 1)
        ]

    return texts
