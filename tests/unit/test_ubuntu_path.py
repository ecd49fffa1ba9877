"""The Ubuntu 16.04 path (VirtualBox, libvirt) as far as it can be proven on a Debian host:
every command of the plan passes `shellcheck -s sh`, the nodes use their distribution's
mirrors, and apt waits for the dpkg lock and retries. The etcd v2 commands run against a real etcd in
tests/integration/test_etcd_v2.py. Nothing here boots xenial (its boxes cannot be downloaded
here); see the README's "What has run where"."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from labgen.labfile import find_lab, load_lab
from labgen.model import RoleUnavailable
from labgen.plan import plan_text
from labgen.provision import engine, pins
from labgen.provision.shell import apt_get, apt_install, dpkg_lock_wait
from labgen.providers import get_provider

# wait_until() runs each check in a subshell on purpose: a check that says `exit` must not end
# the loop. shellcheck calls that subshell superfluous for a lone `test` (a style note).
SHELLCHECK_EXCLUDE = "SC2234"


@pytest.fixture(scope="module")
def lab():
    return load_lab(find_lab("mesos-calico"))


def plan_commands(lab, provider):
    """Every check and command of the provider's plan (the engine's declarations, which
    `labgen plan` prints), each once, in plan order."""
    facts = get_provider(provider).facts(lab)
    commands = []
    for node in lab.nodes:
        for _role, tasks in engine.node_plan(lab, node, facts):
            if isinstance(tasks, RoleUnavailable):
                continue
            for t in tasks:
                for c in ((t.check,) if t.check else ()) + t.run:
                    if c not in commands:
                        commands.append(c)
    return commands


def test_the_virtualbox_plan_runs_every_role_on_ubuntu_16_04(lab):
    facts = get_provider("virtualbox").facts(lab)
    assert facts.distro == pins.XENIAL
    for node in lab.nodes:
        for role, tasks in engine.node_plan(lab, node, facts):
            assert not isinstance(tasks, RoleUnavailable), (node.name, role, tasks)


@pytest.mark.parametrize("provider", ["virtualbox", "libvirt", "lxc"])
def test_every_plan_command_passes_shellcheck(lab, provider, tmp_path):
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck is not installed (Debian package shellcheck; CI has it)")
    commands = plan_commands(lab, provider)
    text = plan_text(lab, provider)
    assert len(commands) > 20
    files = []
    for i, command in enumerate(commands):
        assert command in text  # what the plan shows is what is linted
        f = tmp_path / f"command-{i:03}.sh"
        f.write_text(command + "\n")
        files.append(f.name)
    res = subprocess.run(
        ["shellcheck", "-s", "sh", "-f", "gcc", "-e", SHELLCHECK_EXCLUDE, *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings = []
    for line in res.stdout.splitlines():
        name = line.split(":", 1)[0]
        findings.append(f"{line}\n    in: {commands[int(name[8:11])]}")
    assert res.returncode == 0 and not findings, "\n".join(findings) or res.stderr


def test_every_builtin_scenario_script_passes_shellcheck(tmp_path):
    """The scenarios' scripts run on the same nodes (the walkthrough's `full` variant and
    mac-bug's `docker` variant on Ubuntu 16.04): each step, with its variables substituted as
    the runner does for its first node (captured values by a placeholder)."""
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck is not installed (Debian package shellcheck; CI has it)")
    from labgen.scenario.load import builtin_scenarios, load_scenario, scenario_lab
    from labgen.scenario.template import node_values, substitute, variables_in

    scripts = {}
    for path in builtin_scenarios():
        sc = load_scenario(path)
        lab = scenario_lab(sc)
        for name, variant in sc.variants.items():
            for step in variant.steps:
                if not step.run:
                    continue
                nodes = [n for n in step.nodes if n != "all"] or [lab.nodes[0].name]
                values = node_values(sc, lab, nodes[0], {})
                for var in variables_in(step.run):
                    values.setdefault(var, "captured")
                scripts[f"{sc.id}.{name}.{step.id}"] = substitute(step.run, values)
    assert any(k.startswith("walkthrough.full.") for k in scripts) and len(scripts) > 20
    for key, script in scripts.items():
        (tmp_path / f"{key}.sh").write_text(script + "\n")
    res = subprocess.run(
        ["shellcheck", "-s", "sh", "-f", "gcc", *(f"{k}.sh" for k in scripts)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_xenial_commands_avoid_what_its_tools_lack(lab):
    """The audit's findings, as text the plan must not contain (each is proven where it can be:
    etcdctl in test_etcd_v2.py, the dpkg lock below)."""
    text = plan_text(lab, "virtualbox")
    assert "--endpoints" not in text  # etcdctl 2.2.5: --peers / -C, --endpoint
    assert "DPkg::Lock::Timeout" not in text  # apt >= 1.9.11; xenial has 1.2
    assert "--value" not in text  # systemctl show --value: systemd >= 230; xenial 229
    assert 'show -p ActiveState etcd)" = ActiveState=activating' in text


def test_virtualbox_nodes_use_their_distributions_mirrors(lab):
    """No apt proxy runs for VirtualBox (labgen starts none for it; libvirt's host preparation
    starts one, like LXC's): nodes must not be pointed at one, and a stale proxy file is
    removed. No apt source is added."""
    provider = "virtualbox"
    facts = get_provider(provider).facts(lab)
    assert facts.apt_proxy is None
    text = plan_text(lab, provider)
    assert "3142" not in text and "Acquire::http::Proxy" not in text
    for node in lab.nodes:
        base = engine.node_plan(lab, node, facts, ["base"])[0][1]
        assert base[0].name == "no apt proxy" and base[0].run == ("rm -f /etc/apt/apt.conf.d/01labgen-proxy",)
        apt_files = [
            f.path
            for _r, tasks in engine.node_plan(lab, node, facts)
            for t in tasks
            for f in t.files
            if f.path.startswith("/etc/apt/")
        ]
        assert apt_files == []


# ---- apt: wait for the dpkg lock (apt 1.2 has no DPkg::Lock::Timeout) and retry installs


def _fake_bin(tmp_path: Path, fail_first: int) -> tuple[dict, Path]:
    """A PATH with an apt-get that fails its first `fail_first` calls (as one that finds the
    dpkg lock taken does), logs its arguments, and a no-op sleep (retries without waiting)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    (bin_dir / "apt-get").write_text(
        f'#!/bin/sh\necho "$*" >> {log}\n'
        f'[ "$(wc -l < {log})" -gt {fail_first} ] '
        '|| { echo "E: Could not get lock /var/lib/dpkg/lock" >&2; exit 100; }\n'
    )
    (bin_dir / "sleep").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "pgrep").write_text("#!/bin/sh\nexit 1\n")  # nothing else runs apt
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, log


def test_apt_install_retries_the_install_not_only_the_update(tmp_path):
    env, log = _fake_bin(tmp_path, fail_first=0)
    # update passes at once; the install loses the lock twice, then gets it
    log.write_text("")
    script = apt_install(("etcd",))
    (tmp_path / "bin" / "apt-get").write_text(
        f'#!/bin/sh\necho "$*" >> {log}\n'
        f'case "$*" in *install*) [ "$(grep -c install {log})" -gt 2 ] || exit 100;; esac\n'
    )
    res = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    calls = log.read_text().splitlines()
    assert calls == ["-q update"] + ["-q install -y --no-install-recommends etcd"] * 3
    assert "apt-get failed (try 2 of 3)" in res.stderr


def test_apt_get_gives_up_after_three_tries(tmp_path):
    env, log = _fake_bin(tmp_path, fail_first=99)
    res = subprocess.run(
        ["sh", "-c", apt_get("update") + "; echo not reached"], env=env, capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 1 and "not reached" not in res.stdout
    assert len(log.read_text().splitlines()) == 3


def test_dpkg_lock_wait_waits_while_unattended_upgrades_runs(tmp_path):
    """A real process named like unattended-upgrades (comm `unattended-upgr`), found by the
    real pgrep with the role's names: the wait ends when it does, and is bounded when it does
    not. It runs under a shell in a session of its own (the shell reaps it, as apt-daily's
    service does), and pgrep looks only in that session: LXC nodes' apt runs show on the host."""
    real = shutil.which("pgrep")
    if not real:
        pytest.skip("pgrep (procps) is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    fake = tmp_path / "unattended-upgrade"
    shutil.copy(shutil.which("sleep"), fake)
    for lasts, bound, low, high in ((3, 20, 2.0, 15), (30, 2, 1.0, 8)):
        proc = subprocess.Popen(["sh", "-c", f"{fake} {lasts}; true"], start_new_session=True)
        (bin_dir / "pgrep").write_text(f'#!/bin/sh\nexec {real} -s {proc.pid} "$@"\n')
        (bin_dir / "pgrep").chmod(0o755)
        try:
            time.sleep(0.3)
            start = time.monotonic()
            subprocess.run(["sh", "-c", dpkg_lock_wait(bound)], env=env, check=True, timeout=30)
            took = time.monotonic() - start
        finally:
            os.killpg(proc.pid, 9)
            proc.wait()
        assert low <= took < high, (lasts, bound, took)
