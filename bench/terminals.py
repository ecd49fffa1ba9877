"""Web terminals under a room's load (issue 18): 30 seats x 2 open terminals typing at a
typist's pace, and one `yes | head -c 50M` flood in one of them.

Figures: keystroke echo latency (key sent on the websocket -> the next output frame of that
terminal) p50/p99 for the other terminals, before and during the flood; the server's memory
per open terminal; terminals that stalled (no echo within 2 s); how long the flood took.

Stand-ins, all on loopback: the "nodes" are two sshd processes on 127.0.0.1 (root, key only,
each with its own TMUX_TMPDIR so the two "nodes" keep separate tmux servers), and the seats
are lab dirs on disk whose cached ssh-config points at them. The server is the real one
(create_app under uvicorn, in a child process; asyncssh; tmux on the "node"). Needs root,
openssh-server and tmux. Bounded: about a minute; everything it starts is stopped at the end.

  .venv/bin/python bench/terminals.py [SEATS]          (default 30)
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TYPE_SECONDS = 30  # the whole typing phase
FLOOD_AT = 8  # seconds into it, the flood starts
KEY_EVERY = (0.15, 0.35)  # a typist: 3-6 keys a second


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sshd(d: Path, name: str, key_pub: Path):
    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    host_key = d / f"{name}_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    tmux_dir = d / f"tmux-{name}"
    tmux_dir.mkdir()
    for _ in range(5):  # a port found free may be taken before sshd binds it: retry
        port = free_port()
        config = d / f"{name}_sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nPidFile {d / name}.pid\n"
            f"AuthorizedKeysFile {key_pub}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            f"MaxStartups 200\nMaxSessions 200\nSetEnv TMUX_TMPDIR={tmux_dir}\n"
        )
        os.makedirs("/run/sshd", exist_ok=True)
        proc = subprocess.Popen(
            [binary, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=open(d / f"{name}.log", "w")
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return proc, port, tmux_dir
            except OSError:
                time.sleep(0.05)
    raise SystemExit(f"sshd did not start: {(d / f'{name}.log').read_text()}")


def make_seats(root: Path, count: int, ports: dict, key: Path):
    from labgen.labdir import LabDir
    from labgen.web.served_seats import seats_from_dirs

    for n in range(1, count + 1):
        lab_dir = LabDir(root / f"seat-{n:02d}")
        lab_dir.meta.mkdir(parents=True)
        lab_dir.save_state({"lab": "bench", "provider": "lxc"})
        lab_dir.labfile.write_text("name: bench\n")  # a lab dir needs one; never loaded here
        lab_dir.save_ssh_config(
            "".join(
                f"Host {node}\n  HostName 127.0.0.1\n  User root\n  Port {port}\n  IdentityFile {key}\n"
                for node, port in ports.items()
            )
        )
    return seats_from_dirs(sorted(root.iterdir()))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


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
    import multiprocessing

    import uvicorn

    from labgen.web.app import create_app
    from labgen.web.room import Settings
    from labgen.web.serve import ws_protocol

    if os.geteuid() != 0 or not shutil.which("tmux"):
        raise SystemExit("needs root (the stand-in sshd logs in as root) and tmux")
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    d = Path(tempfile.mkdtemp(prefix="labgen-bench-term-"))
    sshds = []
    try:
        key = d / "client_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        ports = {}
        for node in ("node-a", "node-b"):
            proc, port, tmux_dir = start_sshd(d, node, key.with_suffix(".pub"))
            sshds.append((proc, tmux_dir))
            ports[node] = port
        seats = make_seats(d / "seats", count, ports, key)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(256)

        def serve():
            config = uvicorn.Config(
                create_app(seats, "I" * 32, probe_every=0, settings=Settings(max_terminals=4)),
                log_level="warning",
                access_log=False,
                lifespan="on",
                ws=ws_protocol(),
            )
            uvicorn.Server(config).run(sockets=[sock])

        child = multiprocessing.get_context("fork").Process(target=serve, daemon=True)
        child.start()
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        try:
            terms, opened, rss0, rss_open, rss_peak, flood = asyncio.run(run(base, seats, child.pid))
        finally:
            child.terminate()
            child.join(timeout=10)
    finally:
        for proc, tmux_dir in sshds:
            subprocess.run(
                ["tmux", "kill-server"], env={**os.environ, "TMUX_TMPDIR": str(tmux_dir)}, capture_output=True
            )
            proc.terminate()
            proc.wait(timeout=10)
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
