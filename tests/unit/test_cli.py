"""The CLI as users meet it: a subprocess per call, real files, no machine booted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.runcli import labgen, labgen_sealed

REPO = Path(__file__).resolve().parents[2]
HOSTILE = sorted((REPO / "tests/data/labs/hostile").glob("*.yml"))


def test_help_teaches_and_version():
    res = labgen("--help")
    assert res.returncode == 0
    for command in ("create", "status", "ssh", "exec", "provision", "halt", "destroy", "scenario", "render"):
        assert command in res.stdout
    assert "labgen create mesos-calico" in res.stdout
    assert labgen("--version").stdout.strip() == "labgen, version 0.1.0"


def test_start_up_imports_nothing_heavy():
    code = (
        "import sys, labgen.cli; heavy = {'fabric', 'paramiko', 'vagrant', 'rich', 'jinja2', 'yaml'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_lab_commands_load_no_template_engine():
    # status/ssh/exec go through lifecycle, which imports render for its checksum check:
    # jinja2 is loaded only when a Vagrantfile is rendered
    code = "import sys, labgen.lifecycle; print('jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("provider", ["virtualbox", "libvirt", "lxc"])
def test_render_prints_the_golden_vagrantfile(provider):
    res = labgen("--provider", provider, "render", "mesos-calico")
    assert res.returncode == 0, res.stderr
    assert res.stdout == (REPO / f"tests/golden/mesos-calico.{provider}.Vagrantfile").read_text()


def test_unknown_lab_suggests_the_builtin():
    res = labgen("render", "mesos-calio")
    assert res.returncode == 2
    assert "mesos-calico" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("path", [p for p in HOSTILE if p.stem != "accepted-free-text"], ids=lambda p: p.stem)
def test_hostile_lab_files_are_refused_and_nothing_is_created(path, tmp_path):
    canary = tmp_path / "CANARY"  # the payloads `touch CANARY` in their cwd
    res = labgen_sealed("--provider", "lxc", "create", str(path), "--dir", str(tmp_path / "lab"), cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    expected = path.with_suffix(".errors").read_text().split("\n")
    for line in (ln for ln in expected if ln.strip()):
        assert line.split(": ", 1)[-1][:40] in res.stderr
    assert not (tmp_path / "lab").exists() and not canary.exists()


def test_every_problem_is_one_error_line_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: Bad_Name\nnetwork: {cidr: 192.168.56.0/24}\nnodez: []\n")
    res = labgen("render", str(bad), "--provider", "lxc")
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert res.returncode == 2 and len(lines) >= 3
    assert all(f"{bad} line " in ln for ln in lines)
    assert any("did you mean 'nodes'" in ln for ln in lines), res.stderr


def test_yaml_syntax_error_names_the_line(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\nnodes:\n  - {name: a\n")
    res = labgen("render", str(bad), "--provider", "lxc")
    assert res.returncode == 2 and "line" in res.stderr and "YAML syntax error" in res.stderr


def test_create_refuses_to_overwrite_an_edited_vagrantfile(tmp_path):
    from labgen.labdir import LabDir
    from labgen.labfile import find_lab, load_lab
    from labgen.lifecycle import write_lab_dir

    lab = load_lab(find_lab("mesos-calico"))
    d = LabDir(tmp_path / "lab")
    write_lab_dir(lab, d, "lxc")
    write_lab_dir(lab, d, "lxc")  # unchanged: fine
    d.vagrantfile.write_text(d.vagrantfile.read_text() + "\n# my tweak\n")
    from labgen.errors import LabgenError

    with pytest.raises(LabgenError, match="edited by hand"):
        write_lab_dir(lab, d, "lxc")
    assert "# my tweak" in d.vagrantfile.read_text()
    write_lab_dir(lab, d, "lxc", force=True)
    assert "# my tweak" not in d.vagrantfile.read_text()


def test_a_lab_dir_keeps_its_provider(tmp_path):
    from labgen.errors import LabgenError
    from labgen.labdir import LabDir
    from labgen.labfile import find_lab, load_lab
    from labgen.lifecycle import write_lab_dir

    lab = load_lab(find_lab("mesos-calico"))
    d = LabDir(tmp_path / "lab")
    write_lab_dir(lab, d, "lxc")
    with pytest.raises(LabgenError, match="created with provider lxc"):
        write_lab_dir(lab, d, "virtualbox")


def test_commands_outside_a_lab_say_how_to_make_one(tmp_path):
    res = labgen("status", cwd=tmp_path)
    assert res.returncode == 1
    assert "no lab in" in res.stderr and "labgen create" in res.stderr and "Traceback" not in res.stderr


def test_scenario_show_and_list():
    res = labgen("scenario", "show", "mac-bug", "--lang", "zh")
    assert res.returncode == 0 and "ee:ee:ee:ee:ee:ee" in res.stdout and "容器" in res.stdout
    assert "mac-bug" in labgen("scenario", "list").stdout


def test_scenario_show_tells_the_variants_own_summary():
    from labgen.scenario.load import find_scenario, load_scenario

    sc = load_scenario(find_scenario("mac-bug"))
    own, default = sc.variants["docker"].summary.en, sc.summary.en
    assert own and own != default
    out = " ".join(
        labgen("scenario", "show", "mac-bug", "--variant", "docker", "--lang", "en", check=True).stdout.split()
    )
    assert " ".join(own.split()) in out and " ".join(default.split()) not in out
    out = " ".join(labgen("scenario", "show", "mac-bug", "--lang", "en", check=True).stdout.split())
    assert " ".join(default.split()) in out


def test_scenario_with_unknown_step_is_refused_before_anything_runs(tmp_path):
    res = labgen_sealed(
        "--provider",
        "lxc",
        "scenario",
        "run",
        "mac-bug",
        "--only",
        "no-such-step",
        "--dir",
        str(tmp_path / "lab"),
        cwd=tmp_path,
    )
    assert res.returncode == 2 and "no step 'no-such-step'" in res.stderr
    assert not (tmp_path / "lab").exists()


def test_debug_shows_the_traceback(tmp_path):
    res = labgen("--debug", "status", cwd=tmp_path)
    assert "Traceback" in res.stderr and "no lab in" in res.stderr


def test_shell_completion_as_the_readme_documents():
    script = labgen(env={"_LABGEN_COMPLETE": "bash_source"}, check=True).stdout
    assert "_labgen_completion" in script and "complete " in script
    res = labgen(
        env={"_LABGEN_COMPLETE": "bash_complete", "COMP_WORDS": "labgen status --for", "COMP_CWORD": "2"}, check=True
    )
    assert "--format" in res.stdout


# ---------------------------------------------------------------- provider choice and exit codes
# Each exit code the README promises, produced for real by a CLI process (5, 6 and 130 need a
# booted lab: tests/integration/test_lab_lxc.py).


def _tools_dir(tmp_path, *tools):
    """A PATH dir holding links to the real `tools` (skips when one is not on this machine)."""
    import os
    import shutil

    d = tmp_path / "tools"
    d.mkdir()
    for tool in tools:
        real = shutil.which(tool)
        if not real:
            pytest.skip(f"{tool} is not installed")
        os.symlink(real, d / tool)
    return d


def _hardware_kvm() -> bool:
    """From the files, not from labgen: a writable /dev/kvm and kvm_intel or kvm_amd loaded."""
    import os

    return os.access("/dev/kvm", os.R_OK | os.W_OK) and any(
        os.path.isdir(f"/sys/module/{m}") for m in ("kvm_intel", "kvm_amd")
    )


# KVM's verdict comes from a stand-in QEMU in PATH whose probe guest "passes" (exits with the
# isa-debug-exit code at once) or fails: the expected choice never comes from labgen's own
# kvm_verdict(), and the verdict is cached in the test's own dir, never the user's cache.
@pytest.mark.parametrize(
    "tools, qemu",
    [(("lxc-create",), None), (("virsh", "lxc-create"), "fails"), (("virsh", "lxc-create"), "passes"), ((), None)],
    ids=["lxc", "libvirt-kvm-broken", "libvirt-kvm-works", "none"],
)
def test_provider_is_detected_and_the_choice_is_printed(tmp_path, tools, qemu):
    import os

    from labgen.kvm import EXIT_OK

    path = _tools_dir(tmp_path, *tools)
    if qemu:
        fake = path / "qemu-system-x86_64"
        fake.write_text(f"#!/bin/sh\nexit {EXIT_OK if qemu == 'passes' else 1}\n")
        fake.chmod(0o755)
    cache = tmp_path / "cache"
    res = labgen(
        "render",
        "mesos-calico",
        cwd=tmp_path,
        env={"PATH": str(path), "LABGEN_SKIP_LIBVIRT": "", "LABGEN_CACHE": str(cache)},
    )
    # libvirt only where KVM boots a guest: needs hardware KVM on this host and a passing probe
    if qemu == "passes" and _hardware_kvm():
        expected = "libvirt", "virsh found and KVM usable"
    elif "lxc-create" in tools and os.geteuid() == 0:
        expected = "lxc", "lxc-create found and running as root"
    else:
        assert res.returncode == 3, res.stderr
        assert "no usable provider" in res.stderr and "Traceback" not in res.stderr and res.stdout == ""
        return
    assert res.returncode == 0, res.stderr
    assert f"provider: {expected[0]} ({expected[1]}); choose with --provider" in res.stderr
    assert res.stdout.startswith("# -*- mode: ruby -*-")  # stdout is the Vagrantfile alone
    assert f"for provider {expected[0]}." in res.stdout
    if qemu and _hardware_kvm():
        assert (cache / "kvm-verdict.json").exists()  # the probe ran, cached here


def test_bad_input_exits_2(tmp_path):
    res = labgen_sealed("--provider", "lxc", "create", "no-such-lab", "--dir", str(tmp_path / "lab"), cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert not (tmp_path / "lab").exists()


def test_host_not_ready_exits_3_before_touching_anything(tmp_path):
    import os

    res = labgen_sealed("--provider", "lxc", "create", "mesos-calico", "--dir", str(tmp_path / "lab"), cwd=tmp_path)
    assert res.returncode == 3, res.stdout + res.stderr
    why = "lxc-create is not installed" if os.geteuid() == 0 else "the lxc provider needs root"
    assert why in res.stderr and "hint: " in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "lab" / ".vagrant").exists()


@pytest.mark.vagrant
@pytest.mark.skipif(not __import__("shutil").which("vagrant"), reason="vagrant is not installed")
def test_vagrant_failing_exits_4(tmp_path):
    """A real `vagrant halt` that fails (a syntax error at the end of the Vagrantfile): Vagrant
    stops while loading the file, before it looks at any machine."""
    from labgen.labdir import LabDir
    from labgen.labfile import find_lab, load_lab
    from labgen.lifecycle import write_lab_dir

    d = LabDir(tmp_path / "lab")
    write_lab_dir(load_lab(find_lab("mesos-calico")), d, "lxc")
    d.vagrantfile.write_text(
        d.vagrantfile.read_text() + '\nVagrant.configure("2") do |c|\n'
    )  # no `end`: a syntax error
    res = labgen("halt", "--dir", str(d.path), cwd=tmp_path)
    assert res.returncode == 4, res.stdout + res.stderr
    assert "vagrant halt" in res.stderr and "Traceback" not in res.stderr
    assert not (d.path / ".vagrant" / "machines").exists()


def test_list_names_every_builtin_lab_and_scenario_with_its_title(tmp_path):
    from labgen.labfile import builtin_labs
    from labgen.scenario.load import builtin_scenarios, load_scenario

    res = labgen_sealed("list", cwd=tmp_path, env={"COLUMNS": "250"})
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("Labs") and "labgen create NAME" in lines[0]
    for name, description in builtin_labs():
        assert any(ln.split() and ln.split()[0] == name and description in ln for ln in lines), res.stdout
    scenarios = [load_scenario(p) for p in builtin_scenarios()]
    assert len(scenarios) >= 2
    for sc in scenarios:
        assert any(
            ln.split() and ln.split()[0] == sc.id and sc.title.en in ln and f"(lab {sc.lab})" in ln for ln in lines
        ), res.stdout
