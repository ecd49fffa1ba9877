"""The rules tests/conftest.py keeps for the whole suite, run for real: pytest inside pytest
(pytester) with that very conftest, on small test files made here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CONFTEST = (Path(__file__).resolve().parent.parent / "conftest.py").read_text()

SKIPS = """
import pytest

def test_plain_skip():
    pytest.skip("the Debian archive is not reachable")

@pytest.mark.skipif(True, reason="libvirt is not installed")
def test_skipif():
    pass

def test_virtualbox():
    pytest.skip("VirtualBox is installed here")

def test_kvm():
    pytest.skip("needs hardware KVM (kvm_intel or kvm_amd)")

@pytest.mark.xfail(reason="known", strict=True)
def test_xfail():
    assert False

def test_passes():
    pass
"""


@pytest.fixture
def suite(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_skips=SKIPS)
    return pytester


def test_in_ci_a_skip_fails_with_its_reason_and_the_allow_list_passes(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")
    res = suite.runpytest("-p", "no:randomly", "-rA")
    res.assert_outcomes(passed=1, failed=1, errors=1, skipped=2, xfailed=1)  # skipif: at setup
    out = res.stdout.str()
    assert "skipped in CI, where nothing may skip: the Debian archive is not reachable" in out
    assert "skipped in CI, where nothing may skip: libvirt is not installed" in out
    assert res.ret == pytest.ExitCode.TESTS_FAILED


def test_outside_ci_a_skip_stays_a_skip(suite, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    suite.runpytest().assert_outcomes(passed=1, skipped=4, xfailed=1)


def test_in_ci_a_module_level_skip_fails_the_collection(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_module_skip="""
import pytest
pytest.skip("lxc-create is not installed", allow_module_level=True)

def test_never_runs():
    pass
"""
    )
    res = pytester.runpytest()
    assert res.ret != pytest.ExitCode.OK
    assert "skipped in CI, where nothing may skip: lxc-create is not installed" in res.stdout.str()
    assert "1 error" in res.stdout.str()


def test_a_test_that_changes_the_environment_fails_and_the_next_one_sees_it_restored(pytester, monkeypatch):
    monkeypatch.delenv("LABGEN_SUITE_RULES_PROBE", raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_env="""
import os

def test_a_leak():
    os.environ["LABGEN_SUITE_RULES_PROBE"] = "qemu"

def test_b_after_it():
    assert "LABGEN_SUITE_RULES_PROBE" not in os.environ

def test_c_monkeypatch_is_fine(monkeypatch):
    monkeypatch.setenv("LABGEN_SUITE_RULES_PROBE", "kvm")
"""
    )
    res = pytester.runpytest("-p", "no:randomly")
    res.assert_outcomes(passed=3, errors=1)  # test_a passes its body, then errors in teardown
    assert "changed the environment of the tests after it: LABGEN_SUITE_RULES_PROBE" in res.stdout.str()
    assert "LABGEN_SUITE_RULES_PROBE" not in os.environ
