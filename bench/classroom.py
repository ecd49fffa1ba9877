"""Classroom benchmark on LXC: `labgen classroom up` of N seats (clones of the seat image, or
`--no-image`: every seat provisioned from the box), against one `labgen create` of the same
lab in the same run; then memory and disk per idle seat, `classroom reset 1`, `classroom down`.
Figures, not gates. See bench/README.md.

  sudo .venv/bin/python bench/classroom.py [--lab duo|trio|PATH.yml] [--no-image] N [N...]

--lab duo (default): 2 base nodes; trio: mesos-calico's nodes with the roles Debian 12 runs
(base, etcd, ZooKeeper, Docker). Both on /27 networks (bench/labs/), so 60 seats fit the pool.
The first size builds the seat image (its time is printed apart); later sizes reuse it; the
image is removed at the end.

Memory: each container's cgroup (v1) after IDLE s: working set = usage − inactive file cache
(as the kubelet counts it); per role, the resident memory of its processes (etcd, the
ZooKeeper JVM, dockerd + containerd) summed over the seats' nodes. Disk: `du` of the seats'
container dirs (a clone's is its overlay's upper dir) and of the image's.
Names and networks (issue 17's share): classrooms clb<N>, pool 192.168.120.0/22, jump port
2319 (BENCH_SLOT=2, for a second run at the same time: clt<N>, 192.168.124.0/22, 2318), the
one lab on 192.168.127.0/27, its own apt proxy.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOT = Path(os.environ.get("LABGEN_BENCH_ROOT", "/var/tmp/labgen-bench")) / "classroom"
LABGEN = [sys.executable, "-m", "labgen"]
# Two runs at once (one per lab) need their own pool, names, port and apt proxy: BENCH_SLOT=2.
SLOT = os.environ.get("BENCH_SLOT", "1")
ENV = dict(
    os.environ,
    LABGEN_APTPROXY_PORT="3159" if SLOT == "1" else "3158",
    LABGEN_APTPROXY_DIR=str(ROOT) + f"-aptproxy{SLOT}",
    COLUMNS="160",
    NO_COLOR="1",
)
POOL = "192.168.120.0/22" if SLOT == "1" else "192.168.124.0/22"
PREFIX = "clb" if SLOT == "1" else "clt"
PORT = "2319" if SLOT == "1" else "2318"
IDLE = 20
ROLE_PROCESSES = {"etcd": ("etcd",), "zookeeper": ("java",), "docker": ("dockerd", "containerd")}


def run(*args, cwd=None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    res = subprocess.run([*LABGEN, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=7200)
    took = time.monotonic() - start
    with open(ROOT / f"log{SLOT}.txt", "a") as log:  # what each command said, for profiling
        log.write(f"\n$ labgen {' '.join(args)}  ({took:.1f} s, rc {res.returncode})\n{res.stdout}{res.stderr}")
    if res.returncode != 0:
        raise SystemExit(f"labgen {' '.join(args)} failed:\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}")
    return took, res


def cgroup(name: str) -> Path:
    return Path(f"/sys/fs/cgroup/memory/lxc.payload.{name}")


def working_set_mib(names: list[str]) -> float:
    """cgroup memory usage minus inactive file cache (what the kubelet calls working set)."""
    total = 0
    for name in names:
        try:
            usage = int((cgroup(name) / "memory.usage_in_bytes").read_text())
            fields = dict(line.split() for line in (cgroup(name) / "memory.stat").read_text().splitlines())
        except OSError:
            continue
        total += usage - int(fields.get("total_inactive_file", 0))
    return total / 2**20


def role_rss_mib(names: list[str]) -> dict[str, float]:
    """role -> resident memory of its processes in `names`' containers (from /proc, by cgroup)."""
    out = dict.fromkeys(ROLE_PROCESSES, 0.0)
    wanted = {f"lxc.payload.{n}" for n in names}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cg = (proc / "cgroup").read_text()
            m = re.search(r":memory:/(lxc\.payload\.[^/\n]+)", cg)
            if not m or m.group(1) not in wanted:
                continue
            comm = (proc / "comm").read_text().strip()
            rss = int(re.search(r"^VmRSS:\s+(\d+)", (proc / "status").read_text(), re.M).group(1)) / 1024
        except (OSError, AttributeError):
            continue
        for role, comms in ROLE_PROCESSES.items():
            if comm in comms:
                out[role] += rss
    return out


def disk_mib(paths: list[str]) -> float:
    paths = [p for p in paths if Path(p).exists()]
    if not paths:
        return 0.0
    out = subprocess.run(["du", "-sm", "-c", *paths], capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1].split()[0])


def disk_breakdown_kib(container: str) -> dict[str, int]:
    """Where a clone's own disk goes: KiB of the biggest dirs of its overlay's upper dir (two
    levels below /var, one elsewhere) and of its own dirs (Docker's)."""
    delta = Path(container) / "overlay" / "delta"
    if not delta.is_dir():
        return {}
    dirs = [*delta.glob("var/*/*"), *(p for p in delta.glob("*") if p.name != "var"), Path(container) / "own"]
    out = subprocess.run(["du", "-sk", *map(str, dirs)], capture_output=True, text=True).stdout
    sizes = {
        line.split("\t", 1)[1].replace(str(delta), "").replace(container + "/", ""): int(line.split()[0])
        for line in out.splitlines()
    }
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1])[:6])


def one_create(lab: Path) -> float:
    """`labgen create` of the lab alone (its own network), then destroy: the yardstick."""
    d = ROOT / f"one{SLOT}"
    took, _ = run("--provider", "lxc", "create", str(lab), "--dir", str(d))
    run("destroy", "--yes", "--dir", str(d))
    return took


def bench(lab: Path, nodes: list[str], seats: int, image: bool) -> dict:
    name = f"{PREFIX}{seats}"
    path = ROOT / name
    if (path / "classroom.yml").exists():
        run("classroom", "down", "--yes", "--dir", str(path))
    up, res = run(
        "classroom",
        "up",
        str(lab),
        "--seats",
        str(seats),
        "--name",
        name,
        "--pool",
        POOL,
        "--ssh-port",
        PORT,
        "--ssh-address",
        "127.0.0.1",
        "--dir",
        str(path),
        *([] if image else ["--no-image"]),
        # BENCH_PARALLEL=N: seats booted at once (`up --parallel`; default one per core)
        *(["--parallel", os.environ["BENCH_PARALLEL"]] if os.environ.get("BENCH_PARALLEL") else []),
    )
    built = re.search(r"seat image (img[0-9a-f]+) built in (\d+) s", res.stdout)
    time.sleep(IDLE)
    names = [f"labgen-{name}-s{s:02d}-{n}" for s in range(1, seats + 1) for n in nodes]
    ws = working_set_mib(names)
    per_node = {n: working_set_mib([f"labgen-{name}-s{s:02d}-{n}" for s in range(1, seats + 1)]) / seats for n in nodes}
    roles = {r: v / (seats * len(nodes)) for r, v in role_rss_mib(names).items()}
    disk = disk_mib([f"/var/lib/lxc/{n}" for n in names])
    where = disk_breakdown_kib(f"/var/lib/lxc/{names[0]}")
    _, st = run("classroom", "status", "--format", "json", "--dir", str(path))
    rows = json.loads(st.stdout)["seats"]
    assert all(r["nodes_up"] == r["nodes"] == r["reachable"] for r in rows), rows
    reset, _ = run("classroom", "reset", "1", "--yes", "--dir", str(path))
    down, _ = run("classroom", "down", "--yes", "--dir", str(path))
    return {
        "seats": seats,
        "up_s": up,
        "image_s": float(built.group(2)) if built else 0.0,
        "image": built.group(1) if built else None,
        "down_s": down,
        "reset_s": reset,
        "ws_mib": ws,
        "node_ws": per_node,
        "role_rss": roles,
        "disk_mib": disk,
        "disk_where": where,
    }


def main(argv: list[str]) -> None:
    lab_name = "duo"
    if "--lab" in argv:
        i = argv.index("--lab")
        lab_name = argv[i + 1]
        del argv[i : i + 2]
    image = "--no-image" not in argv
    sizes = [int(a) for a in argv if a != "--no-image"] or [1, 8]
    # a path: a copy of a lab with another seat image key (another checkout's image has the same
    # container names when the key is the same)
    lab = Path(lab_name).resolve() if lab_name.endswith(".yml") else REPO / "bench" / "labs" / f"{lab_name}.yml"
    nodes = re.findall(r"name: (ubuntu-\d)", lab.read_text())
    ROOT.mkdir(parents=True, exist_ok=True)
    how = "cloned from the seat image" if image else "provisioned from the box"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(
        f"classroom benchmark: {lab_name} ({len(nodes)} nodes), seats {how}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}, {when}",
        flush=True,
    )
    # BENCH_CREATE=0: no yardstick (the ratio column then reads against 1 s)
    one = one_create(lab) if os.environ.get("BENCH_CREATE", "1") != "0" else 1.0
    print(f"  one `labgen create`: {one:.1f} s", flush=True)
    image_dirs: list[str] = []
    try:
        for n in sizes:
            r = bench(lab, nodes, n, image)
            if r["image"]:
                image_dirs = [f"/var/lib/lxc/labgen-{r['image']}-{node}" for node in nodes]
            print(
                f"  {n:>2} seat(s): up {r['up_s']:6.1f} s (image build {r['image_s']:.0f} s of it)  "
                f"= {r['up_s'] / one:.2f}× one create  reset {r['reset_s']:5.1f} s  down {r['down_s']:5.1f} s  "
                f"working set {r['ws_mib'] / n:6.1f} MiB/seat  disk {r['disk_mib'] / n:6.0f} MiB/seat  "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            print(
                "      working set per node: "
                + ", ".join(f"{k} {v:.1f} MiB" for k, v in r["node_ws"].items())
                + "; resident per node, by role: "
                + ", ".join(f"{k} {v:.1f} MiB" for k, v in r["role_rss"].items()),
                flush=True,
            )
            print(
                "      disk of seat 1's first node: " + ", ".join(f"{k} {v} KiB" for k, v in r["disk_where"].items()),
                flush=True,
            )
        if image_dirs:
            print(f"  seat image: {disk_mib(image_dirs):.0f} MiB of disk, shared by every seat", flush=True)
    finally:
        if image:
            # the image outlives `down`; one more 1-seat classroom finds it and removes it
            path = ROOT / f"{PREFIX}x"
            run(
                "classroom",
                "up",
                str(lab),
                "--seats",
                "1",
                "--name",
                f"{PREFIX}x",
                "--pool",
                POOL,
                "--ssh-port",
                PORT,
                "--ssh-address",
                "127.0.0.1",
                "--dir",
                str(path),
            )
            run("classroom", "down", "--yes", "--image", "--dir", str(path))


if __name__ == "__main__":
    main(sys.argv[1:])
