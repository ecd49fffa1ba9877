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

from tests import chromium

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


# ---- one Chromium for the whole session (tests/chromium.py): Playwright's sync API refuses to
# start while another instance runs in the process, so a second session fixture (a module
# that defined its own) fails with "using Playwright Sync API inside the asyncio loop".

@pytest.fixture(scope="session")
def browser():
    reason = chromium.skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # --no-sandbox: Chromium's sandbox refuses to run as root, which CI is.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        instance = pw.chromium.launch(executable_path=chromium.chromium_path(), args=args)
        try:
            yield instance
        finally:
            instance.close()



# ---- speed: one xdist group per host module, and per-module times

# Modules that must not run beside each other (a shared resource, not a subnet): one group.
SHARED_GROUPS = {
    # doctor reads lvci's network and libvirt's state while the libvirt lane holds them
    "integration/test_doctor_host.py": "libvirt", "integration/test_lab_libvirt.py": "libvirt",
}


# Under xdist the longest modules start first (measured, tests/README.md), host modules before
# unit tests, which fill the gaps; a plain `pytest` keeps file order.
LONGEST_FIRST = ["integration/test_lab_lxc.py", "integration/test_lab_libvirt.py",
                 "integration/test_classroom_lxc.py", "browser/test_classroom_web.py",
                 "integration/test_challenge_lxc.py", "integration/test_roles_lxc.py",
                 "integration/test_classroom_interrupt_lxc.py", "integration/test_docker_lxc.py",
                 "integration/test_leftovers_lxc.py"]


def _host_module(item) -> str | None:
    parts = item.nodeid.split("::")[0].split("/")
    if len(parts) >= 3 and parts[-2] in ("integration", "browser"):
        return "/".join(parts[-2:])
    return None


@pytest.hookimpl(tryfirst=True)      # before xdist's own hook, which reads the groups then
def pytest_collection_modifyitems(config, items):
    """`make test` runs `pytest -n 2 --dist loadgroup`: every test of a host module (integration/,
    browser/) goes to one worker, so its module fixture (a booted lab) is made once; their
    subnets differ (tests/README.md), so two such modules may run at once. Unit tests spread."""
    for item in items:
        rel = _host_module(item)
        if rel:
            item.add_marker(pytest.mark.xdist_group(SHARED_GROUPS.get(rel, rel)))
    if os.environ.get("PYTEST_XDIST_WORKER"):     # every worker sorts alike: same order everywhere
        def rank(item):
            rel = _host_module(item)
            if rel in LONGEST_FIRST:
                return LONGEST_FIRST.index(rel)
            return len(LONGEST_FIRST) + (0 if rel else 1)
        items.sort(key=rank)                      # stable: file order within each rank


_seconds: dict = {}


def pytest_runtest_logreport(report):
    module = report.nodeid.split("::")[0]
    _seconds[module] = _seconds.get(module, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    """Seconds per module (setup + call + teardown of its tests, module fixtures included);
    LABGEN_MODULE_TIMES=FILE also writes them as a Markdown table (tests/README.md's)."""
    slow = sorted(((s, m) for m, s in _seconds.items() if s >= 5), reverse=True)
    if not slow:
        return
    terminalreporter.write_sep("-", "seconds per module (5 s or more)")
    for seconds, module in slow:
        terminalreporter.write_line(f"{seconds:8.1f}  {module}")
    out = os.environ.get("LABGEN_MODULE_TIMES")
    if out:
        rows = "".join(f"| {m} | {s:.0f} |\n" for s, m in slow)
        with open(out, "w", encoding="utf-8") as f:
            f.write("| module | seconds |\n|---|---:|\n" + rows)
