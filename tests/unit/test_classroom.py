"""Classroom logic that needs no host: names, addressing, seat lab files, rules, access
lines, student files. (The real thing runs in tests/integration/test_classroom_lxc.py.)"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from labgen.classroom import access, isolation, sheets
from labgen.classroom.layout import (
    DEFAULT_POOL,
    Classroom,
    check_request,
    max_seats,
    parse_seat_list,
    seat_lab_text,
    seat_network,
)
from labgen.errors import InputError
from labgen.labfile import load_lab
from labgen.yamlsrc import load_text

DUO = Path(__file__).resolve().parent.parent / "data" / "labs" / "duo.yml"
POOL = ipaddress.IPv4Network("192.168.80.0/20")


def classroom(**kw):
    base = dict(
        name="cr1",
        lab=str(DUO),
        seats=3,
        pool=POOL,
        provider="lxc",
        ssh_port=2299,
        ssh_address="127.0.0.1",
        path=Path("/tmp/cr1"),
    )
    base.update(kw)
    return Classroom(**base)


def test_seat_n_gets_the_pools_nth_subnet():
    assert str(seat_network(POOL, 24, 1)) == "192.168.81.0/24"
    assert str(seat_network(DEFAULT_POOL, 24, 7)) == "10.56.7.0/24"
    assert max_seats(POOL, 24) == 15 and max_seats(DEFAULT_POOL, 24) == 63


def test_seat_lab_file_keeps_host_parts_and_names_the_instance():
    from labgen.labfile import parse_lab

    lab = load_lab(DUO)
    raw = yaml.safe_load(DUO.read_text())
    text = seat_lab_text(raw, lab, classroom(), 2)
    seat = parse_lab(load_text(text, "seat.yml"), "seat.yml")
    assert seat.name == "duo" and seat.instance == "cr1-s02"
    assert [str(n.ip) for n in seat.nodes] == ["192.168.82.101", "192.168.82.102"]
    assert str(seat.host_ip) == "192.168.82.1"


def test_seat_names_do_not_collide_across_seats_or_classrooms():
    from dataclasses import replace

    from labgen.providers.lxc import PROVIDER, bridge_name, mgmt_veth_name

    lab = load_lab(DUO)
    names = set()
    for cr in ("cr1", "cr2"):
        for s in (1, 2, 3):
            seat = replace(lab, instance=f"{cr}-s{s:02d}", network=seat_network(POOL, 24, s))
            got = (bridge_name(seat), mgmt_veth_name(seat, "ubuntu-1"), PROVIDER.machine_name(seat, "ubuntu-1"))
            assert all(len(n) <= 15 for n in got[:2])
            names.update(got)
    assert len(names) == 18


@pytest.mark.parametrize(
    "name, seats, pool, message",
    [
        ("cr1", 0, "192.168.80.0/20", "--seats 0 is out of range"),
        ("cr1", 16, "192.168.80.0/20", "holds 15 seat(s) of the lab's /24 network, not 16"),
        ("Cr1", 2, "192.168.80.0/20", "must start with a lowercase letter"),
        ("cr1", 2, "8.8.0.0/16", "is not a private network"),
        ("cr1", 2, "172.32.0.0/16", "overlaps the lab's calico_pool"),
        ("crverylongname", 2, "192.168.80.0/20", "at most 12"),
    ],
)
def test_bad_requests_are_one_line_errors(name, seats, pool, message):
    from dataclasses import replace

    lab = replace(load_lab(DUO), params={"calico_pool": "172.32.0.0/16"})
    with pytest.raises(InputError) as err:
        check_request(name, seats, ipaddress.IPv4Network(pool), lab)
    assert any(message in p for p in err.value.problems), err.value.problems


def test_seat_lists():
    assert parse_seat_list("1,4-6", 8) == [1, 4, 5, 6]
    assert parse_seat_list("all", 3) == [1, 2, 3]
    for bad in ("0", "9", "3-1", "x", "1;2"):
        with pytest.raises(InputError):
            parse_seat_list(bad, 8)


def test_isolation_ruleset_replaces_its_own_tables_only():
    script = isolation.ruleset("cr1", ["lgbra", "lgbrb"], ["lgm1", "lgm2"])
    assert script.startswith("table inet labgen-cr1\ndelete table inet labgen-cr1\n")
    assert 'oifname "lgbra" iifname != "lgbra" drop' in script
    assert 'iifname "lgbrb" oifname != "lgbrb" drop' in script
    assert 'iifname { "lgm1", "lgm2" } drop' in script
    assert "flush ruleset" not in script


def test_authorized_line_restricts_to_the_seats_nodes():
    line = access.authorized_line("ssh-ed25519 AAAAC3 seat", ["10.56.3.101", "10.56.3.102"])
    assert line == (
        'restrict,port-forwarding,permitopen="10.56.3.101:22",permitopen="10.56.3.102:22",'
        'command="/usr/sbin/nologin" ssh-ed25519 AAAAC3 seat\n'
    )


def test_sshd_config_is_keys_only_and_reads_labgens_keys():
    text = access.sshd_config("cr1", 2299)
    for want in (
        "Port 2299",
        "PasswordAuthentication no",
        "PermitRootLogin no",
        "AllowUsers cr1-s*",
        "AuthorizedKeysFile /var/lib/labgen/classrooms/cr1/authorized_keys/%u",
        "PermitTTY no",
        "AllowTcpForwarding local",
        "UsePAM no",
    ):
        assert want in text.splitlines(), want


def test_student_ssh_config_jumps_through_the_seat_account():
    text = sheets.ssh_config_text(classroom(), 2, [("ubuntu-1", "192.168.82.101")])
    assert "Host cr1-jump\n  HostName 127.0.0.1\n  Port 2299\n  User cr1-s02\n" in text
    assert "Host ubuntu-1\n  HostName 192.168.82.101\n  User vagrant\n  ProxyJump cr1-jump\n" in text
    assert sheets.known_hosts_text(classroom(), "ssh-ed25519 AAAA host") == "cr1-jump ssh-ed25519 AAAA\n"


def test_sheet_names_the_seat_in_both_languages():
    html = sheets.sheet_html(classroom(), 2, "duo", [("ubuntu-1", "192.168.82.101")])
    assert "Seat 2 · 座位 2" in html and "如何登录" in html and "How to log in" in html
    assert "ssh -F ssh_config ubuntu-1" in html and "cr1-s02" in html
    assert "<script" not in html


def test_pool_overlapping_a_host_route_or_another_classroom_is_refused(monkeypatch):
    from labgen.classroom import hostcheck

    monkeypatch.setattr(
        hostcheck,
        "host_routes",
        lambda: [
            (ipaddress.IPv4Network("192.168.84.0/24"), "eth1"),
            (ipaddress.IPv4Network("192.168.81.0/24"), "lgbrown"),
        ],
    )
    with pytest.raises(InputError, match=r"overlaps 192\.168\.84\.0/24 on eth1"):
        hostcheck.check_pool(POOL, own_devices={"lgbrown"})
    hostcheck.check_pool(ipaddress.IPv4Network("192.168.96.0/20"), own_devices=set())
    with pytest.raises(InputError, match="of classroom cr9"):
        hostcheck.check_pool(
            ipaddress.IPv4Network("10.56.0.0/18"), set(), [("cr9", ipaddress.IPv4Network("10.56.32.0/19"))]
        )


def test_capacity_error_gives_the_numbers(monkeypatch, tmp_path):
    from labgen.classroom import hostcheck
    from labgen.errors import PreflightError

    from labgen.labfile import load_lab

    lab = load_lab(DUO)  # two base nodes: 2 × 16 MiB a seat
    monkeypatch.setattr(hostcheck, "mem_available_mib", lambda: 1000)
    with pytest.raises(
        PreflightError,
        match=r"20 × 32 MiB \(an idle seat of duo, by its roles\) \+ 512 MiB "
        r"headroom = 1152 MiB, the host has 1000 MiB available",
    ):
        hostcheck.check_capacity(lab, 20, tmp_path)


def test_seat_memory_comes_from_the_roles_of_its_nodes():
    from labgen.classroom import hostcheck
    from labgen.labfile import find_lab, load_lab

    lab = load_lab(find_lab("mesos-calico"))
    # 3 nodes × 16 + etcd, zookeeper, docker, calico on each + the master's three roles
    want = 3 * (16 + 32 + 80 + 80 + 64) + 0 + 160 + 384 + 16 + 2 * 128
    assert hostcheck.seat_memory_mib(lab) == want
    # on Debian 12 (the LXC box) only base, etcd, zookeeper and docker run
    assert hostcheck.seat_memory_mib(lab, hostcheck.roles_that_run(lab, "debian-12")) == 3 * (16 + 32 + 80 + 80)
    # a clone: its journal (capped) and etcd's data on each node (its WAL is sparse in a clone)
    assert hostcheck.seat_disk_mib(lab) == 3 * (hostcheck.CLONE_DISK_MIB + 16) <= 3 * 50
    assert hostcheck.seat_disk_mib(lab, cloned=False) == hostcheck.image_disk_mib(lab) > 3 * 350


def test_cli_bad_input_is_one_line_and_creates_nothing(tmp_path):
    from tests.runcli import labgen

    target = tmp_path / "cr1"
    for args, message in (
        (["--seats", "99", "--pool", "192.168.80.0/20"], "holds 15 seat(s)"),
        (["--seats", "0"], "--seats 0 is out of range"),
        (["--seats", "2", "--pool", "10.56.0.0/33"], "is not a network address"),
        (["--seats", "2", "--name", "Bad_Name"], "must start with a lowercase letter"),
    ):
        res = labgen("classroom", "up", str(DUO), "--name", "cr1", *args, "--dir", str(target))
        assert res.returncode == 2, res.stderr
        assert res.stderr.startswith("error: ") and message in res.stderr and "Traceback" not in res.stderr
        assert not target.exists()
    res = labgen("classroom", "status", cwd=tmp_path)
    assert res.returncode == 1 and "no classroom in" in res.stderr


def test_a_seats_finished_run_leaves_its_handout_state_and_outcome(tmp_path):
    # `classroom scenario run` ends each seat here (issue 14: it imported write_handout from a
    # module that no longer has it, so every seat's run crashed after the steps had run)
    from labgen.classroom.ops import seat_run_finished
    from labgen.labdir import LabDir
    from tests.unit.test_transcript import make_record

    ld = LabDir(tmp_path / "seat-1")
    ok = seat_run_finished(1, ld, make_record(failing=False), began=0.0)
    assert (ok.seat, ok.ok, ok.detail) == (1, True, "4/4 steps passed")
    assert sorted(p.name for p in ld.transcripts.glob("mac-bug-*") if p.suffix != ".svg") == [
        "mac-bug-20240501-103000.html",
        "mac-bug-20240501-103000.json",
        "mac-bug-20240501-103000.md",
    ]
    assert ld.load_state()["classroom_scenario"] == {
        "id": "mac-bug",
        "passed": True,
        "steps": 4,
        "of": 4,
        "last": "break-mac",
        "waiting": None,
    }

    bad = seat_run_finished(2, LabDir(tmp_path / "seat-2"), make_record(failing=True), began=0.0)
    assert (bad.ok, bad.detail) == (False, "step break-mac: exit status was 0; expected non-zero")
    assert LabDir(tmp_path / "seat-2").load_state()["classroom_scenario"]["steps"] == 3


def test_scenario_run_to_a_task_with_from_is_refused_before_any_seat_is_touched(tmp_path):
    """`classroom scenario run --to TASK` prepares seats from the first step (they wait at the
    task); a --from with it would skip the setup the task needs, so it is refused as bad input."""
    from labgen.classroom import ops
    from labgen.errors import LabgenError
    from labgen.labfile import find_lab

    (tmp_path / ops.LAB_COPY).write_text(Path(find_lab("mesos-calico")).read_text())
    c = classroom(lab="mesos-calico", path=tmp_path, seats=1)
    touched = []
    with pytest.raises(LabgenError) as exc:
        ops.scenario_run(
            c,
            [1],
            "mac-bug",
            lambda seat, text: touched.append(text),
            variant="challenge",
            start="break-mac",
            stop="make-them-talk",
        )
    assert exc.value.message == "--from cannot be used with --to a task or question"
    assert exc.value.exit_code == 2 and touched == [] and not (tmp_path / "seat-01").exists()
