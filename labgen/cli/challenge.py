"""`labgen scenario start/check/hint/answer/solve/reset/progress/worksheet/serve`: the
student's commands and the classroom server (part of the CLI: it prints and exits; the logic is
in scenario/challenge.py and web/)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from labgen.cli import steps
from labgen.cli.options import (
    dir_flag,
    confirm,
    console,
    dir_option,
    force_option,
    output_option,
    provider_option,
    refuse_overwrite,
    scenario_dir_option,
    serve_options,
    variant_option,
    web_settings,
    yes_option,
)
from labgen.cli.scenario import scenario
from labgen.errors import LabgenError
from labgen.words import table

lang_option = click.option("--lang", type=click.Choice(["en", "zh"]), default=None, help="Default: from the locale.")


def _lang(lang):
    from labgen.cli.scenario import default_lang

    return lang or default_lang()


@contextlib.contextmanager
def _opened(ctx, lab_path, lang, quiet=False):
    """(challenge, console) on the lab dir, with its connections open for the block."""
    from labgen import lifecycle
    from labgen.scenario.challenge import open_challenge
    from labgen.scenario.transcript import TerminalReporter

    _model, lab_dir, provider = steps.open_lab(ctx, lab_path)
    con = console()
    reporter = None if quiet else TerminalReporter(con, lang)
    with lifecycle.open_remote(lab_dir, provider) as remote:
        yield open_challenge(lab_dir, remote, reporter, lang, provider), con


def _ensure_roles(model, lab_dir, provider, roles, remote, con):
    from labgen.providers import get_provider
    from labgen.provision.engine import roles_recorded

    if roles and not roles_recorded(model, lab_dir, get_provider(provider).facts(model), list(roles)):
        steps.provision(model, lab_dir, provider, roles=list(roles), remote=remote)


def _show_waiting(ch, con, lang):
    """Print the step now waiting for the student (or that the scenario is finished)."""
    from rich.panel import Panel
    from rich.text import Text

    step = ch.current()
    p = ch.progress()
    if step is None:
        if p.get("finished"):
            con.print(Panel(Text(_w(lang, "finished")), border_style="green"))
        return
    body = Text()
    body.append(ch.text(step.goal, lang) + "\n")
    if step.explain:
        body.append("\n" + ch.text(step.explain, lang).strip() + "\n", style="dim")
    body.append("\n" + _w(lang, f"how_{step.kind}"), style="cyan")
    title = f"{_w(lang, 'kind_' + step.kind)} · {step.title.get(lang)}"
    con.print(Panel(body, title=Text(title, style="bold"), title_align="left", border_style="magenta"))


def _show_outcome(outcome, con, lang, verbose):
    from rich.text import Text

    for message in outcome.messages:
        mark = ("✓ ", "bold green") if outcome.ok else ("✗ ", "bold red")
        con.print(Text.assemble(mark, message.get(lang)))
    if verbose or (not outcome.ok and not outcome.messages):
        for detail in outcome.details:
            con.print(Text(f"  {detail}", style="dim"))


@click.command("start")
@click.argument("scenario_id")
@scenario_dir_option
@variant_option
@yes_option
@lang_option
@provider_option
@click.pass_obj
def start(ctx, scenario_id, lab_path, variant, yes, lang):
    """Start SCENARIO_ID as a student: run it up to the first task and show the goal.

    Like `scenario run`, it creates, boots and provisions the lab first when needed. Starting
    again replaces the progress of the earlier start on this lab (attempts, hints, times): it
    asks first (--yes to skip the question).
    """
    from labgen.scenario import student_progress as prog
    from labgen.scenario.challenge import Challenge, challenge_variant
    from labgen.scenario.load import check_against_lab, find_scenario, load_scenario, scenario_lab
    from labgen.scenario.transcript import TerminalReporter

    lang = _lang(lang)
    sc = load_scenario(find_scenario(scenario_id))
    variant = challenge_variant(sc, variant)
    check_against_lab(sc, scenario_lab(sc))
    lab_dir = steps.lab_dir_for(scenario_lab(sc).name, lab_path)
    if lab_dir.exists() and prog.load(lab_dir) is not None:
        confirm(
            yes,
            f"Start {sc.id} again on the lab in {lab_dir.path}? The earlier start's progress "
            "(steps done, attempts, hints, times) is lost.",
            f"starting again on {lab_dir.path}",
        )
    model, lab_dir, provider, remote = steps.lab_for_scenario(ctx, sc, variant, lab_path)
    con = console()
    with remote:
        check_against_lab(sc, model)
        _ensure_roles(model, lab_dir, provider, sc.variants[variant].requires_roles, remote, con)
        ch = Challenge(lab_dir, sc, variant, model, remote, TerminalReporter(con, lang), lang, provider)
        ch.start()
        _show_waiting(ch, con, lang)


@click.command("check")
@dir_option
@click.option("-v", "--verbose", is_flag=True, help="Also show which expectation failed, on which node.")
@lang_option
@provider_option
@click.pass_obj
def check(ctx, lab_path, verbose, lang):
    """Check the current task: passes when the lab behaves as the goal says."""
    lang = _lang(lang)
    with _opened(ctx, lab_path, lang) as (ch, con):
        step = ch.current()
        outcome = ch.check(
            passed=lambda _: con.print(f"[bold green]✓ {_w(lang, 'passed')}[/] {step.title.get(lang)}", highlight=False)
        )
        if outcome.ok:
            _show_waiting(ch, con, lang)
            return
        _show_outcome(outcome, con, lang, verbose)
        raise LabgenError(_w(lang, "not_yet"), hint=_w(lang, "hint_hint"), exit_code=6)


@click.command("hint")
@dir_option
@lang_option
@click.pass_obj
def hint(ctx, lab_path, lang):
    """Show the next hint for the current task or question (hints are counted)."""
    from labgen.scenario.challenge import open_challenge

    lang = _lang(lang)
    _, lab_dir, provider = steps.open_lab(ctx, lab_path)
    ch = open_challenge(lab_dir, remote=None, lang=lang, provider=provider)  # no SSH needed
    number, total, text = ch.hint()
    con = console()
    if text is None:
        con.print(_w(lang, "no_more").format(n=total), highlight=False)
        return
    con.print(f"[bold yellow]{_w(lang, 'hint')} {number}/{total}[/]  ", end="", highlight=False)
    con.print(ch.text(text, lang), markup=False, highlight=False)


@click.command("answer")
@click.argument("text")
@dir_option
@lang_option
@provider_option
@click.pass_obj
def answer(ctx, text, lab_path, lang):
    """Answer the current question: `labgen scenario answer "ee:ee:ee:ee:ee:ee"`."""
    lang = _lang(lang)
    with _opened(ctx, lab_path, lang) as (ch, con):
        step = ch.current()

        def right(outcome):
            con.print(f"[bold green]✓ {_w(lang, 'right')}[/] {step.title.get(lang)}", highlight=False)
            _show_outcome(outcome, con, lang, False)

        outcome = ch.answer(text, passed=right)
        if outcome.ok:
            _show_waiting(ch, con, lang)
            return
        _show_outcome(outcome, con, lang, False)
        raise LabgenError(_w(lang, "wrong"), hint=_w(lang, "hint_hint"), exit_code=6)


@click.command("solve")
@dir_option
@lang_option
@provider_option
@click.pass_obj
def solve(ctx, lab_path, lang):
    """Give up on the current task: run its solution, then its check (recorded as solved by
    the solution, not by you)."""
    lang = _lang(lang)
    with _opened(ctx, lab_path, lang) as (ch, con):
        step = ch.current()
        if step is not None and step.solution is not None:
            con.print(f"[bold]{_w(lang, 'solution')}[/] ({', '.join(step.solution.nodes)}):", highlight=False)
            con.print(
                ch.text(type(step.title)(step.solution.run, step.solution.run), lang).rstrip(),
                style="cyan",
                markup=False,
                highlight=False,
            )
        ch.solve(
            passed=lambda _: con.print(f"[bold green]✓ {_w(lang, 'solved')}[/] {step.title.get(lang)}", highlight=False)
        )
        _show_waiting(ch, con, lang)


@click.command("reset")
@dir_option
@click.option("--to", "to", metavar="STEP", help="Replay up to this step (default: the start).")
@yes_option
@lang_option
@provider_option
@click.pass_obj
def reset(ctx, lab_path, to, yes, lang):
    """Run the cleanup, then replay the scenario up to STEP: the lab is as that step expects.

    What the student changed on the nodes, and their progress from STEP on, are lost: it asks
    first (--yes to skip the question).
    """
    from labgen.scenario import student_progress as prog

    lang = _lang(lang)
    _, lab_dir, _ = steps.open_lab(ctx, lab_path)
    started = prog.load(lab_dir)
    if started is not None:  # (nothing started: open_challenge below says so)
        confirm(
            yes,
            f"Reset {started.get('scenario')} on the lab in {lab_dir.path} to "
            f"{to or 'the start'}? Changes made on its nodes and the progress from that step "
            "on are lost.",
            "reset",
        )
    with _opened(ctx, lab_path, lang) as (ch, con):
        ch.reset(to)
        _show_waiting(ch, con, lang)


@click.command("progress")
@dir_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@lang_option
@click.pass_obj
def progress_cmd(ctx, lab_path, fmt, lang):
    """Where the student is: current step, attempts, hints used, time on each task."""
    import json

    from rich.table import Table

    from labgen.scenario.challenge import open_challenge
    from labgen.scenario.summary import summarise

    lang = _lang(lang)
    _, lab_dir, provider = steps.open_lab(ctx, lab_path)
    ch = open_challenge(lab_dir, remote=None, lang=lang, provider=provider)
    rows = summarise(ch)
    con = console()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    p = ch.progress()
    current = ch.current()
    where = current.id if current else ("finished" if p.get("finished") else "-")
    con.print(f"{ch.scenario.id} (variant {ch.variant}) · {_w(lang, 'current')}: {where}", highlight=False)
    table = Table()
    for col in ("step", "kind", "status", "attempts", "passed_col", "hints", "time"):
        table.add_column(_w(lang, col))
    for row in rows["steps"]:
        status = {"passed": "done", "solved": "solved_by_solution"}.get(row["status"], row["status"])
        table.add_row(
            row["step"],
            row["kind"],
            _w(lang, status),
            str(row["attempts"]),
            str(row["passed"]),
            f"{row['hints']}/{row['hints_total']}",
            _duration(row["seconds"]),
        )
    con.print(table)


@click.command("worksheet")
@click.argument("scenario_id")
@variant_option
@lang_option
@click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A run record (the .json beside a handout) whose outputs you checked. "
    "Default: the newest passed run of SCENARIO_ID in the lab's transcripts/.",
)
@dir_flag("lab_path", "The lab whose transcripts/ to look in (default: the lab you are in, if any).")
@output_option("Where to write the HTML ('-' for stdout). Default: ./<scenario>-worksheet-<lang>.html", allow_dash=True)
@force_option
def worksheet(scenario_id, variant, lang, record_path, lab_path, output, force):
    """Write the student's worksheet: the story, the lab's picture, what the observe steps
    showed in a recorded run, the tasks and questions; hints folded on screen and upside down
    on the last printed page; no solutions, no commands. Printable HTML. A variant without a
    task or question is refused.

    \b
    labgen scenario worksheet mac-bug --lang zh
    labgen scenario worksheet mac-bug --record mesos-calico/transcripts/mac-bug-20261205-101500.json
    """
    from labgen.scenario.load import find_scenario, load_scenario
    from labgen.scenario.worksheet import render_worksheet, worksheet_variant

    lang = _lang(lang)
    sc = load_scenario(find_scenario(scenario_id))
    variant = worksheet_variant(sc, variant)
    record = _worksheet_record(sc, variant, lang, record_path, lab_path)
    html = render_worksheet(sc, variant, lang, record=record, svg=_worksheet_picture(sc, record, lang))
    if record is None:  # on stderr: with -o - the page itself goes to stdout
        click.echo(
            "no recorded run found: the worksheet says so and shows no outputs "
            "(--record FILE, or run it in a lab with a transcript)",
            err=True,
        )
    if output is not None and str(output) == "-":
        click.echo(html, nl=False)
        return
    output = output or Path(f"{sc.id}-worksheet-{lang}.html")
    refuse_overwrite(output, force)
    try:
        output.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise LabgenError(f"cannot write {output}: {exc.strerror or exc}") from None
    console().print(f"worksheet: {output}", highlight=False)


def _worksheet_record(sc, variant, lang, record_path, lab_path):
    """The run record whose outputs the worksheet shows: --record, else the newest record of
    this scenario in the lab's transcripts/ whose observe steps all passed; None without."""
    from labgen.labdir import LabDir, find_lab_dir
    from labgen.scenario.record import load_record

    if record_path is not None:
        return load_record(record_path, lang=lang)
    try:
        lab_dir = LabDir(lab_path.resolve()) if lab_path else find_lab_dir()
    except LabgenError:
        return None
    observe = {s.id for s in sc.variants[variant].steps if s.kind == "observe"}
    for path in sorted(lab_dir.transcripts.glob(f"{sc.id}-*.json"), reverse=True):
        try:
            record = load_record(path, lang=lang)
        except LabgenError:
            continue
        shown = [s for s in record.steps if s.step.id in observe]
        if record.scenario.id == sc.id and shown and all(s.status == "passed" for s in shown):
            return record
    return None


def _worksheet_picture(sc, record, lang):
    """The lab's topology as SVG (from the record's lab, else the scenario's), or None
    without Graphviz."""
    from labgen.graph import dot_available, lab_svg
    from labgen.scenario.load import scenario_lab

    if not dot_available():
        return None
    return lab_svg(record.lab if record and record.lab else scenario_lab(sc), lang)


@click.command("serve")
@dir_flag("lab_paths", "A lab dir to serve as a seat (repeatable; default: the current lab).", multiple=True)
@serve_options
def serve(lab_paths, host, port, min_interval, **limits):
    """Serve a page per seat (a lab with a started scenario) and a live board for the instructor.

    Prints each seat's URL (its token is the password: hand it to that student only) and the
    board's URL. Start the scenario on each lab first: `labgen scenario start mac-bug`.
    """
    import sys

    from labgen.labdir import find_lab_dir
    from labgen.web.serve import serve_labs

    con = console()

    def say(line):
        con.print(line, markup=False, highlight=False)
        sys.stdout.flush()

    serve_labs(list(lab_paths) or [find_lab_dir().path], host, port, min_interval, say, settings=web_settings(limits))


def _duration(seconds):
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


WORDS = table("challenge_cli")  # labgen/words.py


def _w(lang, key):
    return WORDS["zh" if lang == "zh" else "en"].get(key, key)


# The student's commands join `labgen scenario`; nothing new at the top level.
for _command in (start, check, hint, answer, solve, reset, progress_cmd, worksheet, serve):
    scenario.add_command(_command)
COMMANDS = ()
