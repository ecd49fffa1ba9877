"""Golden files: expected output stored beside the tests, compared byte for byte.

Regenerate with LABGEN_REGEN_GOLDEN=1, then review the diff and run again without it: while
it is set, every golden comparison writes its file and FAILS, so a regenerating run can never
pass as a check.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
REGEN_ENV = "LABGEN_REGEN_GOLDEN"


def regenerating() -> bool:
    return bool(os.environ.get(REGEN_ENV))


def assert_golden(text: str, name: "str | Path") -> None:
    """`text` must equal the golden file `name` (under tests/golden, or a path)."""
    golden = name if isinstance(name, Path) else GOLDEN / name
    if regenerating():
        golden.write_bytes(text.encode("utf-8"))
        pytest.fail(f"{REGEN_ENV} is set: wrote {golden}; review the diff, then run without it", pytrace=False)
    assert golden.exists(), f"no golden file {golden}: run with {REGEN_ENV}=1"
    assert text.encode("utf-8") == golden.read_bytes(), (
        f"output differs from {golden}; if intended, regenerate with {REGEN_ENV}=1 and review the diff"
    )
