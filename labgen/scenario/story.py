"""What the ordinary steps of a challenge showed (setup, observe, break...): each step's output
per node, kept in .labgen/story.json so a student's page can show the story so far ("in the
tcpdump output above"). Bounded: the last KEEP characters of each output."""

from __future__ import annotations

import json

from labgen.labdir import LabDir, atomic_write

KEEP = 8000


def story_file(lab_dir: LabDir):
    return lab_dir.meta / "story.json"


def load(lab_dir: LabDir) -> dict[str, dict[str, str]]:
    """step id -> node -> output, {} when nothing was recorded or the file is unreadable."""
    try:
        data = json.loads(story_file(lab_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(lab_dir: LabDir, step_record) -> None:
    """Keep what one ordinary step printed, node by node (stdout, then stderr)."""
    data = load(lab_dir)
    outputs = {}
    for res in step_record.results:
        text = (res.stdout or "") + (res.stderr or "")
        outputs[res.node] = text[-KEEP:]
    data[step_record.step.id] = outputs
    atomic_write(story_file(lab_dir), json.dumps(data, ensure_ascii=False) + "\n")


def forget(lab_dir: LabDir, step_ids) -> None:
    """Drop the outputs of these steps (a reset replays them)."""
    data = load(lab_dir)
    if any(data.pop(s, None) is not None for s in list(step_ids)):
        atomic_write(story_file(lab_dir), json.dumps(data, ensure_ascii=False) + "\n")
