"""Real headless Chromium for tests: Debian's `chromium`, driven by Playwright for Python.

Playwright's own browser download (`playwright install`) is never used: the `browser` fixture
(tests/conftest.py, one Chromium per session for the whole suite: Playwright's sync API cannot
run twice in one process) launches the system binary (`LABGEN_CHROMIUM`, else `chromium` on PATH).

Pages may load only file:, data: and loopback URLs (`local_context`): anything else is aborted,
so a test never sends traffic off this machine (web-app tests can serve on 127.0.0.1).
"""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlparse

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def chromium_path() -> str | None:
    found = os.environ.get("LABGEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found and os.path.exists(found) else None


def skip_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if chromium_path() is None:
        return "Chromium is not installed (Debian: apt-get install chromium)"
    return None


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
