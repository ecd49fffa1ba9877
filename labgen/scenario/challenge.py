"""The student's side of a scenario: start, check, hint, answer, solve, reset.

A challenge walks the scenario's steps like the runner does, but stops at each task and
question and waits for the student. Ordinary steps (setup, break, explain...) run as they
come; a task passes when all its checks hold (the runner's engine: same expectations, same
retries, same connections); a question passes when the answer matches. Everything a later
process needs (where the student is, captured values such as bad_mac, attempts, hints) is
kept in progress.json under a lock, so the CLI and the classroom server can take turns.

Nothing here prints: the reporter (the terminal transcript, or None for the web) shows
the ordinary steps, and the caller shows the outcomes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from labgen.errors import InputError, LabgenError, ScenarioFailed
from labgen.labdir import LabDir
from labgen.labfile import load_lab
from labgen.model import STUDENT_KINDS, Lab, Scenario, Step, Text
from labgen.scenario import student_progress as prog
from labgen.scenario import story
from labgen.scenario.load import check_against_lab, find_scenario, load_scenario
from labgen.scenario.runner import Runner
from labgen.scenario.template import fill_text, node_values
from labgen.validate import did_you_mean

_SEPARATORS = re.compile(r"[\s:\-._]+")


def normalise_answer(text: str) -> str:
    """What an answer is compared as: case folded, spaces and : - . _ removed, so
    EE-EE-EE-EE-EE-EE and ee:ee:ee:ee:ee:ee are the same answer."""
    return _SEPARATORS.sub("", text.casefold())


@dataclass
class Outcome:
    """What one student action gave: ok, plain-words messages, and where it led."""

    ok: bool
    messages: list[Text] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # the raw expectation failures
    current: str | None = None  # the step now waiting (None: finished)


class _NullReporter:
    def scenario_started(self, record):
        pass

    def scenario_finished(self, record):
        pass

    def step_started(self, step, commands=None):
        pass

    def step_finished(self, record):
        pass


def steps_of(scenario: Scenario, variant: str) -> tuple[list[Step], list[Step]]:
    """(main steps, cleanup steps) of a variant."""
    steps = scenario.variants[variant].steps
    return [s for s in steps if s.kind != "cleanup"], [s for s in steps if s.kind == "cleanup"]


def known_variant(scenario: Scenario, requested: str) -> str:
    """`requested` if the scenario has it; else InputError with a did-you-mean."""
    if requested not in scenario.variants:
        raise InputError(
            [f"scenario {scenario.id} has no variant {requested!r}{did_you_mean(requested, scenario.variants)}"],
            hint=f"variants: {', '.join(scenario.variants)}",
        )
    return requested


def presenter_variant(scenario: Scenario, requested: str | None) -> str:
    """The variant `run` and `show` use: the one asked for, else `default`."""
    return known_variant(scenario, requested or "default")


def challenge_variant(scenario: Scenario, requested: str | None) -> str:
    """The variant `start` uses: the one asked for, else the default when it has a task or a
    question, else the first variant that has one."""
    if requested:
        return known_variant(scenario, requested)
    for name, variant in scenario.variants.items():
        if any(s.kind in STUDENT_KINDS for s in variant.steps):
            return name
    raise LabgenError(
        f"scenario {scenario.id} has no task or question for a student",
        hint="`labgen scenario run` shows it as a presenter instead",
    )


class Challenge:
    """One lab's challenge. `remote` is the lab's open Remote (persistent connections)."""

    def __init__(
        self,
        lab_dir: LabDir,
        scenario: Scenario,
        variant: str,
        lab: Lab,
        remote,
        reporter=None,
        lang: str = "en",
        provider: str = "lxc",
    ):
        self.lab_dir = lab_dir
        self.scenario = scenario
        self.variant = variant
        self.lab = lab
        self.main, self.cleanups = steps_of(scenario, variant)
        self.runner = Runner(scenario, variant, lab, remote, reporter or _NullReporter(), lang, provider)

    # ---- reading

    def progress(self) -> dict:
        data = prog.load(self.lab_dir)
        if data is None:
            raise LabgenError(
                "no scenario started on this lab", hint=f"`labgen scenario start {self.scenario.id}` starts one"
            )
        return data

    def step(self, step_id: str | None) -> Step | None:
        for step in self.main:
            if step.id == step_id:
                return step
        return None

    def current(self) -> Step | None:
        return self.step(self.progress().get("current"))

    def values(self, node: str | None = None) -> dict[str, str]:
        """Variables for text a student reads; with `node`, that node's own values."""
        self.runner.captures = _captures(self.progress())
        if node is None:
            return self.runner.values()
        return node_values(self.scenario, self.lab, node, self.runner.captures.get(node, {}))

    def text(self, text: Text | None, lang: str, node: str | None = None) -> str:
        return fill_text(text.get(lang), self.values(node)) if text else ""

    # ---- acting

    def start(self, at: str | None = None) -> Outcome:
        """Start from the first step: run the ordinary steps up to the first task or question
        (or up to the task or question `at`: tasks before it run their solution, as in a
        reset). Replaces any earlier progress on this lab."""
        target = 0 if at is None else self._student_index(at)
        with prog.check_slot(self.lab_dir):
            source = str(Path(self.scenario.source).resolve()) if self.scenario.source else ""
            prog.replace(self.lab_dir, prog.fresh(self.scenario.id, source, self.variant))
            story.forget(self.lab_dir, [s.id for s in self.main])
            self._replay(target)
            return self._advance(target)

    def check(self, passed: Callable[[Outcome], None] | None = None) -> Outcome:
        """Run the current task's checks; on success move on to the next task or the end.
        `passed(outcome)`, when given, is called before moving on (to say so first)."""
        step = self._waiting("task")
        with prog.check_slot(self.lab_dir):
            outcome = self._run_checks(step)
            with prog.changing(self.lab_dir) as p:
                rec = prog.step_record(p, step.id, step.kind)
                rec["attempts"] += 1
                rec["last"] = {
                    "ok": outcome.ok,
                    "at": prog.now(),
                    "details": outcome.details,
                    "messages": [{"en": m.get("en"), "zh": m.get("zh")} for m in outcome.messages],
                }
                if outcome.ok:
                    rec["passed"] += 1
                    rec["status"], rec["closed"] = "passed", prog.now()
            if outcome.ok:
                if passed:
                    passed(outcome)
                return self._advance(self.main.index(step) + 1)
            outcome.current = step.id
            return outcome

    def solve(self, passed: Callable[[Outcome], None] | None = None) -> Outcome:
        """Run the current task's solution, then its checks (marked as solved by solution)."""
        step = self._waiting("task")
        if step.solution is None:  # the loader requires one; a Step made in code may lack it
            raise LabgenError(f"task {step.id} has no solution to run")
        with prog.check_slot(self.lab_dir):
            record = self.runner._run_step(step.solution)
            outcome = self._run_checks(step)
            if record.status != "passed":
                outcome.ok = False
                outcome.details = record.failures + outcome.details
            with prog.changing(self.lab_dir) as p:
                rec = prog.step_record(p, step.id, step.kind)
                rec["last"] = {
                    "ok": outcome.ok,
                    "at": prog.now(),
                    "details": outcome.details,
                    "messages": [{"en": m.get("en"), "zh": m.get("zh")} for m in outcome.messages],
                    "solution": True,
                }
                if outcome.ok:
                    rec["status"], rec["closed"] = "solved", prog.now()
            if not outcome.ok:
                raise ScenarioFailed(
                    f"the solution of {step.id} did not pass its check: " + "; ".join(outcome.details),
                    hint="`labgen scenario reset` puts the lab back as the task expects",
                )
            if passed:
                passed(outcome)
            return self._advance(self.main.index(step) + 1)

    def hint(self) -> tuple[int, int, Text | None]:
        """Reveal the next hint of the current step: (its number, how many, the hint);
        (n, n, None) once all are shown."""
        step = self._waiting(None)
        with prog.changing(self.lab_dir) as p:
            rec = prog.step_record(p, step.id, step.kind)
            if rec["hints"] >= len(step.hints):
                return rec["hints"], len(step.hints), None
            rec["hints"] += 1
            return rec["hints"], len(step.hints), step.hints[rec["hints"] - 1]

    def answer(self, text: str, passed: Callable[[Outcome], None] | None = None) -> Outcome:
        """Judge an answer to the current question; a right one moves on."""
        step = self._waiting("question")
        accepted = {normalise_answer(self.text(Text(a, a), "en")) for a in step.answers}
        ok = bool(text.strip()) and normalise_answer(text) in accepted
        with prog.changing(self.lab_dir) as p:
            rec = prog.step_record(p, step.id, step.kind)
            rec["attempts"] += 1
            feedback = step.correct if ok else step.wrong
            if feedback:
                feedback = Text(self.text(feedback, "en"), self.text(feedback, "zh"))
            rec["last"] = {
                "ok": ok,
                "at": prog.now(),
                "answer": text[:200],
                "details": [],
                "messages": [{"en": feedback.get("en"), "zh": feedback.get("zh")}] if feedback else [],
            }
            if ok:
                rec["passed"] += 1
                rec["status"], rec["closed"] = "passed", prog.now()
        messages = [feedback] if feedback else []
        if not ok:
            return Outcome(False, messages, current=step.id)
        if passed:
            passed(Outcome(True, messages, current=step.id))
        with prog.check_slot(self.lab_dir):
            outcome = self._advance(self.main.index(step) + 1)
        outcome.messages = messages + outcome.messages
        return outcome

    def reset(self, to: str | None = None) -> Outcome:
        """Run the cleanup steps, then replay up to step `to` (default: the start) so the lab
        is as that step expects; the student continues at the next task or question.

        Tasks replayed on the way run their solution. Records of the steps before `to` are
        kept; those from `to` on start afresh."""
        ids = [s.id for s in self.main]
        if to is not None and to not in ids:
            raise LabgenError(f"no step {to!r} in this scenario", hint=f"steps: {', '.join(ids)}")
        with prog.check_slot(self.lab_dir):
            for step in self.cleanups:
                self.runner._run_step(step)
            target = ids.index(to) if to else 0
            stop = target if to is None or self.main[target].kind in STUDENT_KINDS else target + 1
            with prog.changing(self.lab_dir) as p:
                p["captures"], p["finished"], p["current"] = {}, None, None
                for step in self.main[stop:]:
                    p["steps"].pop(step.id, None)
            story.forget(self.lab_dir, [s.id for s in self.main])
            self.runner.captures = {}
            self._replay(stop)
            return self._advance(stop)

    # ---- inside

    def _waiting(self, kind: str | None) -> Step:
        p = self.progress()
        if p.get("finished"):
            raise LabgenError(
                f"scenario {self.scenario.id} is finished on this lab", hint="`labgen scenario reset` starts it over"
            )
        step = self.step(p.get("current"))
        if step is None or step.kind not in STUDENT_KINDS:
            raise LabgenError(
                "no task or question is waiting on this lab",
                hint="`labgen scenario reset` puts the lab back at the first task",
            )
        if kind and step.kind != kind:
            other = {
                "task": "`labgen scenario answer TEXT` answers it",
                "question": "`labgen scenario check` checks it",
            }[step.kind]
            raise LabgenError(f"the current step {step.id} is a {step.kind}, not a {kind}", hint=other)
        return step

    def _student_index(self, step_id: str) -> int:
        ids = [s.id for s in self.main]
        if step_id not in ids or self.main[ids.index(step_id)].kind not in STUDENT_KINDS:
            students = [s.id for s in self.main if s.kind in STUDENT_KINDS]
            raise LabgenError(
                f"no task or question {step_id!r} in scenario {self.scenario.id} (variant {self.variant})",
                hint=f"tasks and questions: {', '.join(students)}",
                exit_code=2,
            )
        return ids.index(step_id)

    def _replay(self, stop: int) -> None:
        """Run the main steps before index `stop` as the presenter would: a task by its
        solution, a question not at all."""
        for step in self.main[:stop]:
            sub = step.solution if step.kind == "task" else step
            if step.kind == "question" or sub is None or sub.run is None:
                continue
            self._run_ordinary(sub)

    def _run_checks(self, step: Step) -> Outcome:
        self.runner.captures = _captures(self.progress())
        outcome = Outcome(True)
        shown, self.runner.reporter = self.runner.reporter, _NullReporter()  # checks run quietly
        try:
            records = [(check, self.runner._run_step(check.step)) for check in step.checks]
        finally:
            self.runner.reporter = shown
        for check, record in records:
            if record.status == "passed":
                continue
            outcome.ok = False
            outcome.details += record.failures
            lab_nodes = {n.name for n in self.lab.nodes}
            failed_on: list[str | None] = [
                n if n in lab_nodes else None for n in sorted({f.split(": ", 1)[0] for f in record.failures})
            ]
            for node in failed_on or [None]:
                message = Text(self.text(check.message, "en", node), self.text(check.message, "zh", node))
                if message not in outcome.messages:
                    outcome.messages.append(message)
        return outcome

    def _run_ordinary(self, step: Step) -> None:
        """Run a step that is not the student's; keep what it captured. Raises when it fails."""
        record = self.runner._run_step(step)
        with prog.changing(self.lab_dir) as p:
            p["captures"] = self.runner.captures
        story.record(self.lab_dir, record)
        if record.status != "passed":
            raise ScenarioFailed(
                f"scenario {self.scenario.id}: step {step.id} failed: " + "; ".join(record.failures),
                hint="`labgen scenario reset` runs the cleanup and starts over",
            )

    def _advance(self, index: int) -> Outcome:
        """Run ordinary steps from `index` until a task or question waits, or the end."""
        self.runner.captures = _captures(self.progress())
        for step in self.main[index:]:
            if step.kind in STUDENT_KINDS:
                with prog.changing(self.lab_dir) as p:
                    p["current"] = step.id
                    rec = prog.step_record(p, step.id, step.kind)
                    rec["opened"] = prog.now()
                return Outcome(True, current=step.id)
            with prog.changing(self.lab_dir) as p:
                p["current"] = step.id
            self._run_ordinary(step)
        for step in self.cleanups:
            self.runner._run_step(step)
        with prog.changing(self.lab_dir) as p:
            p["current"], p["finished"] = None, prog.now()
        return Outcome(True, current=None)


def _captures(progress: dict) -> dict[str, dict[str, str]]:
    return {node: dict(values) for node, values in (progress.get("captures") or {}).items()}


def challenge_key(progress: dict) -> tuple[str, str, str]:
    """What identifies the scenario a progress runs: (source file or id, id, variant); a value
    of the wrong type in the file counts as missing."""

    def text(key: str) -> str:
        value = progress.get(key)
        return value if isinstance(value, str) else ""

    return (text("source") or text("scenario"), text("scenario"), text("variant"))


def load_parts(lab_dir: LabDir, progress: dict) -> tuple[Scenario, Lab]:
    """The scenario a progress names and the lab, loaded and checked against each other.
    Raises LabgenError (InputError) for a file that no longer loads or a variant that is gone."""
    source, scenario_id, variant = challenge_key(progress)
    if not scenario_id:
        raise LabgenError(
            f"{prog.progress_file(lab_dir)}: names no scenario", hint="`labgen scenario start SCENARIO` starts over"
        )
    sc = load_scenario(find_scenario(source if Path(source).is_file() else scenario_id))
    lab = load_lab(lab_dir.labfile)
    check_against_lab(sc, lab)
    if variant not in sc.variants:
        raise LabgenError(
            f"scenario {sc.id} no longer has variant {variant!r}", hint="`labgen scenario start` starts over"
        )
    return sc, lab


def open_challenge(lab_dir: LabDir, remote, reporter=None, lang: str = "en", provider: str = "lxc") -> Challenge:
    """The challenge started on this lab, from its progress (scenario file, variant)."""
    p = prog.load(lab_dir)
    if p is None:
        raise LabgenError("no scenario started on this lab", hint="`labgen scenario start mac-bug` starts one")
    sc, lab = load_parts(lab_dir, p)
    return Challenge(lab_dir, sc, p["variant"], lab, remote, reporter, lang, provider)
