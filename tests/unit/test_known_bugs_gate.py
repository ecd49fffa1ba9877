"""tests/mutation/known_bugs.sh as a gate, on a copy of the four files it changes: it fails when
a bug survives, passes when all are caught, and puts every file back on any exit (Ctrl-C too).
The unit tests it would run are replaced by a small script (KNOWN_BUGS_TESTS)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "mutation" / "known_bugs.sh"
FILES = ["labgen/labfile.py", "labgen/provision/engine.py", "labgen/scenario/template.py", "labgen/artifacts.py"]


ORIGINAL: dict = {}


@pytest.fixture
def checkout(tmp_path):
    ORIGINAL.clear()
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
        ORIGINAL[name] = (tmp_path / name).read_bytes()
    return tmp_path


def unchanged(checkout) -> bool:
    return all((checkout / n).read_bytes() == ORIGINAL[n] for n in FILES)


def fake_tests(tmp_path, body: str) -> str:
    path = tmp_path / "fake-tests"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def gate(checkout, tests: str, **kw):
    return subprocess.run(
        ["bash", str(SCRIPT), str(checkout)],
        capture_output=True,
        text=True,
        env={**os.environ, "KNOWN_BUGS_TESTS": tests},
        timeout=60,
        **kw,
    )


def test_all_bugs_caught_passes(checkout, tmp_path):
    res = gate(checkout, fake_tests(tmp_path, "exit 1"))  # pytest's "tests failed"
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("   caught: ") == 5 and "all 5 caught" in res.stdout
    assert unchanged(checkout)


def test_a_surviving_bug_fails_the_gate_and_the_tree_is_restored(checkout, tmp_path):
    # the tests pass only while the template bug is in: that one survives
    body = f"grep -q \"if ' ' in str(value) else str(value)\" {checkout}/labgen/scenario/template.py && exit 0; exit 1"
    res = gate(checkout, fake_tests(tmp_path, body))
    assert res.returncode == 1, res.stdout + res.stderr
    assert res.stdout.count("SURVIVED") == 1 and "1 of 5 survived" in res.stdout
    assert unchanged(checkout)


def test_tests_that_cannot_run_or_code_that_moved_fail_the_gate(checkout, tmp_path):
    res = gate(checkout, fake_tests(tmp_path, "exit 4"))  # pytest's usage error
    assert res.returncode == 2 and "did not run (exit 4)" in res.stdout, res.stdout
    assert unchanged(checkout)
    (checkout / "labgen/labfile.py").write_text("# the code moved\n")
    res = gate(checkout, fake_tests(tmp_path, "exit 1"))
    assert res.returncode == 2 and "cannot put the bug back" in res.stdout, res.stdout
    assert (checkout / "labgen/labfile.py").read_text() == "# the code moved\n"


def test_ctrl_c_while_a_bug_is_in_restores_the_file(checkout, tmp_path):
    started = tmp_path / "started"
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), str(checkout)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "KNOWN_BUGS_TESTS": fake_tests(tmp_path, f"touch {started}; exec sleep 30")},
    )
    try:
        deadline = time.monotonic() + 20
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists()
        assert not unchanged(checkout)  # the first bug is in
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole group
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130 and "interrupted: restored" in out, out
    assert unchanged(checkout)
