"""The classroom web app's own logic: who may see and do what, languages, the CSV.
Served by Starlette's TestClient over a FakeRemote; the real thing (uvicorn, Chromium, LXC)
is tests/browser/test_classroom_web.py."""

from __future__ import annotations

import csv
import io
import json

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

from starlette.testclient import TestClient  # noqa: E402

from labgen.labdir import LabDir  # noqa: E402
from labgen.scenario.challenge import Challenge  # noqa: E402
from labgen.scenario.load import load_scenario  # noqa: E402
from labgen.web.app import create_app, pick_lang  # noqa: E402
from labgen.web.served_seats import Seat  # noqa: E402
from tests.unit.test_challenge import DATA, Box, lab  # noqa: E402

LAB_YML = """\
name: ch-unit
description: one node
network: {cidr: 192.168.63.0/24}
boxes: {lxc: labgen/debian-12}
nodes:
  - {name: ubuntu-1, ip: 192.168.63.101, roles: [base]}
"""
ORIGIN = {"origin": "http://testserver"}


class FakeSeat(Seat):
    box: Box = None

    def remote(self):
        return self.box.remote


def make_seat(tmp_path, name, started=True):
    path = tmp_path / name
    lab_dir = LabDir(path)
    lab_dir.meta.mkdir(parents=True)
    (path / "lab.yml").write_text(LAB_YML)
    lab_dir.save_state({"lab": "ch-unit", "provider": "lxc"})
    seat = FakeSeat(name, lab_dir, f"token-{name}-" + "x" * 30, "labgen ssh ubuntu-1", min_interval=0)
    seat.box = Box()
    if started:
        Challenge(lab_dir, load_scenario(DATA / "challenge.yml"), "default", lab(), seat.box.remote).start()
    return seat


@pytest.fixture
def app(tmp_path):
    seats = [make_seat(tmp_path, "s1"), make_seat(tmp_path, "s2"), make_seat(tmp_path, "s3", False)]
    client = TestClient(create_app(seats, "I" * 32, probe_every=0))
    return client, seats


def test_seat_page_shows_the_goal_and_login(app):
    client, (s1, _, _) = app
    page = client.get(f"/seat/{s1.token}", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert "Write hello into /tmp/f on ubuntu-1." in page.text and "labgen ssh ubuntu-1" in page.text
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "same-origin"
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_unknown_token_and_other_seats_token_get_403(app):
    client, (s1, s2, _) = app
    assert client.get("/seat/not-a-token").status_code == 403
    res = client.post(f"/seat/{s2.name}/check", data={"token": s1.token}, headers=ORIGIN)
    assert res.status_code == 403
    assert client.get("/board/" + "J" * 32).status_code == 403


def test_post_without_token_or_from_another_site_is_refused(app):
    client, (s1, _, _) = app
    assert client.post(f"/seat/{s1.name}/check", headers=ORIGIN).status_code == 403
    cross = client.post(f"/seat/{s1.name}/check", data={"token": s1.token}, headers={"origin": "http://evil.example"})
    assert cross.status_code == 403
    bare = client.post(f"/seat/{s1.name}/check", data={"token": s1.token})  # no Origin at all
    assert bare.status_code == 403
    null = client.post(
        f"/seat/{s1.name}/check", data={"token": s1.token}, headers={"origin": "null", "sec-fetch-site": "cross-site"}
    )
    assert null.status_code == 403
    ours = client.post(
        f"/seat/{s1.name}/check", data={"token": s1.token}, headers={"origin": "null", "sec-fetch-site": "same-origin"}
    )
    assert ours.status_code == 200  # followed the redirect to the seat page
    assert client.get(f"/seat/{s1.name}/check").status_code == 405


def test_check_fails_then_passes_and_the_board_follows(app):
    client, (s1, _, _) = app
    res = client.post(f"/seat/{s1.name}/check", data={"token": s1.token}, headers=ORIGIN, follow_redirects=True)
    assert res.status_code == 200 and "/tmp/f does not say hello yet." in res.text
    rows = {r["seat"]: r for r in client.get("/board/" + "I" * 32 + "/rows.json").json()["rows"]}
    assert rows["s1"]["state"] == "working" and rows["s1"]["attempts"] == 1
    assert rows["s3"]["state"] == "idle"
    s1.box.f = "hello\n"
    res = client.post(f"/seat/{s1.name}/check", data={"token": s1.token}, headers=ORIGIN, follow_redirects=True)
    assert "Check passed" in res.text and "What is the secret?" in res.text
    rows = {r["seat"]: r for r in client.get("/board/" + "I" * 32 + "/rows.json").json()["rows"]}
    assert rows["s1"]["state"] == "solved" and rows["s1"]["tasks"] == "1/1"


def test_hint_and_answer_over_the_web(app):
    client, (_, s2, _) = app
    client.post(f"/seat/{s2.name}/hint", data={"token": s2.token}, headers=ORIGIN)
    page = client.get(f"/seat/{s2.token}", headers={"accept-language": "en"})
    assert "Use echo." in page.text and "Hint (1)" in page.text
    client.post(f"/seat/{s2.name}/solve", data={"token": s2.token}, headers=ORIGIN)
    res = client.post(
        f"/seat/{s2.name}/answer", data={"token": s2.token, "answer": " 4 2 "}, headers=ORIGIN, follow_redirects=True
    )
    assert "Right!" in res.text and "every task and question is finished" in res.text


def test_rate_limit_and_one_check_at_a_time(app):
    client, (s1, _, _) = app
    s1.min_interval = 60
    client.post(f"/seat/{s1.name}/check", data={"token": s1.token}, headers=ORIGIN)
    res = client.post(f"/seat/{s1.name}/check", data={"token": s1.token}, headers=ORIGIN, follow_redirects=True)
    assert "wait a few seconds" in res.text
    assert json.loads(s1.lab_dir.meta.joinpath("progress.json").read_text())["steps"]["make-file"]["attempts"] == 1


def test_csv_lists_every_seat(app):
    client, _ = app
    res = client.get("/board/" + "I" * 32 + "/results.csv")
    rows = list(csv.DictReader(io.StringIO(res.text)))
    assert {r["seat"] for r in rows} == {"s1", "s2", "s3"}
    assert [r["solved"] for r in rows if r["seat"] == "s3"] == ["not started"]
    assert {r["step"] for r in rows if r["seat"] == "s1"} == {"make-file", "what-secret"}


def test_reset_needs_the_instructor_token_in_the_form(app):
    client, (s1, _, _) = app
    board = "/board/" + "I" * 32
    assert client.post(f"{board}/reset/s1", headers=ORIGIN).status_code == 403
    assert client.post(f"{board}/reset/s1", data={"token": s1.token}, headers=ORIGIN).status_code == 403
    s1.box.f = "hello\n"
    client.post(f"/seat/{s1.name}/check", data={"token": s1.token}, headers=ORIGIN)
    ok = client.post(f"{board}/reset/s1", data={"token": "I" * 32}, headers=ORIGIN, follow_redirects=False)
    assert ok.status_code == 303 and s1.box.f is None  # the cleanup ran
    assert json.loads(s1.lab_dir.meta.joinpath("progress.json").read_text())["current"] == "make-file"


def test_language_from_accept_language_and_switch(app):
    client, (s1, _, _) = app
    zh = client.get(f"/seat/{s1.token}", headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert "在 ubuntu-1 上把 hello 写进 /tmp/f。" in zh.text and "检查" in zh.text
    en = client.get(f"/seat/{s1.token}?lang=en", headers={"accept-language": "zh-CN"})
    assert "Check" in en.text and en.cookies.get("lang") == "en"


def test_pick_lang_weights():
    class R:
        def __init__(self, al):
            self.headers, self.query_params, self.cookies = {"accept-language": al}, {}, {}

    assert pick_lang(R("en;q=0.5, zh-TW;q=0.8")) == "zh"
    assert pick_lang(R("fr, de")) == "en"


def test_a_one_language_scenario_on_the_seat_page_says_it_falls_back(tmp_path):
    import re

    english = re.sub(r', zh: "[^"]*"\}', "}", (DATA / "challenge.yml").read_text(encoding="utf-8"))
    assert "zh:" not in english
    (tmp_path / "english.yml").write_text(english, encoding="utf-8")
    seat = make_seat(tmp_path, "s1", started=False)
    Challenge(seat.lab_dir, load_scenario(tmp_path / "english.yml"), "default", lab(), seat.box.remote).start()
    client = TestClient(create_app([seat], "I" * 32, probe_every=0))
    zh = client.get(f"/seat/{seat.token}", headers={"accept-language": "zh-CN"})
    assert "Write hello into /tmp/f on ubuntu-1." in zh.text and "检查" in zh.text
    assert '<p id="language-note" class="explain"><em>本场景有些内容只有英文，按原文显示。</em></p>' in zh.text
    en = client.get(f"/seat/{seat.token}?lang=en")
    assert "language-note" not in en.text


def test_the_boards_catch_up_list_speaks_the_boards_language(app):
    """issue 18: the step titles in "catch up to" follow the board's language, like its words."""
    client, _ = app
    board = "/board/" + "I" * 32
    zh = client.get(board, headers={"accept-language": "zh-CN"})
    assert '<option value="make-file">创建文件 (make-file)</option>' in zh.text
    assert '<option value="what-secret">秘密 (what-secret)</option>' in zh.text
    assert "推进到" in zh.text and "Make the file" not in zh.text
    en = client.get(board + "?lang=en", headers={"accept-language": "zh-CN"})
    assert '<option value="make-file">Make the file (make-file)</option>' in en.text and "创建文件" not in en.text
    rows = client.get(board + "/rows.json?lang=zh").json()["rows"]  # (the page above set lang=en)
    assert rows[0]["titles"] == {"make-file": "创建文件", "what-secret": "秘密"}


def test_the_boards_step_column_shows_titles_and_keeps_ids_for_machines(app):
    """issue 18: the board's "current step" reads as the step's title (the id stays in a
    tooltip, data-step and rows.json); a finished seat says so in the board's language."""
    client, (s1, _, _) = app
    board = "/board/" + "I" * 32
    en = client.get(board + "?lang=en")
    assert '<td class="step" data-step="make-file" title="make-file">Make the file <span' in en.text
    zh = client.get(board + "?lang=zh")
    assert '<td class="step" data-step="make-file" title="make-file">创建文件 <span' in zh.text
    rows = {r["seat"]: r for r in client.get(board + "/rows.json?lang=en").json()["rows"]}
    assert (rows["s1"]["step"], rows["s1"]["step_title"]) == ("make-file", "Make the file")
    assert (rows["s3"]["step"], rows["s3"]["step_title"]) == ("-", "-")
    s1.box.f = "hello\n"
    client.post(f"/seat/{s1.name}/check", data={"token": s1.token}, headers=ORIGIN)
    client.post(f"/seat/{s1.name}/answer", data={"token": s1.token, "answer": "42"}, headers=ORIGIN)
    rows = {r["seat"]: r for r in client.get(board + "/rows.json?lang=zh").json()["rows"]}
    assert (rows["s1"]["step"], rows["s1"]["step_title"]) == ("finished", "已完成"), rows["s1"]


def test_the_catch_up_list_falls_back_to_the_language_a_scenario_has(tmp_path):
    import re

    english = re.sub(r', zh: "[^"]*"\}', "}", (DATA / "challenge.yml").read_text(encoding="utf-8"))
    (tmp_path / "english.yml").write_text(english, encoding="utf-8")
    seat = make_seat(tmp_path, "s1", started=False)
    Challenge(seat.lab_dir, load_scenario(tmp_path / "english.yml"), "default", lab(), seat.box.remote).start()
    client = TestClient(create_app([seat], "I" * 32, probe_every=0))
    zh = client.get("/board/" + "I" * 32, headers={"accept-language": "zh-CN"})
    assert '<option value="make-file">Make the file (make-file)</option>' in zh.text and "推进到" in zh.text
