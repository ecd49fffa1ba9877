"""Loopback stand-ins for the web terminals, shared by bench/terminals.py and
tests/integration/test_terminal_backpressure.py.

The "nodes" are sshd processes on 127.0.0.1 (root, key only, each with its own TMUX_TMPDIR so
two nodes keep separate tmux servers); the seats are lab dirs on disk whose cached ssh-config
points at them; the server is the real one (create_app under uvicorn with the configuration
`labgen ... serve` uses) in a process of its own, so its memory and CPU can be read from /proc.
Needs root (sshd logs in as root) and openssh-server; tmux on the "node" unless it is hidden.
Everything listens on 127.0.0.1 only; ports are free ones, retried when taken meanwhile.

    with loopback_room(tmp, seats=2, nodes=("node-a", "node-b")) as room:
        room.base, room.seats[0].token, room.server.pid, room.nodes["node-a"].tmux_dir
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.processes import stop_process

REPO = Path(__file__).resolve().parent.parent
INSTRUCTOR = "I" * 32


def sshd_binary() -> str:
    return shutil.which("sshd") or "/usr/sbin/sshd"


def missing() -> str:
    """Why the stand-ins cannot run here ('' when they can)."""
    if os.geteuid() != 0:
        return "needs root (the stand-in sshd logs in as root)"
    if not os.path.exists(sshd_binary()) or not shutil.which("tmux"):
        return "needs openssh-server and tmux (make setup installs them)"
    return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Node:
    name: str
    proc: subprocess.Popen
    port: int
    tmux_dir: Path

    def tmux(self, *args: str) -> subprocess.CompletedProcess:
        """tmux on this node's own server (its TMUX_TMPDIR)."""
        env = {**os.environ, "TMUX_TMPDIR": str(self.tmux_dir)}
        return subprocess.run(["tmux", *args], env=env, capture_output=True, text=True, timeout=30)

    def sessions(self) -> list[int]:
        """Pids of the SSH sessions open on this node: sshd's children (one per connection)."""
        return [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]


def start_sshd(d: Path, name: str, key_pub: Path, *, without_tmux: bool = False) -> Node:
    """A root sshd on 127.0.0.1:<free port>. `without_tmux`: its sessions' PATH lacks tmux, so
    the terminal falls back to a plain login shell (output straight from the PTY, no tmux
    rendering in between). Raises RuntimeError when it does not start."""
    host_key = d / f"{name}_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True, timeout=30)
    tmux_dir = d / f"tmux-{name}"
    tmux_dir.mkdir()
    env_line = f"SetEnv TMUX_TMPDIR={tmux_dir}"
    if without_tmux:
        bin_dir = d / f"bin-{name}"  # the few commands the terminal's wrapper runs before `bash -l`
        bin_dir.mkdir()
        for tool in ("bash", "sh", "id"):
            (bin_dir / tool).symlink_to(shutil.which(tool) or f"/bin/{tool}")
        env_line += f" PATH={bin_dir}"
    log = d / f"{name}.log"
    for _ in range(5):  # a port found free may be taken before sshd binds it: retry
        port = free_port()
        config = d / f"{name}_sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nPidFile {d / name}.pid\n"
            f"AuthorizedKeysFile {key_pub}\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            f"MaxStartups 200\nMaxSessions 200\n{env_line}\n"
        )
        os.makedirs("/run/sshd", exist_ok=True)
        with open(log, "w") as err:
            proc = subprocess.Popen(
                [sshd_binary(), "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=err
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return Node(name, proc, port, tmux_dir)
            except OSError:
                time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    raise RuntimeError(f"sshd {name} did not start: {log.read_text()[-2000:]}")


def stop_node(node: Node) -> None:
    node.tmux("kill-server")
    node.proc.terminate()
    try:
        node.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        node.proc.kill()
        node.proc.wait(timeout=10)


def make_seats(root: Path, count: int, ports: dict, key: Path):
    """`count` lab dirs seat-01... whose ssh-config reaches each node of `ports` as root."""
    from labgen.labdir import LabDir
    from labgen.web.served_seats import seats_from_dirs

    for n in range(1, count + 1):
        lab_dir = LabDir(root / f"seat-{n:02d}")
        lab_dir.meta.mkdir(parents=True)
        lab_dir.save_state({"lab": "bench", "provider": "lxc"})
        lab_dir.labfile.write_text("name: bench\n")  # a lab dir needs one; never loaded here
        lab_dir.save_ssh_config(
            "".join(
                f"Host {node}\n  HostName 127.0.0.1\n  User root\n  Port {port}\n  IdentityFile {key}\n"
                for node, port in ports.items()
            )
        )
    return seats_from_dirs(sorted(root.iterdir()))  # makes each seat's token; the server reads it


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(seat_dirs: list[Path], settings: dict) -> tuple[subprocess.Popen, str]:
    """The real server in a process of its own on a socket bound here (port 0: no race; the
    kernel queues connections until uvicorn accepts them). Returns (process, http base URL)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    args = [sys.executable, "-m", "tests.terminalharness", str(sock.fileno()), json.dumps(settings)]
    with sock:
        proc = subprocess.Popen([*args, *map(str, seat_dirs)], cwd=REPO, pass_fds=[sock.fileno()])
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:  # the first answer (any status) says it has started: its idle memory is measurable
        urllib.request.urlopen(base + "/", timeout=60).close()
    except urllib.error.HTTPError:
        pass
    except OSError:
        stop_process(proc)
        raise
    return proc, base


@dataclass
class Room:
    base: str  # http://127.0.0.1:PORT
    seats: list
    server: subprocess.Popen
    nodes: dict  # name -> Node


@contextlib.contextmanager
def loopback_room(d: Path, seats: int, nodes=("node-a", "node-b"), settings=None, without_tmux=()):
    """Stand-in nodes, `seats` seats reaching all of them, and the server; all stopped after."""
    started: dict[str, Node] = {}
    server = None
    try:
        key = d / "client_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
        for name in nodes:
            started[name] = start_sshd(d, name, key.with_suffix(".pub"), without_tmux=name in without_tmux)
        seat_list = make_seats(d / "seats", seats, {n: node.port for n, node in started.items()}, key)
        server, base = start_server([s.lab_dir.path for s in seat_list], settings or {})
        yield Room(base, seat_list, server, started)
    finally:
        if server is not None:
            stop_process(server)
        for node in started.values():
            stop_node(node)


def _serve(fd: int, settings: str, dirs: list[str]) -> None:
    import uvicorn

    from labgen.web.app import create_app
    from labgen.web.room import Settings
    from labgen.web.served_seats import seats_from_dirs
    from labgen.web.serve import uvicorn_config

    seats = seats_from_dirs([Path(p) for p in dirs])
    app = create_app(seats, INSTRUCTOR, probe_every=0, settings=Settings(**json.loads(settings)))
    uvicorn.Server(uvicorn_config(app)).run(sockets=[socket.socket(fileno=fd)])


if __name__ == "__main__":  # the server process: FD SETTINGS-JSON SEAT-DIR...
    _serve(int(sys.argv[1]), sys.argv[2], sys.argv[3:])
