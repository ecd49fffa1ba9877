"""The instructor's side: the board, its rows as JSON, the CSV, and what the board does to a
seat (reset, catch up to a step, a message or the next hint, watch its terminal)."""

from __future__ import annotations

import logging
import time

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from labgen.errors import LabgenError
from labgen.web.http import board_ok, form_token, headers, page, pick_lang, refuse, same_origin
from labgen.web.served_seats import Busy
from labgen.web.views import board_rows, fresh, results_csv

log = logging.getLogger("labgen.web")
MAX_MESSAGE = 500


async def _rows(state, lang: str) -> list[dict]:
    """The board's rows: at once from the seats' cached state, in a thread when a seat must be
    read again (files, the node probe)."""
    if fresh(state.seats):
        return board_rows(state, lang)
    return await run_in_threadpool(board_rows, state, lang)


async def board_page(request):
    state = request.app.state
    if not board_ok(state, request.path_params["token"]):
        return refuse(request, 403, "forbidden")
    lang = pick_lang(request)
    rows = await _rows(state, lang)
    return page(request, "board.html", rows=rows, token=state.instructor, settings=state.room.settings)


async def board_json(request):
    state = request.app.state
    if not board_ok(state, request.path_params["token"]):
        return refuse(request, 403, "forbidden")
    lang = pick_lang(request)
    rows = await _rows(state, lang)
    return JSONResponse({"rows": rows, "now": time.time()}, headers=headers())


async def board_csv(request):
    state = request.app.state
    if not board_ok(state, request.path_params["token"]):
        return refuse(request, 403, "forbidden")
    text = await run_in_threadpool(results_csv, state.seats)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={**headers(), "Content-Disposition": 'attachment; filename="results.csv"'},
    )


async def _board_post(request):
    """The form of a POST carrying the instructor's token (in the path and the form) from this
    site, or a refusal."""
    state = request.app.state
    token, form = await form_token(request)
    if not board_ok(state, request.path_params["token"]) or not board_ok(state, token):
        return None, refuse(request, 403, "forbidden")
    if not same_origin(request):
        return None, refuse(request, 403, "cross_site")
    return form, None


def _back(state):
    return RedirectResponse(f"/board/{state.instructor}", status_code=303, headers=headers())


async def board_reset(request):
    """Reset a seat to the start of its scenario, or with step=ID catch it up to that step
    (cleanup, then the steps before it replayed, tasks by their solution)."""
    state = request.app.state
    form, refusal = await _board_post(request)
    if refusal is not None:
        return refusal
    seat = state.by_name.get(request.path_params["name"])
    if seat is None:
        return refuse(request, 404, "not_found")
    to = str(form.get("step") or "") or None
    try:
        await run_in_threadpool(seat.act, "reset", to)
    except (Busy, LabgenError) as exc:
        log.warning("seat %s: reset%s failed: %s", seat.name, f" to {to}" if to else "", exc.message)
    else:
        if to:
            state.room.post(
                seat.name,
                "notice",
                f"Your instructor brought your lab to step {to}.",
                f"老师已把你的实验环境推进到步骤 {to}。",
            )
    return _back(state)


async def board_message(request):
    """A message, or the next hint (hint=1), to one seat or every seat (seat=all)."""
    state = request.app.state
    form, refusal = await _board_post(request)
    if refusal is not None:
        return refusal
    target = str(form.get("seat") or "all")
    seats = state.seats if target == "all" else [s for s in state.seats if s.name == target]
    if not seats:
        return refuse(request, 404, "not_found")
    text = str(form.get("text") or "").strip()[:MAX_MESSAGE]
    if form.get("hint") == "1":
        for seat in seats:
            try:
                shown = await run_in_threadpool(_next_hint, seat)
            except (Busy, LabgenError) as exc:
                log.warning("seat %s: hint failed: %s", seat.name, exc.message)
                continue
            if shown is not None:
                state.room.post(seat.name, "hint", *shown)
    elif text:
        for seat in seats:
            state.room.post(seat.name, "message", text)
    return _back(state)


def _next_hint(seat) -> tuple[str, str] | None:
    """Reveal the seat's next hint; (English, Chinese) with its variables filled in."""
    number, total, hint = seat.act("hint")
    if hint is None:
        return None
    ch = seat.challenge()
    return (f"Hint {number}/{total}: {ch.text(hint, 'en')}", f"提示 {number}/{total}：{ch.text(hint, 'zh')}")


async def watch_page(request):
    state = request.app.state
    if not board_ok(state, request.path_params["token"]):
        return refuse(request, 403, "forbidden")
    seat = state.by_name.get(request.path_params["name"])
    if seat is None:
        return refuse(request, 404, "not_found")
    return page(
        request,
        "watch.html",
        token=state.instructor,
        seat=seat.name,
        nodes=seat.node_names(),
        consent=state.room.live[seat.name].consent,
        terminals=state.terminals,
    )
