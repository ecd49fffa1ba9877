"""Golden files: expected output stored beside the tests, compared byte for byte.

Regenerate with LABGEN_REGEN_GOLDEN=1, then review the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
REGEN = bool(os.environ.get("LABGEN_REGEN_GOLDEN"))


def assert_golden(text: str, name: str) -> None:
    golden = GOLDEN / name
    if REGEN:
        golden.write_bytes(text.encode("utf-8"))
    assert golden.exists(), f"no golden file {golden}: run with LABGEN_REGEN_GOLDEN=1"
    assert text.encode("utf-8") == golden.read_bytes(), (
        f"output differs from {golden}; if intended, regenerate with LABGEN_REGEN_GOLDEN=1 "
        "and review the diff")
