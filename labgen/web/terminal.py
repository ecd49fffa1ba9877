"""A terminal per node in the browser: a websocket bridged to an SSH session on the seat's node.

The shell lives on the node in a tmux session named after the seat, so a reload or a dropped
connection re-attaches to it (same shell, same screen). The server logs in as the lab's SSH
user (the one the access sheet gives; sudo works), with the key from the lab's ssh-config:
asyncssh, so that 60 terminals are 60 coroutines, not 60 threads.

Wire format: the browser sends keystrokes as binary frames and `{"resize": [cols, rows]}` as
text; the server sends the terminal's output as binary frames.

Bounds: a seat's token and this page's origin, or the handshake gets 403 and no byte; only the
seat's own nodes (names from its lab's ssh-config); at most Settings.max_terminals sessions a
seat; closed after Settings.idle_timeout without a keystroke; the SSH channel's window
(Settings.window) caps what a session buffers, and output is read only as fast as the browser
takes it, so a flood in a terminal whose browser stops reading costs the server no memory and
no other terminal waits (tests/integration/test_terminal_backpressure.py). The flood goes on
on the node: tmux keeps reading the pane and redraws the screen once the browser takes output
again; a plain shell's writer blocks. Before that, the kernel's socket buffers hold what was
sent (a compressed `yes` is ~200-fold smaller: minutes of it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shlex

import asyncssh
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from labgen.web.http import board_ok, same_origin, seat_by_token

log = logging.getLogger("labgen.web")
READ = 32 * 1024
MAX_INPUT = 64 * 1024  # one paste


def session_name(seat_name: str) -> str:
    return "labgen-" + re.sub(r"[^A-Za-z0-9_-]", "_", seat_name)


def shell_command(seat_name: str) -> str:
    """Attach to (or make) the seat's tmux session; a plain login shell where tmux is missing."""
    s = shlex.quote(session_name(seat_name))
    return (
        "export LANG=C.UTF-8; "
        "if command -v tmux >/dev/null 2>&1; then "
        f"exec tmux -u -f /dev/null new-session -A -s {s} \\; set-option status off "
        "\\; set-option -s escape-time 0; "
        "else exec bash -l; fi"
    )


def watch_command(seat_name: str, wait_seconds: int) -> str:
    """Attach read-only (and without resizing the student's window) once the session exists."""
    s = shlex.quote(session_name(seat_name))
    return (
        "export LANG=C.UTF-8; n=0; "
        f"while ! tmux has-session -t {s} 2>/dev/null; do "
        "[ $n -eq 0 ] && printf '[labgen] waiting for the student to open this terminal...\\r\\n'; "
        f"n=$((n+1)); [ $n -gt {int(wait_seconds)} ] && exit 0; sleep 1; done; "
        f"exec tmux -u attach-session -t {s} -f read-only,ignore-size"
    )


def _size(params) -> tuple[int, int]:
    def clamp(value, default, lo, hi):
        try:
            return max(lo, min(hi, int(value)))
        except (TypeError, ValueError):
            return default

    return clamp(params.get("cols"), 80, 10, 500), clamp(params.get("rows"), 24, 4, 200)


async def _connect(seat, node: str):
    """An asyncssh connection to the node; the address is asked again from Vagrant once when
    the cached one does not answer. Raises OSError/asyncssh.Error when it cannot be made."""

    async def attempt(hosts):
        h = hosts[node]
        return await asyncssh.connect(
            h.get("hostname", node),
            port=int(h.get("port", 22)),
            username=h.get("user", "vagrant"),
            client_keys=[h["identityfile"]] if "identityfile" in h else None,
            known_hosts=None,
            agent_path=None,
            connect_timeout=10,
            keepalive_interval=30,
        )

    try:
        return await attempt(seat.ssh_hosts())
    except (OSError, asyncssh.Error):
        hosts = await run_in_threadpool(seat.ssh_hosts, node)
        return await attempt(hosts)


async def bridge(
    websocket, seat, node: str, command: str, settings, *, read_only: bool, stop: asyncio.Event | None = None
) -> None:
    """Join an accepted websocket to `command` run in a PTY on `node` until either side ends,
    the idle timeout passes, or `stop` is set."""
    cols, rows = _size(websocket.query_params)
    try:
        conn = await _connect(seat, node)
    except (OSError, asyncssh.Error, KeyError) as exc:
        log.warning("seat %s: terminal to %s: %s", seat.name, node, exc)
        try:
            await websocket.send_bytes(f"\r\n[labgen] cannot reach {node}: tell your instructor\r\n".encode())
        except Exception:  # noqa: BLE001 - the browser may be gone already
            pass
        await _close(websocket, 1011)
        return
    async with conn:
        proc = await conn.create_process(
            command, term_type="xterm-256color", term_size=(cols, rows), encoding=None, window=settings.window
        )

        async def output():
            while True:
                data = await proc.stdout.read(READ)
                if not data:
                    return
                await websocket.send_bytes(data)  # waits while the browser is behind

        async def keys():
            while True:
                try:
                    message = await asyncio.wait_for(websocket.receive(), None if read_only else settings.idle_timeout)
                except asyncio.TimeoutError:
                    minutes = round(settings.idle_timeout / 60)
                    await websocket.send_bytes(
                        f"\r\n[labgen] closed after {minutes} min without a "
                        "keystroke: reload the page to go on\r\n".encode()
                    )
                    return
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text"):
                    try:
                        resize = json.loads(message["text"]).get("resize")
                        proc.change_terminal_size(*_size({"cols": resize[0], "rows": resize[1]}))
                    except (ValueError, TypeError, AttributeError, IndexError):
                        pass
                elif message.get("bytes") and not read_only:
                    proc.stdin.write(message["bytes"][:MAX_INPUT])
                    await proc.stdin.drain()

        tasks = [asyncio.ensure_future(output()), asyncio.ensure_future(keys())]
        if stop is not None:
            tasks.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            proc.close()
    await _close(websocket)


async def _close(websocket, code: int = 1000) -> None:
    """Close the websocket unless the browser went first (then there is nothing to close)."""
    if websocket.application_state == WebSocketState.DISCONNECTED:
        return
    try:
        await websocket.close(code=code)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass


async def terminal(websocket):
    """/seat/{token}/term/{node}: the student's own terminal."""
    state = websocket.app.state
    seat = seat_by_token(state, websocket.path_params["token"])
    node = websocket.path_params["node"]
    settings = state.room.settings
    if seat is None or not same_origin(websocket) or node not in seat.node_names():
        await websocket.close(code=1008)  # before accept(): the handshake gets 403
        return
    live = state.room.live[seat.name]
    if live.terminals >= settings.max_terminals:
        await websocket.close(code=1008)
        return
    live.terminals += 1
    try:
        await websocket.accept()
        await bridge(websocket, seat, node, shell_command(seat.name), settings, read_only=False)
    finally:
        live.terminals -= 1


async def watch(websocket):
    """/board/{token}/watch/{seat}/{node}: a read-only view of a seat's terminal, only while
    its student allows it."""
    state = websocket.app.state
    seat = state.by_name.get(websocket.path_params["name"])
    node = websocket.path_params["node"]
    if (
        not board_ok(state, websocket.path_params["token"])
        or not same_origin(websocket)
        or seat is None
        or node not in seat.node_names()
        or not state.room.live[seat.name].consent
        or len(state.room.live[seat.name].watchers) >= state.room.settings.max_terminals
    ):
        await websocket.close(code=1008)
        return
    stop = state.room.watch_started(seat.name)
    try:
        await websocket.accept()
        await bridge(
            websocket,
            seat,
            node,
            watch_command(seat.name, int(state.room.settings.idle_timeout)),
            state.room.settings,
            read_only=True,
            stop=stop,
        )
    finally:
        state.room.watch_ended(seat.name, stop)
