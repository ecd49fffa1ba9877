"""The web terminal's bridge for real, on loopback: uvicorn serving create_app, a websocket
client, asyncssh to a stand-in "node" (an sshd on 127.0.0.1 with its own TMUX_TMPDIR) and tmux
on it. What the browser module cannot time: the idle timeout closes a silent terminal (and the
shell stays for the next attach), a watch socket types nothing and ends when consent is taken
back. (A flood while the client stops reading: test_terminal_backpressure.py.)"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time

import pytest

from tests import terminalharness as harness

pytestmark = [pytest.mark.root, pytest.mark.slow]

if harness.missing():
    pytest.skip(harness.missing(), allow_module_level=True)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """(ssh-config text, TMUX_TMPDIR) of a root sshd on 127.0.0.1:<free port>."""
    d = tmp_path_factory.mktemp("tm-node")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "client_key")], check=True, timeout=30)
    n1 = harness.start_sshd(d, "n1", d / "client_key.pub")
    try:
        yield (
            f"Host n1\n  HostName 127.0.0.1\n  User root\n  Port {n1.port}\n  IdentityFile {d / 'client_key'}\n",
            n1.tmux_dir,
        )
    finally:
        harness.stop_node(n1)


@pytest.fixture
def server(node, tmp_path):
    import uvicorn

    from labgen.labdir import LabDir
    from labgen.web.app import create_app
    from labgen.web.room import Settings
    from labgen.web.served_seats import seats_from_dirs
    from labgen.web.serve import ws_protocol

    lab_dir = LabDir(tmp_path / f"tmseat{os.getpid()}")
    lab_dir.meta.mkdir(parents=True)
    lab_dir.save_state({"lab": "t", "provider": "lxc"})
    lab_dir.labfile.write_text("name: t\n")
    lab_dir.save_ssh_config(node[0])
    seats = seats_from_dirs([lab_dir.path])
    app = create_app(seats, "I" * 32, probe_every=0, settings=Settings(idle_timeout=3))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws=ws_protocol()))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    base = f"127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield {"base": base, "seat": seats[0], "app": app, "tmux": node[1]}
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        subprocess.run(
            ["tmux", "kill-session", "-t", f"labgen-{seats[0].name}"],
            env={**os.environ, "TMUX_TMPDIR": str(node[1])},
            capture_output=True,
            timeout=30,
        )


def connect(server, path):
    from websockets.sync.client import connect as ws_connect

    return ws_connect(
        f"ws://{server['base']}{path}",
        origin=f"http://{server['base']}",
        open_timeout=20,
        ping_interval=None,
        max_size=None,
    )


def read_until(ws, text: bytes, seconds: float = 20) -> bytes:
    """What the terminal sent until `text` appeared (the last 64 KiB of it: a flood is long)."""
    got, deadline = b"", time.monotonic() + seconds
    while text not in got:
        left = deadline - time.monotonic()
        assert left > 0, f"{text!r} not seen in {got[-500:]!r}"
        frame = ws.recv(timeout=left)
        got = (got + (frame if isinstance(frame, bytes) else frame.encode()))[-65536:]
    return got


def test_a_silent_terminal_closes_after_the_idle_timeout_and_the_shell_stays(server):
    from websockets.exceptions import ConnectionClosed

    seat = server["seat"]
    with connect(server, f"/seat/{seat.token}/term/n1") as ws:
        ws.send(b"export KEEP=$((6*7)); echo set-$KEEP\r")
        read_until(ws, b"set-42")
        began = time.monotonic()
        got = read_until(ws, b"without a keystroke", seconds=15)
        assert b"closed after" in got
        with pytest.raises(ConnectionClosed):
            while time.monotonic() - began < 15:
                ws.recv(timeout=15)
    # the shell lived on in tmux: a new terminal is the same shell
    with connect(server, f"/seat/{seat.token}/term/n1") as ws:
        ws.send(b"echo again-$KEEP\r")
        read_until(ws, b"again-42")


def test_a_watch_types_nothing_and_ends_when_consent_is_taken_back(server):
    from websockets.exceptions import ConnectionClosed

    seat = server["seat"]
    with connect(server, f"/seat/{seat.token}/term/n1") as student:
        student.send(b"echo ready-$((1+1))\r")
        read_until(student, b"ready-2")
        _post_consent(server, allow=True)
        with connect(server, f"/board/{'I' * 32}/watch/{seat.name}/n1") as watch:
            student.send(b"echo seen-$((2+2))\r")
            read_until(watch, b"seen-4")
            watch.send(b"echo typed-by-watcher-$((3+3))\r")
            student.send(b"echo mine-$((4+4))\r")
            got = read_until(student, b"mine-8")
            assert b"typed-by-watcher-6" not in got
            _post_consent(server, allow=False)  # the student takes it back
            with pytest.raises(ConnectionClosed):
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    watch.recv(timeout=10)


def _post_consent(server, allow: bool) -> None:
    """The student's consent form, as their page posts it (token, same origin)."""
    import urllib.parse
    import urllib.request

    seat = server["seat"]
    body = urllib.parse.urlencode({"token": seat.token, "allow": "1" if allow else "0"}).encode()
    request = urllib.request.Request(
        f"http://{server['base']}/seat/{seat.name}/consent",
        data=body,
        headers={"Origin": f"http://{server['base']}", "X-Labgen-Token": seat.token},
    )
    with urllib.request.urlopen(request, timeout=10) as res:
        assert res.status == 204
