"""One way to run a function per node in parallel: a bounded thread pool, results in order.

Fabric's groups run one command on many hosts; a Python task per host needs its own pool
(fabric#1995). Every per-node loop (provisioning, scenario steps, probes, `labgen exec`) uses
this one, so the bound and the Ctrl-C behaviour are the same everywhere.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# A lab has a handful of nodes; a classroom may ask for many more. Each worker holds one SSH
# channel, so the pool is bounded rather than one thread per node.
MAX_WORKERS = 16


def per_node(
    items: Iterable[T], fn: Callable[[T], R], *, limit: int = MAX_WORKERS, abort: threading.Event | None = None
) -> list[R]:
    """fn(item) for every item, at most `limit` at a time; the results in the items' order.

    An exception from fn is raised here once every started call has finished (the others are
    not cancelled: a node in the middle of a task finishes it). `abort`, when given, is set on
    an exception or Ctrl-C, so that workers that watch it stop starting new work.
    """
    items = list(items)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(limit, len(items)))) as pool:
        futures = [pool.submit(fn, item) for item in items]
        try:
            return [f.result() for f in futures]
        except BaseException:
            if abort is not None:
                abort.set()
            raise
