"""What a scenario run produced: the runner fills these, the transcript renders them.

A record is also saved as JSON next to its handout (`to_json` / `load_record`), so a handout
can be rendered again later (with a newer renderer, in another language) and tests can use a
real run as data. The JSON carries the scenario and lab files' own text, validated again on
load like any file from a stranger.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from labgen import yamlsrc
from labgen.errors import LabgenError
from labgen.labfile import parse_lab
from labgen.model import Lab, Scenario, Step
from labgen.scenario.load import parse_scenario

FORMAT = 1  # bump when the JSON changes incompatibly


@dataclass
class CommandResult:
    node: str
    command: str  # the command as run (variables substituted)
    exit_code: int | None  # None when it could not run (connection lost, timeout)
    stdout: str
    stderr: str
    duration: float  # seconds, last attempt
    attempts: int = 1
    # The evidence: 0-based numbers of the lines an expectation matched, per stream
    # ("stdout"/"stderr"), so the handout can mark them.
    evidence: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass
class StepRecord:
    step: Step
    status: str  # "passed" | "failed" | "skipped" | "error"
    results: list[CommandResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # why an expectation did not hold
    duration: float = 0.0
    captured: dict[str, str] = field(default_factory=dict)  # "node:var" -> value


@dataclass
class RunRecord:
    scenario: Scenario
    variant: str
    lang: str
    lab_name: str
    provider: str
    started: datetime
    steps: list[StepRecord] = field(default_factory=list)
    duration: float = 0.0
    interrupted: bool = False
    lab: Lab | None = None  # the lab it ran on (the handout draws its topology)

    @property
    def passed(self) -> bool:
        return not self.interrupted and all(s.status in ("passed", "skipped") for s in self.steps)

    @property
    def first_failure(self) -> StepRecord | None:
        return next((s for s in self.steps if s.status in ("failed", "error")), None)


# ---- JSON


def _source_text(path: Path | None) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8") if path else None
    except OSError:
        return None


def to_json(record: RunRecord) -> str:
    """The record as JSON text (pure apart from reading the scenario and lab files it came from)."""
    data = {
        "format": FORMAT,
        "scenario_file": _source_text(record.scenario.source),
        "lab_file": _source_text(record.lab.source) if record.lab else None,
        "scenario": record.scenario.id,
        "variant": record.variant,
        "lang": record.lang,
        "lab": record.lab_name,
        "provider": record.provider,
        "started": record.started.isoformat(timespec="seconds"),
        "duration": round(record.duration, 3),
        "interrupted": record.interrupted,
        "steps": [
            {
                "id": s.step.id,
                "status": s.status,
                "duration": round(s.duration, 3),
                "failures": s.failures,
                "captured": s.captured,
                "results": [
                    {
                        "node": r.node,
                        "command": r.command,
                        "exit_code": r.exit_code,
                        "stdout": r.stdout,
                        "stderr": r.stderr,
                        "duration": round(r.duration, 3),
                        "attempts": r.attempts,
                        "evidence": {k: list(v) for k, v in r.evidence.items()},
                    }
                    for r in s.results
                ],
            }
            for s in record.steps
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def load_record(path: Path, lang: str | None = None) -> RunRecord:
    """Read a record written by `to_json`; the scenario and lab texts inside it are validated
    like any file. `lang` renders it in another language. Raises LabgenError when the file
    is not such a record."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or not isinstance(data.get("scenario_file"), str):
            raise ValueError(f"not a labgen run record (format {FORMAT})")
        scenario = parse_scenario(yamlsrc.load_text(data["scenario_file"], f"{path} (scenario)"))
        lab = None
        if isinstance(data.get("lab_file"), str):
            lab = parse_lab(yamlsrc.load_text(data["lab_file"], f"{path} (lab)"), f"{path} (lab)")
        variant = scenario.variants[data["variant"]]
        steps = {s.id: s for s in variant.steps}
        record = RunRecord(
            scenario,
            data["variant"],
            lang or data["lang"],
            data["lab"],
            data["provider"],
            datetime.fromisoformat(data["started"]),
            duration=float(data["duration"]),
            interrupted=bool(data["interrupted"]),
            lab=lab,
        )
        for s in data["steps"]:
            record.steps.append(
                StepRecord(
                    steps[s["id"]],
                    s["status"],
                    duration=float(s["duration"]),
                    failures=[str(f) for f in s["failures"]],
                    captured={str(k): str(v) for k, v in s["captured"].items()},
                    results=[_result(r) for r in s["results"]],
                )
            )
        return record
    except LabgenError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LabgenError(
            f"{path}: cannot read this run record: {exc}",
            hint="records are the .json files labgen writes next to each handout",
        ) from None


def _result(r: dict[str, Any]) -> CommandResult:
    code = r["exit_code"]
    return CommandResult(
        str(r["node"]),
        str(r["command"]),
        None if code is None else int(code),
        str(r["stdout"]),
        str(r["stderr"]),
        float(r["duration"]),
        int(r["attempts"]),
        {str(k): tuple(int(i) for i in v) for k, v in r.get("evidence", {}).items()},
    )
