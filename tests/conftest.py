"""Rules for the whole suite (issue 15), kept by pytest itself rather than by review:

- In CI (`CI=true`, set by .ci/run and by CI services) no test may pass by skipping: a skip
  becomes a failure that names its reason, unless the reason is in CI_ALLOWED_SKIPS below,
  whose entries are things a CI machine cannot have. A module-level skip fails its collection.
- No test may change the environment of the tests after it: a test that leaves os.environ
  different from how it found it fails (monkeypatch.setenv/delenv restore it; a product that
  writes os.environ does not).
"""

from __future__ import annotations

import os

import pytest

# A skip whose reason contains one of these keys is accepted in CI too; the value says why.
CI_ALLOWED_SKIPS = {
    "VirtualBox": "VirtualBox is not in Debian: a CI machine cannot install it",
    "hardware KVM": "CI machines are cloud VMs without hardware virtualisation (kvm_intel/kvm_amd)",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:      # (path, line, "Skipped: ...")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail_a_skip_in_ci(report) -> None:
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if any(key in reason for key in CI_ALLOWED_SKIPS):
        return
    report.outcome = "failed"
    report.longrepr = (f"skipped in CI, where nothing may skip: {reason}\n"
                       "(fix the machine or the test; a skip CI must accept goes in "
                       "tests/conftest.py CI_ALLOWED_SKIPS, with the reason)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_a_skip_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_a_skip_in_ci(outcome.get_result())


def _environment() -> dict:
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)        # pytest's own, set for each phase
    return env


@pytest.fixture(autouse=True)
def _environment_unchanged():
    """Autouse, so it is set up before (and torn down after) every other function fixture:
    monkeypatch has restored what it changed by the time this compares."""
    before = _environment()
    yield
    after = _environment()
    if after != before:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        for key in changed:                      # put it back, so only this test fails
            if key in before:
                os.environ[key] = before[key]
            else:
                os.environ.pop(key, None)
        pytest.fail(f"this test changed the environment of the tests after it: {', '.join(changed)} "
                    "(use monkeypatch.setenv/delenv; the product must not write os.environ)", pytrace=False)
