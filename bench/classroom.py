"""Classroom benchmark: `labgen classroom up` of N seats of the 2-node base lab
(tests/data/labs/duo.yml) on LXC, for each N given; prints wall time, host memory and disk,
and the per-seat cost, then `classroom down`. Figures, not gates. See bench/README.md.

  sudo flock /tmp/labgen-lxc.lock .venv/bin/python bench/classroom.py 1 2 4 [8]
  (BENCH_PARALLEL=N passes --parallel N to `classroom up`)

Memory: the seats' containers' resident memory (cgroup v1 memory.stat total_rss + total_shmem,
summed) after the seats have idled IDLE seconds, and the host's MemAvailable drop (includes
page cache, so an upper bound). Disk: `du` of the seats' container dirs under /var/lib/lxc.
Uses pool 192.168.80.0/20, classroom names crb<N>, its own apt proxy on port 3153.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOT = Path(os.environ.get("LABGEN_BENCH_ROOT", "/var/tmp/labgen-bench")) / "classroom"
LAB = REPO / "tests" / "data" / "labs" / "duo.yml"
LABGEN = [sys.executable, "-m", "labgen"]
ENV = dict(os.environ, LABGEN_APTPROXY_PORT="3153", LABGEN_APTPROXY_DIR=str(ROOT) + "-aptproxy",
           COLUMNS="120", NO_COLOR="1")
IDLE = 20


def run(*args, cwd=None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    res = subprocess.run([*LABGEN, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=3600)
    took = time.monotonic() - start
    if res.returncode != 0:
        raise SystemExit(f"labgen {' '.join(args)} failed:\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}")
    return took, res


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


def container_rss_mib(names: list[str]) -> float:
    total = 0
    for name in names:
        stat = Path(f"/sys/fs/cgroup/memory/lxc.payload.{name}/memory.stat")
        try:
            fields = dict(line.split() for line in stat.read_text().splitlines())
        except OSError:
            continue
        total += int(fields.get("total_rss", 0)) + int(fields.get("total_shmem", 0))
    return total / 2**20


def working_set_mib(names: list[str]) -> float:
    """cgroup memory usage minus inactive file cache (what the kubelet calls working set)."""
    total = 0
    for name in names:
        base = Path(f"/sys/fs/cgroup/memory/lxc.payload.{name}")
        try:
            usage = int((base / "memory.usage_in_bytes").read_text())
            fields = dict(line.split() for line in (base / "memory.stat").read_text().splitlines())
        except OSError:
            continue
        total += usage - int(fields.get("total_inactive_file", 0))
    return total / 2**20


def disk_mib(names: list[str]) -> float:
    paths = [f"/var/lib/lxc/{n}" for n in names if Path(f"/var/lib/lxc/{n}").exists()]
    if not paths:
        return 0.0
    out = subprocess.run(["du", "-sm", "-c", *paths], capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1].split()[0])


def bench(seats: int) -> dict:
    name = f"crb{seats}"
    path = ROOT / name
    ROOT.mkdir(parents=True, exist_ok=True)
    if (path / "classroom.yml").exists():
        run("classroom", "down", "--yes", "--dir", str(path))
    before = mem_available_mib()
    extra = ["--parallel", os.environ["BENCH_PARALLEL"]] if os.environ.get("BENCH_PARALLEL") else []
    up, _ = run("classroom", "up", str(LAB), "--seats", str(seats), "--name", name, "--pool", "192.168.80.0/20",
                "--ssh-port", "2297", "--ssh-address", "127.0.0.1", "--dir", str(path), *extra)
    time.sleep(IDLE)
    names = [f"labgen-{name}-s{s:02d}-ubuntu-{n}" for s in range(1, seats + 1) for n in (1, 2)]
    rss = container_rss_mib(names)
    ws = working_set_mib(names)
    host = before - mem_available_mib()
    disk = disk_mib(names)
    _, st = run("classroom", "status", "--format", "json", "--dir", str(path))
    rows = json.loads(st.stdout)["seats"]
    assert all(r["nodes_up"] == r["nodes"] == r["reachable"] for r in rows), rows
    down, _ = run("classroom", "down", "--yes", "--dir", str(path))
    return {"seats": seats, "up_s": up, "down_s": down, "rss_mib": rss, "ws_mib": ws, "host_mib": host,
            "disk_mib": disk}


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1, 2, 4]
    print(f"classroom benchmark: {LAB.name} (2 nodes, role base), {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    results = []
    for n in sizes:
        r = bench(n)
        results.append(r)
        print(f"  {n:>2} seat(s): up {r['up_s']:6.1f} s  down {r['down_s']:5.1f} s  "
              f"containers' RSS {r['rss_mib']:7.1f} MiB ({r['rss_mib'] / n:5.1f}/seat)  "
              f"working set {r['ws_mib']:7.1f} MiB ({r['ws_mib'] / n:5.1f}/seat)  "
              f"host MemAvailable -{r['host_mib']:7.1f} MiB ({r['host_mib'] / n:6.1f}/seat)  "
              f"disk {r['disk_mib']:7.0f} MiB ({r['disk_mib'] / n:5.0f}/seat)", flush=True)
    one = next((r for r in results if r["seats"] == 1), None)
    if one:
        for r in results:
            print(f"  {r['seats']} seats take {r['up_s'] / one['up_s']:.2f}× the time of one")


if __name__ == "__main__":
    main(sys.argv[1:])
