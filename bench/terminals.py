"""Web terminals under a room's load (issue 18): 30 seats x 2 open terminals typing at a
typist's pace, and one `yes | head -c 50M` flood in one of them.

Figures: keystroke echo latency (key sent on the websocket -> the next output frame of that
terminal) p50/p99 for the other terminals, before and during the flood; the server's memory
per open terminal; terminals that stalled (no echo within 2 s); how long the flood took.

Stand-ins, all on loopback (tests/terminalharness.py, shared with the back-pressure test): the
"nodes" are two sshd processes on 127.0.0.1 (root, key only, each with its own TMUX_TMPDIR so
the two "nodes" keep separate tmux servers), and the seats are lab dirs on disk whose cached
ssh-config points at them. The server is the real one (create_app under uvicorn as `serve`
runs it, in a process of its own; asyncssh; tmux on the "node"). Needs root, openssh-server
and tmux. Bounded: about a minute; everything it starts is stopped at the end.

  .venv/bin/python bench/terminals.py [SEATS]          (default 30)
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.terminalharness import cpu_seconds, loopback_room, missing, rss_kib  # noqa: E402 - after the path

TYPE_SECONDS = 30  # the whole typing phase
FLOOD_AT = 8  # seconds into it, the flood starts
KEY_EVERY = (0.15, 0.35)  # a typist: 3-6 keys a second


class Term:
    def __init__(self, seat, node):
        self.seat, self.node = seat, node
        self.ws = None
        self.got = asyncio.Event()
        self.bytes = 0
        self.tail = b""
        self.latencies = []  # (t, seconds)
        self.stalls = 0

    async def reader(self):
        async for frame in self.ws:
            self.bytes += len(frame)
            self.tail = (self.tail + frame)[-4096:]
            self.got.set()


async def run(base: str, seats, server_pid: int):
    from websockets.asyncio.client import connect

    ws_base = base.replace("http://", "ws://")
    terms = [Term(seat, node) for seat in seats for node in ("node-a", "node-b")]
    rss_before = rss_kib(server_pid)

    async def open_one(t):
        t.ws = await connect(
            f"{ws_base}/seat/{t.seat.token}/term/{t.node}?cols=100&rows=30", origin=base, max_size=None, open_timeout=60
        )
        asyncio.ensure_future(t.reader())
        t.ws_ok = True

    began = time.monotonic()
    await asyncio.gather(*(open_one(t) for t in terms))
    # wait until every shell printed something (its prompt), bounded
    deadline = time.monotonic() + 60
    while any(t.bytes == 0 for t in terms) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    opened = time.monotonic() - began
    await asyncio.sleep(2)
    rss_open = rss_kib(server_pid)
    flood = terms[0]
    flood_times = {}
    peak = [rss_open]
    start = time.monotonic()
    cpu_start = cpu_seconds(server_pid)

    async def typist(t):
        line = 0
        while time.monotonic() - start < TYPE_SECONDS:
            for ch in f"echo {t.seat.name}-{line}":
                await asyncio.sleep(random.uniform(*KEY_EVERY))
                t.got.clear()
                sent = time.monotonic()
                await t.ws.send(ch.encode())
                try:
                    await asyncio.wait_for(t.got.wait(), 2.0)
                    t.latencies.append((sent - start, time.monotonic() - sent))
                except asyncio.TimeoutError:
                    t.stalls += 1
            await t.ws.send(b"\r")
            line += 1

    async def flooder():
        await asyncio.sleep(FLOOD_AT)
        before = flood.bytes
        flood_times["start"] = time.monotonic() - start
        # tmux renders the flood into screen updates: the browser gets far fewer bytes than
        # yes writes; the marker says when head has passed 50 MiB on the node.
        await flood.ws.send(b"yes | head -c 50M >/dev/tty; echo FLOOD-$((40+2))\r")
        deadline = time.monotonic() + 120
        while b"FLOOD-42" not in flood.tail and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        flood_times["end"] = time.monotonic() - start
        flood_times["bytes"] = flood.bytes - before

    async def sampler():
        while time.monotonic() - start < TYPE_SECONDS + 5:
            peak[0] = max(peak[0], rss_kib(server_pid))
            await asyncio.sleep(0.5)

    await asyncio.gather(*(typist(t) for t in terms[1:]), flooder(), sampler())
    flood_times["cpu"] = (cpu_seconds(server_pid) - cpu_start) / (time.monotonic() - start)
    for t in terms:
        await t.ws.close()
    return terms, opened, rss_before, rss_open, peak[0], flood_times


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def main():
    if missing():
        raise SystemExit(missing())
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    d = Path(tempfile.mkdtemp(prefix="labgen-bench-term-"))
    try:
        with loopback_room(d, seats=count, settings={"max_terminals": 4}) as room:
            terms, opened, rss0, rss_open, rss_peak, flood = asyncio.run(run(room.base, room.seats, room.server.pid))
    finally:
        shutil.rmtree(d, ignore_errors=True)

    others = terms[1:]
    lat = [s for t in others for _, s in t.latencies]
    during = [s for t in others for at, s in t.latencies if flood.get("start", 1e9) <= at <= flood.get("end", 0)]
    before = [s for t in others for at, s in t.latencies if at < flood.get("start", 0)]
    ms = 1000
    print(f"web terminals: {count} seats x 2, typist pace, one `yes | head -c 50M`; sshd stand-ins on 127.0.0.1")
    print(f"  {len(terms)} terminals open and prompting in {opened:.1f} s")
    print(
        f"  echo latency, all:           p50 {pct(lat, 50) * ms:6.1f} ms  p99 {pct(lat, 99) * ms:6.1f} ms  "
        f"({len(lat)} keys; targets 30 / 150 ms)"
    )
    print(f"  echo latency, before flood:  p50 {pct(before, 50) * ms:6.1f} ms  p99 {pct(before, 99) * ms:6.1f} ms")
    print(
        f"  echo latency, during flood:  p50 {pct(during, 50) * ms:6.1f} ms  p99 {pct(during, 99) * ms:6.1f} ms "
        f"({len(during)} keys)"
    )
    print(f"  stalls (no echo within 2 s): {sum(t.stalls for t in others)}")
    print(
        f"  flood: 50 MiB written on the node in {flood.get('end', 0) - flood.get('start', 0):.1f} s, "
        f"{flood.get('bytes', 0) / 2**20:.1f} MiB reached the browser (tmux sends screen updates)"
    )
    print(
        f"  server CPU while typing: {flood.get('cpu', 0) * 100:.0f}% of one core; host load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"  server RSS: {rss0 / 1024:.1f} MiB idle, {rss_open / 1024:.1f} MiB with {len(terms)} terminals "
        f"({(rss_open - rss0) / len(terms):.0f} KiB a terminal), peak {rss_peak / 1024:.1f} MiB during the flood"
    )


if __name__ == "__main__":
    main()
