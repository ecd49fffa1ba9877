"""The golden-file helper itself: it must never pass while regenerating."""

from __future__ import annotations

import pytest

from tests.unit import golden


def test_matching_text_passes_and_differing_text_fails(tmp_path, monkeypatch):
    monkeypatch.delenv(golden.REGEN_ENV, raising=False)
    path = tmp_path / "out.txt"
    path.write_bytes("same\n".encode())
    golden.assert_golden("same\n", path)
    with pytest.raises(AssertionError, match="differs"):
        golden.assert_golden("other\n", path)
    with pytest.raises(AssertionError, match="no golden file"):
        golden.assert_golden("x", tmp_path / "missing.txt")


def test_regenerating_writes_the_file_and_fails(tmp_path, monkeypatch):
    monkeypatch.setenv(golden.REGEN_ENV, "1")
    path = tmp_path / "out.txt"
    path.write_text("old\n")
    with pytest.raises(pytest.fail.Exception, match="LABGEN_REGEN_GOLDEN is set"):
        golden.assert_golden("new\n", path)
    assert path.read_text() == "new\n"
    with pytest.raises(pytest.fail.Exception):  # even when nothing changed
        golden.assert_golden("new\n", path)


def test_input_error_message_is_one_line_per_problem():
    from labgen.errors import InputError

    err = InputError(["lab.yml line 1: a", "lab.yml line 2: b"], hint="h")
    assert err.message == "lab.yml line 1: a\nlab.yml line 2: b"
    assert err.problems == ["lab.yml line 1: a", "lab.yml line 2: b"] and err.exit_code == 2
