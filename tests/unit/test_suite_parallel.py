"""`make test`'s two workers, run for real: pytest -n 2 --dist loadfile inside pytest (pytester,
a subprocess per worker) with tests/conftest.py, on small host modules made here. Each module
runs whole on one worker; a module in ALONE never overlaps another host module; the two
modules of a SHARED_GROUPS group never overlap each other; unit tests may run beside anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CONFTEST = (Path(__file__).resolve().parent.parent / "conftest.py").read_text()
CHROMIUM = (Path(__file__).resolve().parent.parent / "chromium.py").read_text()

# Each test records (module, worker, start, end); sleeps make overlaps possible to see.
MODULE = """
import json, os, time
def _record(name, t0):
    with open(os.environ["RECORD"], "a") as f:
        row = [__name__.split(".")[-1], name, os.environ.get("PYTEST_XDIST_WORKER"), t0, time.time()]
        f.write(json.dumps(row) + "\\n")
{tests}
"""
TEST = "def test_{i}():\n    t0 = time.time(); time.sleep({sleep}); _record('t{i}', t0)\n"


def module(n: int, sleep: float) -> str:
    return MODULE.format(tests="".join(TEST.format(i=i, sleep=sleep) for i in range(n)))


@pytest.fixture
def runs(pytester, monkeypatch, tmp_path):
    pytest.importorskip("xdist")
    root = pytester.path / "tests"
    for sub in ("", "integration", "browser", "unit"):
        (root / sub).mkdir(exist_ok=True)
        (root / sub / "__init__.py").write_text("")
    (root / "conftest.py").write_text(CONFTEST)
    (root / "chromium.py").write_text(CHROMIUM)
    files = {
        "integration/test_clones_host_limits_lxc.py": module(3, 0.3),  # ALONE
        "integration/test_lab_lxc.py": module(4, 0.3),
        "integration/test_roles_lxc.py": module(3, 0.3),
        "integration/test_doctor_host.py": module(3, 0.3),  # group libvirt
        "integration/test_lab_libvirt.py": module(3, 0.3),  # group libvirt
        "browser/test_handout.py": module(2, 0.2),
        "unit/test_fast.py": module(6, 0.1),
    }
    for rel, text in files.items():
        (root / rel).write_text(text)
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("RECORD", str(record))
    monkeypatch.setenv("LABGEN_TEST_LOCK_DIR", str(tmp_path))  # not the real suite's locks
    monkeypatch.delenv("CI", raising=False)
    result = pytester.runpytest_subprocess(
        "-q", "-p", "no:randomly", "-n", "2", "--dist", "loadfile", "--no-loadscope-reorder", "tests"
    )
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    return result, rows


def spans(rows):
    """module -> (workers it ran on, first start, last end)"""
    out: dict = {}
    for mod, _test, worker, t0, t1 in rows:
        workers, start, end = out.get(mod, (set(), t0, t1))
        out[mod] = (workers | {worker}, min(start, t0), max(end, t1))
    return out


def overlap(a, b) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def test_modules_whole_on_one_worker_alone_alone_and_groups_one_at_a_time(runs):
    result, rows = runs
    result.assert_outcomes(passed=24)
    by = spans(rows)
    assert {w for ws, _, _ in by.values() for w in ws} == {"gw0", "gw1"}  # both workers worked
    for mod, (workers, _, _) in by.items():
        assert len(workers) == 1, f"{mod} ran on {workers}"
    alone = by["test_clones_host_limits_lxc"]
    for mod in ("test_lab_lxc", "test_roles_lxc", "test_doctor_host", "test_lab_libvirt", "test_handout"):
        assert not overlap(alone, by[mod]), f"{mod} ran beside the ALONE module"
    assert not overlap(by["test_doctor_host"], by["test_lab_libvirt"])
    # the rule is not vacuous: two ordinary host modules do run at once somewhere
    host = ["test_lab_lxc", "test_roles_lxc", "test_doctor_host", "test_lab_libvirt", "test_handout"]
    assert any(overlap(by[a], by[b]) for a in host for b in host if a < b and by[a][0] != by[b][0])
