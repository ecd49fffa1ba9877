"""`labgen scenario ...`: list, show and run scenarios (part of the CLI: it prints and exits).

The student challenge commands (start/check/hint/answer/solve/reset/progress) join this group
from their own module (labgen/cli/challenge.py, `@scenario.command(...)`), listed in
labgen/cli/__init__.py MODULES."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from labgen.cli import steps
from labgen.cli.options import console, provider_option, scenario_dir_option, variant_option
from labgen.errors import LabgenError


def default_lang() -> str:
    """zh when the locale says Chinese, else en."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


@click.group()
def scenario():
    """Replay a walkthrough on a lab: break -> observe -> fix -> verify, with checks."""


@scenario.command("list")
def list_scenarios():
    """List the built-in scenarios."""
    from labgen.scenario.load import builtin_scenarios, load_scenario

    con = console()
    for path in builtin_scenarios():
        sc = load_scenario(path)
        variants = ", ".join(v for v in sc.variants if v != "default")
        extra = f"  [dim]variants: {variants}[/]" if variants else ""
        con.print(f"[cyan]{sc.id:<14}[/] ", end="", highlight=False)
        con.print(f"{sc.title.get('en')} (lab {sc.lab})", markup=False, highlight=False, end="")
        con.print(extra, highlight=False)


@scenario.command("show")
@click.argument("scenario_id")
@variant_option
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None, help="Default: from the locale.")
def show(scenario_id, variant, lang):
    """Check a scenario (a built-in id or a FILE) and show its steps, without running anything.

    The check is the one `scenario run` makes before it starts: the file, then its lab
    (a built-in lab or a lab file relative to the scenario) and every node, {{ var }} and
    nodes.NAME.ip the steps use in every variant. Problems are listed as FILE line N and
    exit 2. Then each step is shown with its nodes, command (never wrapped, so it can be
    pasted) and what the run expects of it.
    """
    from labgen.scenario.language import fallback_note
    from labgen.scenario.load import check_against_lab, find_scenario, load_scenario, scenario_lab

    sc = load_scenario(find_scenario(scenario_id))
    variant = presenter_variant(sc, variant)
    var = sc.variants[variant]
    lab = scenario_lab(sc)
    check_against_lab(sc, lab)
    lang = lang or default_lang()
    con = console()
    say = _printer(con)
    say(f"{sc.title.get(lang)}  ({sc.id}, variant {variant})", style="bold")
    say(f"lab {lab.name}: {', '.join(n.name for n in lab.nodes)}", style="dim")
    summary = var.summary or sc.summary  # a variant may tell its own story
    say(summary.get(lang).strip())
    note = fallback_note(sc, lang)
    if note:
        say(note, style="dim italic")
    say(f"requires roles: {', '.join(var.requires_roles) or '-'}", style="dim")
    for i, step in enumerate(var.steps, 1):
        where = f"  ({step.id}{' on ' + ','.join(step.nodes) if step.nodes else ''})"
        say(f"\n{i}. [{step.kind}] {step.title.get(lang)}{where}", style="bold")
        if step.explain:
            say(step.explain.get(lang).strip())
        if step.run:
            _show_command(say, step)
        _show_student_step(say, step, lang)


def _printer(con):
    """print() for scenario text: no markup, no highlighting, and soft wrap: a long line is
    written whole (the terminal folds it), so a command copied from it still runs."""

    def say(text: str, style: str | None = None) -> None:
        con.print(text, style=style, markup=False, highlight=False, soft_wrap=True)

    return say


def _show_command(say, step) -> None:
    """The command, how it runs, and what the run expects of it."""
    say(step.run.rstrip(), style="cyan")
    for line in expectations(step):
        say(f"  expect: {line}", style="green")
    for name, pattern in step.capture.items():
        say(f"  capture: {{{{ {name} }}}} = first group of {pattern!r}", style="dim")


def expectations(step) -> list[str]:
    """What a run checks of a step's result, one line each (pure)."""
    e = step.expect
    exit_ = {"0": "exit status 0", "nonzero": "a non-zero exit status", "any": "any exit status"}.get(
        e.exit, f"exit status {e.exit}"
    )
    lines = [exit_ + (f", run as {'root' if step.sudo else 'the login user'}, within {step.timeout:g} s")]
    for field, words in (
        ("stdout_contains", "stdout contains"),
        ("stdout_not_contains", "stdout does not contain"),
        ("stdout_matches", "stdout matches"),
        ("stderr_contains", "stderr contains"),
        ("stderr_not_contains", "stderr does not contain"),
        ("stderr_matches", "stderr matches"),
    ):
        lines += [f"{words} {value!r}" for value in getattr(e, field)]
    if e.retry:
        lines.append(f"retried for up to {e.retry:g} s until it holds")
    return lines


def _show_student_step(say, step, lang):
    """A task's goal, hints, checks and solution; a question's goal and answers."""
    if step.goal:
        say(f"goal: {step.goal.get(lang).strip()}")
    for i, hint in enumerate(step.hints, 1):
        say(f"hint {i}: {hint.get(lang).strip()}", style="yellow")
    for i, check in enumerate(step.checks, 1):
        say(f"check {i} (on {','.join(check.step.nodes)}), when it fails: {check.message.get(lang).strip()}")
        _show_command(say, check.step)
    if step.solution:
        say(f"solution (on {','.join(step.solution.nodes)}):")
        _show_command(say, step.solution)
    if step.answers:
        say(f"accepted answers: {', '.join(step.answers)}")


def presenter_variant(sc, name):
    from labgen.scenario.challenge import presenter_variant as pick

    return pick(sc, name)


@scenario.command("run")
@click.argument("scenario_id")
@scenario_dir_option
@variant_option
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None, help="Default: from the locale.")
@click.option(
    "--step", "presenter", is_flag=True, help="Presenter mode: pause before each step (Enter runs, s skips, q quits)."
)
@click.option("--from", "start", metavar="ID", help="Start at this step.")
@click.option("--to", "stop", metavar="ID", help="Stop after this step.")
@click.option("--only", metavar="ID", help="Run only this step (no cleanup).")
@click.option("--keep", is_flag=True, help="Skip the cleanup steps: leave the lab as the last step left it.")
@provider_option
@click.pass_obj
def run(ctx, scenario_id, lab_path, variant, lang, presenter, start, stop, only, keep):
    """Run SCENARIO_ID (or a scenario file) on its lab, creating the lab first if needed.

    Prints each step as it runs and writes a handout (Markdown + HTML) to the lab dir's
    transcripts/. Exits 0 only when every expectation held.
    """
    from labgen.scenario.load import check_against_lab, find_scenario, load_scenario, scenario_lab
    from labgen.scenario.runner import Runner, select_steps
    from labgen.scenario.handout import write_handout
    from labgen.scenario.transcript import TerminalReporter

    sc = load_scenario(find_scenario(scenario_id))
    variant = presenter_variant(sc, variant)
    var = sc.variants[variant]
    check_against_lab(sc, scenario_lab(sc))
    select_steps(tuple(s for s in var.steps if s.kind != "cleanup"), start, stop, only)
    lang = lang or default_lang()
    con = console()

    lab, lab_dir, provider, remote = steps.lab_for_scenario(ctx, sc, variant, lab_path)
    with remote:
        _provision_for(var, lab, lab_dir, provider, remote, con)
        ask = _presenter(con, lang) if presenter else None
        runner = Runner(sc, variant, lab, remote, TerminalReporter(con, lang), lang, provider, ask=ask)
        record = runner.run(start=start, stop=stop, only=only, cleanup=not keep)
    md, html = write_handout(record, lab_dir.transcripts)
    con.print(f"handout: {md}\n         {html}", highlight=False)
    if record.interrupted:
        raise LabgenError("scenario interrupted (cleanup ran)", exit_code=130)
    if not record.passed:
        bad = record.first_failure
        why = f"step {bad.step.id} failed: " + "; ".join(bad.failures) if bad else "failed"
        raise LabgenError(
            f"scenario {sc.id}: {why}", hint="the handout shows every command and its output", exit_code=6
        )


@scenario.command("verify")
@click.argument("scenario_id")
@scenario_dir_option
@click.option("--variant", default="default", show_default=True, help="e.g. challenge")
@click.option(
    "--junit",
    "junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the result as JUnit XML (one test case per step) for CI.",
)
@click.option(
    "--approve", is_flag=True, help="Record this run as the new approved transcript (after a human looked at the diff)."
)
@provider_option
@click.pass_obj
def verify(ctx, scenario_id, lab_path, variant, junit, approve):
    """Replay SCENARIO_ID headless and compare each step's output with its approved transcript.

    Creates, boots and provisions the lab as `scenario run` does (or uses the running one),
    runs every step of the variant (tasks by their solution, questions by their answer) and
    compares the output, normalised (timings, MACs the scenario does not name, the lab's
    addresses, the scenario's `normalise:` rules), with SCENARIO.approved/VARIANT.txt beside
    the scenario file. A drifted step is shown with its diff and with what changed on the
    nodes since approval (packages, box recipe, labgen version).

    Exit 0: nothing drifted. Exit 6: something did. `--approve` writes the baseline instead.

    \b
    Examples:
      labgen scenario verify mac-bug
      labgen scenario verify mac-bug --variant challenge --junit report.xml
    """
    import time

    from labgen import __version__
    from labgen.scenario import verify as vf
    from labgen.scenario.load import check_against_lab, find_scenario, load_scenario, scenario_lab
    from labgen.scenario.runner import Runner

    sc = load_scenario(find_scenario(scenario_id))
    variant = presenter_variant(sc, variant)
    var = sc.variants[variant]
    check_against_lab(sc, scenario_lab(sc))
    con = console()
    folder = vf.approved_dir(sc)
    approved_txt, approved_env = folder / f"{variant}.txt", folder / f"{variant}.env"
    if not approve and not approved_txt.is_file():
        raise LabgenError(
            f"no approved transcript for {sc.id} variant {variant} ({approved_txt})",
            hint=f"run `labgen scenario verify {scenario_id} --variant {variant} --approve` "
            "once, review the file it writes and commit it",
            exit_code=2,
        )
    began = time.monotonic()
    lab, lab_dir, provider, remote = steps.lab_for_scenario(ctx, sc, variant, lab_path)
    with remote:
        _provision_for(var, lab, lab_dir, provider, remote, con)
        record = Runner(sc, variant, lab, remote, _Quiet(con), "en", provider).run()
        nodes = sorted({n for s in var.steps for r in (s, s.solution) if r for n in r.nodes} - {"all"}) or [
            n.name for n in lab.nodes
        ]
        packages = {n: vf.parse_packages(remote.run(n, vf.PACKAGES_QUERY, timeout=60).stdout) for n in nodes}
    env = vf.env_text(__version__, provider, vf.box_recipe_hash(provider), packages)
    current = vf.sections(record, vf.normaliser(sc, lab))
    if approve:
        folder.mkdir(parents=True, exist_ok=True)
        approved_txt.write_text(vf.render(record, current), encoding="utf-8")
        approved_env.write_text(env, encoding="utf-8")
        con.print(f"approved: {approved_txt}\n          {approved_env}", highlight=False, markup=False)
        if not record.passed:
            con.print(
                "[yellow]note: this run did not pass its own expectations; the transcript records that too[/]",
                highlight=False,
            )
        return
    verdict = vf.compare(vf.parse(approved_txt.read_text(encoding="utf-8")), current)
    old_env = approved_env.read_text(encoding="utf-8") if approved_env.is_file() else ""
    verdict.env_changes = vf.env_changes(old_env, env)
    if junit:
        junit.write_text(vf.junit_xml(sc.id, variant, verdict, time.monotonic() - began), encoding="utf-8")
    for drift in verdict.drifts:
        con.print(f"\n[bold red]drifted: step {drift.key}[/] ", end="", highlight=False)
        con.print(drift.title, markup=False, highlight=False)
        con.print(drift.diff, markup=False, highlight=False)
    if verdict.drifts and verdict.env_changes:
        con.print("\n[bold]changed on the nodes since approval:[/]", highlight=False)
        con.print("\n".join("  " + c for c in verdict.env_changes), markup=False, highlight=False)
    total = len(verdict.matched) + len(verdict.drifts)
    if verdict.ok:
        con.print(
            f"[green]verified: {total} steps of {sc.id} ({variant}) match the approved transcript[/]", highlight=False
        )
        return
    raise LabgenError(
        f"scenario {sc.id} ({variant}): {len(verdict.drifts)} of {total} steps drifted: "
        + ", ".join(d.key for d in verdict.drifts),
        hint=f"if the change is right, `labgen scenario verify {scenario_id} --variant {variant} --approve` records it",
        exit_code=6,
    )


class _Quiet:
    """A reporter for verify: one line per step instead of the whole transcript."""

    def __init__(self, con):
        self.con = con

    def scenario_started(self, record):
        pass

    def step_started(self, step, commands):
        pass

    def step_finished(self, rec):
        self.con.print(f"  {rec.status:<7} {rec.step.id}", highlight=False, markup=False)

    def scenario_finished(self, record):
        pass


@scenario.command("import")
@click.argument("article", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lab", "lab_name", required=True, help="The lab the draft runs on (built-in name or lab file).")
@click.option(
    "-o",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the draft scenario (refused if it exists).",
)
@click.option(
    "--lang",
    type=click.Choice(["auto", "en", "zh"]),
    default="auto",
    show_default=True,
    help="The language of the draft's texts; auto: Chinese when the article's prose has more "
    "Chinese characters than English words, else English.",
)
def import_article(article, lab_name, output, lang):
    """Turn an article (Markdown or plain text) into a draft scenario for LAB.

    Headings become steps, prose their explanation, commands `run`, a prompt's host
    (`[root@ubuntu-1 ~]#`) `on` when it is a lab node, heredocs (`cat <<EOF > FILE`) steps that
    write the file. Every guess is marked `# TODO`. Nothing in the article runs. The texts are
    written in the article's one language (one is enough; see --lang).

    \b
    Example:
      labgen scenario import article.md --lab mesos-calico -o draft.yml
    """
    from labgen.labfile import find_lab, load_lab
    from labgen.scenario import importer
    from labgen.scenario.load import load_scenario

    if output.exists():
        raise LabgenError(
            f"{output} exists; not overwriting it", hint="give another -o path or remove it first", exit_code=2
        )
    lab = load_lab(find_lab(lab_name))
    try:
        text = article.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LabgenError(f"{article}: cannot read it ({exc.strerror})", exit_code=2) from None
    drafts = importer.parse(text)
    lang = importer.article_language(drafts) if lang == "auto" else lang
    sid = re.sub(r"[^a-z0-9]+", "-", output.stem.lower()).strip("-")[:63] or "draft"
    roles = {n.name: list(n.roles) for n in lab.nodes}
    text = importer.render(drafts, lab_name, [n.name for n in lab.nodes], sid, lang, roles=roles)
    output.write_text(text, encoding="utf-8")
    draft = load_scenario(output)  # the draft must load; a failure here is labgen's bug
    commands = sum(len(d.commands) + len(d.files) for d in drafts)
    runnable = [st for st in draft.variants["default"].steps if st.kind != "explain"]
    unplaced = sum(1 for st in runnable if importer.WHICH_NODE in st.nodes)
    console().print(
        f"draft: {output}: {len(drafts)} sections, {len(draft.variants['default'].steps)} steps, "
        f"{commands} commands, {len(runnable) - unplaced} of {len(runnable)} runnable steps placed on "
        f"nodes (guesses), texts in {importer.LANGUAGES[lang]}; search it for TODO",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _provision_for(var, lab, lab_dir, provider, remote, con) -> None:
    """Provision the variant's roles unless the lab records them already."""
    from labgen.providers import get_provider
    from labgen.provision.engine import roles_recorded

    if roles_recorded(lab, lab_dir, get_provider(provider).facts(lab), list(var.requires_roles)):
        con.print(
            f"[dim]roles {', '.join(var.requires_roles)}: provisioned (`labgen provision` re-checks them)[/]",
            highlight=False,
        )
    else:
        steps.provision(lab, lab_dir, provider, roles=list(var.requires_roles), remote=remote)


def _presenter(con, lang):
    from rich.markup import escape

    keys = {"en": "[Enter] run · [s] skip · [q] quit", "zh": "[回车] 运行 · [s] 跳过 · [q] 退出"}[lang]

    def ask(step):
        while True:
            answer = (
                con.input(f"\n[bold yellow]▶ {escape(step.title.get(lang))}[/]  [dim]{escape(keys)}[/] ")
                .strip()
                .lower()
            )
            if answer in ("", "r"):
                return "run"
            if answer in ("s", "q"):
                return {"s": "skip", "q": "quit"}[answer]

    return ask


COMMANDS = (scenario,)
