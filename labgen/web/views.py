"""What the pages show, as plain data: a seat's view, the board's rows, the results CSV.

Run in Starlette's thread pool (they read progress files). Each call reads progress.json a
few times and nothing else from disk: the scenario and lab are the seat's, loaded once.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import time

from markdown_it import MarkdownIt

from labgen.errors import LabgenError
from labgen.model import STUDENT_KINDS
from labgen.scenario import story
from labgen.scenario.language import fallback_note
from labgen.scenario.summary import summarise
from labgen.words import words

# In a seat page the student has terminals: a goal's "log in with `labgen ssh NODE`" (the CLI
# path) reads "open NODE's terminal" there, and a goal that names both ways in (own lab, classroom)
# keeps the classroom's `ssh -F` line for those who prefer their own client.
_NODE = r"([A-Za-z0-9_.-]+)"
_LOGIN = {
    "en": (
        (
            re.compile(
                rf"\b([Ll])og in to {_NODE} \(on your own lab: `labgen ssh \2`; in a classroom: "
                r"(`ssh -F ssh_config \2` in the folder of your access sheet)\)"
            ),
            lambda m: (
                ("O" if m.group(1) == "L" else "o")
                + f"pen {m.group(2)}'s terminal (or, with your own SSH client: {m.group(3)})"
            ),
        ),
        (
            re.compile(rf"\b([Ll])og in with `labgen ssh {_NODE}`"),
            lambda m: ("O" if m.group(1) == "L" else "o") + f"pen {m.group(2)}'s terminal",
        ),
    ),
    "zh": (
        (
            re.compile(
                rf"登录 {_NODE}（自己的实验环境：`labgen ssh \1`；课堂上："
                r"(在访问单所在的文件夹里运行 `ssh -F ssh_config \1`)）"
            ),
            lambda m: f"打开 {m.group(1)} 的终端（也可以用自己的 SSH 客户端：{m.group(2)}）",
        ),
        (re.compile(rf"用 `labgen ssh {_NODE}` 登录"), lambda m: f"打开 {m.group(1)} 的终端"),
    ),
}


def for_the_page(text: str, lang: str) -> str:
    for pattern, replace in _LOGIN[lang]:
        text = pattern.sub(replace, text)
    return text


_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


@functools.lru_cache(maxsize=4096)
def markdown(text: str) -> str:
    """Scenario prose as HTML: CommonMark with raw HTML switched off (texts come from strangers;
    markdown-it also refuses javascript: links). Cached: every seat shows the same texts."""
    return _md.render(text or "")


def stuck(record: dict | None, settings, now: float) -> bool:
    """A student step is stuck when its check failed `stuck_fails` times in a row, or nothing
    happened on it for `stuck_minutes`."""
    if not record or record.get("status") != "open":
        return False
    fails = record.get("attempts", 0) - record.get("passed", 0)
    last = (record.get("last") or {}).get("at") or record.get("opened") or now
    return fails >= settings.stuck_fails or now - last >= settings.stuck_minutes * 60


def fresh(seats) -> bool:
    """True when every seat's snapshot is current: a view is then a few stat() calls and
    dict lookups, cheaper inline than a hop to the thread pool."""
    return all(seat.fresh() for seat in seats)


def seat_view(seat, lang: str) -> dict:
    """What the seat page shows, from the seat's progress; made once per change of it."""
    view = {"name": seat.name, "login": seat.login, "started": False, "nodes": seat.node_names()}
    try:
        ch = seat.challenge()
    except LabgenError:
        return view
    cached = seat.views.get(lang)
    if cached is None or cached[0] is not ch:
        cached = seat.views[lang] = (ch, _challenge_view(seat, ch, lang, view))
    return cached[1]


def _challenge_view(seat, ch, lang: str, view: dict) -> dict:
    p = ch.progress()
    summary = summarise(ch)
    current = p.get("current")
    titles = {s.id: s.title.get(lang) for s in ch.main}
    for row in summary["steps"]:
        row["title"] = titles.get(row["step"], row["step"])
    view.update(
        started=True,
        scenario=ch.scenario.title.get(lang),
        finished=bool(p.get("finished")),
        rows=summary["steps"],
        note=fallback_note(ch.scenario, lang),
    )
    # the story so far: every step before the current one, with what it printed
    outputs = story.load(seat.lab_dir)
    so_far = []
    for step in ch.main:
        if step.id == current or (current is None and not p.get("finished")):
            break
        if step.kind in STUDENT_KINDS:
            so_far.append(
                {"id": step.id, "kind": step.kind, "title": step.title.get(lang), "explain": "", "outputs": {}}
            )
            continue
        so_far.append(
            {
                "id": step.id,
                "kind": step.kind,
                "title": step.title.get(lang),
                "explain": markdown(ch.text(step.explain, lang)) if step.explain else "",
                "outputs": outputs.get(step.id, {}),
            }
        )
    view["story"] = so_far
    step = ch.step(current)
    if step is not None:
        rec = p["steps"].get(step.id, {})
        shown = rec.get("hints", 0)
        goal = for_the_page(ch.text(step.goal, lang), lang)
        view.update(
            step={
                "id": step.id,
                "kind": step.kind,
                "title": step.title.get(lang),
                "goal": markdown(goal),
                "explain": markdown(ch.text(step.explain, lang)) if step.explain else "",
            },
            hints=[markdown(for_the_page(ch.text(h, lang), lang)) for h in step.hints[:shown]],
            hints_left=len(step.hints) - shown,
            last=rec.get("last"),
            attempts=rec.get("attempts", 0),
        )
    return view


def board_rows(state, lang: str = "en") -> list[dict]:
    """One row per seat for the board (and its rows.json); step titles in `lang` (the one the
    board is read in), falling back to the language the scenario has."""
    now = time.time()
    rows = []
    for seat in state.seats:
        live = state.room.live[seat.name]
        row = {
            "seat": seat.name,
            "nodes_up": seat.nodes_up,
            "step": "-",
            "step_title": "-",
            "state": "idle",
            "attempts": 0,
            "passed": 0,
            "hints": 0,
            "seconds": None,
            "last": None,
            "tasks": "-",
            "stuck": False,
            "consent": live.consent,
            "watched": bool(live.watchers),
            "steps": [],
        }
        try:
            ch = seat.challenge()
            summary = summarise(ch, now)
            p = ch.progress()
        except LabgenError:
            rows.append(row)
            continue
        steps = summary["steps"]
        tasks = [s for s in steps if s["kind"] == "task"]
        done = [s for s in tasks if s["status"] in ("passed", "solved")]
        current = next((s for s in steps if s["step"] == summary["current"]), None)
        state_name = "working"
        if tasks and len(done) == len(tasks):
            state_name = "solved" if all(s["status"] == "passed" for s in tasks) else "by_solution"
        step_id = summary["current"] or ("finished" if summary["finished"] else "-")
        if summary["current"]:
            step_title = next((s.title.get(lang) for s in ch.main if s.id == step_id), step_id)
        else:
            step_title = words("web", lang)["board_finished"] if summary["finished"] else "-"
        row.update(
            step=step_id,
            step_title=step_title,
            state=state_name,
            tasks=f"{len(done)}/{len(tasks)}",
            attempts=sum(s["attempts"] for s in steps),
            passed=sum(s["passed"] for s in steps),
            hints=sum(s["hints"] for s in steps),
            seconds=current["seconds"] if current else None,
            last=summary["updated"],
            ago=round(now - summary["updated"]),
            stuck=stuck(p.get("steps", {}).get(summary["current"] or ""), state.room.settings, now),
            steps=[s["step"] for s in steps],
            titles={s.id: s.title.get(lang) for s in ch.main if s.kind in STUDENT_KINDS},
        )
        rows.append(row)
    return rows


def results_csv(seats) -> str:
    """seat, task, solved (yes / by solution / no), attempts, hints, seconds: one row per seat
    and student step; a seat with no scenario started gets one row saying so."""
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
            writer.writerow(
                [
                    seat.name,
                    summary["scenario"],
                    row["step"],
                    row["kind"],
                    row["solved"],
                    row["attempts"],
                    row["hints"],
                    "" if row["seconds"] is None else row["seconds"],
                ]
            )
    return out.getvalue()
