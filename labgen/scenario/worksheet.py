"""The student's worksheet: the story, the lab's picture, what the observe steps showed (from a
recorded run), the tasks and questions; hints folded on screen and upside down on the last
printed page; no solutions, no commands. One self-contained, printable HTML page (the
transcript handout stays the instructor's answer key). Pure: scenario, record and picture in,
text out.

The page is the Jinja2 template labgen/templates/worksheet.html.j2 (autoescaped) with
worksheet.css inlined, so the file needs nothing beside it.
"""

from __future__ import annotations

from pathlib import Path

from labgen.errors import LabgenError
from labgen.model import STUDENT_KINDS, Scenario
from labgen.scenario.record import RunRecord

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
BLANK = "________"   # a captured value no recorded run gives: the student fills it in

WORDS = {
    "en": {"worksheet": "Worksheet", "task": "Task", "question": "Question", "hint": "Hint",
           "answer": "Your answer",
           "check": "When you are done, press Check on your seat page "
                    "(on a lab of your own: `labgen scenario check`).",
           "name": "Name", "seat": "Seat", "topology": "The lab",
           "hints_on_last_page": "Stuck? {n} hints, upside down on the last page.",
           "hints_title": "Hints (open one only when you are stuck)",
           "recorded": "The outputs below were recorded on lab {lab} on {date} ({provider}); "
                       "on your lab, names and addresses may differ.",
           "not_recorded": "No recorded run of this scenario was found, so this worksheet shows "
                           "no outputs: run the observe steps on your lab and read them there.",
           "no_output": "No recorded output for this step: look at it on your lab.",
           "node_output": "Output on {node}"},
    "zh": {"worksheet": "练习单", "task": "任务", "question": "问答题", "hint": "提示",
           "answer": "你的答案",
           "check": "完成后，在座位页面上点“检查”（自己的实验环境：运行 `labgen scenario check`）。",
           "name": "姓名", "seat": "座位", "topology": "实验环境",
           "hints_on_last_page": "卡住了？最后一页倒印着 {n} 条提示。",
           "hints_title": "提示（卡住时再看）",
           "recorded": "下面的输出录自实验环境 {lab}，时间 {date}（{provider}）；你的实验环境里的名字和地址可能不同。",
           "not_recorded": "没有找到这个场景的运行记录，所以本练习单不含任何输出：请在自己的实验环境上运行观察步骤，在那里查看。",
           "no_output": "这一步没有录下的输出：请在自己的实验环境上查看。",
           "node_output": "{node} 上的输出"},
}


def worksheet_variant(scenario: Scenario, requested: str | None) -> str:
    """The variant a worksheet is for: the one asked for (it must have a task or a question),
    else the first that has one. Raises LabgenError (exit 2) otherwise."""
    from labgen.scenario.challenge import challenge_variant

    variant = challenge_variant(scenario, requested)
    if not any(s.kind in STUDENT_KINDS for s in scenario.variants[variant].steps):
        with_tasks = [n for n, v in scenario.variants.items()
                      if any(s.kind in STUDENT_KINDS for s in v.steps)]
        raise LabgenError(
            f"variant {variant} of scenario {scenario.id} has no task or question: "
            "a worksheet for it would hold nothing to do",
            hint=(f"variants with tasks: {', '.join(with_tasks)}; " if with_tasks else "")
            + f"`labgen scenario run {scenario.id} --variant {variant}` presents it", exit_code=2)
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


def render_worksheet(scenario: Scenario, variant: str, lang: str, record: RunRecord | None = None,
                     svg: str | None = None) -> str:
    """The worksheet HTML for one variant. `record`: a run whose observe steps' outputs (by
    step id) and captured values (bad_mac ...) the page shows; `svg`: the lab's topology."""
    from jinja2 import Environment, FileSystemLoader
    from markupsafe import Markup

    from labgen.scenario.handout import _lines_html, prose_html
    from labgen.scenario.template import VAR, fill_text

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
                lines, _ = _lines_html(shown, lang)
                outputs.append({"label": w["node_output"].format(node=result.node),
                                "lines": Markup(lines)})
        steps.append({"id": step.id, "kind": step.kind, "student": step.kind in STUDENT_KINDS,
                      "title": text(step.title), "explain": text(step.explain),
                      "goal": text(step.goal), "hints": [text(h) for h in step.hints],
                      "outputs": outputs})
    if record:
        note = w["recorded"].format(lab=record.lab_name, provider=record.provider,
                                    date=record.started.strftime("%Y-%m-%d"))
    else:
        note = w["not_recorded"]
    summary = scenario.variants[variant].summary or scenario.summary
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    css = Markup((TEMPLATES / "worksheet.css").read_text(encoding="utf-8"))
    return env.get_template("worksheet.html.j2").render(
        w=w, lang=lang, title=text(scenario.title), summary=text(summary), steps=steps,
        hinted=[s for s in steps if s["student"] and s["hints"]], recorded_note=note,
        css=css, svg=Markup(svg) if svg else None, check=Markup(prose_html(w["check"])))
