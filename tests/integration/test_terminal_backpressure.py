"""A terminal whose browser stops reading (issue 18): labgen/web/terminal.py says the SSH
channel's window caps what a session buffers and output is read only as fast as the browser
takes it, so a flood blocks the node's writer, not the server. Checked here for real: the server
(uvicorn + create_app, as `serve` runs it, in a process of its own) and stand-in nodes (sshd on
127.0.0.1, tests/terminalharness.py).

Terminal A floods and its client stops reading for STALL seconds (a websocket client that holds
one frame at most, on a socket with a small receive buffer). Meanwhile terminal B, another seat
on another node, must echo each keystroke within a second, the server's memory must stay put
and the flood's writer on the node must stop. Then A reads again (its shell still answers), and
when its browser goes away mid-flood the server drops the SSH session (the node's sshd has no
session left) and frees the seat's terminal slot.

Two choices make the flood reach the server's buffers within the stall:
- A's node has no tmux on its PATH, so the terminal is a plain login shell: tmux renders a flood
  into screen updates (about 0.2 MiB/s reach the browser here), which even a server that
  buffered without bound would survive for ten seconds; straight from the PTY it is megabytes a
  second.
- The flood is random text, not `yes`: the websocket is compressed (permessage-deflate, which
  browsers and this client negotiate), and `yes` shrinks about 200-fold, so the kernel's socket
  buffers alone (up to 4 MiB) hold minutes of it before the server has to wait.
"""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import pytest

from tests import terminalharness as harness

pytestmark = [pytest.mark.root, pytest.mark.slow]

if harness.missing():
    pytest.skip(harness.missing(), allow_module_level=True)

STALL = 10.0  # seconds A's client reads nothing
KEY_WITHIN = 1.0  # seconds for each of B's keystrokes to come back
# The server's growth while A stalls. What one stalled session may hold by design: asyncssh's
# session buffer up to Settings.window (128 KiB; then it stops taking data), up to one window
# more in the paused channel, a 32 KiB read and its websocket frame, and asyncio's write buffer
# up to its 64 KiB high-water mark plus one frame: about 0.5 MiB (measured: +0.5-0.7 MiB).
# 16 MiB leaves room for the allocator and B's traffic, and is a fraction of what a server that
# reads on regardless holds after STALL seconds: at least the flood's rate times STALL (printed
# below); a bridge that sent without waiting grew by 161 MiB here (2026-12-05).
RSS_GROWTH_MAX = 16 * 1024  # KiB
NODE_WRITES_MAX = 1 << 20  # bytes the flood may write in the stall's second half (it should write none)
FLOOD = b"base64 /dev/urandom"  # megabytes a second of text that deflate cannot shrink much


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    d = tmp_path_factory.mktemp("backpressure")
    with harness.loopback_room(
        d, seats=2, nodes=("node-a", "node-b"), settings={"max_terminals": 1}, without_tmux=("node-a",)
    ) as room:
        yield room


def connect(room, seat, node, slow: bool = False):
    """A websocket to the seat's terminal, as its page opens it (token in the path, the page's
    Origin). `slow`: a client that buffers one frame and a socket with a 16 KiB receive buffer,
    so when the test stops reading, the server's sends stop being taken at once."""
    from websockets.sync.client import connect as ws_connect

    sock = None
    if slow:
        port = int(room.base.rsplit(":", 1)[1])
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.settimeout(20)
        sock.connect(("127.0.0.1", port))
    return ws_connect(
        f"{room.base.replace('http://', 'ws://')}/seat/{seat.token}/term/{node}?cols=100&rows=30",
        origin=room.base,
        sock=sock,
        open_timeout=20,
        ping_interval=None,
        max_size=None,
        max_queue=1 if slow else 16,
    )


def read_until(ws, text: bytes, seconds: float = 20) -> tuple[bytes, int]:
    """(the last 64 KiB received, bytes received) once `text` appeared."""
    got, total, deadline = b"", 0, time.monotonic() + seconds
    while text not in got:
        left = deadline - time.monotonic()
        assert left > 0, f"{text!r} not seen in {got[-300:]!r}"
        frame = ws.recv(timeout=left)
        frame = frame if isinstance(frame, bytes) else frame.encode()
        total += len(frame)
        got = (got + frame)[-65536:]
    return got, total


def read_bytes(ws, count: int, seconds: float = 20) -> float:
    """Read at least `count` bytes; returns how long it took."""
    began, total = time.monotonic(), 0
    while total < count:
        left = began + seconds - time.monotonic()
        assert left > 0, f"only {total} of {count} bytes in {seconds} s"
        total += len(ws.recv(timeout=left))
    return time.monotonic() - began


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError):
            kids = [int(k) for k in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
            found += kids
            todo += kids
    return found


def flood_pid(node) -> int:
    """The flood's process in a session of this node (polled: the shell starts it after the key)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for pid in descendants(node.proc.pid):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == FLOOD.split()[0].decode():
                    return pid
        time.sleep(0.05)
    raise AssertionError(f"no {FLOOD!r} running on the node")


def written(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def echo_key(ws, key: bytes) -> float:
    """Send one keystroke; seconds until it comes back in the terminal's output."""
    sent = time.monotonic()
    ws.send(key)
    got = b""
    while key not in got:
        left = sent + KEY_WITHIN - time.monotonic()
        assert left > 0, f"keystroke {key!r} not echoed within {KEY_WITHIN} s while A stalled (got {got[-200:]!r})"
        got += ws.recv(timeout=left)
    return time.monotonic() - sent


def test_a_terminal_that_stops_reading_costs_the_server_nothing(room):
    from websockets.exceptions import InvalidStatus

    seat_a, seat_b = room.seats
    node_a = room.nodes["node-a"]
    pid = room.server.pid
    with connect(room, seat_b, "node-b") as b, connect(room, seat_a, "node-a", slow=True) as a:
        for ws in (a, b):
            ws.send(b"echo ready-$((1+1))\r")
            read_until(ws, b"ready-2")
        rss_before = harness.rss_kib(pid)

        # A floods; read 4 MiB of it first, to know it flows and how fast
        a.send(FLOOD + b"\r")
        rate = 4 / read_bytes(a, 4 << 20)
        writer = flood_pid(node_a)

        # A stops reading. B types; the server's memory and the flood's writes are watched.
        began = time.monotonic()
        latencies, rss_peak, mid_writes = [], rss_before, None
        while time.monotonic() - began < STALL:
            for key in b"zqxjk":
                latencies.append(echo_key(b, bytes([key])))
                rss_peak = max(rss_peak, harness.rss_kib(pid))
                time.sleep(0.2)  # a typist's pace, not a busy loop on two shared cores
            b.send(b"\x15")  # Ctrl-U: an empty line for the next round
            if mid_writes is None and time.monotonic() - began >= STALL / 2:
                mid_writes = written(writer)
        end_writes = written(writer)
        growth = rss_peak - rss_before
        latencies.sort()
        print(
            f"\nA's client took the flood at {rate:.1f} MiB/s before the stall (a server reading on "
            f"would hold {rate * STALL:.0f} MiB or more after {STALL:.0f} s); "
            f"server RSS {rss_before / 1024:.1f} MiB before, "
            f"peak {rss_peak / 1024:.1f} MiB during the stall (+{growth} KiB); the flood wrote "
            f"{end_writes - (mid_writes or end_writes)} bytes in the stall's second half; B's "
            f"{len(latencies)} keys: median {latencies[len(latencies) // 2] * 1000:.0f} ms, "
            f"slowest {latencies[-1] * 1000:.0f} ms"
        )
        assert growth < RSS_GROWTH_MAX, f"the server grew by {growth} KiB while A did not read"
        assert mid_writes is not None and end_writes - mid_writes < NODE_WRITES_MAX, (
            "the flood on the node kept writing"
        )
        assert len(latencies) >= 10

        # A reads again: its shell is still there and answers
        a.send(b"\x03")
        read_until(a, b"^C", seconds=30)
        a.send(b"echo back-$((40+2))\r")
        read_until(a, b"back-42", seconds=30)
        # one terminal a seat here: while A is open, another one for its seat is refused
        with pytest.raises(InvalidStatus):
            connect(room, seat_a, "node-a").close()

        # A floods again and its browser goes away without a word while the server sends
        a.send(FLOOD + b"\r")
        read_bytes(a, 1 << 20)
        assert node_a.sessions()
        a.socket.shutdown(socket.SHUT_RDWR)

    deadline = time.monotonic() + 15
    while node_a.sessions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not node_a.sessions(), "the server kept A's SSH session after its browser left"
    # the seat's terminal slot is free again (the server's count went back)
    while True:
        try:
            again = connect(room, seat_a, "node-a")
            break
        except InvalidStatus:
            assert time.monotonic() < deadline, "A's seat still counts a terminal after A left"
            time.sleep(0.05)
    with again:
        again.send(b"echo again-$((2*3))\r")
        read_until(again, b"again-6")
