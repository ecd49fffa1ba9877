"""The student's worksheet: the story, the lab's picture, what the observe steps showed (from a
recorded run), the tasks and questions; hints folded on screen and upside down on the last
printed page; no solutions, no commands. One self-contained, printable HTML page (the
transcript handout stays the instructor's answer key). Pure: scenario, record and picture in,
text out.

The page is the Jinja2 template labgen/templates/worksheet.html.j2 (autoescaped) with
worksheet.css inlined, so the file needs nothing beside it.
"""

from __future__ import annotations

from markupsafe import Markup

from labgen import pages
from labgen.errors import LabgenError
from labgen.model import STUDENT_KINDS, Scenario
from labgen.scenario.challenge import challenge_variant
from labgen.scenario.handout import output_lines, prose_html
from labgen.scenario.language import fallback_note
from labgen.scenario.record import RunRecord
from labgen.scenario.template import VAR, fill_text
from labgen.words import table

BLANK = "________"  # a captured value no recorded run gives: the student fills it in

WORDS = table("worksheet")  # labgen/words.py


def worksheet_variant(scenario: Scenario, requested: str | None) -> str:
    """The variant a worksheet is for: the one asked for (it must have a task or a question),
    else the first that has one. Raises LabgenError (exit 2) otherwise."""
    variant = challenge_variant(scenario, requested)
    if not any(s.kind in STUDENT_KINDS for s in scenario.variants[variant].steps):
        with_tasks = [n for n, v in scenario.variants.items() if any(s.kind in STUDENT_KINDS for s in v.steps)]
        raise LabgenError(
            f"variant {variant} of scenario {scenario.id} has no task or question: "
            "a worksheet for it would hold nothing to do",
            hint=(f"variants with tasks: {', '.join(with_tasks)}; " if with_tasks else "")
            + f"`labgen scenario run {scenario.id} --variant {variant}` presents it",
            exit_code=2,
        )
    return variant


def captured_values(record: RunRecord | None, node_order: list[str]) -> dict[str, str]:
    """The values a recorded run captured ("node:var" -> value), merged as the runner merges
    them for text a student reads: later nodes win."""
    values: dict[str, str] = {}
    if record is None:
        return values
    by_node: dict[str, dict[str, str]] = {}
    for step in record.steps:
        for key, value in step.captured.items():
            node, _, name = key.partition(":")
            by_node.setdefault(node, {})[name] = value
    for node in node_order + sorted(set(by_node) - set(node_order)):
        values.update(by_node.get(node, {}))
    return values


def render_worksheet(
    scenario: Scenario, variant: str, lang: str, record: RunRecord | None = None, svg: str | None = None
) -> str:
    """The worksheet HTML for one variant. `record`: a run whose observe steps' outputs (by
    step id) and captured values (bad_mac ...) the page shows; `svg`: the lab's topology."""
    w = WORDS["zh" if lang == "zh" else "en"]
    nodes = [n.name for n in record.lab.nodes] if record and record.lab else []
    values = {**dict(scenario.vars), **captured_values(record, nodes)}

    def text(t) -> Markup:
        filled = VAR.sub(BLANK, fill_text(t.get(lang), values)).strip() if t else ""
        return Markup(prose_html(filled))

    recorded = {s.step.id: s for s in record.steps} if record else {}
    steps = []
    for step in scenario.variants[variant].steps:
        if step.kind == "cleanup":
            continue
        outputs = []
        if step.kind == "observe" and step.id in recorded:
            for result in recorded[step.id].results:
                shown = result.stdout + (("\n" + result.stderr) if result.stderr.strip() else "")
                outputs.append(
                    {"label": w["node_output"].format(node=result.node), "lines": output_lines(shown, lang)["lines"]}
                )
        steps.append(
            {
                "id": step.id,
                "kind": step.kind,
                "student": step.kind in STUDENT_KINDS,
                "title": text(step.title),
                "explain": text(step.explain),
                "goal": text(step.goal),
                "hints": [text(h) for h in step.hints],
                "outputs": outputs,
            }
        )
    # The story after the last task or question tells its answers: say so before it.
    last = max((i for i, s in enumerate(steps) if s["student"]), default=None)
    for i, s in enumerate(steps):
        s["read_after"] = last is not None and i == last + 1
    if record:
        note = w["recorded"].format(
            lab=record.lab_name, provider=record.provider, date=record.started.strftime("%Y-%m-%d")
        )
    else:
        note = w["not_recorded"]
    summary = scenario.variants[variant].summary or scenario.summary
    return pages.render(
        "worksheet.html.j2",
        w=w,
        lang=lang,
        title=text(scenario.title),
        summary=text(summary),
        steps=steps,
        hinted=[s for s in steps if s["student"] and s["hints"]],
        recorded_note=note,
        note=fallback_note(scenario, lang),
        css=pages.css("worksheet.css"),
        svg=Markup(svg) if svg else None,
        check=Markup(prose_html(w["check"])),
    )
