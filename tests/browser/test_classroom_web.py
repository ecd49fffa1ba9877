"""The classroom web app for real: three LXC labs served at once by `labgen scenario serve`
(uvicorn on loopback), a student and an instructor in headless Chromium (Debian's, driven by
Playwright: conftest.py's `browser` fixture), the student's fix typed over `labgen ssh`.

Seat A is a 2-node lab with the mac-bug challenge; seats B and C are 1-node labs with a small
challenge (tests/data/scenarios/challenge.yml). Each lab has its own /26 of this branch's
subnet (a /27 for A). One set of labs for the module; the fixture destroys them whatever happened.
Each seat's lab is changed by one test only (A: the mac-bug path; C: the small task solved; B:
only checks that fail), and every assertion reads a seat as the fixture left it or as its own
test changed it, so the tests pass alone and in any order (`--random-order`).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.browser.seatweb import lab_file, serve
from tests.chromium import local_context
from tests.integration.lxcenv import WEB_ROOT, destroy_lab_dir, destroy_leftovers, lxc_skip_reason
from tests.runcli import labgen
from tests.processes import stop_process

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


reason = lxc_skip_reason()  # Playwright and Chromium: the `browser` fixture (tests/conftest.py)
if reason:
    pytest.skip(reason, allow_module_level=True)


SEATS = {  # seat -> (lab file, scenario)
    "cha": (
        lab_file("ch-web-a", "192.168.64.96/27", [("ubuntu-2", "192.168.64.102"), ("ubuntu-3", "192.168.64.103")]),
        "mac-bug",
    ),
    "chb": (
        lab_file("ch-web-b", "192.168.64.128/26", [("ubuntu-1", "192.168.64.130")]),
        "small",
    ),
    "chc": (
        lab_file("ch-web-c", "192.168.64.192/26", [("ubuntu-1", "192.168.64.194")]),
        "small",
    ),
}


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    files = tmp_path_factory.mktemp("ch-web")
    # mac-bug on this branch's subnet: only its peer_ip names the lab network.
    macbug = files / "mac-bug.yml"
    macbug.write_text((REPO / "scenarios" / "mac-bug.yml").read_text().replace("192.168.56.", "192.168.64."))
    scenarios = {"mac-bug": macbug, "small": REPO / "tests" / "data" / "scenarios" / "challenge.yml"}
    stamp = int(time.time())
    destroy_leftovers(WEB_ROOT)  # what an interrupted earlier run left
    WEB_ROOT.mkdir(parents=True, exist_ok=True)
    dirs = {seat: WEB_ROOT / f"{seat}-{stamp}" for seat in SEATS}
    server = None
    try:

        def up(seat):
            text, scenario = SEATS[seat]
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
            labgen("scenario", "start", str(scenarios[scenario]), "--dir", str(dirs[seat]), "--lang", "en", check=True)

        for seat in SEATS:  # one after the other: each create restarts the host's apt proxy
            up(seat)
        server, urls = serve([dirs[s] for s in SEATS])
        seat_urls = {seat: urls[dirs[seat].name] for seat in SEATS}
        yield {"dirs": dirs, "seat": seat_urls, "board": urls["board"]}
    finally:
        stop_process(server)
        for path in dirs.values():
            destroy_lab_dir(path)


def context(browser, locale="en-US"):
    return local_context(browser, locale=locale)


def ssh(lab_dir, node, command):
    return labgen("ssh", node, "--dir", str(lab_dir), "--", command, check=True)


def test_check_fix_over_ssh_check_and_the_board_turns_green_live(browser, classroom):
    student, instructor = context(browser), context(browser)
    try:
        board = instructor.new_page()
        board.goto(classroom["board"])
        row = board.locator("#row-" + classroom["dirs"]["cha"].name)
        assert "state-working" in row.get_attribute("class")

        seat = student.new_page()
        seat.goto(classroom["seat"]["cha"])
        assert "Make the two workloads talk again" in seat.inner_text("h1")
        assert "labgen ssh ubuntu-2" in seat.inner_text("#login")
        seat.click("#check")
        seat.wait_for_selector("#result.fail-box")  # the click returns before the POST's page loads
        assert seat.locator("#result.fail-box").count() == 1, seat.content()
        assert "The workload on ubuntu-2 (172.32.2.10) still gets no replies" in seat.inner_text("#messages")

        ssh(classroom["dirs"]["cha"], "ubuntu-2", "sudo ip -n wl-ubuntu-2 link set cali0 address ee:ee:ee:ee:ee:ee")
        with seat.expect_navigation():  # the POST's page, not the one before it
            seat.click("#check")
        assert "Check passed" in seat.inner_text("main"), seat.content()
        assert "Where did the replies go?" in seat.inner_text("h1")

        # The board was loaded before the fix and is never reloaded: polling turns it green.
        board.wait_for_selector(f"#row-{classroom['dirs']['cha'].name}.state-solved", timeout=15000)
        colour = row.evaluate("el => getComputedStyle(el).backgroundColor")
        assert colour == "rgb(165, 214, 167)"
        assert row.locator("td.checks").inner_text() == "1/2"

        seat.fill("#answer", "EE-EE-EE-EE-EE-EE")
        seat.click("#send-answer")
        seat.wait_for_selector("#finished")
        # the instructor's CSV: the task solved by hand at the second check, no hint
        csv = instructor.request.get(classroom["board"] + "/results.csv").text()
        assert re.search(rf"^{classroom['dirs']['cha'].name},mac-bug,make-them-talk,task,yes,2,0,", csv, re.M), csv
    finally:
        student.close()
        instructor.close()


def test_three_seats_are_checked_independently(browser, classroom):
    ctx = context(browser)
    try:
        b, c = ctx.new_page(), ctx.new_page()
        b.goto(classroom["seat"]["chb"])
        c.goto(classroom["seat"]["chc"])
        ssh(classroom["dirs"]["chc"], "ubuntu-1", "echo hello > /tmp/f")
        b.click("#check")
        c.click("#check")
        b.wait_for_selector("#result.fail-box")
        c.wait_for_selector("#notice")
        assert "/tmp/f does not say hello yet." in b.inner_text("#messages")
        assert "What is the secret?" in c.inner_text("#goal")
        rows = ctx.request.get(classroom["board"] + "/rows.json").json()["rows"]
        states = {r["seat"]: r["state"] for r in rows}
        assert states[classroom["dirs"]["chb"].name] == "working"
        assert states[classroom["dirs"]["chc"].name] == "solved"
    finally:
        ctx.close()


def test_another_seats_token_and_a_post_without_token_get_403(browser, classroom):
    ctx = context(browser)
    try:
        page = ctx.new_page()
        page.goto(classroom["seat"]["chb"])
        token = page.get_attribute("input[name=token]", "value")
        other = classroom["dirs"]["chc"].name
        # from the student's own page (same origin): another seat with this token, and no token
        status = page.evaluate(
            """([other, token]) => Promise.all([
            fetch('/seat/' + other + '/check', {method: 'POST', body: new URLSearchParams({token})}),
            fetch('/seat/' + other + '/check', {method: 'POST'}),
          ]).then(rs => rs.map(r => r.status))""",
            [other, token],
        )
        assert status == [403, 403]
        assert ctx.request.get(classroom["seat"]["chb"].rsplit("/", 1)[0] + "/not-a-token").status == 403
        assert ctx.request.get(classroom["board"][:-4] + "AAAA").status == 403
    finally:
        ctx.close()


def test_chinese_seat_page_and_the_csv_lists_every_seat(browser, classroom):
    ctx = context(browser, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.goto(classroom["seat"]["chb"])
        assert page.inner_text("#check") == "检查"
        assert "在 ubuntu-1 上把 hello 写进 /tmp/f。" in page.inner_text("#goal")
        with page.expect_navigation():  # the English page, not the Chinese one before it
            page.click("a.lang")
        assert page.inner_text("#check") == "Check"
        csv = ctx.request.get(classroom["board"] + "/results.csv").text()
        for seat in SEATS:
            assert re.search(rf"^{classroom['dirs'][seat].name},", csv, re.M), csv
    finally:
        ctx.close()
