"""Rules for the whole suite (issue 15), kept by pytest itself rather than by review:

- In CI (`CI=true`, set by .ci/run and by CI services) no test may pass by skipping: a skip
  becomes a failure that names its reason, unless the reason is in CI_ALLOWED_SKIPS below,
  whose entries are things a CI machine cannot have. A module-level skip fails its collection.
- No test may change the environment of the tests after it: a test that leaves os.environ
  different from how it found it fails (monkeypatch.setenv/delenv restore it; a product that
  writes os.environ does not).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

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
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: ...")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail_a_skip_in_ci(report) -> None:
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if any(key in reason for key in CI_ALLOWED_SKIPS):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped in CI, where nothing may skip: {reason}\n"
        "(fix the machine or the test; a skip CI must accept goes in "
        "tests/conftest.py CI_ALLOWED_SKIPS, with the reason)"
    )


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
    env.pop("PYTEST_CURRENT_TEST", None)  # pytest's own, set for each phase
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
        for key in changed:  # put it back, so only this test fails
            if key in before:
                os.environ[key] = before[key]
            else:
                os.environ.pop(key, None)
        pytest.fail(
            f"this test changed the environment of the tests after it: {', '.join(changed)} "
            "(use monkeypatch.setenv/delenv; the product must not write os.environ)",
            pytrace=False,
        )


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


# ---- speed: four workers (`make test`: pytest -n 4 --dist loadfile --no-loadscope-reorder), a
# module whole on one worker (its module fixture, a booted lab, is made once), and host locks.
#
# Host modules' subnets differ (tests/README.md), so several may run at once; what they share besides
# addresses is guarded by flock(2) on files in LOCK_DIR, held for the whole module:
# - every host module holds HOST_LOCK shared; a module in ALONE holds it exclusive (it changes
#   something every container on the host depends on), so it never runs beside another;
# - modules in one SHARED_GROUPS group hold that group's lock exclusive (one at a time).
# Unit tests take no lock. (xdist's `loadgroup` does not work with pytest 9: it renames node ids
# through `item._nodeid`, which pytest 9 no longer reads; `loadfile` groups by module anyway.)

LOCK_DIR = os.environ.get("LABGEN_TEST_LOCK_DIR", "/tmp")  # a test of these rules uses its own
HOST_LOCK = "labgen-tests-host.lock"
ALONE = {
    "integration/test_clones_host_limits_lxc.py": "sets fs.inotify.max_user_instances to 128 for a moment",
    "integration/test_lxc_host.py": "asserts on the host's bridges and lxcbr0 as a whole",
}
SHARED_GROUPS = {
    # doctor reads lvci's network and libvirt's state while the libvirt lane holds them
    "integration/test_doctor_host.py": "libvirt",
    "integration/test_lab_libvirt.py": "libvirt",
}

# Under xdist every worker sorts its items alike (xdist requires one collection order): the ALONE
# modules first (the other workers run unit tests meanwhile), then the unit tests, then the host
# modules, the longest first (measured, tests/README.md), so the short ones fill the end.
# A plain `pytest` keeps file order.
LONGEST_FIRST = [
    "integration/test_lab_lxc.py",
    "integration/test_classroom_clones_lxc.py",
    "integration/test_rehearsal_lxc.py",
    "integration/test_lab_libvirt.py",
    "browser/test_terminal_web.py",
    "integration/test_challenge_lxc.py",
    "integration/test_classroom_lxc.py",
    "browser/test_classroom_web.py",
    "integration/test_leftovers_lxc.py",
    "integration/test_classroom_interrupt_lxc.py",
    "integration/test_cli_lxc.py",
    "integration/test_verify_lxc.py",
]


def _host_module(item) -> str | None:
    parts = item.nodeid.split("::")[0].split("/")
    if len(parts) >= 3 and parts[-2] in ("integration", "browser"):
        return "/".join(parts[-2:])
    return None


def _rank(item) -> tuple[int, int]:
    rel = _host_module(item)
    if rel in ALONE:
        return (0, 0)
    if rel is None:
        return (1, 0)
    if rel in LONGEST_FIRST:
        return (2, LONGEST_FIRST.index(rel))
    return (2, len(LONGEST_FIRST))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=_rank)  # stable: file order within each rank


@contextlib.contextmanager
def _flock(name: str, exclusive: bool):
    fd = os.open(os.path.join(LOCK_DIR, name), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the file drops the lock


@pytest.fixture(scope="module", autouse=True)
def _host_module_locks(request):
    rel = _host_module(request.node)
    if rel is None:
        yield
        return
    with contextlib.ExitStack() as held:
        group = SHARED_GROUPS.get(rel)
        if group:
            held.enter_context(_flock(f"labgen-tests-{group}.lock", exclusive=True))
        held.enter_context(_flock(HOST_LOCK, exclusive=rel in ALONE))
        yield


# ---- seat images: `classroom down` keeps a classroom's seat image (a cache, GiBs for
# mesos-calico); the images this run built are removed when the whole run ends (in xdist's
# controller, after both workers), images that were there before are kept.

REPO = Path(__file__).resolve().parent.parent
_images_before: set[str] | None = None


def _seat_images_root():
    from labgen.classroom import image

    return image.images_root()


def pytest_sessionstart(session):
    global _images_before
    # not in a worker, nor in a pytest run inside a unit test (pytester: another rootdir)
    if os.environ.get("PYTEST_XDIST_WORKER") or session.config.rootpath != REPO:
        return
    # Unit tests build no image: a unit run must not take for its own an image that someone
    # else's run (a benchmark, a helper) builds on the host meanwhile.
    unit = REPO / "tests" / "unit"
    args = session.config.args
    if args and all(Path(a.split("::")[0]).resolve().is_relative_to(unit) for a in args):
        return
    root = _seat_images_root()
    _images_before = {p.name for p in root.iterdir()} if root.exists() else set()


def pytest_sessionfinish(session):
    if os.environ.get("PYTEST_XDIST_WORKER") or _images_before is None:
        return
    import json

    from labgen.classroom import image

    root = _seat_images_root()
    for path in sorted(root.iterdir()) if root.exists() else []:
        if not path.is_dir() or path.name in _images_before:
            continue
        try:
            provider = json.loads((path / image.IMAGE_FILE).read_text()).get("provider", "lxc")
        except (OSError, ValueError):
            provider = "lxc"  # half-built: no record yet
        seat_image = image.SeatImage(path.name, path, provider)
        if image.clones_of(seat_image):  # a classroom a test left up: its cleanup's job
            continue
        image.remove(seat_image, force=True)


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
