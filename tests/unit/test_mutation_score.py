"""tests/mutation/score.py counts only real kills (and timeouts, shown apart) and names every
other outcome mutmut records, on a made-up mutants/ dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCORE = Path(__file__).resolve().parents[1] / "mutation" / "score.py"


def test_only_kills_and_timeouts_count_and_the_rest_is_named(tmp_path):
    codes = {
        "m.x_f__mutmut_1": 1,
        "m.x_f__mutmut_2": 3,
        "m.x_f__mutmut_3": 36,
        "m.x_f__mutmut_4": 0,
        "m.x_f__mutmut_5": 33,
        "m.x_f__mutmut_6": 5,
        "m.x_f__mutmut_7": 2,
        "m.x_f__mutmut_8": 35,
        "m.x_f__mutmut_9": -11,
        "m.x_f__mutmut_10": None,
        "m.x_f__mutmut_11": 34,
        "m.x_f__mutmut_12": 99,
    }
    (tmp_path / "labgen").mkdir()
    (tmp_path / "labgen" / "m.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    out = subprocess.run(
        [sys.executable, str(SCORE), "--markdown", "--root", str(tmp_path)], capture_output=True, text=True, check=True
    ).stdout
    row = [ln for ln in out.splitlines() if ln.startswith("| labgen/m.py")]
    assert row == [
        "| labgen/m.py | 12 | 3 (1) | 0 | 1 crashed, 1 interrupted, 2 no tests, 1 not checked, "
        "1 skipped, 1 survived, 2 suspicious | 25% |"
    ], out
    names = subprocess.run(
        [sys.executable, str(SCORE), "--root", str(tmp_path), "--names", "labgen.m"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(names) == 9 and "m.x_f__mutmut_1" not in names and "m.x_f__mutmut_3" not in names
