"""Run a scenario's steps over the lab's persistent connections and record what happened.

Steps run in order; a step with several nodes runs on them in parallel. After the first
failed step the rest are skipped, but cleanup steps always run: on success, on failure and
on Ctrl-C, so the scenario can be run again at once.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import datetime
from typing import Callable

from labgen.errors import LabgenError
from labgen.model import Expect, Lab, Scenario, Step, Text
from labgen.parallel import per_node
from labgen.scenario.record import CommandResult, RunRecord, StepRecord
from labgen.scenario.template import expand_expect, fill_text, node_values, substitute

RETRY_INTERVAL = 0.5  # seconds between attempts of a retrying step


def check_expect(expect: Expect, exit_code: int | None, stdout: str, stderr: str) -> list[str]:
    """Why the result does not meet `expect` (empty when it does). Pure."""
    problems = []
    if exit_code is None:
        problems.append("did not finish (timeout or lost connection)")
    elif expect.exit == "nonzero":
        if exit_code == 0:
            problems.append("exit status 0, expected a failure (non-zero)")
    elif expect.exit != "any" and exit_code != int(expect.exit):
        problems.append(f"exit status {exit_code}, expected {expect.exit}")
    for name, text in (("stdout", stdout), ("stderr", stderr)):
        for want in getattr(expect, f"{name}_contains"):
            if want not in text:
                problems.append(f"{name} does not contain {want!r}")
        for unwanted in getattr(expect, f"{name}_not_contains"):
            if unwanted in text:
                problems.append(f"{name} contains {unwanted!r}")
        for pattern in getattr(expect, f"{name}_matches"):
            if not re.search(pattern, text, re.MULTILINE):
                problems.append(f"{name} does not match /{pattern}/")
    return problems


def evidence_lines(expect: Expect, stdout: str, stderr: str) -> dict[str, tuple[int, ...]]:
    """The 0-based numbers of the lines each positive expectation (contains, matches) found,
    per stream: every occurrence, each spanning all the lines it covers. Pure."""
    found: dict[str, tuple[int, ...]] = {}
    for name, text in (("stdout", stdout), ("stderr", stderr)):
        spans = []
        for want in getattr(expect, f"{name}_contains"):
            start = text.find(want) if want else -1
            while start >= 0:
                spans.append((start, start + len(want)))
                start = text.find(want, start + 1)
        for pattern in getattr(expect, f"{name}_matches"):
            spans += [m.span() for m in re.finditer(pattern, text, re.MULTILINE) if m.end() > m.start()]
        lines: set[int] = set()
        for start, end in spans:
            first = text.count("\n", 0, start)
            lines.update(range(first, first + text.count("\n", start, max(start, end - 1)) + 1))
        if lines:
            found[name] = tuple(sorted(lines))
    return found


def select_steps(steps: tuple[Step, ...], start: str | None, stop: str | None, only: str | None) -> set[str]:
    """Ids of the main (non-cleanup) steps to run for --from/--to/--only."""
    ids = [s.id for s in steps]
    for given in (start, stop, only):
        if given is not None and given not in ids:
            raise LabgenError(
                f"no step {given!r} in this scenario", hint=f"steps: {', '.join(ids)}", exit_code=2
            )  # bad input, as the README promises
    if only:
        return {only}
    lo = ids.index(start) if start else 0
    hi = ids.index(stop) if stop else len(ids) - 1
    return set(ids[lo : hi + 1])


class Runner:
    """Runs one variant of a scenario on a lab through a Remote.

    `reporter` gets step_started/step_finished calls (the terminal transcript); `ask`, when
    given (presenter mode), is called before each step and returns "run", "skip" or "quit".
    """

    def __init__(
        self,
        scenario: Scenario,
        variant: str,
        lab: Lab,
        remote,
        reporter,
        lang: str,
        provider: str,
        ask: Callable[[Step], str] | None = None,
    ):
        self.scenario = scenario
        self.variant = scenario.variants[variant]
        self.lab = lab
        self.remote = remote
        self.reporter = reporter
        self.ask = ask
        self.captures: dict[str, dict[str, str]] = {}  # node -> var -> value
        self._expects: dict[tuple[str, str], Expect] = {}  # (step, node) -> variables filled in
        self.record = RunRecord(scenario, variant, lang, lab.name, provider, datetime.now(), lab=lab)

    def run(
        self, start: str | None = None, stop: str | None = None, only: str | None = None, cleanup: bool = True
    ) -> RunRecord:
        """Run the selected steps, then the cleanup steps. Never raises for a failed step."""
        main = tuple(s for s in self.variant.steps if s.kind != "cleanup")
        cleanups = tuple(s for s in self.variant.steps if s.kind == "cleanup")
        chosen = select_steps(main, start, stop, only)
        began = time.monotonic()
        self.reporter.scenario_started(self.record)
        failed = False
        try:
            for step in main:
                if step.id not in chosen:
                    continue
                if failed:
                    self._skip(step)
                    continue
                if self.ask:
                    answer = self.ask(step)
                    if answer == "quit":
                        self.record.interrupted = True
                        break
                    if answer == "skip":
                        self._skip(step)
                        continue
                failed = not self.run_step(step)
        except KeyboardInterrupt:
            self.record.interrupted = True
        finally:
            if cleanup and not only:
                self._run_cleanups(cleanups)
            self.record.duration = time.monotonic() - began
        self.reporter.scenario_finished(self.record)
        return self.record

    def run_step(self, step: Step) -> bool:
        """Run one main step as the presenter does; True when it passed.

        A task runs its solution, then its checks; a question shows its first accepted answer.
        """
        if step.kind == "task":
            for sub in step.presenter_steps():
                if self._run_step(sub).status != "passed":
                    return False
            return True
        if step.kind == "question":
            return self._run_step(self.question_as_explain(step)).status == "passed"
        return self._run_step(step).status == "passed"

    def question_as_explain(self, step: Step) -> Step:
        """The question and its expected answer, for the presenter and the handout."""
        answer = self.answer_text(step.answers[0])
        parts = [p for p in (step.goal, step.correct) if p]  # what is asked (always given), then why
        label = {"en": "Answer: ", "zh": "答案："}
        explain = Text(
            *(
                "\n\n".join(
                    [self.answer_text(parts[0].get(lang)), label[lang] + answer]
                    + [self.answer_text(p.get(lang)) for p in parts[1:]]
                )
                for lang in ("en", "zh")
            )
        )
        return replace(step, explain=explain)

    def values(self) -> dict[str, str]:
        """The variables text a student reads may use: vars, then captures from every node."""
        values: dict[str, str] = dict(self.scenario.vars)
        for node in self.lab.nodes:
            if node.name in self.captures:
                values.update(self.captures[node.name])
        values.update(
            {
                k: v
                for k, v in node_values(self.scenario, self.lab, self.lab.nodes[0].name, {}).items()
                if k not in values
            }
        )
        return values

    def answer_text(self, text: str) -> str:
        """`text` with its {{ vars }} filled in as plain text (not shell-quoted)."""
        return fill_text(text, self.values())

    def _run_cleanups(self, cleanups) -> None:
        for step in cleanups:
            try:
                self._run_step(step)
            except KeyboardInterrupt:
                # A second Ctrl-C during cleanup: finish this cleanup step's bookkeeping only.
                self.record.interrupted = True
                break

    def _skip(self, step: Step) -> None:
        rec = StepRecord(step, "skipped")
        self.record.steps.append(rec)

    def _nodes(self, step: Step) -> list[str]:
        if step.nodes == ("all",):
            return [n.name for n in self.lab.nodes]
        return list(step.nodes)

    def _run_step(self, step: Step) -> StepRecord:
        run = step.run
        nodes = self._nodes(step) if run is not None else []
        commands = {n: self._command(step, run, n) for n in nodes} if run is not None else {}
        self.reporter.step_started(step, {n: c for n, c in commands.items() if isinstance(c, str)})
        rec = StepRecord(step, "passed")
        began = time.monotonic()
        if run is not None:
            outcomes = per_node(nodes, lambda n: self._run_on(step, run, n, commands[n]))
            for result, problems, captured in outcomes:
                rec.results.append(result)
                rec.failures += [f"{result.node}: {p}" for p in problems]
                rec.captured.update({f"{result.node}:{k}": v for k, v in captured.items()})
            if rec.failures:
                rec.status = "failed"
        rec.duration = time.monotonic() - began
        self.record.steps.append(rec)
        self.reporter.step_finished(rec)
        return rec

    def _command(self, step: Step, run: str, node: str) -> str | LabgenError:
        """The step's `run` for `node` with its variables filled in (shell-quoted), or why not."""
        try:
            values = node_values(self.scenario, self.lab, node, self.captures.get(node, {}))
            self._expects[(step.id, node)] = expand_expect(step.expect, values)
            return substitute(run, values)
        except LabgenError as exc:  # e.g. a capture that an earlier, failed step never made
            return exc

    def _run_on(self, step: Step, run: str, node: str, command: str | LabgenError):
        """Run the step on one node, retrying while its expectation fails and time remains."""
        if isinstance(command, LabgenError):
            return CommandResult(node, run, None, "", command.message, 0.0, 0), [command.message], {}
        deadline = time.monotonic() + step.expect.retry
        attempts = 0
        while True:
            attempts += 1
            try:
                res = self.remote.run(node, command, sudo=step.sudo, timeout=step.timeout)
                result = CommandResult(node, command, res.exit_code, res.stdout, res.stderr, res.duration, attempts)
            except LabgenError as exc:  # the connection itself failed
                result = CommandResult(node, command, None, "", exc.message, 0.0, attempts)
            expect = self._expects.get((step.id, node), step.expect)
            problems = check_expect(expect, result.exit_code, result.stdout, result.stderr)
            result.evidence = evidence_lines(expect, result.stdout, result.stderr)
            captured = {}
            if not problems:
                captured, missing = self._capture(step, result.stdout)
                problems = missing
            if not problems or time.monotonic() + RETRY_INTERVAL > deadline:
                break
            time.sleep(RETRY_INTERVAL)
        if captured:
            self.captures.setdefault(node, {}).update(captured)
        return result, problems, captured

    @staticmethod
    def _capture(step: Step, stdout: str):
        found, missing = {}, []
        for var, pattern in step.capture.items():
            m = re.search(pattern, stdout, re.MULTILINE)
            if m:
                found[var] = m.group(1)
            else:
                missing.append(f"could not capture {var}: /{pattern}/ not found in stdout")
        return found, missing
