"""labgen.parallel.per_node: bounded, ordered, and it tells workers to stop on a failure."""

from __future__ import annotations

import threading
import time

import pytest

from labgen.parallel import per_node


def test_results_in_order_and_at_most_limit_at_once():
    running, peak, lock = [0], [0], threading.Lock()

    def work(n):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return n * n

    assert per_node(range(10), work, limit=3) == [n * n for n in range(10)]
    assert peak[0] == 3
    assert per_node([], work) == []


def test_a_failure_sets_abort_and_is_raised_after_the_others_finish():
    abort = threading.Event()
    finished = []

    def work(n):
        if n == 0:
            raise RuntimeError("node 0 failed")
        time.sleep(0.05)
        finished.append((n, abort.is_set()))
        return n

    with pytest.raises(RuntimeError, match="node 0 failed"):
        per_node([0, 1, 2], work, abort=abort)
    assert abort.is_set()
    assert sorted(n for n, _ in finished) == [1, 2]  # started work is not cancelled
