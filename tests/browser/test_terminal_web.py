"""A student needs only a browser (issue 18): the seat page's terminals on real LXC nodes, served
by `labgen scenario serve` (uvicorn on loopback), driven in headless Chromium (conftest.py's
`browser` fixture), and the instructor's board helping: watch with consent, stuck, messages,
catch-up.

Seat A (`tma-*`) is a 2-node lab with the mac-bug challenge, done here in the browser alone (no
SSH client): terminals, Check, the question. Seat B (`tmb-*`) is a 1-node lab with the small
challenge (tests/data/scenarios/challenge.yml), used by the board's tests; each of those starts
by resetting B through the board, so the tests pass alone and in any order. Subnets: this
branch's 192.168.128.0/22 only. The fixture destroys both labs whatever happened.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.browser.seatweb import lab_file, serve
from tests.chromium import local_context
from tests.integration.lxcenv import TEST_ROOT, destroy_lab_dir, lxc_skip_reason, wait_listening
from tests.runcli import labgen
from tests.processes import stop_process

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]

reason = lxc_skip_reason()
if reason:
    pytest.skip(reason, allow_module_level=True)


SEATS = {
    "tma": (
        lab_file("tm-web-a", "192.168.128.96/27", [("ubuntu-2", "192.168.128.102"), ("ubuntu-3", "192.168.128.103")]),
        REPO / "scenarios" / "mac-bug.yml",
    ),
    "tmb": (
        lab_file("tm-web-b", "192.168.129.0/26", [("ubuntu-1", "192.168.129.10")]),
        REPO / "tests" / "data" / "scenarios" / "challenge.yml",
    ),
}
# the board shows the title of tmb's question step, in the browser's language (English here)
WHAT_SECRET_TITLE = "The secret"


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    files = tmp_path_factory.mktemp("tm-web")
    stamp = int(time.time())
    dirs = {seat: TEST_ROOT / f"{seat}-{stamp}" for seat in SEATS}
    server = None
    try:
        for seat, (text, scenario) in SEATS.items():  # one after the other: each create restarts the apt proxy
            (files / f"{seat}.yml").write_text(text)
            labgen(
                "--provider",
                "lxc",
                "create",
                str(files / f"{seat}.yml"),
                "--dir",
                str(dirs[seat]),
                check=True,
                timeout=900,
            )
            labgen("scenario", "start", str(scenario), "--dir", str(dirs[seat]), "--lang", "en", check=True)
        server, urls = serve([dirs[s] for s in SEATS], ("--stuck-fails", "3"))
        yield {
            "dirs": dirs,
            "seat": {s: urls[dirs[s].name] for s in SEATS},
            "board": urls["board"],
            "name": {s: dirs[s].name for s in SEATS},
        }
    finally:
        stop_process(server)
        for path in dirs.values():
            destroy_lab_dir(path)


def context(browser, locale="en-US"):
    return local_context(browser, locale=locale, viewport={"width": 1200, "height": 1400})


def goto(page, url=None):
    """page.goto(url) (or a reload), again when Chromium aborted it because the host's network
    changed (ERR_NETWORK_CHANGED: other labs' bridges and veths come and go on this host)."""
    for attempt in range(3):
        try:
            return page.goto(url) if url else page.reload()
        except Exception as exc:  # playwright's Error
            if "ERR_NETWORK_CHANGED" not in str(exc) or attempt == 2:
                raise


def screen(page, node):
    return page.evaluate("node => window.labgenScreen(node)", node)


def wait_screen(page, node, text, timeout=30000):
    try:
        page.wait_for_function(
            "([node, text]) => window.labgenScreen(node).includes(text)", arg=[node, text], timeout=timeout
        )
    except Exception as exc:  # playwright's TimeoutError: say what the terminal showed instead
        shown = screen(page, node).rstrip()[-1500:]
        raise AssertionError(f"{node}'s terminal never showed {text!r} ({exc}); it showed:\n{shown}") from None


def ready(page, node):
    """The node's tab shown, its socket open, the shell printed something, keyboard focus in it."""
    page.click(f"#tab-{node}")
    page.wait_for_selector(f"#term-{node}[data-state=open]", timeout=30000)
    page.wait_for_function("node => window.labgenScreen(node).trim().length > 0", arg=node, timeout=30000)
    page.click(f"#term-{node}")


def type_in(page, node, line):
    ready(page, node)
    page.keyboard.type(line)
    page.keyboard.press("Enter")


def board_post(ctx, room, path, form):
    """A POST from the board's own page (same origin), as its forms send it."""
    board = ctx.new_page()
    goto(board, room["board"])
    token = room["board"].rsplit("/", 1)[1]
    status = board.evaluate(
        """([path, form]) => fetch(path, {method: 'POST',
        body: new URLSearchParams(form)}).then(r => r.status)""",
        [f"/board/{token}/{path}", {"token": token, **form}],
    )
    board.close()
    assert status == 200, status  # the redirect to the board, followed


def test_the_mac_bug_challenge_in_the_browser_alone(browser, room):
    ctx = context(browser)
    try:
        page = ctx.new_page()
        goto(page, room["seat"]["tma"])
        # the story so far: the symptom step's tcpdump output, folded; Markdown rendered
        assert "Make the two workloads talk again" in page.inner_text("h1")
        assert "open ubuntu-2's terminal" in page.inner_text("#goal").lower()
        assert "labgen ssh" not in page.inner_text("#goal")
        assert page.locator("#story-observe-healthy .explain code").count() >= 1  # `x` became <code>
        story = page.locator("#story-observe-symptom")
        assert "ICMP echo reply" in story.text_content() and story.get_attribute("open") is None
        assert page.locator("table.progress td", has_text="Where did the replies go?").count() == 1

        type_in(page, "ubuntu-2", "ip -br link")
        wait_screen(page, "ubuntu-2", "cali")
        type_in(page, "ubuntu-2", "echo 你好，终端")
        wait_screen(page, "ubuntu-2", "\n你好，终端")
        # a reload re-attaches to the same shell: the earlier output is still there
        goto(page)
        page.click("#tab-ubuntu-2")
        wait_screen(page, "ubuntu-2", "你好，终端")
        assert "ip -br link" in screen(page, "ubuntu-2")

        type_in(page, "ubuntu-2", "sudo ip -n wl-ubuntu-2 link set cali0 address ee:ee:ee:ee:ee:ee && echo fixed-ok")
        wait_screen(page, "ubuntu-2", "\nfixed-ok")
        page.click("#check")
        page.wait_for_selector("#notice")
        assert "Check passed" in page.inner_text("#notice"), page.content()
        assert "Where did the replies go?" in page.inner_text("h1")
        page.fill("#answer", "ee:ee:ee:ee:ee:ee")
        page.click("#send-answer")
        page.wait_for_selector("#finished")
    finally:
        ctx.close()


def test_ctrl_c_a_full_screen_program_and_resize(browser, room):
    ctx = context(browser)
    try:
        page = ctx.new_page()
        goto(page, room["seat"]["tmb"])
        ready(page, "ubuntu-1")
        page.keyboard.press("Control+C")  # whatever an earlier test left running
        # The Ctrl-C must come once the program runs in the foreground: pressed as soon as the
        # command line was echoed, it could reach bash before the job started, and the sleep then
        # kept the shell (and this node's later tests) busy for 10 minutes (seen in a full suite).
        # sh prints after bash made it the foreground job, then becomes the sleep.
        type_in(page, "ubuntu-1", "sh -c 'echo running-$((2+3)); exec sleep 600' && echo slept-$((2+3))")
        wait_screen(page, "ubuntu-1", "\nrunning-5")
        page.keyboard.press("Control+C")  # interrupts, the shell answers
        type_in(page, "ubuntu-1", "echo after-$((1+1))")
        wait_screen(page, "ubuntu-1", "\nafter-2")
        assert "slept-5" not in screen(page, "ubuntu-1")
        type_in(page, "ubuntu-1", "top -d 0.5")  # full screen: top's header, then q
        wait_screen(page, "ubuntu-1", "load average")
        page.keyboard.press("q")
        type_in(page, "ubuntu-1", "clear; printf '\\033[31mred\\033[0m\\n'; echo cols=$(tput cols)")
        wait_screen(page, "ubuntu-1", "\ncols=")  # the output, not the command line
        colour = page.evaluate("""() => { const b = window.labgenTerminalBuffer('ubuntu-1');
            for (let y = 0; y < b.length; y++) { const line = b.getLine(y);
              if (line.translateToString(true) === 'red') { return line.getCell(0).getFgColor(); } }
            return -1; }""")
        assert colour == 1, (colour, screen(page, "ubuntu-1"))  # ANSI red reached the screen
        before = int(re.search(r"^cols=(\d+)", screen(page, "ubuntu-1"), re.M).group(1))
        page.set_viewport_size({"width": 700, "height": 1400})  # the terminal follows the window
        type_in(page, "ubuntu-1", "echo now=$(tput cols)")
        wait_screen(page, "ubuntu-1", "\nnow=")
        after = int(re.search(r"^now=(\d+)", screen(page, "ubuntu-1"), re.M).group(1))
        assert after < before, (before, after)
    finally:
        ctx.close()


def test_a_wrong_token_another_seat_or_another_site_gets_no_terminal(browser, room):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    base = room["seat"]["tma"].rsplit("/seat/", 1)[0]
    ws_base = base.replace("http://", "ws://")
    token_a = room["seat"]["tma"].rsplit("/", 1)[1]
    token_b = room["seat"]["tmb"].rsplit("/", 1)[1]
    for url, origin in [
        (f"{ws_base}/seat/{'x' * 32}/term/ubuntu-2", base),  # no such token
        (f"{ws_base}/seat/{token_b}/term/ubuntu-2", base),  # B's token, A's node
        (f"{ws_base}/seat/{token_a}/term/ubuntu-2", "http://evil.example"),
    ]:
        with pytest.raises(InvalidStatus) as refused:
            connect(url, origin=origin, open_timeout=10)
        assert refused.value.response.status_code == 403
        assert refused.value.response.body in (b"", None)
    # and in the page: no terminal, nothing written
    ctx = context(browser)
    try:
        page = ctx.new_page()
        goto(page, room["seat"]["tmb"])
        result = page.evaluate(
            """url => new Promise(done => {
            const ws = new WebSocket(url); let got = 0;
            ws.onmessage = () => { got += 1; };
            ws.onclose = e => done({code: e.code, got: got}); })""",
            f"{ws_base}/seat/{'y' * 32}/term/ubuntu-1",
        )
        assert result == {"code": 1006, "got": 0}
    finally:
        ctx.close()


def test_watch_needs_consent_and_then_shows_the_students_typing(browser, room):
    student, instructor = context(browser), context(browser)
    try:
        seat = student.new_page()
        goto(seat, room["seat"]["tmb"])
        wait_screen(seat, "ubuntu-1", "$")
        watch_url = f"{room['board']}/watch/{room['name']['tmb']}"
        watcher = instructor.new_page()
        goto(watcher, watch_url)
        assert watcher.locator("#not-allowed").count() == 1
        assert watcher.locator(".screen").count() == 0
        assert seat.locator("#watched").is_hidden()

        seat.click("#consent")  # the student allows it (the page reloads)
        seat.wait_for_selector("#consent-state:not([hidden])")
        goto(watcher, watch_url)
        wait_screen(watcher, "ubuntu-1", "$")
        seat.wait_for_selector("#watched:not([hidden])", timeout=10000)  # they see they are watched
        type_in(seat, "ubuntu-1", "echo watched-$((6*7))")
        wait_screen(watcher, "ubuntu-1", "watched-42")
        # read only: what the instructor types reaches nothing
        watcher.click("#term-ubuntu-1")
        watcher.keyboard.type("echo from-the-board")
        watcher.keyboard.press("Enter")
        type_in(seat, "ubuntu-1", "echo still-mine")
        wait_screen(seat, "ubuntu-1", "\nstill-mine")
        assert "from-the-board" not in screen(seat, "ubuntu-1")

        seat.click("#consent")  # taken back: the watch ends at once
        seat.wait_for_selector("#consent-state[hidden]", state="attached")
        watcher.wait_for_selector("#term-ubuntu-1[data-state=closed]", timeout=10000)
    finally:
        student.close()
        instructor.close()


def test_three_failed_checks_turn_the_seat_stuck_on_the_board(browser, room):
    ctx = context(browser)
    try:
        board_post(ctx, room, f"reset/{room['name']['tmb']}", {})
        board = ctx.new_page()
        goto(board, room["board"])
        row = f"#row-{room['name']['tmb']}"
        assert board.locator(f"{row} .stuck-flag").is_hidden()
        seat = ctx.new_page()
        goto(seat, room["seat"]["tmb"])
        for attempt in range(1, 4):
            seat.click("#check")
            seat.wait_for_selector(f"#result.fail-box >> text=({attempt} attempt{'' if attempt == 1 else 's'})")
        board.wait_for_selector(f"{row}.stuck .stuck-flag:not([hidden])", timeout=10000)
    finally:
        ctx.close()


def test_a_message_and_a_hint_from_the_board_appear_on_the_seat_page(browser, room):
    ctx = context(browser)
    try:
        board_post(ctx, room, f"reset/{room['name']['tmb']}", {})
        seat = ctx.new_page()
        goto(seat, room["seat"]["tmb"])
        assert seat.locator("#inbox").is_hidden()
        board = ctx.new_page()
        goto(board, room["board"])
        board.fill("#message-text", "Five minutes left — 还有五分钟")
        board.select_option("#message-seat", room["name"]["tmb"])
        board.click("#message-send")
        seat.wait_for_selector("#inbox-list li.msg-message", timeout=5000)  # no reload
        assert seat.inner_text("#inbox-list li.msg-message") == "Five minutes left — 还有五分钟"
        board.click(f"#row-{room['name']['tmb']} .hint-form button")
        seat.wait_for_selector("#inbox-list li.msg-hint", timeout=5000)
        assert "Hint 1/" in seat.inner_text("#inbox-list li.msg-hint")
    finally:
        ctx.close()


def test_catch_up_brings_a_seat_to_the_chosen_step(browser, room):
    ctx = context(browser)
    try:
        board_post(ctx, room, f"reset/{room['name']['tmb']}", {})
        seat = ctx.new_page()
        goto(seat, room["seat"]["tmb"])
        assert seat.get_attribute("#step", "data-step") == "make-file"
        board = ctx.new_page()
        goto(board, room["board"])
        board.on("dialog", lambda dialog: dialog.accept())
        row = f"#row-{room['name']['tmb']}"
        board.select_option(f"{row} .catch-up select", "what-secret")
        board.click(f"{row} .catch-up button")
        board.wait_for_selector(f'{row} td.step[data-step="what-secret"]', timeout=30000)
        assert board.inner_text(f"{row} td.step").startswith(WHAT_SECRET_TITLE)  # the title, not the id
        goto(seat)
        assert seat.get_attribute("#step", "data-step") == "what-secret"
        out = labgen("ssh", "ubuntu-1", "--dir", str(room["dirs"]["tmb"]), "--", "cat /tmp/f", check=True)
        assert "hello" in out.stdout  # the task before it was replayed by its solution
    finally:
        ctx.close()


NGINX_CONF = """daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/lab.crt;
        ssl_certificate_key {d}/lab.key;
        # the lines of docs/scenarios.md, "Serving a room: TLS in front"
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 1h;
            proxy_buffering off;
        }}
    }}
}}
"""


@pytest.fixture
def nginx(room, tmp_path):
    """nginx with a self-signed certificate on 127.0.0.1:<free port>, in front of the server."""
    import shutil
    import socket

    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        pytest.fail("nginx is not installed (make setup installs it: apt-get install nginx)")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(tmp_path / "lab.key"),
            "-out",
            str(tmp_path / "lab.crt"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    upstream = urlparse(room["board"]).port
    proc = None
    for _ in range(5):  # a port found free may be taken before nginx binds it: retry
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        (tmp_path / "nginx.conf").write_text(NGINX_CONF.format(d=tmp_path, port=port, upstream=upstream))
        proc = subprocess.Popen(
            [binary, "-c", str(tmp_path / "nginx.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if wait_listening(proc, port):
            break
    try:
        assert proc.poll() is None, (tmp_path / "error.log").read_text()
        yield f"https://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_terminal_through_nginx_over_tls(browser, room, nginx):
    ctx = local_context(browser, ignore_https_errors=True)
    try:
        page = ctx.new_page()
        goto(page, nginx + urlparse(room["seat"]["tmb"]).path)
        type_in(page, "ubuntu-1", "echo over-$((20+22))-tls")
        wait_screen(page, "ubuntu-1", "\nover-42-tls")
        assert page.get_attribute("#term-ubuntu-1", "data-state") == "open"
    finally:
        ctx.close()
