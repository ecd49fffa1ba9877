"""The workshop, rehearsed end to end as README.md tells it (issue 14 §2): one instructor, two
students, real LXC, the real OpenSSH client and real Chromium (Playwright, tests/browser).

The instructor runs only the README's commands, in its order: `classroom up mesos-calico
--seats 2` → `classroom status` (table and `--format json`) → `classroom sheets` →
`classroom scenario run mac-bug --variant challenge --to make-them-talk` → `classroom serve` →
`classroom down --yes`. Student 1 is an ordinary local Unix user who has nothing but their
sheet folder (no root, no lab dir, no labgen) and logs in with `ssh -F ssh_config ubuntu-2`;
student 2 only uses their page. Each step asserts what the person at the keyboard would see.

One test, because the workshop is one story: each step needs the one before it. The fixture
removes everything it made (classroom, student account, server, apt proxy) even when a step
fails. The options beyond the README's (`--name`, `--pool`, `--ssh-port`, `--ssh-address`,
`--port 0`) keep it off other classrooms on this host; the apt proxy is the classroom's own
(its port and dir through LABGEN_APTPROXY_*), so `down` must stop it.

Traffic goes only to loopback (jump sshd, web server) and to the seats' own containers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from labgen.scenario.load import find_scenario, load_scenario
from tests.chromium import local_context
from tests.integration.classroomenv import assert_classroom_gone, host_names
from tests.integration.lxcenv import TEST_ROOT, lxc_skip_reason
from tests.runcli import LABGEN
from tests.runcli import labgen as _labgen
from tests.processes import stop_process

STEP_TITLES = {
    step.id: step.title.get("en") for step in load_scenario(find_scenario("mac-bug")).variants["challenge"].steps
}

pytestmark = [pytest.mark.lxc, pytest.mark.root, pytest.mark.browser, pytest.mark.slow]

reason = lxc_skip_reason() or next(
    (
        f"{tool} is not installed (make setup installs it)"
        for tool in ("nft", "ssh", "runuser", "useradd")
        if not shutil.which(tool)
    ),
    None,
)
if reason:
    pytest.skip(reason, allow_module_level=True)

ROOT = TEST_ROOT.parent / (TEST_ROOT.name + "-rehearsal")  # beside TEST_ROOT: see lxcenv
NAME = f"rh{os.getpid() % 100000}"
POOL = "192.168.104.0/22"  # seat N: 192.168.(104+N).0/24 (this test's own pool)
JUMP_PORT = 2301  # this test's own jump port
STUDENT = "rh-student1"  # student 1's local Unix account
PROXY_ENV = {"LABGEN_APTPROXY_PORT": str(random.randint(23000, 23999)), "LABGEN_APTPROXY_DIR": str(ROOT) + "-aptproxy"}
WIDE = {**PROXY_ENV, "COLUMNS": "200"}  # rich tables: one line per row
TASK = "Make the two workloads talk again"
QUESTION = "Where did the replies go?"


REPO = Path(__file__).resolve().parents[2]


def documented_status() -> dict:
    """The example object docs/classroom.md gives for `classroom status --format json`."""
    text = (REPO / "docs" / "classroom.md").read_text(encoding="utf-8")
    m = re.search(r"labgen classroom status --format json\n```\s*```json\n(.*?)```", text, re.S)
    assert m, "docs/classroom.md no longer shows the JSON of `classroom status --format json`"
    return json.loads(m.group(1))


def labgen(*args, **kw):
    return _labgen(*args, env=WIDE, **kw)


def seat_ip(seat: int, host: int) -> str:
    return f"192.168.{104 + seat}.{host}"


def flat(text: str) -> str:
    return " ".join(text.split())


class Workshop:
    """What the fixture made, for the test and for the teardown."""

    def __init__(self):
        self.path = ROOT / NAME  # `classroom up` makes ./NAME in the working dir
        self.names: dict | None = None
        self.server: subprocess.Popen | None = None
        self.times: dict[str, float] = {}

    def timed(self, label: str, began: float) -> None:
        self.times[label] = round(time.monotonic() - began, 1)


def _remove_student() -> None:
    if STUDENT in {e.pw_name for e in pwd.getpwall()}:
        subprocess.run(["userdel", "-r", STUDENT], capture_output=True, timeout=60)


def _down_leftovers() -> None:
    if ROOT.exists():
        for cr in ROOT.iterdir():
            if (cr / "classroom.yml").exists():
                labgen("classroom", "down", "--yes", "--dir", str(cr), timeout=900)
        shutil.rmtree(ROOT, ignore_errors=True)


@pytest.fixture
def workshop():
    _down_leftovers()
    _remove_student()
    ROOT.mkdir(parents=True, exist_ok=True)
    w = Workshop()
    began = time.monotonic()
    try:
        yield w
    finally:
        stop_process(w.server, timeout=30, sig=signal.SIGINT)  # Ctrl-C, as the README says
        _remove_student()
        if w.path.exists():
            labgen("classroom", "down", "--yes", "--dir", str(w.path), timeout=900)
        shutil.rmtree(ROOT, ignore_errors=True)
        from labgen import aptproxy

        aptproxy.stop(base=Path(PROXY_ENV["LABGEN_APTPROXY_DIR"]), port=int(PROXY_ENV["LABGEN_APTPROXY_PORT"]))
        shutil.rmtree(PROXY_ENV["LABGEN_APTPROXY_DIR"], ignore_errors=True)
        w.timed("whole rehearsal", began)
        print("rehearsal timings (s):", json.dumps(w.times))


def as_student(*command: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """`command` run by student 1's own account: their home, a plain PATH, no labgen."""
    env = ["env", "-i", f"HOME=/home/{STUDENT}", f"USER={STUDENT}", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
    return subprocess.run(
        ["runuser", "-u", STUDENT, "--", *env, *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def serve(w: Workshop) -> dict[str, str]:
    """`labgen classroom serve` in the classroom dir; returns the URLs it printed."""
    env = dict(os.environ, NO_COLOR="1", LANG="C.UTF-8", **WIDE)
    w.server = subprocess.Popen(
        [*LABGEN, "classroom", "serve", "--port", "0"],
        cwd=w.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    urls, seen, deadline = {}, [], time.monotonic() + 60
    while "board" not in urls and time.monotonic() < deadline:
        line = w.server.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(r"(seat (seat-\d+)|board):\s+(http://127\.0\.0\.1:\d+/\S+)", line)
        if m:
            urls[m.group(2) or "board"] = m.group(3)
    assert sorted(urls) == ["board", "seat-01", "seat-02"], "".join(seen)
    return urls


def context(chromium, locale="en-US"):
    ctx = local_context(chromium, locale=locale)
    ctx.set_default_timeout(60_000)
    return ctx


def submit(page, selector: str, timeout: float = 180_000) -> None:
    """Press a button whose form POSTs and redirects back; return once the new page loaded."""
    with page.expect_navigation(timeout=timeout):
        page.click(selector)


def board_row(board, seat: str) -> dict[str, str]:
    row = board.locator(f"#row-{seat}")
    cells = {c: row.locator(f"td.{c}").inner_text().strip() for c in ("step", "tasks", "checks", "hints")}
    # the step cell reads as the step's title; its id is in data-step (issue 18)
    return {**cells, "step_id": row.locator("td.step").get_attribute("data-step"), "class": row.get_attribute("class")}


def seat_table(page) -> list[list[str]]:
    """The progress table of a seat page: [step, status, attempts, hints shown/of] per row."""
    return [
        [c.strip() for c in r.locator("td").all_inner_texts()]
        for r in page.locator("table.progress tr").all()
        if r.locator("td").count()
    ]


def port_closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_a_workshop_with_an_instructor_and_two_students(workshop, browser):
    w = workshop

    # 1. The instructor: up, status (table and JSON), sheets.
    t = time.monotonic()
    up = labgen(
        "classroom",
        "up",
        "mesos-calico",
        "--seats",
        "2",
        "--name",
        NAME,
        "--pool",
        POOL,
        "--ssh-port",
        str(JUMP_PORT),
        "--ssh-address",
        "127.0.0.1",
        cwd=ROOT,
        timeout=2400,
    )
    if (w.path / "classroom.yml").exists():
        w.names = host_names(w.path)
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"classroom {NAME}: 2 seat(s) of mesos-calico" in flat(up.stdout)
    assert "2/2 seat(s) up" in up.stdout and "next: `labgen classroom sheets`" in up.stdout, up.stdout
    w.timed("classroom up", t)

    t = time.monotonic()
    table = labgen("classroom", "status", cwd=w.path, check=True).stdout
    print(table)
    for seat in (1, 2):
        assert re.search(rf"│ {seat}\s+│ {re.escape(seat_ip(seat, 0))}/24\s+│ 3/3\s+│ 3/3\s+│ \d+/21\s+│ -", table), (
            table
        )
    documented = documented_status()
    status = json.loads(labgen("classroom", "status", "--format", "json", cwd=w.path, check=True).stdout)
    assert set(status) == set(documented)
    assert {k: status[k] for k in ("classroom", "lab", "pool")} == {
        "classroom": NAME,
        "lab": "mesos-calico",
        "pool": POOL,
    }
    for seat, row in zip((1, 2), status["seats"]):
        assert set(row) == set(documented["seats"][0])
        assert row["instance"] == f"{NAME}-s0{seat}"
        assert (row["seat"], row["network"], row["nodes"], row["nodes_up"], row["reachable"]) == (
            seat,
            f"{seat_ip(seat, 0)}/24",
            3,
            3,
            3,
        )
        assert row["roles"] == 21 and row["roles_done"] >= 3  # at least base on each node
        assert row["scenario"] is None and row["error"] is None
    w.timed("classroom status", t)

    sheets = labgen("classroom", "sheets", cwd=w.path, check=True).stdout
    assert f"jump: 127.0.0.1:{JUMP_PORT}" in flat(sheets), sheets
    for seat in ("seat-01", "seat-02"):
        assert {p.name for p in (w.path / "sheets" / seat).iterdir()} >= {
            "ssh_config",
            "id_ed25519",
            "known_hosts",
            "sheet.html",
        }

    # 2. Student 1: an ordinary local user with only their sheet folder.
    t = time.monotonic()
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", STUDENT], check=True, timeout=60)
    folder = Path(f"/home/{STUDENT}/seat-01")
    shutil.copytree(w.path / "sheets" / "seat-01", folder)
    subprocess.run(["chown", "-R", f"{STUDENT}:{STUDENT}", str(folder)], check=True, timeout=60)
    who = as_student("sh", "-c", "id -u; command -v labgen || echo no-labgen", cwd=folder)
    assert who.stdout.split() == [str(pwd.getpwnam(STUDENT).pw_uid), "no-labgen"], who
    login = as_student("ssh", "-F", "ssh_config", "ubuntu-2", "hostname", cwd=folder)
    assert login.returncode == 0 and login.stdout == "ubuntu-2\n", login.stderr
    eth1 = as_student("ssh", "-F", "ssh_config", "ubuntu-2", "ip -4 -o addr show dev eth1", cwd=folder)
    assert f"inet {seat_ip(1, 102)}/24" in eth1.stdout, eth1.stdout + eth1.stderr  # their own seat
    w.timed("student 1 logs in", t)

    # 3. Every seat prepared up to the first task; a handout in each seat's transcripts/.
    t = time.monotonic()
    run = labgen(
        "classroom",
        "scenario",
        "run",
        "mac-bug",
        "--variant",
        "challenge",
        "--to",
        "make-them-talk",
        cwd=w.path,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2/2 seat(s) passed" in run.stdout, run.stdout
    for seat in ("seat-01", "seat-02"):
        handouts = list((w.path / seat / "transcripts").glob("mac-bug-*.html"))
        assert len(handouts) == 1, handouts
        text = handouts[0].read_text()
        assert "ee:aa:66:53:32:86" in text and "ee:ee:ee:ee:ee:ee" in text  # the break, observed
    table = labgen("classroom", "status", cwd=w.path, check=True).stdout
    assert flat(table).count("mac-bug 4/4 passed, waits at make-them-talk") == 2, table
    status = json.loads(labgen("classroom", "status", "--format", "json", cwd=w.path, check=True).stdout)
    for row in status["seats"]:
        assert row["scenario"] == {
            "id": "mac-bug",
            "passed": True,
            "steps": 4,
            "of": 4,
            "last": "observe-symptom",
            "waiting": "make-them-talk",
        }
        assert set(row["scenario"]) == set(documented["seats"][0]["scenario"])
    w.timed("classroom scenario run", t)

    # 4. The pages: each student sees their goal and login.
    t = time.monotonic()
    urls = serve(w)
    instructor, student1, student2 = context(browser), context(browser), context(browser)
    try:
        board = instructor.new_page()
        board.goto(urls["board"])
        for seat in ("seat-01", "seat-02"):
            row = board_row(board, seat)
            assert row["class"] == "state-working" and row["step_id"] == "make-them-talk", row
            assert row["step"].startswith(STEP_TITLES["make-them-talk"] + " ("), row
            assert (row["tasks"], row["checks"], row["hints"]) == ("0/1", "0/0", "0")

        page1, page2 = student1.new_page(), student2.new_page()
        for page, url in ((page1, urls["seat-01"]), (page2, urls["seat-02"])):
            page.goto(url)
            assert TASK in page.inner_text("h1")
            assert "172.32.2.10" in page.inner_text("#goal")
            assert "ssh -F ssh_config ubuntu-2" in page.inner_text("#login")
        assert page1.inner_text("#seat-name") == "seat-01" and page2.inner_text("#seat-name") == "seat-02"

        # Student 1 types the article's fix through their own login and presses Check.
        fix = as_student(
            "ssh",
            "-F",
            "ssh_config",
            "ubuntu-2",
            "sudo ip -n wl-ubuntu-2 link set cali0 address ee:ee:ee:ee:ee:ee",
            cwd=folder,
        )
        assert fix.returncode == 0, fix.stderr
        submit(page1, "#check")
        assert page1.inner_text("#notice") == "Check passed: on to the next step."
        assert QUESTION in page1.inner_text("h1")

        # 5. The board, never reloaded, turns seat 1 green.
        board.wait_for_selector("#row-seat-01.state-solved", timeout=30_000)
        assert (
            board.locator("#row-seat-01").evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(165, 214, 167)"
        )

        # Student 2: a hint, gives up on the task, then answers the question wrong, then right.
        submit(page2, "#hint")
        assert "Start from the symptom" in page2.inner_text("#hints")
        board.wait_for_function(
            "() => document.querySelector('#row-seat-02 td.hints').textContent === '1'", timeout=30_000
        )
        page2.once("dialog", lambda dialog: dialog.accept())
        submit(page2, "#solve")
        assert page2.inner_text("#notice") == "Solved by the solution."
        assert QUESTION in page2.inner_text("h1")
        page2.fill("#answer", "ee:aa:66:53:32:86")
        submit(page2, "#send-answer")
        assert "Not that one." in page2.inner_text("#result") and "Not yet" in page2.inner_text("#result"), (
            page2.inner_text("main")
        )
        page2.fill("#answer", "EE-EE-EE-EE-EE-EE")
        submit(page2, "#send-answer")
        assert page2.inner_text("#notice") == "Right!" and page2.locator("#finished").count() == 1
        board.wait_for_selector("#row-seat-02.state-by_solution", timeout=30_000)
        board.wait_for_function(
            "() => document.querySelector('#row-seat-02 td.checks').textContent === '1/2'", timeout=30_000
        )
        # the board polls every 2 s: the seat may still have been running the steps after the
        # question (and the cleanup) at the poll that brought 1/2
        board.wait_for_function(
            "() => document.querySelector('#row-seat-02 td.step').dataset.step === 'finished'",
            timeout=30_000,
        )
        seen = {seat: board_row(board, seat) for seat in ("seat-01", "seat-02")}
        assert [seen[s]["step_id"] for s in ("seat-01", "seat-02")] == ["where-replies-went", "finished"], seen
        assert seen["seat-01"]["step"].startswith(STEP_TITLES["where-replies-went"]), seen
        assert seen["seat-02"]["step"].startswith("finished ("), seen
        assert [seen[s][c] for s in ("seat-01", "seat-02") for c in ("tasks", "checks", "hints")] == [
            "1/1",
            "1/1",
            "0",
            "1/1",
            "1/2",
            "1",
        ], seen

        # The CSV export: both seats, the figures the board and the seat pages showed.
        href = board.get_attribute("#csv", "href")
        rows = list(csv.DictReader(io.StringIO(instructor.request.get(urljoin(board.url, href)).text())))
        by_seat = {s: [r for r in rows if r["seat"] == s] for s in ("seat-01", "seat-02")}
        assert [[r["step"], r["solved"], r["attempts"], r["hints"]] for r in by_seat["seat-01"]] == [
            ["make-them-talk", "yes", "1", "0"],
            ["where-replies-went", "no", "0", "0"],
        ], rows
        assert [[r["step"], r["solved"], r["attempts"], r["hints"]] for r in by_seat["seat-02"]] == [
            ["make-them-talk", "by solution", "0", "1"],
            ["where-replies-went", "yes", "2", "0"],
        ], rows
        for seat, page in (("seat-01", page1), ("seat-02", page2)):
            attempts = sum(int(r["attempts"]) for r in by_seat[seat])
            passed = sum(r["solved"] == "yes" for r in by_seat[seat])
            hints = sum(int(r["hints"]) for r in by_seat[seat])
            assert seen[seat]["checks"] == f"{passed}/{attempts}" and seen[seat]["hints"] == str(hints)
            page.reload()
            shown = seat_table(page)
            # the page names steps by title (in the page's language), the CSV by id
            assert [[r[0], r[2], r[3].split("/")[0]] for r in shown] == [
                [STEP_TITLES[r["step"]], r["attempts"], r["hints"]] for r in by_seat[seat]
            ], (seat, shown)

        # The instructor resets seat 2 from the board: it comes back to the task, broken again.
        board.once("dialog", lambda dialog: dialog.accept())
        submit(board, "#row-seat-02 button", timeout=300_000)
        row = board_row(board, "seat-02")
        assert row["class"] == "state-working" and row["step_id"] == "make-them-talk", row
        assert row["step"].startswith(STEP_TITLES["make-them-talk"] + " ("), row
        assert (row["tasks"], row["checks"], row["hints"]) == ("0/1", "0/0", "0"), row
        page2.reload()
        assert TASK in page2.inner_text("h1") and page2.locator("#hints").count() == 0
        submit(page2, "#check")
        assert "The workload on ubuntu-2 (172.32.2.10) still gets no replies" in page2.inner_text("#messages")
        assert board_row(board, "seat-01")["class"] == "state-solved"  # seat 1 untouched
        w.timed("serve: pages, board, reset", t)
    finally:
        for ctx in (instructor, student1, student2):
            ctx.close()
        port = int(urlparse(urls["board"]).port)
        stop_process(w.server, timeout=30, sig=signal.SIGINT)  # Ctrl-C, as the README says
    assert w.server.returncode is not None and port_closed(port), "the web server still listens"

    # 6. Down: nothing of the classroom is left.
    t = time.monotonic()
    down = labgen("classroom", "down", "--yes", cwd=w.path, timeout=900)
    assert down.returncode == 0, down.stdout + down.stderr
    assert f"classroom {NAME} removed" in down.stdout
    w.timed("classroom down", t)
    assert not w.path.exists()
    assert_classroom_gone(NAME, w.names, JUMP_PORT, Path(PROXY_ENV["LABGEN_APTPROXY_DIR"]))
