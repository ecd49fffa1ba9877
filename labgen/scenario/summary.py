"""A challenge's progress as rows: for `labgen scenario progress`, the board and the CSV.

Pure: it reads the scenario and the progress dict, nothing else.
"""

from __future__ import annotations

import time

from labgen.model import STUDENT_KINDS

# How a student step ended, as the CSV's `solved` column says it.
SOLVED = {"passed": "yes", "solved": "by solution", "open": "no"}


def summarise(challenge, now: float | None = None) -> dict:
    """{scenario, variant, current, finished, steps: [...]} for the student steps."""
    p = challenge.progress()
    now = now or time.time()
    rows = []
    for step in challenge.main:
        if step.kind not in STUDENT_KINDS:
            continue
        rec = p.get("steps", {}).get(step.id)
        if rec is None:
            rows.append(
                {
                    "step": step.id,
                    "kind": step.kind,
                    "title": step.title.get("en"),
                    "status": "not_started",
                    "solved": "no",
                    "attempts": 0,
                    "passed": 0,
                    "hints": 0,
                    "hints_total": len(step.hints),
                    "seconds": None,
                    "last": None,
                }
            )
            continue
        end = rec.get("closed") or (now if p.get("current") == step.id else rec.get("opened"))
        rows.append(
            {
                "step": step.id,
                "kind": step.kind,
                "title": step.title.get("en"),
                "status": rec["status"],
                "solved": SOLVED.get(rec["status"], "no"),
                "attempts": rec["attempts"],
                "passed": rec["passed"],
                "hints": rec["hints"],
                "hints_total": len(step.hints),
                "seconds": round(end - rec["opened"], 1) if rec.get("opened") else None,
                "last": rec.get("last"),
            }
        )
    return {
        "scenario": challenge.scenario.id,
        "variant": challenge.variant,
        "current": p.get("current"),
        "finished": p.get("finished"),
        "started": p.get("started"),
        "updated": p.get("updated"),
        "steps": rows,
    }
