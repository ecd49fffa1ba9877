"""An interrupted test run, cleaned by `make clean-test-leftovers`, leaves nothing on the host.

A small test module of the usual shape runs in its own pytest process, on a test root of its
own (LABGEN_TEST_ROOT, so nothing of other modules or other helpers' runs is touched): a lab
nested two levels down like test_lab_lxc's, and a 1-seat classroom with its own apt proxy and
jump sshd like test_classroom_lxc's. Once both are up the whole process group is killed with
SIGKILL (no finalizer runs: the worst interruption there is). Then `make clean-test-leftovers`
must leave no container, bridge, nft table, account, listening jump port, apt proxy or libvirt
domain of them, and no test root. Subnets: 192.168.178.0/24 and the pool 192.168.180.0/22
(tests/README.md).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.lxcenv import free_port, lxc_skip_reason

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = lxc_skip_reason() or (
    None if shutil.which("nft") and os.path.exists("/usr/sbin/sshd") else "needs nft and openssh-server"
)
if reason:
    pytest.skip(reason, allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
BASE = Path("/var/tmp/labgen-tests-leftovers")  # beside /var/tmp/labgen-tests: a normal clean finds it too
ROOT = BASE / "root"  # the child's TEST_ROOT
LAB_NAME = "lo-lab"
CLASS = f"lo{os.getpid() % 10000}"
PORT = free_port(22000, 29999)
PROXY_PORT = free_port(20000, 21999)

LAB = """\
name: {name}
description: a one-node lab of the leftovers test
network: {{cidr: {cidr}}}
boxes: {{lxc: labgen/debian-12}}
defaults: {{memory: 256, cpus: 1}}
nodes:
  - {{name: n1, ip: {ip}, roles: [base]}}
"""

CHILD = '''
"""The module the leftovers test interrupts: fixtures as the real modules make them."""
import os, time
from pathlib import Path
import pytest
from tests.integration.lxcenv import TEST_ROOT
from tests.runcli import labgen

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def lab():
    path = TEST_ROOT / "lab-lo" / f"run-{{int(time.time())}}" / "lab"       # two levels down
    path.parent.mkdir(parents=True)
    labgen("--provider", "lxc", "create", str(HERE / "lo-lab.yml"), "--dir", str(path), "--no-provision",
           check=True, timeout=900)
    return path


@pytest.fixture(scope="module")
def classroom():
    root = TEST_ROOT.parent / (TEST_ROOT.name + "-crlo")
    root.mkdir(parents=True)
    env = {{"LABGEN_APTPROXY_PORT": "{proxy_port}", "LABGEN_APTPROXY_DIR": str(root) + "-aptproxy"}}
    labgen("classroom", "up", str(HERE / "lo-seat.yml"), "--seats", "1", "--name", "{klass}",
           "--pool", "192.168.180.0/22", "--ssh-port", "{port}", "--ssh-address", "127.0.0.1",
           "--dir", str(root / "{klass}"), env=env, check=True, timeout=900)
    return root


def test_runs_until_killed(lab, classroom):
    (HERE / "READY").write_text("up")
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:       # the parent kills this process group
        time.sleep(0.1)
'''


def containers(prefix: str) -> list[str]:
    out = subprocess.run(["lxc-ls", "-1"], capture_output=True, text=True, timeout=60).stdout
    return [c for c in out.split() if c.startswith(prefix)]


def nft_table(family: str, name: str) -> bool:
    return subprocess.run(["nft", "list", "table", family, name], capture_output=True).returncode == 0


def listening(port: int) -> str:
    return subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout.strip()


def libvirt_domains(prefix: str) -> list[str]:
    if not shutil.which("virsh") or not Path("/run/libvirt/libvirt-sock").exists():
        return []
    out = subprocess.run(
        ["virsh", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True, text=True, timeout=60
    ).stdout
    return [d for d in out.split() if d.startswith(prefix)]


def test_make_clean_test_leftovers_after_a_killed_module_leaves_nothing(tmp_path):
    from labgen.labfile import load_lab
    from labgen.providers import get_provider
    from labgen.providers.lxc import bridge_name

    if BASE.exists():  # an earlier run of this very test that was itself interrupted
        subprocess.run(
            ["make", "-s", "clean-test-leftovers"],
            cwd=REPO,
            timeout=1800,
            env={**os.environ, "LABGEN_TEST_ROOT": str(ROOT)},
        )
        shutil.rmtree(BASE, ignore_errors=True)
    child = tmp_path / "child"
    child.mkdir()
    (child / "lo-lab.yml").write_text(LAB.format(name=LAB_NAME, cidr="192.168.178.0/24", ip="192.168.178.11"))
    (child / "lo-seat.yml").write_text(LAB.format(name="lo-seat", cidr="192.168.178.0/24", ip="192.168.178.12"))
    (child / "test_child.py").write_text(CHILD.format(klass=CLASS, port=PORT, proxy_port=PROXY_PORT))
    lab = load_lab(child / "lo-lab.yml")
    lab_container = get_provider("lxc").machine_name(lab, "n1")
    env = {**os.environ, "LABGEN_TEST_ROOT": str(ROOT), "PYTHONPATH": str(REPO), "CI": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s", str(child / "test_child.py")],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 1200
        while not (child / "READY").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert (child / "READY").exists(), proc.communicate(timeout=60)[0] if proc.poll() is not None else "timeout"
        # what there is to clean, before the kill: the test must not pass on an empty host
        seat = f"labgen-{CLASS}-s01-"
        assert containers(lab_container) and containers(seat)
        assert Path("/sys/class/net", bridge_name(lab)).exists()
        assert nft_table("inet", f"labgen-{CLASS}") and listening(PORT)
        assert f"{CLASS}-s01" in {e.pw_name for e in pwd.getpwall()}
        from tests.integration.classroomenv import host_names

        seat_bridges = [r["bridge"] for r in host_names(ROOT.parent / (ROOT.name + "-crlo") / CLASS).values()]
        assert seat_bridges and all(Path("/sys/class/net", b).exists() for b in seat_bridges)
    finally:
        with contextlib.suppress(ProcessLookupError):  # a child that failed to start has ended
            os.killpg(proc.pid, signal.SIGKILL)  # no finalizer, no teardown: the worst case
        proc.communicate(timeout=60)

    res = subprocess.run(
        ["make", "-s", "clean-test-leftovers"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "LABGEN_TEST_ROOT": str(ROOT)},
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "cleaned" in res.stdout
    try:
        assert containers(lab_container) == [] and containers(f"labgen-{CLASS}-") == []
        assert not Path("/sys/class/net", bridge_name(lab)).exists()
        assert [b for b in seat_bridges if Path("/sys/class/net", b).exists()] == []
        for family in ("inet", "bridge"):
            assert not nft_table(family, f"labgen-{CLASS}"), f"nft table {family} labgen-{CLASS} is left"
        assert not nft_table("inet", f"labgen-aptproxy-{PROXY_PORT}")
        assert not [e.pw_name for e in pwd.getpwall() if e.pw_name.startswith(f"{CLASS}-s")]
        assert listening(PORT) == "" and listening(PROXY_PORT) == ""
        assert libvirt_domains(f"labgen-{CLASS}-") == [] and libvirt_domains(lab_container) == []
        assert not [p for p in BASE.iterdir()] if BASE.exists() else True
    finally:
        shutil.rmtree(BASE, ignore_errors=True)
