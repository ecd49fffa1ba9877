"""Run the web application with uvicorn on a socket we bind ourselves (so port 0 works and
the caller can say where it listens before the first request)."""

from __future__ import annotations

import socket
from typing import Callable

from labgen.errors import LabgenError


def serve(seats, instructor: str, host: str, port: int,
          on_listening: Callable[[str], None]) -> None:
    """Serve until interrupted. `on_listening` gets the base URL once the socket is bound.
    Raises LabgenError when the address cannot be bound."""
    import uvicorn

    from labgen.web.app import create_app

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise LabgenError(f"cannot listen on {host}:{port}: {exc.strerror}",
                          hint="choose another --port, or stop what uses it") from None
    sock.listen(64)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    on_listening(f"http://{shown}:{bound_port}")
    config = uvicorn.Config(create_app(seats, instructor), log_level="warning", access_log=False,
                            lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
