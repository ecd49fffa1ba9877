"""The classroom web server under a room's load (issue 16 §3): the board's rows.json for 30
seats, and 120 concurrent requests (90 seat pages, 30 board polls: a room reloading at once).

The seats are lab dirs on disk with no machines: the mesos-calico lab file, a cached
ssh-config, the mac-bug challenge started (progress.json at the task `make-them-talk`, with
attempts and a hint, and the story so far in story.json). Everything a request does is the
real code path (uvicorn on 127.0.0.1, Starlette routes, Seat.challenge(), summarise, Jinja2);
only the node prober is off (no nodes to probe), and no check runs (it would need SSH).

  .venv/bin/python bench/web.py [SEATS]          (default 30; loopback only)
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def make_seats(root: Path, count: int):
    from labgen.labdir import LabDir
    from labgen.scenario import student_progress as prog
    from labgen.scenario.load import find_scenario
    from labgen.web.served_seats import seats_from_dirs

    lab_text = (REPO / "labgen" / "labs" / "mesos-calico.yml").read_text()
    source = str(find_scenario("mac-bug"))
    for n in range(1, count + 1):
        d = root / f"seat-{n:02d}"
        lab_dir = LabDir(d)
        lab_dir.meta.mkdir(parents=True)
        (d / "lab.yml").write_text(lab_text)
        lab_dir.save_state({"lab": "mesos-calico", "provider": "lxc"})
        lab_dir.save_ssh_config(
            "".join(
                f"Host ubuntu-{i}\n  HostName 10.0.3.{n * 3 + i}\n  User vagrant\n  Port 22\n  IdentityFile {d}/key\n"
                for i in (1, 2, 3)
            )
        )
        p = prog.fresh("mac-bug", source, "challenge")
        p["current"] = "make-them-talk"
        p["captures"] = {
            "ubuntu-2": {"bad_mac": "ee:aa:66:53:32:86", "gw_mac": "1a:2b:3c:4d:5e:6f"},
            "ubuntu-3": {"gw_mac": "1a:2b:3c:4d:5e:70"},
        }
        rec = prog.step_record(p, "make-them-talk", "task")
        rec.update(
            attempts=n % 4,
            hints=n % 3,
            last={
                "ok": False,
                "at": time.time(),
                "details": ["x"],
                "messages": [{"en": "still no replies", "zh": "仍然不通"}],
            },
        )
        prog.save(lab_dir, p)
        (lab_dir.meta / "story.json").write_text(
            '{"observe-symptom": {"ubuntu-2": "' + "12:00:00.000000 ee:aa:66:53:32:86 > ee:ee:ee:ee:ee:ee, "
            "ethertype IPv4, ICMP echo reply\\n" * 40 + '"}}'
        )
    return seats_from_dirs(sorted(root.iterdir()))


def serve(seats, instructor):
    """uvicorn in a child process (the client here must not share the server's GIL)."""
    import multiprocessing

    import uvicorn

    from labgen.web.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)

    def run():
        config = uvicorn.Config(
            create_app(seats, instructor, probe_every=0),
            log_level="warning",
            access_log=False,
            lifespan="on",
            backlog=256,
        )
        uvicorn.Server(config).run(sockets=[sock])

    child = multiprocessing.get_context("fork").Process(target=run, daemon=True)
    child.start()
    return child, f"http://127.0.0.1:{sock.getsockname()[1]}"


async def get(port: int, path: str) -> tuple[int, int]:
    """(status, body bytes) of one GET over a fresh connection: a raw asyncio client, so that
    the client's own CPU (an HTTP library's) does not count in the server's figures."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Language: zh-CN\r\nConnection: close\r\n\r\n".encode()
    )
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), len(body)


async def measure(base, seats, instructor, rounds):
    port = int(base.rsplit(":", 1)[1])
    board = f"/board/{instructor}/rows.json"
    deadline = time.monotonic() + 20
    while True:  # the child is up when it answers
        try:
            await get(port, "/")
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
    await get(port, board)  # first load of every seat's files
    for seat in seats:
        await get(port, f"/seat/{seat.token}")
    alone = []
    for _ in range(20):
        t = time.perf_counter()
        status, size = await get(port, board)
        alone.append(time.perf_counter() - t)
        assert status == 200 and size > 1000

    async def one(path):
        t = time.perf_counter()
        status, _ = await get(port, path)
        assert status == 200, (path, status)
        return time.perf_counter() - t

    burst = []
    for _ in range(rounds):
        paths = [f"/seat/{seats[i % len(seats)].token}" for i in range(90)] + [board] * 30
        t = time.perf_counter()
        burst += await asyncio.gather(*(one(p) for p in paths))
        wall = time.perf_counter() - t
    return alone, burst, wall


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    root = Path(tempfile.mkdtemp(prefix="labgen-bench-web-"))
    try:
        seats = make_seats(root, count)
        instructor = "I" * 32
        child, base = serve(seats, instructor)
        try:
            alone, burst, wall = asyncio.run(measure(base, seats, instructor, rounds=3))
        finally:
            child.terminate()
            child.join(timeout=10)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ms = 1000
    print(f"web server, {count} fake seats (mac-bug at make-them-talk), uvicorn on loopback")
    print(
        f"  rows.json alone, 20 requests:  median {statistics.median(alone) * ms:7.1f} ms   "
        f"max {max(alone) * ms:7.1f} ms   (target <= 50 ms)"
    )
    print(
        f"  120 at once (90 seat pages + 30 rows.json) x 3 rounds: p50 {pct(burst, 50) * ms:7.1f} ms   "
        f"p95 {pct(burst, 95) * ms:7.1f} ms   max {max(burst) * ms:7.1f} ms   (target p95 <= 200 ms)"
    )
    print(f"  last round's wall time: {wall * ms:.0f} ms")


if __name__ == "__main__":
    main()
