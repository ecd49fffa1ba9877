"""Where a cloned seat's seconds and CPU go: `classroom up` of N seats, then `reset 1`, run in
this process with every phase of a seat timed (clone, boot, provisioning, the seat key) and
every provisioning task timed per node; CPU from /proc/stat (whole host), the seats'
containers' cpuacct cgroups and this process with its children (labgen, lxc-*, Vagrant).
Figures, not gates. See bench/README.md.

  sudo .venv/bin/python bench/seatprofile.py [--lab trio|duo|PATH.yml] [--seats N] [--parallel N] [--keep-image]

Names and networks (issue 17's share for this work): classroom ssp<N>, pool 192.168.196.0/22,
jump port 2318 and bench/classroom.py's BENCH_SLOT=2 apt proxy: run it alone (it measures).
The seat image is built when missing (timed apart) and removed at the end unless --keep-image.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOT = Path(os.environ.get("LABGEN_BENCH_ROOT", "/var/tmp/labgen-bench")) / "classroom"
os.environ.setdefault("LABGEN_APTPROXY_PORT", "3158")
os.environ.setdefault("LABGEN_APTPROXY_DIR", str(ROOT) + "-aptproxy2")
sys.path.insert(0, str(REPO))

from labgen.classroom import image as seatimage  # noqa: E402
from labgen.classroom import ops, placement  # noqa: E402
from labgen.provision import engine  # noqa: E402

PHASES: dict[str, list[float]] = defaultdict(list)
TASKS: dict[str, list[float]] = defaultdict(list)
LOCK = threading.Lock()


def timed(owner, attr: str, phase: str, table=PHASES, key=None) -> None:
    """Wrap owner.attr so that every call's wall time lands in table[phase or key(args)]."""
    inner = getattr(owner, attr)

    def wrapper(*args, **kw):
        began = time.monotonic()
        try:
            return inner(*args, **kw)
        finally:
            with LOCK:
                table[key(args) if key else phase].append(time.monotonic() - began)

    setattr(owner, attr, wrapper)


def instrument() -> None:
    timed(seatimage, "ensure", "seat image (build or find)")
    timed(placement.ThisHost, "clone", "clone (lxc-copy, keys, machine-id)")
    if hasattr(placement.ThisHost, "boot_clones"):  # not before the direct start existed
        timed(placement.ThisHost, "boot_clones", "boot (start, wait for SSH)")
    timed(placement.lifecycle, "boot", "vagrant up + ssh-config (lifecycle.boot)")
    timed(placement, "run_provision", "provision (converge)")
    timed(placement.lifecycle, "open_remote", "SSH connections opened")
    timed(ops, "authorize_on_nodes", "seat key on the nodes")
    timed(placement.ThisHost, "remove_clones", "remove clones (reset)")
    # apply_task(remote, node, role, task, ...): per role/task, over every node
    timed(engine, "apply_task", "", TASKS, key=lambda a: f"{a[2]}/{a[3].name}")


def host_busy() -> float:
    """CPU-seconds the whole host has spent busy (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def containers_cpu(prefix: str) -> float:
    """CPU-seconds used by the containers whose names start with `prefix` (cgroup v1 cpuacct)."""
    total = 0
    for d in Path("/sys/fs/cgroup/cpuacct").glob(f"lxc.payload.{prefix}*"):
        try:
            total += int((d / "cpuacct.usage").read_text())
        except OSError:
            pass
    return total / 1e9


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def report(title: str, wall: float, cpu: dict[str, float], seats: int) -> None:
    print(f"\n{title}: {wall:.1f} s wall, load {os.getloadavg()[0]:.1f}", flush=True)
    print(
        f"  CPU-seconds: host {cpu['host']:.0f} (of {2 * wall:.0f} available on 2 cores), seats' containers "
        f"{cpu['containers']:.0f}, labgen with its children (lxc-*, ssh-keygen, Vagrant) {cpu['own']:.0f}, "
        f"other {cpu['host'] - cpu['containers'] - cpu['own']:.0f}"
    )
    for phase, times in PHASES.items():
        print(f"  {phase:<38} {len(times):>3}×  mean {sum(times) / len(times):6.2f} s  max {max(times):6.2f} s")
    slow = sorted(TASKS.items(), key=lambda kv: -sum(kv[1]))[:12]
    print(f"  slowest tasks (summed over {seats} seat(s)' nodes; mean per node):")
    for task, times in slow:
        print(f"    {sum(times):7.1f} s  {sum(times) / len(times):5.2f} s  {task}")
    PHASES.clear()
    TASKS.clear()


def measure(title: str, prefix: str, seats: int, fn) -> None:
    cpu0 = {"host": host_busy(), "containers": containers_cpu(prefix), "own": own_cpu()}
    began = time.monotonic()
    fn()
    wall = time.monotonic() - began
    cpu = {"host": host_busy(), "containers": containers_cpu(prefix), "own": own_cpu()}
    report(title, wall, {k: cpu[k] - cpu0[k] for k in cpu}, seats)


def main(argv: list[str]) -> None:
    lab_name = argv[argv.index("--lab") + 1] if "--lab" in argv else "trio"
    seats = int(argv[argv.index("--seats") + 1]) if "--seats" in argv else 1
    workers = int(argv[argv.index("--parallel") + 1]) if "--parallel" in argv else None
    name = f"ssp{seats}"
    path = ROOT / name
    lab = Path(lab_name).resolve() if lab_name.endswith(".yml") else REPO / "bench" / "labs" / f"{lab_name}.yml"
    ROOT.mkdir(parents=True, exist_ok=True)
    instrument()
    said: list[str] = []

    def say(seat, text):
        with LOCK:
            said.append(f"{time.strftime('%H:%M:%S')} seat {seat}: {text}")

    print(f"seat profile: {lab_name}, {seats} seat(s), {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    c = ops.create(
        path,
        str(lab),
        seats=seats,
        name=name,
        pool=ipaddress.IPv4Network("192.168.196.0/22"),
        provider="lxc",
        ssh_port=2318,
        ssh_address="127.0.0.1",
    )
    prefix = f"labgen-{name}-"
    try:
        measure(f"up of {seats} seat(s)", prefix, seats, lambda: _ok(ops.up(c, say, workers=workers)))
        measure("reset 1", prefix, 1, lambda: _ok([ops.reset(c, 1, say)]))
    finally:
        ops.down(c, say, image="--keep-image" not in argv)
        (ROOT / f"{name}-said.txt").write_text("\n".join(said) + "\n")
    fallbacks = [line for line in said if re.search(r"through Vagrant", line)]
    print(f"\n(progress lines in {ROOT / f'{name}-said.txt'}; fell back to Vagrant: {len(fallbacks)})")


def _ok(outcomes) -> None:
    bad = [f"seat {o.seat}: {o.detail}" for o in outcomes if not o.ok]
    if bad:
        raise SystemExit("failed: " + "; ".join(bad))


if __name__ == "__main__":
    main(sys.argv[1:])
