"""A scenario run, shown live on a terminal (projector-friendly), and the words and pure
helpers the handout (scenario/handout.py) shares with it.

Everything shown here comes from strangers: scenario text from its author, command output
from the lab's nodes. So nothing is ever interpreted: terminal text goes through rich `Text`
objects (never markup strings), and terminal escape sequences and control characters are
stripped from output.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

from rich.padding import Padding
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from labgen.model import Expect, Step
from labgen.scenario.language import fallback_note
from labgen.scenario.record import CommandResult, RunRecord, StepRecord
from labgen.validate import strip_refused
from labgen.words import table

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

# The fixed words of the transcript and handout, in both languages (labgen/words.py).
WORDS = table("transcript")

KIND_NAMES = table("kinds")

# Terminal badge styles; the handout's CSS mirrors them.
KIND_STYLES = {
    "break": "bold white on red3",
    "fix": "bold white on green4",
    "observe": "bold black on cyan",
    "verify": "bold black on green3",
    "setup": "bold white on grey42",
    "explain": "bold white on blue",
    "cleanup": "bold white on grey42",
    "task": "bold white on dark_magenta",
    "question": "bold black on yellow",
}
KIND_COLOURS = {  # (background, text) for HTML
    "break": ("#c62828", "#fff"),
    "fix": ("#2e7d32", "#fff"),
    "observe": ("#00acc1", "#000"),
    "verify": ("#43a047", "#000"),
    "setup": ("#757575", "#fff"),
    "explain": ("#1565c0", "#fff"),
    "cleanup": ("#757575", "#fff"),
    "task": ("#8e24aa", "#fff"),
    "question": ("#fdd835", "#000"),
}

STATUS_MARKS = {"passed": "✓", "failed": "✗", "error": "✗", "skipped": "–", "expected": "✓"}
STATUS_STYLES = {
    "passed": "bold green",
    "failed": "bold red",
    "error": "bold red",
    "skipped": "dim",
    "expected": "bold yellow",
}
EVIDENCE_STYLE = "bold"  # terminal style of output lines an expectation matched

TERMINAL_FOLD = (15, 5)  # lines kept at the head and tail of long output on screen
HANDOUT_FOLD = (120, 40)  # more room on paper, but not a 10 000-line log

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


# ---- pure helpers


def words(lang: str) -> dict[str, str]:
    """The fixed UI words in `lang` (English for anything but zh)."""
    return WORDS["zh" if lang == "zh" else "en"]


def kind_name(kind: str, lang: str) -> str:
    return KIND_NAMES["zh" if lang == "zh" else "en"].get(kind, kind.upper())


def clean_output(text: str) -> str:
    """Command output made safe and readable: terminal escape sequences removed, carriage
    returns resolved the way a terminal shows them (progress bars keep their last state),
    other control and bidi characters dropped (labgen.validate's policy), trailing blank lines
    trimmed."""
    text = _ANSI.sub("", text or "").replace("\r\n", "\n")
    lines = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
    return strip_refused("\n".join(lines)).rstrip("\n")


def fold(text: str, head: int, tail: int) -> tuple[list[str], int, list[str]]:
    """Split `text` into (first lines, number of lines folded away, last lines).

    Nothing is folded unless that hides more than a couple of lines.
    """
    lines = text.split("\n") if text else []
    if len(lines) <= head + tail + 2:
        return lines, 0, []
    return lines[:head], len(lines) - head - tail, lines[-tail:]


def numbered_fold(text: str, head: int, tail: int) -> list[tuple[int | None, str]]:
    """fold() with each kept line's 0-based number in `text`: [(number, line)...], and one
    (None, "count of folded lines") where lines were left out."""
    first, folded, last = fold(text, head, tail)
    out: list[tuple[int | None, str]] = list(enumerate(first))
    if folded:
        out.append((None, str(folded)))
        start = len(first) + folded
        out += [(start + i, line) for i, line in enumerate(last)]
    return out


def seconds(duration: float) -> str:
    """A duration for people: 0.42s, 12.3s, 2m05s."""
    if duration < 10:
        return f"{duration:.2f}s"
    if duration < 60:
        return f"{duration:.1f}s"
    minutes, secs = divmod(int(round(duration)), 60)
    return f"{minutes}m{secs:02d}s"


def describe_expectations(expect: Expect, lang: str) -> list[str]:
    """What a step expects, one short phrase each, for ✓ lines."""
    zh = lang == "zh"
    out = []
    if expect.exit == "nonzero":
        out.append("退出码非零" if zh else "exit status non-zero")
    elif expect.exit != "any":
        out.append(f"退出码为 {expect.exit}" if zh else f"exit status {expect.exit}")
    phrases = {
        "stdout_contains": ("标准输出包含", "stdout contains"),
        "stdout_not_contains": ("标准输出不含", "stdout does not contain"),
        "stdout_matches": ("标准输出匹配", "stdout matches"),
        "stderr_contains": ("标准错误包含", "stderr contains"),
        "stderr_not_contains": ("标准错误不含", "stderr does not contain"),
        "stderr_matches": ("标准错误匹配", "stderr matches"),
    }
    for field_name, (zh_phrase, en_phrase) in phrases.items():
        for value in getattr(expect, field_name):
            out.append(f"{zh_phrase if zh else en_phrase} {value!r}")
    return out


def status_word(status: str, lang: str) -> str:
    return words(lang).get("as_expected" if status == "expected" else status, status)


def shown_status(record: StepRecord) -> str | None:
    """The status to show for a step: None for an explain step (nothing ran, nothing to
    judge), "expected" when it passed by failing as designed (a symptom shown), else its
    status."""
    if record.status == "passed" and not record.results and record.step.run is None:
        return None
    if record.status == "passed" and record.step.expect.exit == "nonzero":
        return "expected"
    return record.status


def nodes_label(step: Step, lang: str) -> str:
    if step.nodes == ("all",):
        return words(lang)["all_nodes"]
    return ", ".join(step.nodes)


def _steps_of(record: RunRecord) -> tuple[Step, ...]:
    variant = record.scenario.variants.get(record.variant)
    steps = variant.steps if variant else ()
    return tuple(sub for s in steps for sub in s.presenter_steps())


def exit_label(result: CommandResult, lang: str) -> str:
    w = words(lang)
    if result.exit_code is None:
        return w["did_not_run"]
    return f"{w['exit']} {result.exit_code}"


def run_verdict(record: RunRecord, lang: str) -> tuple[bool, str, list[str]]:
    """(passed, headline, reasons) for the end of a run."""
    w = words(lang)
    failure = record.first_failure
    if failure is not None:
        number = next((i for i, s in enumerate(record.steps, 1) if s is failure), 0)
        headline = w["failed_at"].format(n=number, title=failure.step.title.get(lang))
        return False, headline, list(failure.failures)
    if record.interrupted:
        return False, w["interrupted"], []
    return True, w["all_passed"].format(n=len(record.steps)), []


# ---- the terminal


class TerminalReporter:
    """Prints a run as it happens to the rich Console it was given, in `lang`.

    The runner calls scenario_started, then step_started/step_finished per step, then
    scenario_finished. Only prints; keeps a step counter.
    """

    def __init__(self, console: "Console", lang: str = "en"):
        self.console = console
        self.lang = lang
        self.words = words(lang)
        self._number = 0
        self._total = 0

    def scenario_started(self, record: RunRecord) -> None:
        scenario, w = record.scenario, self.words
        self._number, self._total = 0, len(_steps_of(record))
        body = Text()
        body.append(scenario.title.get(self.lang), style="bold")
        body.append("\n")
        summary = scenario.summary
        variant = scenario.variants.get(record.variant)
        if variant is not None and variant.summary is not None:
            summary = variant.summary
        body.append(summary.get(self.lang))

        note = fallback_note(scenario, self.lang)
        if note:  # one-language scenario: say why the other one shows
            body.append("\n" + note, style="dim italic")
        body.append("\n\n")
        facts = [(w["lab"], f"{record.lab_name} ({record.provider})")]
        if record.variant != "default":
            facts.append((w["variant"], record.variant))
        facts.append((w["date"], record.started.strftime("%Y-%m-%d %H:%M")))
        for i, (label, value) in enumerate(facts):
            if i:
                body.append("   ")
            body.append(f"{label}: ", style="dim")
            body.append(value)
        self.console.print(
            Panel(body, title=Text(scenario.id, style="bold cyan"), title_align="left", border_style="cyan")
        )

    def step_started(self, step: Step, commands: dict[str, str] | None = None) -> None:
        """Print the step's heading, explanation and command. `commands` (node -> the command
        with its variables filled in) shows what really runs; without it, the template."""
        w = self.words
        self._number += 1
        counter = f"{w['step']} {self._number}" + (f"/{self._total}" if self._total else "")
        self.console.print()
        heading = Text()
        heading.append(f" {kind_name(step.kind, self.lang)} ", style=KIND_STYLES.get(step.kind, "bold"))
        heading.append(f"  {counter}  ", style="dim")
        heading.append(step.title.get(self.lang), style="bold")
        self.console.print(heading)
        if step.explain is not None:
            self.console.print(Padding(Text(step.explain.get(self.lang).strip()), (0, 0, 0, 2)))
        if step.run:
            where = Text(f"  {w['command']} · {w['on']} {nodes_label(step, self.lang)}", style="dim")
            if step.sudo:
                where.append(f" · {w['sudo']}", style="dim")
            shown = step.run
            if commands:
                first, *others = commands
                shown = commands[first]
                if any(commands[n] != shown for n in others):
                    where.append(f" · {w['as_on'].format(node=first)}", style="dim")
            self.console.print(where)
            code = Syntax(shown.rstrip("\n"), "bash", theme="ansi_dark", word_wrap=True, background_color="default")
            self.console.print(Padding(code, (0, 0, 0, 4)))

    def step_finished(self, record: StepRecord) -> None:
        w, lang = self.words, self.lang
        for result in record.results:
            header = Text("  ")
            header.append(result.node, style="bold")
            ok_exit = result.exit_code == 0
            header.append(f" · {exit_label(result, lang)}", style="green" if ok_exit else "yellow")
            header.append(f" · {seconds(result.duration)}", style="dim")
            if result.attempts > 1:
                header.append(f" · {w['attempts'].format(n=result.attempts)}", style="dim")
            self.console.print(header)
            self._print_output(result.stdout, "", result.evidence.get("stdout", ()))
            self._print_output(result.stderr, "red", result.evidence.get("stderr", ()))
        for key, value in record.captured.items():
            node, _, var = key.partition(":")
            line = Text(f"  {w['captured']} ", style="dim")
            line.append(var, style="bold magenta")
            line.append(" = ")
            line.append(clean_output(value))
            line.append(f"  ({node})", style="dim")
            self.console.print(line)
        if record.status == "passed":
            for phrase in describe_expectations(record.step.expect, lang) if record.results else ():
                self.console.print(Text.assemble(("  ✓ ", "bold green"), phrase))
        else:
            for reason in record.failures:
                self.console.print(Text.assemble(("  ✗ ", "bold red"), clean_output(reason)))
        shown = shown_status(record)
        if shown is None or (record.status == "passed" and not record.results):
            return  # an explain step: nothing ran, nothing to judge
        verdict = Text("  ")
        verdict.append(
            f"{STATUS_MARKS.get(shown, '?')} {status_word(shown, lang)}", style=STATUS_STYLES.get(shown, "bold")
        )
        verdict.append(f" · {seconds(record.duration)}", style="dim")
        self.console.print(verdict)

    def _print_output(self, text: str, style: str, evidence: Iterable[int] = ()) -> None:
        """Print command output in a gutter; the lines an expectation matched get a ▌ and
        bold, so the evidence stands out on a projector too."""
        hits = set(evidence)
        for number, line in numbered_fold(clean_output(text), *TERMINAL_FOLD):
            if number is None:
                self.console.print(
                    Text.assemble(("    │ ", "dim"), (self.words["folded"].format(n=line), "italic dim"))
                )
                continue
            hit = number in hits
            gutter = ("    ▌ ", "bold green") if hit else ("    │ ", "dim")
            line_style = f"{style} {EVIDENCE_STYLE}".strip() if hit else style
            self.console.print(Text.assemble(gutter, (line, line_style)), overflow="fold")

    def scenario_finished(self, record: RunRecord) -> None:
        w, lang = self.words, self.lang
        self.console.print()
        table = Table(title=w["summary"], title_style="bold", show_lines=False, expand=False)
        table.add_column("#", justify="right", style="dim")
        table.add_column(w["step"])
        table.add_column(w["kind"])
        table.add_column(w["result"])
        table.add_column(w["time"], justify="right", style="dim")
        for number, step_record in enumerate(record.steps, 1):
            step = step_record.step
            status = shown_status(step_record)
            table.add_row(
                str(number),
                Text(step.title.get(lang)),
                Text(f" {kind_name(step.kind, lang)} ", style=KIND_STYLES.get(step.kind, "")),
                Text("")
                if status is None
                else Text(
                    f"{STATUS_MARKS.get(status, '?')} {status_word(status, lang)}", style=STATUS_STYLES.get(status, "")
                ),
                "" if status is None else seconds(step_record.duration),
            )
        self.console.print(table)
        passed, headline, reasons = run_verdict(record, lang)
        line = Text()
        line.append("✓ " if passed else "✗ ", style="bold green" if passed else "bold red")
        line.append(headline, style="bold green" if passed else "bold red")
        line.append(f"  ({seconds(record.duration)})", style="dim")
        self.console.print(line)
        for reason in reasons:
            self.console.print(Text.assemble(("  ✗ ", "red"), clean_output(reason)))
