"""A scenario run, shown live on a terminal (projector-friendly) and written down as a handout.

Everything shown here comes from strangers: scenario text from its author, command output
from the lab's nodes. So nothing is ever interpreted: terminal text goes through rich `Text`
objects (never markup strings), terminal escape sequences and control characters are
stripped from output, and every value in the HTML handout goes through html.escape.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from labgen.model import Expect, Step
from labgen.scenario.record import CommandResult, RunRecord, StepRecord
from labgen.validate import strip_refused

if TYPE_CHECKING:   # pragma: no cover
    from rich.console import Console

# The fixed words of the transcript and handout, in both languages.
WORDS = {
    "en": {
        "step": "Step", "passed": "passed", "failed": "failed", "skipped": "skipped",
        "error": "error", "summary": "Summary", "command": "Command", "output": "Output",
        "result": "Result", "time": "Time", "kind": "Kind", "lab": "Lab", "variant": "Variant",
        "date": "Date", "on": "on", "exit": "exit", "did_not_run": "did not run",
        "folded": "… {n} lines folded …", "no_output": "(no output)", "stderr": "stderr",
        "attempts": "after {n} attempts", "captured": "captured",
        "all_passed": "All {n} steps passed", "failed_at": "Failed at step {n}: {title}",
        "interrupted": "Interrupted", "sudo": "as root", "all_nodes": "all nodes",
        "as_on": "shown with {node}'s values (each node its own)",
    },
    "zh": {
        "step": "步骤", "passed": "通过", "failed": "失败", "skipped": "跳过",
        "error": "出错", "summary": "总结", "command": "命令", "output": "输出",
        "result": "结果", "time": "用时", "kind": "类型", "lab": "实验环境", "variant": "变体",
        "date": "日期", "on": "节点", "exit": "退出码", "did_not_run": "未能运行",
        "folded": "… 已折叠 {n} 行 …", "no_output": "（无输出）", "stderr": "标准错误",
        "attempts": "共尝试 {n} 次", "captured": "捕获",
        "all_passed": "全部 {n} 个步骤通过", "failed_at": "在步骤 {n} 失败：{title}",
        "interrupted": "已中断", "sudo": "以 root 身份", "all_nodes": "所有节点",
        "as_on": "此处显示 {node} 的取值（各节点用各自的值）",
    },
}

KIND_NAMES = {
    "en": {k: k.upper() for k in ("setup", "observe", "break", "fix", "verify", "explain", "cleanup")},
    "zh": {"setup": "准备", "observe": "观察", "break": "破坏", "fix": "修复", "verify": "验证",
           "explain": "讲解", "cleanup": "清理"},
}

# Terminal badge styles; the handout's CSS mirrors them.
KIND_STYLES = {
    "break": "bold white on red3", "fix": "bold white on green4", "observe": "bold black on cyan",
    "verify": "bold black on green3", "setup": "bold white on grey42",
    "explain": "bold white on blue", "cleanup": "bold white on grey42",
}
KIND_COLOURS = {   # (background, text) for HTML
    "break": ("#c62828", "#fff"), "fix": ("#2e7d32", "#fff"), "observe": ("#00acc1", "#000"),
    "verify": ("#43a047", "#000"), "setup": ("#757575", "#fff"), "explain": ("#1565c0", "#fff"),
    "cleanup": ("#757575", "#fff"),
}

STATUS_MARKS = {"passed": "✓", "failed": "✗", "error": "✗", "skipped": "–"}
STATUS_STYLES = {"passed": "bold green", "failed": "bold red", "error": "bold red",
                 "skipped": "dim"}

TERMINAL_FOLD = (15, 5)     # lines kept at the head and tail of long output on screen
HANDOUT_FOLD = (120, 40)    # more room on paper, but not a 10 000-line log

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
    return words(lang).get(status, status)


def nodes_label(step: Step, lang: str) -> str:
    if step.nodes == ("all",):
        return words(lang)["all_nodes"]
    return ", ".join(step.nodes)


def _grouped_by_command(results: Iterable[CommandResult]) -> list[tuple[str, list[CommandResult]]]:
    """Results grouped by the command as run, in first-seen order (one group when every node
    ran the same text)."""
    groups: dict[str, list[CommandResult]] = {}
    for result in results:
        groups.setdefault(result.command, []).append(result)
    return list(groups.items())


def _steps_of(record: RunRecord) -> tuple[Step, ...]:
    variant = record.scenario.variants.get(record.variant)
    return variant.steps if variant else ()


def _exit_label(result: CommandResult, lang: str) -> str:
    w = words(lang)
    if result.exit_code is None:
        return w["did_not_run"]
    return f"{w['exit']} {result.exit_code}"


def _verdict(record: RunRecord, lang: str) -> tuple[bool, str, list[str]]:
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
        from rich.panel import Panel
        from rich.text import Text

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
        self.console.print(Panel(body, title=Text(scenario.id, style="bold cyan"),
                                 title_align="left", border_style="cyan"))

    def step_started(self, step: Step, commands: dict[str, str] | None = None) -> None:
        """Print the step's heading, explanation and command. `commands` (node -> the command
        with its variables filled in) shows what really runs; without it, the template."""
        from rich.padding import Padding
        from rich.syntax import Syntax
        from rich.text import Text

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
            code = Syntax(shown.rstrip("\n"), "bash", theme="ansi_dark", word_wrap=True,
                          background_color="default")
            self.console.print(Padding(code, (0, 0, 0, 4)))

    def step_finished(self, record: StepRecord) -> None:
        from rich.text import Text

        w, lang = self.words, self.lang
        for result in record.results:
            header = Text("  ")
            header.append(result.node, style="bold")
            ok_exit = result.exit_code == 0
            header.append(f" · {_exit_label(result, lang)}", style="green" if ok_exit else "yellow")
            header.append(f" · {seconds(result.duration)}", style="dim")
            if result.attempts > 1:
                header.append(f" · {w['attempts'].format(n=result.attempts)}", style="dim")
            self.console.print(header)
            self._print_output(result.stdout, "")
            self._print_output(result.stderr, "red")
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
        if record.status == "passed" and not record.results:
            return   # an explain step: nothing ran, nothing to judge
        verdict = Text("  ")
        verdict.append(f"{STATUS_MARKS.get(record.status, '?')} {status_word(record.status, lang)}",
                       style=STATUS_STYLES.get(record.status, "bold"))
        verdict.append(f" · {seconds(record.duration)}", style="dim")
        self.console.print(verdict)

    def _print_output(self, text: str, style: str) -> None:
        from rich.text import Text

        head, folded, tail = fold(clean_output(text), *TERMINAL_FOLD)
        gutter = "    │ "
        for line in head:
            self.console.print(Text.assemble((gutter, "dim"), (line, style)), overflow="fold")
        if folded:
            self.console.print(Text.assemble(
                (gutter, "dim"), (self.words["folded"].format(n=folded), "italic dim")))
            for line in tail:
                self.console.print(Text.assemble((gutter, "dim"), (line, style)), overflow="fold")

    def scenario_finished(self, record: RunRecord) -> None:
        from rich.table import Table
        from rich.text import Text

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
            status = step_record.status
            table.add_row(
                str(number),
                Text(step.title.get(lang)),
                Text(f" {kind_name(step.kind, lang)} ", style=KIND_STYLES.get(step.kind, "")),
                Text(f"{STATUS_MARKS.get(status, '?')} {status_word(status, lang)}",
                     style=STATUS_STYLES.get(status, "")),
                seconds(step_record.duration),
            )
        self.console.print(table)
        passed, headline, reasons = _verdict(record, lang)
        line = Text()
        line.append("✓ " if passed else "✗ ", style="bold green" if passed else "bold red")
        line.append(headline, style="bold green" if passed else "bold red")
        line.append(f"  ({seconds(record.duration)})", style="dim")
        self.console.print(line)
        for reason in reasons:
            self.console.print(Text.assemble(("  ✗ ", "red"), clean_output(reason)))


# ---- the handout


def handout_stem(record: RunRecord) -> str:
    """`<scenario-id>[-<variant>]-<YYYYmmdd-HHMMSS>`: ids are validated, so this is a safe name."""
    variant = "" if record.variant == "default" else f"-{record.variant}"
    return f"{record.scenario.id}{variant}-{record.started:%Y%m%d-%H%M%S}"


def write_handout(record: RunRecord, out_dir: Path) -> tuple[Path, Path]:
    """Write the run as `<stem>.md` and a self-contained `<stem>.html` in `out_dir`, in
    record.lang. Creates `out_dir` if needed; each file is written to a temporary file and
    renamed, so a reader never sees half a handout. Returns (markdown path, html path).
    Raises OSError when the folder cannot be written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = handout_stem(record)
    md_path, html_path = out_dir / f"{stem}.md", out_dir / f"{stem}.html"
    _write_atomically(md_path, render_markdown(record))
    _write_atomically(html_path, render_html(record))
    return md_path, html_path


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _md(text: str) -> str:
    """Prose for Markdown: raw HTML neutralised (a viewer may render it)."""
    return html.escape(text, quote=False)


def _md_cell(text: str) -> str:
    return _md(text).replace("|", "\\|").replace("\n", " ")


def _fence(text: str, lang: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _folded_text(text: str, lang: str) -> str:
    head, folded, tail = fold(clean_output(text), *HANDOUT_FOLD)
    if not folded:
        return "\n".join(head)
    return "\n".join(head + [words(lang)["folded"].format(n=folded)] + tail)


def render_markdown(record: RunRecord) -> str:
    """The handout as Markdown (pure)."""
    lang, w = record.lang, words(record.lang)
    scenario = record.scenario
    passed, headline, reasons = _verdict(record, lang)
    out = [f"# {_md(scenario.title.get(lang))}", "", _md(scenario.summary.get(lang)), ""]
    variant = scenario.variants.get(record.variant)
    if variant is not None and variant.summary is not None:
        out += [_md(variant.summary.get(lang)), ""]
    out.append(f"- **{w['lab']}:** {_md(record.lab_name)} ({_md(record.provider)})")
    if record.variant != "default":
        out.append(f"- **{w['variant']}:** {_md(record.variant)}")
    out.append(f"- **{w['date']}:** {record.started:%Y-%m-%d %H:%M}")
    out.append(f"- **{w['result']}:** {'✓' if passed else '✗'} {_md(headline)}")
    out.append("")
    for number, step_record in enumerate(record.steps, 1):
        out += _markdown_step(number, step_record, lang)
    out += [f"## {w['summary']}", "",
            f"| # | {w['step']} | {w['kind']} | {w['result']} | {w['time']} |",
            "|---:|---|---|---|---:|"]
    for number, step_record in enumerate(record.steps, 1):
        step = step_record.step
        out.append(f"| {number} | {_md_cell(step.title.get(lang))} | {kind_name(step.kind, lang)} | "
                   f"{STATUS_MARKS.get(step_record.status, '?')} "
                   f"{status_word(step_record.status, lang)} | {seconds(step_record.duration)} |")
    out += ["", f"**{'✓' if passed else '✗'} {_md(headline)}** ({seconds(record.duration)})"]
    out += [f"- {_md(clean_output(reason))}" for reason in reasons]
    return "\n".join(out).rstrip("\n") + "\n"


def _markdown_step(number: int, record: StepRecord, lang: str) -> list[str]:
    w, step = words(lang), record.step
    out = [f"## {w['step']} {number} · {kind_name(step.kind, lang)} · {_md(step.title.get(lang))}", ""]
    if step.explain is not None:
        out += [_md(step.explain.get(lang).strip()), ""]
    groups = _grouped_by_command(record.results)
    if not groups and step.run:
        groups = [(step.run, [])]
    for command, results in groups:
        nodes = ", ".join(f"`{r.node}`" for r in results) or _md(nodes_label(step, lang))
        out += [f"**{w['command']}** ({w['on']} {nodes}):", "", _fence(command.rstrip("\n"), "sh"), ""]
        for result in results:
            label = f"**{w['output']}** (`{result.node}`, {_exit_label(result, lang)}"
            if result.attempts > 1:
                label += f", {w['attempts'].format(n=result.attempts)}"
            out += [label + "):", ""]
            stdout, stderr = _folded_text(result.stdout, lang), _folded_text(result.stderr, lang)
            if not stdout and not stderr:
                out += [f"*{w['no_output']}*", ""]
            if stdout:
                out += [_fence(stdout, "text"), ""]
            if stderr:
                out += [f"{w['stderr']}:", "", _fence(stderr, "text"), ""]
    for key, value in record.captured.items():
        node, _, var = key.partition(":")
        out.append(f"- {w['captured']} `{var}` = `{_md(clean_output(value))}` ({node})")
    if record.captured:
        out.append("")
    if record.results or record.status != "passed":
        mark = STATUS_MARKS.get(record.status, "?")
        out.append(f"**{w['result']}:** {mark} {status_word(record.status, lang)} "
                   f"({seconds(record.duration)})")
        if record.status == "passed":
            out += [f"- ✓ {_md(p)}" for p in describe_expectations(step.expect, lang)]
        else:
            out += [f"- ✗ {_md(clean_output(reason))}" for reason in record.failures]
        out.append("")
    return out


_CSS = """
body { font: 16px/1.5 -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC",
       "Microsoft YaHei", sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #1a1a1a; }
h1 { margin-bottom: .2rem; }
.summary { font-size: 1.1rem; color: #333; }
.facts { color: #555; padding-left: 1.2rem; }
section.step { border-top: 1px solid #ddd; padding-top: .5rem; margin-top: 1.5rem; }
h2 { font-size: 1.25rem; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: .25rem;
         font-size: .85rem; font-weight: bold; letter-spacing: .03em; vertical-align: middle; }
.num { color: #777; font-weight: normal; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: .3rem; padding: .6rem .8rem;
      overflow-x: auto; white-space: pre-wrap; word-break: break-all; font-size: .9rem; }
pre.cmd { background: #272822; color: #f8f8f2; border-color: #272822; }
pre.stderr { border-left: 4px solid #c62828; }
.label { font-weight: bold; margin: .8rem 0 .2rem; }
.folded { color: #888; font-style: italic; }
.ok { color: #2e7d32; } .bad { color: #c62828; } .skip { color: #777; }
ul.checks { list-style: none; padding-left: .5rem; }
table { border-collapse: collapse; margin-top: .5rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
td.n, td.t { text-align: right; color: #555; }
.verdict { font-size: 1.2rem; font-weight: bold; margin-top: 1rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  pre.cmd { background: #fff; color: #000; border: 1px solid #999; }
  pre { page-break-inside: avoid; }
  section.step { page-break-inside: avoid; }
  .badge { border: 1px solid #000; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _status_class(status: str) -> str:
    return {"passed": "ok", "skipped": "skip"}.get(status, "bad")


def _html_pre(text: str, lang: str, css_class: str = "") -> str:
    head, folded, tail = fold(clean_output(text), *HANDOUT_FOLD)
    body = _e("\n".join(head))
    if folded:
        body += ("\n<span class=\"folded\">" + _e(words(lang)["folded"].format(n=folded))
                 + "</span>\n" + _e("\n".join(tail)))
    cls = f' class="{css_class}"' if css_class else ""
    return f"<pre{cls}>{body}</pre>"


def _badge(kind: str, lang: str) -> str:
    background, colour = KIND_COLOURS.get(kind, ("#555", "#fff"))
    return (f'<span class="badge" style="background:{background};color:{colour}">'
            f"{_e(kind_name(kind, lang))}</span>")


def render_html(record: RunRecord) -> str:
    """The handout as one self-contained HTML page: inline CSS, no scripts, no external
    assets; every piece of scenario text and output escaped (pure)."""
    lang, w = record.lang, words(record.lang)
    scenario = record.scenario
    passed, headline, reasons = _verdict(record, lang)
    title = scenario.title.get(lang)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="summary">{_e(scenario.summary.get(lang))}</p>',
    ]
    variant = scenario.variants.get(record.variant)
    if variant is not None and variant.summary is not None:
        parts.append(f'<p class="summary">{_e(variant.summary.get(lang))}</p>')
    facts = [(w["lab"], f"{record.lab_name} ({record.provider})")]
    if record.variant != "default":
        facts.append((w["variant"], record.variant))
    facts.append((w["date"], f"{record.started:%Y-%m-%d %H:%M}"))
    parts.append('<ul class="facts">')
    parts += [f"<li><b>{_e(k)}:</b> {_e(v)}</li>" for k, v in facts]
    verdict_class = "ok" if passed else "bad"
    parts.append(f'<li><b>{_e(w["result"])}:</b> <span class="{verdict_class}">'
                 f'{"✓" if passed else "✗"} {_e(headline)}</span></li>')
    parts.append("</ul>")
    for number, step_record in enumerate(record.steps, 1):
        parts += _html_step(number, step_record, lang)
    parts += [f"<h2>{_e(w['summary'])}</h2>", "<table>",
              f"<tr><th>#</th><th>{_e(w['step'])}</th><th>{_e(w['kind'])}</th>"
              f"<th>{_e(w['result'])}</th><th>{_e(w['time'])}</th></tr>"]
    for number, step_record in enumerate(record.steps, 1):
        step, status = step_record.step, step_record.status
        parts.append(
            f'<tr><td class="n">{number}</td><td>{_e(step.title.get(lang))}</td>'
            f"<td>{_badge(step.kind, lang)}</td>"
            f'<td class="{_status_class(status)}">{STATUS_MARKS.get(status, "?")} '
            f'{_e(status_word(status, lang))}</td><td class="t">{seconds(step_record.duration)}</td></tr>')
    parts.append("</table>")
    parts.append(f'<p class="verdict {verdict_class}">{"✓" if passed else "✗"} {_e(headline)} '
                 f'<span class="num">({seconds(record.duration)})</span></p>')
    if reasons:
        parts.append('<ul class="checks">')
        parts += [f'<li class="bad">✗ {_e(clean_output(r))}</li>' for r in reasons]
        parts.append("</ul>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _html_step(number: int, record: StepRecord, lang: str) -> list[str]:
    w, step = words(lang), record.step
    out = ['<section class="step">',
           f'<h2>{_badge(step.kind, lang)} <span class="num">{_e(w["step"])} {number}</span> '
           f"{_e(step.title.get(lang))}</h2>"]
    if step.explain is not None:
        out += [f"<p>{_e(paragraph)}</p>" for paragraph in
                re.split(r"\n\s*\n", step.explain.get(lang).strip())]
    groups = _grouped_by_command(record.results)
    if not groups and step.run:
        groups = [(step.run, [])]
    for command, results in groups:
        nodes = ", ".join(r.node for r in results) or nodes_label(step, lang)
        out.append(f'<p class="label">{_e(w["command"])} <span class="num">({_e(w["on"])} '
                   f"{_e(nodes)})</span></p>")
        out.append(f'<pre class="cmd">{_e(command.rstrip(chr(10)))}</pre>')
        for result in results:
            label = f"{w['output']} ({result.node}, {_exit_label(result, lang)}"
            if result.attempts > 1:
                label += f", {w['attempts'].format(n=result.attempts)}"
            out.append(f'<p class="label">{_e(label)})</p>')
            if not clean_output(result.stdout) and not clean_output(result.stderr):
                out.append(f'<p class="skip">{_e(w["no_output"])}</p>')
            if clean_output(result.stdout):
                out.append(_html_pre(result.stdout, lang))
            if clean_output(result.stderr):
                out.append(_html_pre(result.stderr, lang, "stderr"))
    if record.captured:
        out.append('<ul class="checks">')
        for key, value in record.captured.items():
            node, _, var = key.partition(":")
            out.append(f"<li>{_e(w['captured'])} <code>{_e(var)}</code> = "
                       f"<code>{_e(clean_output(value))}</code> ({_e(node)})</li>")
        out.append("</ul>")
    if record.results or record.status != "passed":
        cls = _status_class(record.status)
        out.append(f'<p class="label {cls}">{_e(w["result"])}: {STATUS_MARKS.get(record.status, "?")} '
                   f'{_e(status_word(record.status, lang))} <span class="num">'
                   f"({seconds(record.duration)})</span></p>")
        out.append('<ul class="checks">')
        if record.status == "passed":
            out += [f'<li class="ok">✓ {_e(p)}</li>' for p in describe_expectations(step.expect, lang)]
        else:
            out += [f'<li class="bad">✗ {_e(clean_output(r))}</li>' for r in record.failures]
        out.append("</ul>")
    out.append("</section>")
    return out
