"""shell.wait_steady: stability counted by time (ZooKeeper's ensemble check), run in sh."""

from __future__ import annotations

import subprocess
import time

from labgen.provision.shell import wait_steady

LAG = 60  # ms between the loop's clock reading and the ask's own, on a loaded host


def _check(tmp_path, fail_on: set[int] | str) -> str:
    """A check that logs each ask's time (ms) and number to tmp_path/asks and fails on the asks
    numbered in `fail_on` ("all": every ask, "odd": every other one)."""
    script = tmp_path / "check"
    if fail_on == "all":
        verdict = "exit 1"
    elif fail_on == "odd":
        verdict = "exit $((n % 2))"
    else:
        verdict = " ".join(f'[ "$n" = {i} ] && exit 1;' for i in sorted(fail_on)) + " exit 0"
    script.write_text(
        "#!/bin/sh\n"
        f"n=$(( $(cat {tmp_path}/asks 2>/dev/null | wc -l) + 1 ))\n"
        f'echo "$n $(date +%s%3N)" >> {tmp_path}/asks\n'
        f"{verdict}\n"
    )
    script.chmod(0o755)
    return str(script)


def _asks(tmp_path) -> list[tuple[int, int]]:
    return [tuple(map(int, line.split())) for line in (tmp_path / "asks").read_text().splitlines()]


def _run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)


def test_passes_once_the_check_held_for_the_steady_time(tmp_path):
    res = _run(wait_steady(_check(tmp_path, set()), 20, "x", steady=0.3, every=0.05))
    asks = _asks(tmp_path)
    assert res.returncode == 0, res.stderr
    # not after one pass: the whole 0.3 s, as the loop counts it (it reads the clock just before
    # each ask; a loaded host may start the first ask's process up to LAG ms after that)
    assert asks[-1][1] - asks[0][1] >= 300 - LAG
    assert len(asks) >= 3


def test_a_failed_ask_starts_the_count_again(tmp_path):
    res = _run(wait_steady(_check(tmp_path, {3}), 20, "x", steady=0.3, every=0.05))
    asks = _asks(tmp_path)
    assert res.returncode == 0, res.stderr
    after = [t for n, t in asks if n > 3]
    assert after[-1] - after[0] >= 300 - LAG  # counted from the first pass after the failure
    assert asks[2][0] == 3 and len(after) >= 2


def test_a_flapping_check_never_passes_and_the_wait_ends_with_the_diagnosis(tmp_path):
    # `seconds` counts whole seconds of `date +%s`: 2 gives it more than one
    began = time.monotonic()
    res = _run(
        wait_steady(_check(tmp_path, "odd"), 2, "ensemble serving", steady=0.3, every=0.05, diagnose="echo report")
    )
    assert res.returncode == 1
    assert res.stderr.splitlines() == ["ensemble serving: not reached after 2 s", "report"]
    assert time.monotonic() - began < 10 and len(_asks(tmp_path)) > 4


def test_a_check_that_always_fails_times_out(tmp_path):
    res = _run(wait_steady(_check(tmp_path, "all"), 1, "not settled", steady=0.1, every=0.05))
    assert res.returncode == 1 and "not settled: not reached after 1 s" in res.stderr


def test_wait_until_is_the_same_loop_counting_its_rounds_as_time():
    """`stable` answers 2 s apart are `2 * (stable - 1)` s of passing asks every 2 s: one loop
    for every role, not two."""
    from labgen.provision.shell import settles, wait_until

    assert wait_until("true", 30, "x", stable=3) == wait_steady("true", 30, "x", steady=4.0, every=2.0)
    assert wait_until("true", 30, "x", diagnose="d") == wait_steady("true", 30, "x", 0.0, 2.0, diagnose="d")
    assert settles("true") == wait_steady("true", 30, "not settled", steady=0.0, every=2.0)


def test_a_first_pass_is_enough_when_nothing_must_hold(tmp_path):
    from labgen.provision.shell import wait_until

    res = _run(wait_until(_check(tmp_path, set()), 20, "x"))
    assert res.returncode == 0 and len(_asks(tmp_path)) == 1, res.stderr
