"""The student's side: the seat page, its actions, its live news (messages, being watched),
the consent to be watched, and the lab's topology picture."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from labgen.errors import LabgenError
from labgen.graph import lab_svg
from labgen.labfile import load_lab
from labgen.web.http import form_token, headers, page, pick_lang, refuse, same_origin, same_token, seat_by_token
from labgen.web.served_seats import Busy
from labgen.web.views import fresh, seat_view
from labgen.web.words import WORDS

log = logging.getLogger("labgen.web")


async def seat_page(request):
    state = request.app.state
    seat = seat_by_token(state, request.path_params["token"])
    if seat is None:
        return refuse(request, 403, "forbidden")
    lang = pick_lang(request)
    view = seat_view(seat, lang) if fresh([seat]) else await run_in_threadpool(seat_view, seat, lang)
    notice = request.query_params.get("notice", "")
    return page(
        request,
        "seat.html",
        seat=view,
        token=seat.token,
        consent=state.room.live[seat.name].consent,
        terminals=state.terminals,
        notice=WORDS[lang].get(notice, "") if notice else "",
    )


# action -> (how the seat runs it, the notice it leaves when it passed)
def _check(seat, form):
    return "passed" if seat.act("check", is_check=True).ok else ""


def _hint(seat, form):
    seat.act("hint")
    return ""


def _answer(seat, form):
    return "right" if seat.act("answer", str(form.get("answer", ""))[:200]).ok else ""


def _solve(seat, form):
    seat.act("solve", is_check=True)
    return "solved"


STUDENT_ACTIONS = {"check": _check, "hint": _hint, "answer": _answer, "solve": _solve}


async def _seat_post(request):
    """(seat, form) for a POST carrying the seat's token from this site, else a refusal."""
    seat = request.app.state.by_name.get(request.path_params["name"])
    token, form = await form_token(request)
    if seat is None or not same_token(seat.token, token):
        return None, refuse(request, 403, "forbidden")
    if not same_origin(request):
        return None, refuse(request, 403, "cross_site")
    return (seat, form), None


async def seat_action(request):
    run = STUDENT_ACTIONS.get(request.path_params["action"])
    found, refusal = await _seat_post(request)
    if refusal is not None:
        return refusal
    if run is None:
        return refuse(request, 404, "not_found")
    seat, form = found
    try:
        notice = await run_in_threadpool(run, seat, form)
    except Busy:
        notice = "busy"
    except LabgenError as exc:  # the student sees a plain notice; the instructor the cause
        log.warning("seat %s: %s failed: %s", seat.name, request.path_params["action"], exc.message)
        notice = "error"
    return RedirectResponse(f"/seat/{seat.token}?notice={notice}", status_code=303, headers=headers())


async def seat_consent(request):
    """POST allow=1|0: may the instructor watch this seat's terminals?"""
    found, refusal = await _seat_post(request)
    if refusal is not None:
        return refusal
    seat, form = found
    request.app.state.room.set_consent(seat.name, form.get("allow") == "1")
    if request.headers.get("x-labgen-token"):
        return Response(status_code=204, headers=headers())
    return RedirectResponse(f"/seat/{seat.token}", status_code=303, headers=headers())


async def seat_live(request):
    """What the page shows without a reload: messages, consent, whether someone watches."""
    state = request.app.state
    seat = seat_by_token(state, request.path_params["token"])
    if seat is None:
        return refuse(request, 403, "forbidden")
    live = state.room.live[seat.name]
    lang = pick_lang(request)
    return JSONResponse(
        {
            "consent": live.consent,
            "watched": bool(live.watchers),
            "messages": [
                {"id": m["id"], "kind": m["kind"], "at": m["at"], "text": m["text"][lang]} for m in live.messages
            ],
        },
        headers=headers(),
    )


async def seat_topology(request):
    """The lab's topology as SVG (Graphviz), drawn once per seat and language."""
    state = request.app.state
    seat = seat_by_token(state, request.path_params["token"])
    if seat is None:
        return refuse(request, 403, "forbidden")
    lang = pick_lang(request)
    key = (seat.name, lang)
    if key not in state.pictures:

        def draw():
            return lab_svg(load_lab(seat.lab_dir.labfile), lang)

        try:
            state.pictures[key] = await run_in_threadpool(draw)
        except LabgenError as exc:
            log.warning("seat %s: no topology picture: %s", seat.name, exc.message)
            return refuse(request, 404, "not_found")
    return Response(
        state.pictures[key],
        media_type="image/svg+xml",
        headers={**headers(), "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )
