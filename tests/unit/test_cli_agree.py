"""Commands that agree with each other (issue 19): one meaning per option, the words people bring
from Vagrant and containerlab, the same confirmation, overwrite and --variant rules everywhere,
json for scripts. Each case is a real CLI process; input that must be refused runs sealed
(no tools on PATH), so a regression cannot reach the host."""

from __future__ import annotations

import ipaddress
import json
import os
import pty
import re
import select
import subprocess
from pathlib import Path

import pytest

from tests.runcli import LABGEN, labgen, labgen_sealed

REPO = Path(__file__).resolve().parents[2]
DUO = REPO / "tests/data/labs/duo.yml"


def lab_dir_with_progress(tmp_path, scenario="mac-bug", variant="challenge"):
    """A mesos-calico lab dir (never booted) on which `scenario` was started."""
    from labgen.labdir import LabDir
    from labgen.labfile import find_lab, load_lab
    from labgen.lifecycle import write_lab_dir
    from labgen.scenario import student_progress as prog

    d = LabDir(tmp_path / "lab")
    write_lab_dir(load_lab(find_lab("mesos-calico")), d, "lxc")
    prog.replace(d, prog.fresh(scenario, "", variant))
    return d


# ---- words people bring


def test_up_and_down_are_create_and_destroy():
    up = labgen("up", "--help", check=True).stdout
    assert up.startswith("Usage: labgen up [OPTIONS] LAB")
    assert "Create LAB: write its lab dir, boot its machines" in up
    down = labgen("down", "--help", check=True).stdout
    assert "Destroy the lab's machines" in down and "--yes" in down
    listing = labgen("--help", check=True).stdout
    assert "up    same as `labgen create`" in listing and "down  same as `labgen destroy`" in listing


def test_down_outside_a_lab_is_the_same_error_as_destroy(tmp_path):
    for word in ("down", "destroy"):
        res = labgen_sealed(word, "--yes", cwd=tmp_path)
        assert res.returncode == 1 and "no lab in" in res.stderr, res.stderr


@pytest.mark.parametrize(
    "word, suggestion", [("deploy", "'up'"), ("start", "'up' or 'scenario start'"), ("rm", "'down'"), ("ps", "'ls'")]
)
def test_borrowed_words_point_at_the_labgen_command(word, suggestion, tmp_path):
    res = labgen_sealed(word, "x", cwd=tmp_path)
    assert res.returncode == 2
    assert f"No such command '{word}'. Did you mean {suggestion}?" in res.stderr
    assert "destroy" not in res.stderr  # click alone would offer `destroy` for `deploy`


def test_bundle_typo_is_named_not_taken_for_a_lab(tmp_path):
    res = labgen_sealed("bundle", "lod", "x", cwd=tmp_path)
    assert res.returncode == 2
    assert "no bundle command and no lab 'lod': did you mean `labgen bundle load`?" in res.stderr
    # the hidden `create` still takes a lab name
    res = labgen_sealed("bundle", "mesos-calico", cwd=tmp_path)
    assert res.returncode == 2 and "Missing option '-o' / '--output'" in res.stderr


# ---- one meaning per option


def classroom_dir(tmp_path, seats=3):
    from labgen.classroom.layout import Classroom, classroom_text

    path = tmp_path / "cr"
    path.mkdir()
    c = Classroom(
        name="ci1",
        lab=str(DUO),
        seats=seats,
        pool=ipaddress.IPv4Network("192.168.160.0/22"),
        provider="lxc",
        ssh_port=2299,
        ssh_address="127.0.0.1",
        path=path,
    )
    (path / "classroom.yml").write_text(classroom_text(c))
    return path


@pytest.mark.parametrize(
    "command", [("status",), ("exec", "all", "--", "true"), ("sheets",), ("serve",), ("scenario", "run", "mac-bug")]
)
def test_seat_lists_are_seat_and_the_old_seats_says_so(command, tmp_path):
    cr = classroom_dir(tmp_path)
    res = labgen_sealed(
        "classroom",
        *command[: 1 if command[0] != "scenario" else 3],
        "--seats",
        "1,2",
        "--dir",
        str(cr),
        *command[1 if command[0] != "scenario" else 3 :],
        cwd=tmp_path,
    )
    assert res.returncode == 2
    assert "--seats 1,2: here seats are chosen with --seat 1,2" in res.stderr
    assert "--seats is the number of seats, in `classroom up` only" in res.stderr


def test_seat_list_is_read(tmp_path):
    cr = classroom_dir(tmp_path)
    res = labgen_sealed("classroom", "sheets", "--seat", "4", "--dir", str(cr), cwd=tmp_path)
    assert res.returncode == 2
    assert "seat list '4': 4 is out of range: this classroom has seats 1-3" in res.stderr


def test_classroom_up_seats_is_a_count():
    text = labgen("classroom", "up", "--help", check=True).stdout
    assert "--seats N" in text and "Elsewhere --seat LIST chooses seats" in text


def test_files_are_written_with_o_output_everywhere():
    for command in (("graph",), ("scenario", "worksheet"), ("bundle", "create"), ("classroom", "sheets")):
        text = labgen(*command, "--help", check=True).stdout
        assert "-o, --output" in text, command
        assert "--out " not in text, command


# ---- the same overwrite policy for graph and worksheet


def test_worksheet_refuses_to_overwrite_like_graph(tmp_path):
    first = labgen("scenario", "worksheet", "mac-bug", "--lang", "en", cwd=tmp_path, check=True)
    out = tmp_path / "mac-bug-worksheet-en.html"
    assert out.exists() and str(out.name) in first.stdout
    out.write_text("my notes")
    again = labgen("scenario", "worksheet", "mac-bug", "--lang", "en", cwd=tmp_path)
    assert again.returncode == 1
    assert "mac-bug-worksheet-en.html exists; not overwriting it" in again.stderr
    assert "pass --force, or -o another file" in again.stderr
    assert out.read_text() == "my notes"
    labgen("scenario", "worksheet", "mac-bug", "--lang", "en", "--force", cwd=tmp_path, check=True)
    assert "<html" in out.read_text()
    svg = tmp_path / "mesos-calico.svg"
    svg.write_text("mine")
    graph = labgen("graph", "mesos-calico", cwd=tmp_path)
    assert graph.returncode == 1 and "mesos-calico.svg exists; not overwriting it" in graph.stderr


def test_worksheet_to_stdout(tmp_path):
    res = labgen("scenario", "worksheet", "mac-bug", "-o", "-", "--lang", "zh", cwd=tmp_path, check=True)
    assert "<html" in res.stdout and not list(tmp_path.iterdir())


# ---- asking before wiping a student's progress


def test_start_again_asks_before_replacing_progress(tmp_path):
    d = lab_dir_with_progress(tmp_path)
    before = (d.meta / "progress.json").read_text()
    res = labgen_sealed("--provider", "lxc", "scenario", "start", "mac-bug", "--dir", str(d.path), cwd=tmp_path)
    assert res.returncode == 1
    assert "needs confirmation" in res.stderr and "pass --yes" in res.stderr
    assert (d.meta / "progress.json").read_text() == before


def test_reset_asks_before_replaying(tmp_path):
    d = lab_dir_with_progress(tmp_path)
    before = (d.meta / "progress.json").read_text()
    res = labgen_sealed(
        "--provider", "lxc", "scenario", "reset", "--to", "break-mac", "--dir", str(d.path), cwd=tmp_path
    )
    assert res.returncode == 1
    assert "reset needs confirmation" in res.stderr and "pass --yes" in res.stderr
    assert (d.meta / "progress.json").read_text() == before


def test_start_and_reset_say_they_ask():
    for command in ("start", "reset"):
        text = labgen("scenario", command, "--help", check=True).stdout
        assert "-y, --yes" in text and "it asks first" in text


# ---- one --variant rule, with a did-you-mean


@pytest.mark.parametrize(
    "command",
    [
        ("scenario", "show", "mac-bug"),
        ("scenario", "worksheet", "mac-bug"),
        ("scenario", "run", "mac-bug"),
        ("scenario", "start", "mac-bug"),
    ],
)
def test_variant_typo_gets_a_did_you_mean(command, tmp_path):
    res = labgen_sealed("--provider", "lxc", *command, "--variant", "chalenge", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "scenario mac-bug has no variant 'chalenge' (did you mean 'challenge'?)" in res.stderr
    assert "hint: variants: default, docker, challenge" in res.stderr
    assert not list(tmp_path.glob("mesos-calico*"))


def test_variant_help_is_one_text():
    texts = set()
    for command in (
        ("scenario", "show"),
        ("scenario", "run"),
        ("scenario", "start"),
        ("scenario", "worksheet"),
        ("classroom", "scenario", "run"),
    ):
        help_text = labgen(*command, "--help", check=True).stdout
        found = re.search(r"--variant NAME\s+(.*?has none\.)", help_text, re.S)
        assert found, command
        texts.add(" ".join(found.group(1).split()))
    assert len(texts) == 1, texts


def test_show_without_variant_is_the_default_and_start_picks_the_challenge(tmp_path):
    shown = labgen("scenario", "show", "mac-bug", "--lang", "en", check=True).stdout
    assert "variant default)" in " ".join(shown.split())
    ws = labgen("scenario", "worksheet", "mac-bug", "-o", "-", "--lang", "en", check=True).stdout
    assert "Make the two workloads talk again" in ws  # the challenge variant's task


# ---- json for scripts


def test_list_json():
    data = json.loads(labgen("list", "--format", "json", check=True).stdout)
    assert {"name": "mesos-calico", "description": "Mesos + Marathon + Calico on three VMs (the walkthrough)"} in data[
        "labs"
    ] or any(lab["name"] == "mesos-calico" for lab in data["labs"])
    macbug = next(s for s in data["scenarios"] if s["id"] == "mac-bug")
    assert macbug["lab"] == "mesos-calico" and macbug["variants"] == ["default", "docker", "challenge"]


def test_plan_json_is_the_plan():
    data = json.loads(
        labgen(
            "--provider", "virtualbox", "plan", "mesos-calico", "--node", "ubuntu-1", "--format", "json", check=True
        ).stdout
    )
    assert data["lab"] == "mesos-calico" and data["provider"] == "virtualbox"
    assert [n["name"] for n in data["nodes"]] == ["ubuntu-1"]
    roles = {r["role"]: r for r in data["nodes"][0]["roles"]}
    assert roles["base"]["unavailable"] is None and roles["base"]["tasks"]
    mesos = roles["mesos-master"]["tasks"][0]
    assert mesos["artifacts"][0]["name"] == "mesos-deb" and mesos["check"] and mesos["run"]
    lxc = json.loads(labgen("--provider", "lxc", "plan", "mesos-calico", "--format", "json", check=True).stdout)
    assert lxc["distro"] and "no longer serves" in next(
        r["unavailable"] for r in lxc["nodes"][0]["roles"] if r["role"] == "mesos-master"
    )


def test_doctor_json_keeps_the_exit_status(tmp_path):
    res = labgen_sealed("doctor", "--format", "json", cwd=tmp_path)  # no tools at all: nothing usable
    assert res.returncode == 3
    data = json.loads(res.stdout)
    assert data["ready"] is False and data["usable"] == [] and data["lab"] is None
    assert {c["status"] for c in data["checks"]} <= {"ok", "warn", "fail", "info"}
    assert all(set(c) == {"topic", "status", "detail", "hint"} for c in data["checks"])


# ---- labgen ls


def test_ls_finds_labs_and_classroom_seats_through_vagrants_index(tmp_path):
    from labgen.labdir import LabDir

    def lab(path, name):
        d = LabDir(path)
        d.meta.mkdir(parents=True)
        (path / "lab.yml").write_text(f"name: {name}\n")
        d.save_state({"lab": name, "provider": "virtualbox"})
        return str(path)

    cr = classroom_dir(tmp_path)
    machines = {
        "a": {
            "name": "n1",
            "provider": "virtualbox",
            "state": "running",
            "vagrantfile_path": lab(tmp_path / "one", "one"),
        },
        "b": {"name": "n2", "provider": "virtualbox", "state": "poweroff", "vagrantfile_path": str(tmp_path / "one")},
        "c": {
            "name": "ubuntu-1",
            "provider": "virtualbox",
            "state": "running",
            "vagrantfile_path": lab(cr / "seat-01", "duo"),
        },
        "d": {"name": "x", "provider": "virtualbox", "state": "running", "vagrantfile_path": str(tmp_path / "gone")},
        "e": {"name": "x", "provider": "virtualbox", "state": "running", "vagrantfile_path": str(tmp_path)},
    }
    index = tmp_path / "vh" / "data" / "machine-index" / "index"
    index.parent.mkdir(parents=True)
    index.write_text(json.dumps({"version": 1, "machines": machines}))
    env = {"VAGRANT_HOME": str(tmp_path / "vh")}
    data = json.loads(labgen_sealed("ls", "--format", "json", cwd=tmp_path, env=env, check=True).stdout)
    assert data["labs"] == [
        {
            "name": "one",
            "dir": str(tmp_path / "one"),
            "provider": "virtualbox",
            "nodes": [{"name": "n1", "state": "running"}, {"name": "n2", "state": "poweroff"}],
            "running": 1,
        }
    ]
    room = next(r for r in data["classrooms"] if r["dir"] == str(cr))
    assert room["name"] == "ci1" and room["seats"] == 3 and room["seats_with_machines"] == 1 and room["running"] == 1
    text = labgen_sealed("ls", cwd=tmp_path, env=env, check=True).stdout
    assert f"lab one virtualbox 1/2 running {tmp_path / 'one'}" in " ".join(text.split())
    assert f"classroom ci1 (3 seats of duo) lxc 1/1 running {cr}" in " ".join(text.split())


def test_ls_with_no_index_says_so(tmp_path):
    res = labgen_sealed("ls", cwd=tmp_path, env={"VAGRANT_HOME": str(tmp_path)}, check=True)
    assert "no labs on this host" in res.stdout or "classroom" in res.stdout


# ---- errors and exit codes


def run_in_pty(args, env):
    """labgen ARGS with stdout and stderr on a terminal: what a user sees, colours included."""
    main, sub = pty.openpty()
    proc = subprocess.Popen(
        [*LABGEN, *args], stdin=subprocess.DEVNULL, stdout=sub, stderr=sub, env={**os.environ, "COLUMNS": "120", **env}
    )
    os.close(sub)
    out = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=60)
    os.close(main)
    return proc.returncode, out.decode()


def test_error_lines_honour_no_color():
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    args = ("scenario", "show", "mac-bug", "--variant", "nope")
    code, coloured = run_in_pty(args, {**env, "NO_COLOR": ""})
    assert code == 2 and "\x1b[31merror: scenario mac-bug has no variant" in coloured
    code, plain = run_in_pty(args, {**env, "NO_COLOR": "1"})
    assert code == 2 and "error: scenario mac-bug has no variant" in plain and "\x1b[" not in plain


def test_status_json_help_says_the_shape_the_docs_show():
    text = " ".join(labgen("status", "--help", check=True).stdout.split())
    assert "one object {lab, dir, nodes}, each node {name, ip, provider, state, ssh, roles, roles_done}" in text
    readme = (REPO / "README.md").read_text()
    assert '{"lab": "mesos-calico", "dir": "/home/me/mesos-calico",' in readme


def test_plan_no_longer_sends_people_to_mesospheres_repository():
    res = labgen(
        "--provider", "lxc", "plan", "mesos-calico", "--node", "ubuntu-1", "--role", "mesos-master", check=True
    )
    assert "no longer serves it" in res.stdout and "--artifacts DIR" in res.stdout
    assert "`labgen fetch LAB` downloads it" not in res.stdout.split("mesos-deb")[1].split("\n")[0]


@pytest.mark.parametrize("provider", ["virtualbox", "libvirt", "lxc"])
def test_vagrantfile_points_only_at_files_in_the_repository(provider):
    text = labgen("--provider", provider, "render", "mesos-calico", check=True).stdout
    assert "ENVIRONMENT.md" not in text
    for ref in ("docs/providers.md",):
        if ref in text:
            assert (REPO / ref).exists()


def test_ls_reads_vagrants_index_under_vagrants_lock(tmp_path):
    """Vagrant rewrites its index in place under an flock on index.lock: a reader that does not
    take that lock can see half a file while another lab boots (seen once on the shared host)."""
    import fcntl
    import threading

    from labgen.hostlabs import _machines

    index = tmp_path / "index"
    index.write_text('{"version": 1, "machines": {"a": {"na')  # a writer is half-way
    with open(tmp_path / "index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        got = []
        reader = threading.Thread(target=lambda: got.append(_machines(index)))
        reader.start()
        reader.join(0.5)
        assert reader.is_alive(), "the reader did not wait for Vagrant's lock"
        index.write_text(json.dumps({"version": 1, "machines": {"a": {"name": "n1"}}}))
        fcntl.flock(lock, fcntl.LOCK_UN)
    reader.join(10)
    assert got == [[{"name": "n1"}]]
