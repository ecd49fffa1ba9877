"""Real headless Chromium for tests: Debian's `chromium`, driven by Playwright for Python.

Playwright's own browser download (`playwright install`) is never used: the fixture launches
the system binary (`LABGEN_CHROMIUM`, else `chromium` on PATH). Every test here is marked
`browser` and skipped with the reason when Playwright or Chromium is missing.

Pages may load only file:, data: and loopback URLs: anything else is aborted, so a test never
sends traffic off this machine (web-app tests can serve on 127.0.0.1).

Fixtures: `browser` (one Chromium per session), `page` (a fresh context and page per test),
`print_pdf(page, path, paper)` (print to PDF like a student's browser) and `pdf_pages`/
`pdf_page_texts` (poppler's pdfinfo/pdftotext on the result).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def chromium_path() -> str | None:
    found = os.environ.get("LABGEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found and os.path.exists(found) else None


def _skip_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if chromium_path() is None:
        return "Chromium is not installed (Debian: apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # --no-sandbox: Chromium's sandbox refuses to run as root, which CI is.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        instance = pw.chromium.launch(executable_path=chromium_path(), args=args)
        try:
            yield instance
        finally:
            instance.close()


def _local_only(route):
    url = urlparse(route.request.url)
    if url.scheme in ("file", "data", "about", "blob") or url.hostname in LOCAL_HOSTS:
        route.continue_()
    else:
        route.abort()


def local_context(browser, **options):
    """A new browser context (Playwright's options) whose requests reach this machine only:
    a test never sends traffic off it."""
    context = browser.new_context(**options)
    context.route("**/*", _local_only)
    return context


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
        out = subprocess.run([_poppler("pdfinfo"), str(path)], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))

    return count


@pytest.fixture
def pdf_page_texts(pdf_pages):
    """pdf_page_texts(path) -> [the text of each page, in reading order] (pdftotext)."""

    def texts(path: Path) -> list[str]:
        tool = _poppler("pdftotext")
        return [subprocess.run([tool, "-f", str(i), "-l", str(i), str(path), "-"], capture_output=True,
                               text=True, timeout=30, check=True).stdout
                for i in range(1, pdf_pages(path) + 1)]

    return texts
