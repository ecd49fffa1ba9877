"""A real classroom on LXC, driven through the CLI: 3 seats of a 2-node base lab.

Proves isolation (across seats fails, within a seat works), student access through the
labgen-run sshd (own seat yes, another seat's key or node no), `classroom exec all`, reset
of one seat, and that `down` leaves nothing: no container, bridge, nft table, account, key
or sshd. One classroom for the module: the fixture brings it up, and its teardown runs
`down` and asserts nothing is left (whatever happened in between). No test depends on
another: a test that changes a seat puts it back, so any order (`--random-order`) or a
single test (`-k`) passes.

Traffic goes only to loopback (the jump sshd) and to the seats' own containers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.classroomenv import assert_classroom_gone, classroom_skip_reason, host_names
from tests.integration.lxcenv import TEST_ROOT, free_port
from tests.runcli import labgen as _labgen
from tests.processes import stop_process

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

reason = classroom_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)

DUO = Path(__file__).resolve().parent.parent / "data" / "labs" / "duo.yml"
ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-classroom")  # beside TEST_ROOT: see lxcenv
NAME = f"crt{os.getpid() % 10000}"
POOL = "192.168.80.0/20"  # seat N: 192.168.(80+N).0/24
PORT = free_port(22000, 29999)
# The classroom's own apt proxy (port and dir), so other labs' proxy on this host is untouched.
PROXY_ENV = {"LABGEN_APTPROXY_PORT": str(free_port(20000, 21999)), "LABGEN_APTPROXY_DIR": str(ROOT) + "-aptproxy"}


def labgen(*args, **kw):
    return _labgen(*args, env=PROXY_ENV, **kw)


def seat_ip(seat: int, node: int) -> str:
    return f"192.168.{80 + seat}.{100 + node}"


def _down_leftovers() -> None:
    if not ROOT.exists():
        return
    for cr in ROOT.iterdir():
        if (cr / "classroom.yml").exists():
            labgen("classroom", "down", "--yes", "--image", "--dir", str(cr), timeout=600)
    shutil.rmtree(ROOT, ignore_errors=True)


class Up:
    """The module's classroom: its dir and what `classroom up` printed."""

    def __init__(self, path: Path, result, seconds: float):
        self.path, self.result, self.seconds = path, result, seconds

    def __fspath__(self):
        return str(self.path)

    def __str__(self):
        return str(self.path)

    def __truediv__(self, other):
        return self.path / other


@pytest.fixture(scope="module")
def cr():
    """3 seats of duo, up for the whole module; teardown: `down`, then nothing may be left."""
    _down_leftovers()
    ROOT.mkdir(parents=True, exist_ok=True)
    path = ROOT / NAME
    names = None
    try:
        began = time.monotonic()
        res = labgen(
            "classroom",
            "up",
            str(DUO),
            "--seats",
            "3",
            "--name",
            NAME,
            "--pool",
            POOL,
            "--ssh-port",
            str(PORT),
            "--ssh-address",
            "127.0.0.1",
            "--dir",
            str(path),
            timeout=900,
        )
        seconds = time.monotonic() - began
        if (path / "classroom.yml").exists():
            names = host_names(path)
        assert res.returncode == 0, res.stdout + res.stderr
        print(f"3 seats up in {seconds:.1f} s")
        yield Up(path, res, seconds)
        # what the tests did must not have removed anything a seat needs
        bridges = [r["bridge"] for r in names.values()]
        assert all(Path("/sys/class/net", b).exists() for b in bridges), bridges
        down = labgen("classroom", "down", "--yes", "--image", "--dir", str(path), timeout=600)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not path.exists()
        assert_classroom_gone(NAME, names, PORT, Path(PROXY_ENV["LABGEN_APTPROXY_DIR"]))
    finally:
        if path.exists():
            labgen("classroom", "down", "--yes", "--image", "--dir", str(path), timeout=600)
        shutil.rmtree(ROOT, ignore_errors=True)
        from labgen import aptproxy

        aptproxy.stop(base=Path(PROXY_ENV["LABGEN_APTPROXY_DIR"]), port=int(PROXY_ENV["LABGEN_APTPROXY_PORT"]))
        shutil.rmtree(PROXY_ENV["LABGEN_APTPROXY_DIR"], ignore_errors=True)


def ssh(*args, timeout=30):
    return subprocess.run(
        ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_bad_input_creates_nothing(tmp_path):
    target = tmp_path / "bad"
    res = labgen(
        "classroom", "up", str(DUO), "--seats", "16", "--name", NAME + "b", "--pool", POOL, "--dir", str(target)
    )
    assert res.returncode == 2 and "holds 15 seat(s)" in res.stderr and "Traceback" not in res.stderr
    assert not target.exists()


def test_up_three_seats_in_parallel(cr):
    assert "3/3 seat(s) up" in cr.result.stdout, cr.result.stdout
    # a seat is an ordinary lab dir
    st = labgen("status", cwd=cr / "seat-02", check=True)
    assert seat_ip(2, 1) in st.stdout and "running" in st.stdout


def test_exec_all_reaches_every_node_of_every_seat(cr):
    res = labgen("classroom", "exec", "all", "--dir", str(cr), "--", "ip -4 -o addr show dev eth1", check=True)
    for seat in (1, 2, 3):
        for node in (1, 2):
            assert re.search(
                rf"^s0{seat} ubuntu-{node} │ .*inet {re.escape(seat_ip(seat, node))}/24", res.stdout, re.M
            ), res.stdout


def test_seats_are_isolated(cr):
    other_eth0 = subprocess.run(
        ["lxc-info", "-n", f"labgen-{NAME}-s02-ubuntu-1", "-iH"], capture_output=True, text=True
    ).stdout.split()
    other_eth0 = next(a for a in other_eth0 if a.startswith("10.0.3."))
    probe = (
        f"ping -c1 -W1 {seat_ip(1, 2)} >/dev/null && echo in-seat-ping-ok; "
        f"timeout 3 bash -c '</dev/tcp/{seat_ip(1, 2)}/22' && echo in-seat-tcp-ok; "
        f"ping -c1 -W1 {seat_ip(2, 1)} >/dev/null && echo cross-ping-LAB; "
        f"timeout 3 bash -c '</dev/tcp/{seat_ip(2, 1)}/22' 2>/dev/null && echo cross-tcp-LAB; "
        f"ping -c1 -W1 {other_eth0} >/dev/null && echo cross-ping-MGMT; "
        f"timeout 3 bash -c '</dev/tcp/{other_eth0}/22' 2>/dev/null && echo cross-tcp-MGMT; "
        f"ip route add {seat_ip(2, 0)}/24 via 192.168.81.1 dev eth1 2>/dev/null; "
        f"ping -c1 -W1 {seat_ip(2, 2)} >/dev/null && echo cross-ping-VIA-HOST; "
        f"ip route del {seat_ip(2, 0)}/24 2>/dev/null; true"
    )
    res = labgen("classroom", "exec", "ubuntu-1", "--seat", "1", "--sudo", "--dir", str(cr), "--", probe, check=True)
    assert "in-seat-ping-ok" in res.stdout and "in-seat-tcp-ok" in res.stdout, res.stdout
    assert not re.search(r"cross-", res.stdout), res.stdout
    assert subprocess.run(["nft", "list", "table", "inet", f"labgen-{NAME}"], capture_output=True).returncode == 0


def test_students_log_in_through_the_jump_to_their_own_seat_only(cr):
    labgen("classroom", "sheets", "--dir", str(cr), check=True)
    s1, s2 = cr / "sheets" / "seat-01", cr / "sheets" / "seat-02"
    assert oct((s1 / "id_ed25519").stat().st_mode & 0o777) == "0o600"
    own = subprocess.run(
        ["ssh", "-F", "ssh_config", "-o", "BatchMode=yes", "ubuntu-2", "hostname; ip -4 -o addr show dev eth1"],
        cwd=s1,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert own.returncode == 0, own.stderr
    assert own.stdout.startswith("ubuntu-2\n") and seat_ip(1, 2) in own.stdout
    jump = (
        f"ssh -o BatchMode=yes -o IdentitiesOnly=yes -o UserKnownHostsFile={s1}/known_hosts "
        f"-o HostKeyAlias={NAME}-jump -p {PORT}"
    )
    node_opts = ["-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    # seat 2's key presented for seat 1's account: refused by the jump
    other_key = ssh(
        *node_opts,
        "-i",
        str(s2 / "id_ed25519"),
        "-o",
        f"ProxyCommand={jump} -i {s2}/id_ed25519 -W %h:%p {NAME}-s01@127.0.0.1",
        f"vagrant@{seat_ip(1, 1)}",
        "hostname",
    )
    assert other_key.returncode != 0 and "Permission denied" in other_key.stderr, other_key.stderr
    # seat 1's account asked for seat 2's node: the jump refuses to open the channel
    other_node = ssh(
        *node_opts,
        "-i",
        str(s1 / "id_ed25519"),
        "-o",
        f"ProxyCommand={jump} -i {s1}/id_ed25519 -W %h:%p {NAME}-s01@127.0.0.1",
        f"vagrant@{seat_ip(2, 1)}",
        "hostname",
    )
    assert other_node.returncode != 0 and "prohibited" in other_node.stderr, other_node.stderr
    # no shell on the jump host: the student's own key logs in, and nologin is all it gets
    shell = subprocess.run(
        ["ssh", "-F", "ssh_config", "-o", "BatchMode=yes", f"{NAME}-jump", "id"],
        cwd=s1,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shell.returncode == 1 and "This account is currently not available." in shell.stdout, (
        shell.returncode,
        shell.stdout,
        shell.stderr,
    )
    assert "uid=" not in shell.stdout


def test_reset_gives_a_fresh_seat_that_the_student_still_reaches(cr):
    labgen(
        "classroom", "exec", "ubuntu-1", "--seat", "3", "--dir", str(cr), "--", "touch /tmp/student-work", check=True
    )
    res = labgen("classroom", "reset", "3", "--yes", "--dir", str(cr), timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    after = labgen(
        "classroom",
        "exec",
        "ubuntu-1",
        "--seat",
        "3",
        "--dir",
        str(cr),
        "--",
        "test -e /tmp/student-work && echo KEPT || echo fresh",
        check=True,
    )
    assert "fresh" in after.stdout
    labgen("classroom", "sheets", "--seat", "3", "--dir", str(cr), check=True)
    login = subprocess.run(
        ["ssh", "-F", "ssh_config", "-o", "BatchMode=yes", "ubuntu-1", "hostname"],
        cwd=cr / "sheets" / "seat-03",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert login.returncode == 0 and login.stdout.strip() == "ubuntu-1", login.stderr


def test_serve_gives_every_seat_its_page_and_the_board_lists_them(cr):
    """`labgen classroom serve` on loopback: each seat's URL opens that seat's page with its
    sheet's login; the board lists every seat; a made-up token is refused."""
    import urllib.error
    import urllib.request

    from tests.runcli import LABGEN

    env = dict(os.environ, COLUMNS="200", NO_COLOR="1", LANG="C.UTF-8", **PROXY_ENV)
    proc = subprocess.Popen(
        [*LABGEN, "classroom", "serve", "--port", "0", "--dir", str(cr)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        urls, deadline = {}, time.monotonic() + 60
        while time.monotonic() < deadline and "board" not in urls:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"(seat seat-\d+|board):\s+(http://127\.0\.0\.1:\d+/\S+)", line)
            if m:
                urls[m.group(1).split()[-1]] = m.group(2)
        assert sorted(urls) == ["board", "seat-01", "seat-02", "seat-03"], urls
        for seat in ("seat-01", "seat-02", "seat-03"):
            page = urllib.request.urlopen(urls[seat], timeout=30).read().decode()
            assert "ssh -F ssh_config ubuntu-1" in page, page[:500]
        board = urllib.request.urlopen(urls["board"], timeout=30).read().decode()
        assert all(seat in board for seat in ("seat-01", "seat-02", "seat-03"))
        base = urls["board"].split("/board/")[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/seat/not-a-token", timeout=30)
        assert refused.value.code in (403, 404)
    finally:
        stop_process(proc, timeout=20)
