"""What every route shares: languages, headers, pages, refusals, tokens and the origin check.

Pages are never cached, never framed, and send no Referer to other sites (tokens are in URLs).
Every POST and websocket must come from this origin (Origin header, or Sec-Fetch-Site
same-origin): a cross-site page can neither forge one nor read a token. Tokens are compared in
constant time.
"""

from __future__ import annotations

import secrets

from starlette.responses import HTMLResponse, PlainTextResponse, Response

from labgen.web.words import WORDS

LANGS = ("en", "zh")

# The terminal (xterm.js) sets styles from script: 'unsafe-inline' for styles only; scripts
# stay 'self'. connect-src 'self' covers the page's own websockets.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


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


def headers() -> dict:
    # same-origin: no Referer (it holds a token) ever leaves this site, and POSTs from our own
    # pages keep their Origin for the forgery check.
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CSP,
    }


def page(request, name: str, status: int = 200, **context) -> HTMLResponse:
    lang = pick_lang(request)
    html = request.app.state.templates.get_template(name).render(w=WORDS[lang], lang=lang, **context)
    response = HTMLResponse(html, status_code=status, headers=headers())
    if request.query_params.get("lang") in LANGS:
        response.set_cookie("lang", lang, max_age=86400 * 30, samesite="strict", httponly=True)
    return response


def refuse(request, status: int, key: str) -> Response:
    return PlainTextResponse(WORDS[pick_lang(request)][key], status_code=status, headers=headers())


def same_token(expected: str, given: str) -> bool:
    return bool(given) and secrets.compare_digest(expected.encode(), given.encode())


def seat_by_token(state, token: str):
    """The seat whose token this is, or None. Every seat is compared, in constant time each."""
    found = None
    for seat in state.seats:
        if secrets.compare_digest(seat.token.encode(), token.encode()):
            found = seat
    return found


def board_ok(state, token: str) -> bool:
    return same_token(state.instructor, token)


def same_origin(conn) -> bool:
    """True when a request (or websocket handshake) comes from a page of this site."""
    origin = conn.headers.get("origin")
    if origin not in (None, "null"):
        host = conn.headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")
    # Browsers send Origin: null under some referrer policies; Fetch Metadata still says
    # where the request came from.
    return conn.headers.get("sec-fetch-site") == "same-origin"


async def form_token(request) -> tuple[str, dict]:
    form = {}
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = dict(await request.form())
    token = request.headers.get("x-labgen-token") or form.get("token") or ""
    return str(token), form
