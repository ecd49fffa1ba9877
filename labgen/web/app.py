"""The classroom web application: a page per seat and a live board for the instructor.

Starlette, Jinja2 templates, one small static script per page, no build step.

Who may do what:
- `/seat/<seat token>`: that seat's page. Its actions are POSTs to `/seat/<seat name>/<action>`
  carrying the token in the form (or the X-Labgen-Token header); another seat's token gets 403.
- `/board/<instructor token>`: the board, its rows as JSON (polled by the page), the CSV and
  the per-seat reset (a POST carrying the instructor token).
- Every POST must also come from this origin (Origin header, or Sec-Fetch-Site same-origin):
  a cross-site page can neither forge one nor read a token. Tokens are compared in constant
  time. Pages are never cached, never framed, and send no Referer to other sites (tokens are
  in URLs).
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
import time
from pathlib import Path

from labgen.errors import LabgenError
from labgen.web.seats import Busy, Seat

HERE = Path(__file__).resolve().parent
log = logging.getLogger("labgen.web")
LANGS = ("en", "zh")


def pick_lang(request) -> str:
    """?lang= (remembered in a cookie), else the cookie, else Accept-Language, else en."""
    asked = request.query_params.get("lang") or request.cookies.get("lang")
    if asked in LANGS:
        return asked
    best, best_q = "en", -1.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        try:
            q = float(params.split("=", 1)[1]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        lang = tag.strip().lower()[:2]
        if lang in LANGS and q > best_q:
            best, best_q = lang, q
    return best


def create_app(seats: list[Seat], instructor: str, probe_every: float = 15.0):
    """The ASGI app for `seats`, with `instructor` as the board's token."""
    import threading

    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.applications import Starlette
    from starlette.responses import (HTMLResponse, JSONResponse, PlainTextResponse,
                                     RedirectResponse, Response)
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from labgen.web.words import WORDS

    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    by_name = {s.name: s for s in seats}

    def headers(lang: str | None = None) -> dict:
        # same-origin: no Referer (it holds a token) ever leaves this site, and POSTs from
        # our own pages keep their Origin for the forgery check.
        h = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin",
             "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
             "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                                        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"}
        return h

    def page(request, name: str, status: int = 200, **context) -> HTMLResponse:
        lang = pick_lang(request)
        html = env.get_template(name).render(w=WORDS[lang], lang=lang, **context)
        response = HTMLResponse(html, status_code=status, headers=headers())
        if request.query_params.get("lang") in LANGS:
            response.set_cookie("lang", lang, max_age=86400 * 30, samesite="strict", httponly=True)
        return response

    def refuse(request, status: int, key: str) -> Response:
        lang = pick_lang(request)
        return PlainTextResponse(WORDS[lang][key], status_code=status, headers=headers())

    def seat_by_token(token: str) -> Seat | None:
        found = None
        for seat in seats:     # constant-time per comparison, and every seat is compared
            if secrets.compare_digest(seat.token.encode(), token.encode()):
                found = seat
        return found

    def same_origin(request) -> bool:
        origin = request.headers.get("origin")
        if origin not in (None, "null"):
            host = request.headers.get("host", "")
            return origin in (f"http://{host}", f"https://{host}")
        # Browsers send Origin: null under some referrer policies; Fetch Metadata still says
        # where the request came from.
        return request.headers.get("sec-fetch-site") == "same-origin"

    async def form_token(request) -> tuple[str, dict]:
        form = {}
        if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded",
                                                               "multipart/form-data")):
            form = dict(await request.form())
        token = request.headers.get("x-labgen-token") or form.get("token") or ""
        return str(token), form

    # ---- views (sync ones run in Starlette's thread pool: checks block on SSH)

    def seat_view(seat: Seat, lang: str) -> dict:
        """What the seat page shows, from the seat's progress."""
        view = {"name": seat.name, "login": seat.login, "started": False}
        try:
            ch = seat.challenge()
        except LabgenError:
            return view
        from labgen.scenario.summary import summarise

        p = ch.progress()
        step = ch.current()
        summary = summarise(ch)
        from labgen.scenario.language import fallback_note

        view.update(started=True, scenario=ch.scenario.title.get(lang), finished=bool(p.get("finished")),
                    rows=summary["steps"], note=fallback_note(ch.scenario, lang))
        if step is not None:
            rec = p["steps"].get(step.id, {})
            shown = rec.get("hints", 0)
            view.update(step={"id": step.id, "kind": step.kind, "title": step.title.get(lang),
                              "goal": ch.text(step.goal, lang),
                              "explain": ch.text(step.explain, lang) if step.explain else ""},
                        hints=[ch.text(h, lang) for h in step.hints[:shown]],
                        hints_left=len(step.hints) - shown, last=rec.get("last"),
                        attempts=rec.get("attempts", 0))
        return view

    async def seat_page(request):
        seat = seat_by_token(request.path_params["token"])
        if seat is None:
            return refuse(request, 403, "forbidden")
        lang = pick_lang(request)
        from starlette.concurrency import run_in_threadpool

        view = await run_in_threadpool(seat_view, seat, lang)
        notice = request.query_params.get("notice", "")
        return page(request, "seat.html", seat=view, token=seat.token,
                    notice=WORDS[lang].get(notice, "") if notice else "")

    async def seat_action(request):
        from starlette.concurrency import run_in_threadpool

        seat = by_name.get(request.path_params["name"])
        action = request.path_params["action"]
        token, form = await form_token(request)
        if seat is None or not token or not secrets.compare_digest(seat.token.encode(), token.encode()):
            return refuse(request, 403, "forbidden")
        if not same_origin(request):
            return refuse(request, 403, "cross_site")
        if action not in ("check", "hint", "answer", "solve"):
            return refuse(request, 404, "not_found")
        notice = ""
        try:
            if action == "check":
                outcome = await run_in_threadpool(seat.act, "check", is_check=True)
                notice = "passed" if outcome.ok else ""
            elif action == "hint":
                await run_in_threadpool(seat.act, "hint")
            elif action == "answer":
                outcome = await run_in_threadpool(seat.act, "answer", str(form.get("answer", ""))[:200])
                notice = "right" if outcome.ok else ""
            else:
                await run_in_threadpool(seat.act, "solve", is_check=True)
                notice = "solved"
        except Busy:
            notice = "busy"
        except LabgenError as exc:      # the student sees a plain notice; the instructor the cause
            log.warning("seat %s: %s failed: %s", seat.name, action, exc.message)
            notice = "error"
        return RedirectResponse(f"/seat/{seat.token}?notice={notice}", status_code=303,
                                headers=headers())

    def board_ok(request, token: str) -> bool:
        return bool(token) and secrets.compare_digest(instructor.encode(), token.encode())

    def board_rows(lang: str) -> list[dict]:
        from labgen.scenario.summary import summarise

        rows = []
        for seat in seats:
            row = {"seat": seat.name, "nodes_up": seat.nodes_up, "step": "-", "state": "idle",
                   "attempts": 0, "passed": 0, "hints": 0, "seconds": None, "last": None,
                   "tasks": "-"}
            try:
                ch = seat.challenge()
                summary = summarise(ch)
            except LabgenError:
                rows.append(row)
                continue
            steps = summary["steps"]
            tasks = [s for s in steps if s["kind"] == "task"]
            done = [s for s in tasks if s["status"] in ("passed", "solved")]
            current = next((s for s in steps if s["step"] == summary["current"]), None)
            state = "working"
            if tasks and len(done) == len(tasks):
                state = "solved" if all(s["status"] == "passed" for s in tasks) else "by_solution"
            row.update(step=summary["current"] or ("finished" if summary["finished"] else "-"),
                       state=state, tasks=f"{len(done)}/{len(tasks)}",
                       attempts=sum(s["attempts"] for s in steps),
                       passed=sum(s["passed"] for s in steps), hints=sum(s["hints"] for s in steps),
                       seconds=current["seconds"] if current else None,
                       last=summary["updated"], ago=round(time.time() - summary["updated"]))
            rows.append(row)
        return rows

    async def board_page(request):
        if not board_ok(request, request.path_params["token"]):
            return refuse(request, 403, "forbidden")
        from starlette.concurrency import run_in_threadpool

        lang = pick_lang(request)
        rows = await run_in_threadpool(board_rows, lang)
        return page(request, "board.html", rows=rows, token=instructor)

    async def board_json(request):
        if not board_ok(request, request.path_params["token"]):
            return refuse(request, 403, "forbidden")
        from starlette.concurrency import run_in_threadpool

        rows = await run_in_threadpool(board_rows, pick_lang(request))
        return JSONResponse({"rows": rows, "now": time.time()}, headers=headers())

    async def board_csv(request):
        if not board_ok(request, request.path_params["token"]):
            return refuse(request, 403, "forbidden")
        from starlette.concurrency import run_in_threadpool

        text = await run_in_threadpool(results_csv, seats)
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={**headers(), "Content-Disposition": 'attachment; filename="results.csv"'})

    async def board_reset(request):
        from starlette.concurrency import run_in_threadpool

        token, form = await form_token(request)
        if not board_ok(request, request.path_params["token"]) or not board_ok(request, token):
            return refuse(request, 403, "forbidden")
        if not same_origin(request):
            return refuse(request, 403, "cross_site")
        seat = by_name.get(request.path_params["name"])
        if seat is None:
            return refuse(request, 404, "not_found")
        try:
            await run_in_threadpool(seat.act, "reset")
        except (Busy, LabgenError):
            pass
        return RedirectResponse(f"/board/{instructor}", status_code=303, headers=headers())

    async def root(request):
        return refuse(request, 404, "not_found")

    stop = threading.Event()

    def prober():   # nodes up, for the board, without slowing any request
        pause = 0.0     # the first round at once
        while not stop.wait(pause):
            pause = probe_every
            for seat in seats:
                if stop.is_set():
                    return
                seat.probe()

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app):
        thread = threading.Thread(target=prober, name="labgen-probe", daemon=True)
        if probe_every > 0:
            thread.start()
        yield
        stop.set()
        for seat in seats:
            seat.drop_remote()

    routes = [
        Route("/", root),
        Route("/seat/{token}", seat_page),
        Route("/seat/{name}/{action}", seat_action, methods=["POST"]),
        Route("/board/{token}", board_page),
        Route("/board/{token}/rows.json", board_json),
        Route("/board/{token}/results.csv", board_csv),
        Route("/board/{token}/reset/{name}", board_reset, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def results_csv(seats: list[Seat]) -> str:
    """seat, task, solved (yes / by solution / no), attempts, hints, seconds: one row per seat
    and student step; a seat with no scenario started gets one row saying so."""
    from labgen.scenario.summary import summarise

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seat", "scenario", "step", "kind", "solved", "attempts", "hints", "seconds"])
    for seat in seats:
        try:
            summary = summarise(seat.challenge())
        except LabgenError:
            writer.writerow([seat.name, "", "", "", "not started", 0, 0, ""])
            continue
        for row in summary["steps"]:
            writer.writerow([seat.name, summary["scenario"], row["step"], row["kind"], row["solved"],
                             row["attempts"], row["hints"],
                             "" if row["seconds"] is None else row["seconds"]])
    return out.getvalue()
