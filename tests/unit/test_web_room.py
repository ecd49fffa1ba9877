"""The web app's terminals, watch, messages and stuck seats: who may open what (refusals happen
before the websocket handshake completes: HTTP 403, no byte), what the board sends, and the
pure helpers. Over Starlette's TestClient and the FakeRemote of test_web; a real terminal on
real nodes in real Chromium is tests/browser/test_terminal_web.py."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from labgen.web.app import create_app  # noqa: E402
from labgen.web.room import Settings  # noqa: E402
from labgen.web.terminal import session_name, shell_command, watch_command  # noqa: E402
from labgen.web.views import for_the_page, markdown, stuck  # noqa: E402
from tests.unit.test_web import ORIGIN, make_seat  # noqa: E402

BOARD = "/board/" + "I" * 32
SSH_CONFIG = "Host ubuntu-1\n  HostName 127.0.0.1\n  User vagrant\n  Port 1\n"


@pytest.fixture
def app(tmp_path):
    seats = [make_seat(tmp_path, "s1"), make_seat(tmp_path, "s2")]
    for seat in seats:
        seat.lab_dir.save_ssh_config(SSH_CONFIG)
    client = TestClient(create_app(seats, "I" * 32, probe_every=0, settings=Settings(max_terminals=2)))
    return client, seats


def refused(client, url, headers=ORIGIN):
    with pytest.raises(WebSocketDisconnect) as exc:
        with client.websocket_connect(url, headers=headers):
            pass
    return exc.value.code


def test_a_terminal_needs_the_seats_token_its_own_node_and_this_origin(app):
    client, (s1, s2) = app
    assert refused(client, "/seat/" + "x" * 32 + "/term/ubuntu-1") == 1008
    assert refused(client, f"/seat/{s1.token}/term/ubuntu-9") == 1008  # not its node
    assert refused(client, f"/seat/{s1.token}/term/ubuntu-1", {"origin": "http://evil.example"}) == 1008
    assert refused(client, f"/seat/{s1.token}/term/ubuntu-1", {}) == 1008  # no origin at all


def test_a_seat_gets_at_most_max_terminals(app):
    client, (s1, _) = app
    client.app.state.room.live[s1.name].terminals = 2
    assert refused(client, f"/seat/{s1.token}/term/ubuntu-1") == 1008


def test_watch_needs_the_instructor_and_the_students_consent(app):
    client, (s1, _) = app
    assert refused(client, f"{BOARD}/watch/{s1.name}/ubuntu-1") == 1008  # no consent yet
    page = client.get(f"{BOARD}/watch/{s1.name}", headers={"accept-language": "en"})
    assert 'id="not-allowed"' in page.text and "xterm.js" not in page.text
    assert (
        client.post(
            f"/seat/{s1.name}/consent",
            data={"token": s1.token, "allow": "1"},
            headers={"origin": "http://evil.example"},
        ).status_code
        == 403
    )
    client.post(f"/seat/{s1.name}/consent", data={"token": s1.token, "allow": "1"}, headers=ORIGIN)
    assert client.app.state.room.live[s1.name].consent is True
    assert refused(client, "/board/" + "J" * 32 + f"/watch/{s1.name}/ubuntu-1") == 1008
    assert client.get(f"/seat/{s1.token}/live.json").json()["consent"] is True
    client.post(f"/seat/{s1.name}/consent", data={"token": s1.token, "allow": "0"}, headers=ORIGIN)
    assert client.app.state.room.live[s1.name].consent is False


def test_a_message_reaches_one_seat_or_all_and_a_hint_is_revealed(app):
    client, (s1, s2) = app
    client.post(f"{BOARD}/message", data={"token": "I" * 32, "seat": s1.name, "text": " hi <b>1</b> "}, headers=ORIGIN)
    client.post(f"{BOARD}/message", data={"token": "I" * 32, "seat": "all", "text": "break"}, headers=ORIGIN)
    assert [m["text"] for m in client.get(f"/seat/{s1.token}/live.json").json()["messages"]] == ["hi <b>1</b>", "break"]
    assert [m["text"] for m in client.get(f"/seat/{s2.token}/live.json").json()["messages"]] == ["break"]
    client.post(f"{BOARD}/message", data={"token": "I" * 32, "seat": s2.name, "hint": "1"}, headers=ORIGIN)
    news = client.get(f"/seat/{s2.token}/live.json?lang=zh").json()["messages"]
    assert news[-1] == {**news[-1], "kind": "hint", "text": "提示 1/2：用 echo。"}
    # another seat's token reads nothing; a message without the instructor's token sends nothing
    assert client.get("/seat/" + "x" * 32 + "/live.json").status_code == 403
    assert client.post(f"{BOARD}/message", data={"token": s1.token, "text": "x"}, headers=ORIGIN).status_code == 403


def test_catch_up_replays_the_steps_before(app):
    client, (s1, _) = app
    client.post(f"{BOARD}/reset/{s1.name}", data={"token": "I" * 32, "step": "what-secret"}, headers=ORIGIN)
    assert s1.box.f == "hello\n"  # the task before it, by its solution
    page = client.get(f"/seat/{s1.token}", headers={"accept-language": "en"})
    assert 'data-step="what-secret"' in page.text
    news = client.get(f"/seat/{s1.token}/live.json").json()["messages"]
    assert "brought your lab to step what-secret" in news[-1]["text"]


def test_the_seat_page_tells_the_story_so_far_with_titles(app):
    client, (s1, _) = app
    page = client.get(f"/seat/{s1.token}", headers={"accept-language": "en"}).text
    assert 'id="story-prepare"' in page and "secret is 42" in page
    assert ">The secret</td>" in page and ">Make the file</td>" in page  # titles, not ids
    assert 'id="tab-ubuntu-1"' in page or "Terminals are not installed" in page


def test_the_board_flags_stuck_seats(app):
    client, (s1, _) = app
    for _ in range(3):
        client.post(f"/seat/{s1.name}/check", data={"token": s1.token}, headers=ORIGIN)
    rows = {r["seat"]: r for r in client.get(f"{BOARD}/rows.json").json()["rows"]}
    assert rows["s1"]["stuck"] is True and rows["s2"]["stuck"] is False


def test_stuck_rules():
    s = Settings(stuck_fails=3, stuck_minutes=10)
    open_rec = {"status": "open", "attempts": 2, "passed": 0, "opened": 1000.0, "last": {"at": 1000.0}}
    assert not stuck(open_rec, s, 1000.0 + 599)
    assert stuck(open_rec, s, 1000.0 + 600)
    assert stuck({**open_rec, "attempts": 3}, s, 1001.0)
    assert not stuck({**open_rec, "attempts": 3, "status": "passed"}, s, 5000.0)
    assert not stuck(None, s, 5000.0)


def test_goals_say_open_the_terminal_in_the_page():
    assert (
        for_the_page("Log in with `labgen ssh ubuntu-2` and use sudo.", "en")
        == "Open ubuntu-2's terminal and use sudo."
    )
    assert (
        for_the_page("用 `labgen ssh ubuntu-2` 登录，命令前加 sudo。", "zh") == "打开 ubuntu-2 的终端，命令前加 sudo。"
    )


def test_the_built_in_challenge_goal_opens_the_terminal_and_keeps_the_classroom_login():
    """mac-bug's task names both ways in (own lab, classroom); the page offers the terminal and
    keeps the `ssh -F` line for a student's own client, in both languages."""
    from labgen.scenario.load import find_scenario, load_scenario

    scenario = load_scenario(find_scenario("mac-bug"))
    task = next(s for s in scenario.variants["challenge"].steps if s.kind == "task")
    en, zh = (for_the_page(task.goal.get(lang), lang) for lang in ("en", "zh"))
    assert "labgen ssh" not in en and "labgen ssh" not in zh
    assert "Open ubuntu-2's terminal (or, with your own SSH client: `ssh -F ssh_config ubuntu-2` in the folder" in en
    assert (
        "打开 ubuntu-2 的终端（也可以用自己的 SSH 客户端：在访问单所在的文件夹里运行 `ssh -F ssh_config ubuntu-2`）"
    ) in zh


def test_markdown_renders_code_and_never_raw_html():
    html = markdown("run `ip -br link` <script>alert(1)</script>")
    assert "<code>ip -br link</code>" in html and "<script>" not in html


def test_the_node_commands_quote_the_seat_name():
    assert session_name("seat 07;rm") == "labgen-seat_07_rm"
    assert "new-session -A -s labgen-seat_07_rm" in shell_command("seat 07;rm")
    assert "-f read-only,ignore-size" in watch_command("s1", 60)


def test_the_board_offers_watch_catch_up_hints_and_messages(app):
    client, (s1, _) = app
    page = client.get(BOARD, headers={"accept-language": "en"}).text
    assert '<option value="what-secret">The secret (what-secret)</option>' in page
    assert 'action="/board/' + "I" * 32 + '/message"' in page and "Send the next hint" in page
    assert f'href="{BOARD}/watch/{s1.name}" hidden' in page  # no consent yet: no watch link
