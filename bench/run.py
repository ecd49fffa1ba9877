"""labgen benchmarks: print figures, gate nothing. See bench/README.md.

python bench/run.py [startup] [lab]        (default: both; `lab` needs root + LXC + the box)
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
ROOT = Path(os.environ.get("LABGEN_BENCH_ROOT", "/var/tmp/labgen-bench"))
LABGEN = [sys.executable, "-m", "labgen"]


def timed(argv, cwd=None, check=True, **kw) -> float:
    start = time.monotonic()
    res = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, **kw)
    took = time.monotonic() - start
    if check and res.returncode != 0:
        raise SystemExit(
            f"{' '.join(map(str, argv))} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
        )
    return took


def median_of(argv, runs=15) -> float:
    timed(argv)  # warm the page cache and .pyc files
    return statistics.median(timed(argv) for _ in range(runs))


def row(label, value, unit="s"):
    print(f"  {label:<58} {value:8.3f} {unit}")


def bench_startup():
    print("start-up: `labgen --help` against a bare interpreter (median of 15)")
    bare = median_of([sys.executable, "-c", "pass"])
    helped = median_of([*LABGEN, "--help"])
    row("python3 -c pass", bare)
    row("labgen --help", helped)
    row("ratio (target <= 6)", helped / bare, "x")
    leaked = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, labgen.cli; print(' '.join(m for m in ('fabric', 'paramiko', "
            "'vagrant', 'rich', 'jinja2', 'yaml') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"  heavy modules imported at start-up: {leaked or 'none'}")


def bench_lab():
    from labgen.labfile import find_lab, load_lab
    from labgen.providers import get_provider
    from labgen.render import render_vagrantfile
    from labgen.scenario.load import find_scenario, load_scenario
    from labgen.scenario.template import node_values, substitute

    import yaml

    shutil.rmtree(ROOT, ignore_errors=True)
    bare_dir, lab_dir = ROOT / "bare", ROOT / "labgen"
    bare_dir.mkdir(parents=True)
    # The target is the 3-node *base* lab: mesos-calico's nodes with only the base role.
    data = yaml.safe_load(find_lab("mesos-calico").read_text())
    for node in data["nodes"]:
        node["roles"] = ["base"]
    base_lab = ROOT / "mesos-calico-base.yml"
    base_lab.write_text(yaml.safe_dump(data, sort_keys=False))
    lab = load_lab(base_lab)
    provider = get_provider("lxc")

    print("lab: 3-node mesos-calico, base role only, on LXC")
    # 1. bare `vagrant up` of the very Vagrantfile labgen renders (host prepared the same way)
    (bare_dir / "Vagrantfile").write_text(render_vagrantfile(lab, "lxc"))
    provider.prepare_host(lab)
    try:
        bare_up = timed(["vagrant", "up", "--provider=lxc"], cwd=bare_dir)
    finally:
        timed(["vagrant", "destroy", "-f"], cwd=bare_dir, check=False)
    row("bare `vagrant up` (same Vagrantfile)", bare_up)

    # 2. labgen create: render, prepare host, boot, provision base (etc. reported unavailable)
    try:
        create = timed([*LABGEN, "--provider", "lxc", "create", str(base_lab), "--dir", str(lab_dir)])
        row("`labgen create` (render, host prep, boot, provision base)", create)
        row("ratio create / bare up (target <= 2)", create / bare_up, "x")
        noop = statistics.median(timed([*LABGEN, "provision", "--dir", str(lab_dir)]) for _ in range(3))
        row("no-op `labgen provision` (converged; target < 2 s)", noop)

        # 3. mac-bug: the runner against one `vagrant ssh NODE -c` per command, same commands
        runner = statistics.median(
            timed([*LABGEN, "scenario", "run", "mac-bug", "--dir", str(lab_dir)]) for _ in range(3)
        )
        sc = load_scenario(find_scenario("mac-bug"))
        steps = [s for s in sc.variants["default"].steps if s.run]
        captures: dict[str, dict[str, str]] = {}
        start = time.monotonic()
        for step in steps:
            nodes = [n.name for n in lab.nodes] if step.nodes == ("all",) else list(step.nodes)
            for node in nodes:
                command = substitute(step.run, node_values(sc, lab, node, captures.get(node, {})))
                res = subprocess.run(
                    ["vagrant", "ssh", node, "-c", f"sudo sh -c {shlex_quote(command)}"],
                    cwd=lab_dir,
                    capture_output=True,
                    text=True,
                )
                for var, pattern in step.capture.items():
                    import re

                    m = re.search(pattern, res.stdout, re.M)
                    if m:
                        captures.setdefault(node, {})[var] = m.group(1)
        scripted = time.monotonic() - start
        row("`labgen scenario run mac-bug` on the running lab (target < 10 s)", runner)
        row(f"same {sum(len(s.nodes) for s in steps)}-ish commands, one `vagrant ssh -c` each", scripted)
        row("ratio scripted / runner (target >= 10)", scripted / runner, "x")
    finally:
        subprocess.run([*LABGEN, "destroy", "--yes", "--dir", str(lab_dir)], capture_output=True)
        provider.cleanup_host(lab)


def shlex_quote(s):
    import shlex

    return shlex.quote(s)


if __name__ == "__main__":
    which = sys.argv[1:] or ["startup", "lab"]
    if "startup" in which:
        bench_startup()
    if "lab" in which:
        if os.geteuid() != 0 or not shutil.which("lxc-create"):
            print("lab: skipped (needs root and LXC)")
        else:
            bench_lab()
