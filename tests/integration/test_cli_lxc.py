"""The commands people bring from Vagrant and containerlab, on real LXC labs (issue 19):
`labgen up` / `labgen down` (aliases of create/destroy), `labgen ls` (what exists on this host,
with dirs and live state), and `labgen scenario start` in an empty dir creating the lab as
`scenario run` does, then asking before it replaces a student's progress.

Own names (`ci-*`), subnets (192.168.160-161.0/24) and root (beside TEST_ROOT, which
test_lab_lxc clears), so this module runs beside the others without the LXC lock. One-node
labs, booted without provisioning: nothing here downloads a package. Every test destroys what
it made, even when it fails; traffic goes only to the labs' own containers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from tests.integration.lxcenv import TEST_ROOT, destroy_lab_dir, lxc_skip_reason
from tests.runcli import labgen

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = lxc_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)

CLI_ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-cli")


def lab_text(name: str, subnet: str) -> str:
    return f"""\
name: {name}
description: one node for the CLI tests
network: {{cidr: {subnet}.0/24}}
boxes: {{lxc: labgen/debian-12}}
defaults: {{memory: 256, cpus: 1}}
nodes:
  - {{name: n1, ip: {subnet}.11, roles: [base]}}
"""


SCENARIO = """\
id: ci-hello
title: {en: "Hello", zh: "你好"}
summary: {en: "Write a word into a file.", zh: "把一个词写进文件。"}
lab: ./ci-start.yml
steps:
  - id: prepare
    kind: setup
    title: {en: "Prepare", zh: "准备"}
    "on": [n1]
    run: rm -f /tmp/ci-hello
  - id: write-hello
    kind: task
    title: {en: "Write hello", zh: "写入 hello"}
    goal: {en: "Write hello into /tmp/ci-hello on n1.", zh: "在 n1 上把 hello 写进 /tmp/ci-hello。"}
    check:
      - "on": [n1]
        run: cat /tmp/ci-hello
        expect: {stdout_contains: hello}
        message: {en: "/tmp/ci-hello does not say hello yet.", zh: "/tmp/ci-hello 里还没有 hello。"}
    solution:
      "on": [n1]
      run: echo hello > /tmp/ci-hello
  - id: tidy
    kind: cleanup
    title: {en: "Tidy", zh: "清理"}
    "on": [n1]
    run: rm -f /tmp/ci-hello
"""


def container_state(lab_dir, node="n1") -> str:
    """The container's own answer (lxc-info), not labgen's."""
    id_file = lab_dir / ".vagrant" / "machines" / node / "lxc" / "id"
    if not id_file.exists():
        return "NO CONTAINER"
    out = subprocess.run(["lxc-info", "-s", "-n", id_file.read_text().strip()], capture_output=True, text=True)
    return out.stdout.split(":", 1)[-1].strip() if out.returncode == 0 else "NO CONTAINER"


def listed(lab_dir) -> dict | None:
    data = json.loads(labgen("ls", "--format", "json", check=True).stdout)
    return next((lab for lab in data["labs"] if lab["dir"] == str(lab_dir)), None)


@pytest.fixture
def workdir(request):
    path = CLI_ROOT / f"{request.node.name[:40]}-{int(time.time())}"
    path.mkdir(parents=True)
    made = []
    try:
        yield path, made
    finally:
        for lab_dir in made:
            destroy_lab_dir(lab_dir)
        shutil.rmtree(path, ignore_errors=True)


def test_up_ls_down_as_vagrant_users_type_them(workdir):
    path, made = workdir
    (path / "ci-up.yml").write_text(lab_text("ci-up", "192.168.160"))
    lab_dir = path / "ci-up"
    made.append(lab_dir)
    began = time.monotonic()
    up = labgen("--provider", "lxc", "up", "ci-up.yml", "--no-provision", cwd=path, check=True, timeout=600)
    print(f"labgen up (1 node, no provisioning): {time.monotonic() - began:.1f} s")
    assert f"lab ci-up is up in {lab_dir}" in " ".join(up.stdout.split())
    assert container_state(lab_dir) == "RUNNING"

    entry = listed(lab_dir)
    assert entry == {
        "name": "ci-up",
        "dir": str(lab_dir),
        "provider": "lxc",
        "nodes": [{"name": "n1", "state": "running"}],
        "running": 1,
    }
    text = labgen("ls", check=True).stdout
    assert f"lab ci-up lxc 1/1 running {lab_dir}" in " ".join(text.split())

    refused = labgen("down", "--dir", str(lab_dir))  # no terminal, no --yes: nothing happens
    assert refused.returncode == 1 and "destroy needs confirmation" in refused.stderr
    assert container_state(lab_dir) == "RUNNING"

    down = labgen("down", "--yes", "--dir", str(lab_dir), check=True, timeout=300)
    assert "destroyed lab ci-up" in down.stdout
    assert container_state(lab_dir) == "NO CONTAINER"
    assert listed(lab_dir) is None


def test_scenario_start_in_an_empty_dir_creates_the_lab_and_asks_before_starting_again(workdir):
    path, made = workdir
    files, empty = path / "files", path / "empty"
    files.mkdir()
    empty.mkdir()
    (files / "ci-start.yml").write_text(lab_text("ci-start", "192.168.161"))
    (files / "ci-hello.yml").write_text(SCENARIO)
    lab_dir = empty / "ci-start"
    made.append(lab_dir)

    began = time.monotonic()
    start = labgen(
        "--provider",
        "lxc",
        "scenario",
        "start",
        str(files / "ci-hello.yml"),
        "--lang",
        "en",
        cwd=empty,
        check=True,
        timeout=600,
    )
    print(f"scenario start in an empty dir (creates and boots 1 node): {time.monotonic() - began:.1f} s")
    flat = " ".join(start.stdout.split())
    assert f"lab ci-start does not exist yet: creating it in {lab_dir}" in flat
    assert "TASK · Write hello" in flat and "Write hello into /tmp/ci-hello on n1." in flat
    assert container_state(lab_dir) == "RUNNING"
    assert listed(lab_dir)["running"] == 1

    # inside the lab dir now, as the student would be
    assert labgen("scenario", "check", "--lang", "en", cwd=lab_dir).returncode == 6
    labgen("ssh", "n1", "--", "echo hello > /tmp/ci-hello", cwd=lab_dir, check=True)
    assert "passed: Write hello" in labgen("scenario", "check", "--lang", "en", cwd=lab_dir, check=True).stdout

    progress = (lab_dir / ".labgen" / "progress.json").read_text()
    again = labgen("scenario", "start", str(files / "ci-hello.yml"), "--lang", "en", cwd=lab_dir)
    assert again.returncode == 1 and "needs confirmation" in again.stderr and "--yes" in again.stderr
    assert (lab_dir / ".labgen" / "progress.json").read_text() == progress  # nothing was wiped
    reset = labgen("scenario", "reset", "--lang", "en", cwd=lab_dir)
    assert reset.returncode == 1 and "reset needs confirmation" in reset.stderr

    again = labgen("scenario", "start", str(files / "ci-hello.yml"), "--lang", "en", "--yes", cwd=lab_dir, check=True)
    assert "TASK · Write hello" in again.stdout
    assert json.loads((lab_dir / ".labgen" / "progress.json").read_text())["current"] == "write-hello"
    # the setup step ran again: the file the student wrote is gone
    assert labgen("scenario", "check", "--lang", "en", cwd=lab_dir).returncode == 6
