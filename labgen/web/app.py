"""The classroom web application: a page per seat (with a terminal per node) and a live board
for the instructor.

Starlette, Jinja2 templates, one small static script per page, xterm.js for terminals (from
npm, copied into static/vendor/ by `make web-assets`).

Who may do what:
- `/seat/<seat token>`: that seat's page, its live news, its topology picture and its
  terminals (`/seat/<token>/term/<node>`, websockets). Its actions are POSTs to
  `/seat/<seat name>/<action>` carrying the token in the form (or the X-Labgen-Token header);
  another seat's token gets 403.
- `/board/<instructor token>`: the board, its rows as JSON (polled by the page), the CSV, and
  POSTs carrying the instructor token: reset or catch up a seat, a message or a hint; the
  watch page of a seat whose student allowed it.
- Every POST and websocket must also come from this origin (web/http.py).

Server state lives on app.state: the seats (each loads its scenario and lab once), the
instructor token, the templates, the live room (web/room.py) and the topology pictures.
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from labgen.web import board_routes, seat_routes, terminal
from labgen.web.http import pick_lang, refuse
from labgen.web.room import Room, Settings
from labgen.web.served_seats import Seat
from labgen.web.views import results_csv

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "static" / "vendor"
log = logging.getLogger("labgen.web")

__all__ = ["create_app", "pick_lang", "results_csv", "terminals_available"]


def terminals_available() -> bool:
    """True when xterm.js is where the pages load it from (`make web-assets` copies it)."""
    return all((VENDOR / name).is_file() for name in ("xterm.js", "xterm.css", "addon-fit.js"))


async def root(request):
    return refuse(request, 404, "not_found")


ROUTES = [
    Route("/", root),
    Route("/seat/{token}", seat_routes.seat_page),
    Route("/seat/{token}/live.json", seat_routes.seat_live),
    Route("/seat/{token}/topology.svg", seat_routes.seat_topology),
    WebSocketRoute("/seat/{token}/term/{node}", terminal.terminal),
    Route("/seat/{name}/consent", seat_routes.seat_consent, methods=["POST"]),
    Route("/seat/{name}/{action}", seat_routes.seat_action, methods=["POST"]),
    Route("/board/{token}", board_routes.board_page),
    Route("/board/{token}/rows.json", board_routes.board_json),
    Route("/board/{token}/results.csv", board_routes.board_csv),
    Route("/board/{token}/reset/{name}", board_routes.board_reset, methods=["POST"]),
    Route("/board/{token}/message", board_routes.board_message, methods=["POST"]),
    Route("/board/{token}/watch/{name}", board_routes.watch_page),
    WebSocketRoute("/board/{token}/watch/{name}/{node}", terminal.watch),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]


def _prober(seats: list[Seat], every: float, stop: threading.Event) -> None:
    """Count each seat's nodes that answer, for the board, without slowing any request."""
    first = True
    while not stop.wait(0 if first else every):
        first = False
        for seat in seats:
            if stop.is_set():
                return
            seat.probe()


@asynccontextmanager
async def lifespan(app):
    state = app.state
    stop = threading.Event()
    if state.probe_every > 0:
        threading.Thread(
            target=_prober, args=(state.seats, state.probe_every, stop), name="labgen-probe", daemon=True
        ).start()
    if not state.terminals:
        log.warning("xterm.js is missing from %s: seat pages show no terminal (run `make web-assets`)", VENDOR)
    yield
    stop.set()
    for seat in state.seats:
        seat.drop_remote()


def create_app(
    seats: list[Seat], instructor: str, probe_every: float = 15.0, settings: Settings | None = None
) -> Starlette:
    """The ASGI app for `seats`, with `instructor` as the board's token."""
    app = Starlette(routes=ROUTES, lifespan=lifespan)
    state = app.state
    state.seats = list(seats)
    state.by_name = {s.name: s for s in seats}
    state.instructor = instructor
    state.probe_every = probe_every
    state.templates = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    state.room = Room(state.by_name, settings or Settings())
    state.pictures = {}
    state.terminals = terminals_available()
    return app
