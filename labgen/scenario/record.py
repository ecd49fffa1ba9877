"""What a scenario run produced: the runner fills these, the transcript renders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from labgen.model import Scenario, Step


@dataclass
class CommandResult:
    node: str
    command: str            # the command as run (variables substituted)
    exit_code: int | None   # None when it could not run (connection lost, timeout)
    stdout: str
    stderr: str
    duration: float         # seconds, last attempt
    attempts: int = 1


@dataclass
class StepRecord:
    step: Step
    status: str             # "passed" | "failed" | "skipped" | "error"
    results: list[CommandResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)   # why an expectation did not hold
    duration: float = 0.0
    captured: dict[str, str] = field(default_factory=dict)   # "node:var" -> value


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

    @property
    def passed(self) -> bool:
        return not self.interrupted and all(s.status in ("passed", "skipped") for s in self.steps)

    @property
    def first_failure(self) -> StepRecord | None:
        return next((s for s in self.steps if s.status in ("failed", "error")), None)
