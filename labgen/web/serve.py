"""Run the web application with uvicorn on a socket we bind ourselves (so port 0 works and
the caller can say where it listens before the first request)."""

from __future__ import annotations

import importlib.util
import socket
from typing import Callable

import uvicorn

from labgen.errors import LabgenError
from labgen.web.app import create_app
from labgen.web.served_seats import instructor_token, is_loopback, seats_from_dirs


def ws_protocol() -> str:
    """uvicorn's websocket implementation on the `websockets` library: the sans-I/O one where
    this uvicorn has it (the older one is deprecated). Both wait for the socket to drain before
    the next send, which is what bounds a terminal's buffered output."""
    found = importlib.util.find_spec("uvicorn.protocols.websockets.websockets_sansio_impl")
    return "websockets-sansio" if found is not None else "websockets"


def serve(seats, instructor: str, host: str, port: int, on_listening: Callable[[str], None], settings=None) -> None:
    """Serve until interrupted. `on_listening` gets the base URL once the socket is bound.
    Raises LabgenError when the address cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise LabgenError(
            f"cannot listen on {host}:{port}: {exc.strerror}", hint="choose another --port, or stop what uses it"
        ) from None
    sock.listen(64)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    on_listening(f"http://{shown}:{bound_port}")
    uvicorn.Server(uvicorn_config(create_app(seats, instructor, settings=settings))).run(sockets=[sock])


def uvicorn_config(app) -> uvicorn.Config:
    """How the serve commands run `app` (tests/terminalharness.py runs it the same way)."""
    # ws_max_size: one websocket message at most (a paste); ping keeps idle tabs' proxies open
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws=ws_protocol(),
        ws_max_size=1 << 20,
        ws_ping_interval=20,
        ws_ping_timeout=20,
    )


def serve_labs(
    paths,
    host: str,
    port: int,
    min_interval: float,
    say: Callable[[str], None],
    logins: dict | None = None,
    settings=None,
) -> None:
    """Serve these lab dirs as seats (what `labgen scenario serve` and a classroom's serve
    call): tokens from each lab's .labgen/, the instructor's beside the first seat. `say` gets
    the lines to show the instructor (where it listens, each seat's URL, the board's).
    `logins`: seat name -> how its student logs in (default: `labgen ssh NODE --dir ...`)."""
    seats = seats_from_dirs(list(paths))
    for seat in seats:
        seat.min_interval = min_interval
        if logins and seat.name in logins:
            seat.login = logins[seat.name]
    token = instructor_token(seats[0].lab_dir.meta / "instructor-token")
    if not is_loopback(host):
        say(f"warning: listening on {host}: anyone who can reach it and has a link can use it")

    def listening(base):
        say(f"listening on {base}  (Ctrl-C stops)")
        for seat in seats:
            say(f"  seat {seat.name}: {base}/seat/{seat.token}")
        say(f"  board:  {base}/board/{token}")

    serve(seats, token, host, port, listening, settings)
