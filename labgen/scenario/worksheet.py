"""The student's worksheet: the story, the tasks and questions, hints folded; no solutions,
no commands' outputs. One self-contained, printable HTML page (the transcript handout stays
the instructor's answer key). Pure: scenario in, text out."""

from __future__ import annotations

from labgen.model import STUDENT_KINDS, Scenario

WORDS = {
    "en": {"worksheet": "Worksheet", "task": "Task", "question": "Question", "hint": "Hint",
           "answer": "Your answer", "check": "When you are done: `labgen scenario check` (or Check on your seat page).",
           "name": "Name", "seat": "Seat", "hints_folded": "Hints (open one only when you are stuck; they are counted)",
           "step": "Step"},
    "zh": {"worksheet": "练习单", "task": "任务", "question": "问答题", "hint": "提示",
           "answer": "你的答案", "check": "完成后：运行 `labgen scenario check`（或在座位页面上点“检查”）。",
           "name": "姓名", "seat": "座位", "hints_folded": "提示（卡住时再展开，展开次数会被记录）",
           "step": "步骤"},
}

TEMPLATE = """<!doctype html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}"><head><meta charset="utf-8">
<title>{{ w.worksheet }} · {{ title }}</title>
<style>
body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; max-width: 46rem; margin: 2rem auto; color: #212121; line-height: 1.5; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
.who { display: flex; gap: 2rem; } .who span { flex: 1; border-bottom: 1px solid #555; padding-top: 1.2rem; }
.box { border: 2px solid #8e24aa; border-radius: .3rem; padding: .6rem .9rem; margin: 1rem 0; break-inside: avoid; }
.box.question { border-color: #f9a825; }
.badge { font-weight: bold; color: #8e24aa; } .question .badge { color: #f57f17; }
.lines { border-bottom: 1px solid #999; height: 1.8rem; }
details { margin-top: .5rem; } summary { cursor: pointer; color: #455a64; }
.story { color: #37474f; }
@page { size: A4; margin: 18mm 16mm; }
@media print { body { margin: 0; max-width: none; } details:not([open]) > :not(summary) { display: none; } a { color: inherit; } }
</style></head><body>
<h1>{{ w.worksheet }} · {{ title }}</h1>
<div class="who"><span>{{ w.name }}:</span><span>{{ w.seat }}:</span></div>
<p class="story">{{ summary }}</p>
{% for s in steps %}
{% if s.kind in student_kinds %}
<section class="box {{ s.kind }}" id="{{ s.id }}">
  <div class="badge">{{ w[s.kind] }} · {{ s.title }}</div>
  <p>{{ s.goal }}</p>
  {% if s.explain %}<p class="story">{{ s.explain }}</p>{% endif %}
  {% if s.kind == 'question' %}<p>{{ w.answer }}:</p><div class="lines"></div><div class="lines"></div>
  {% else %}<p><em>{{ w.check }}</em></p>{% endif %}
  {% if s.hints %}<p>{{ w.hints_folded }}</p>
  {% for h in s.hints %}<details><summary>{{ w.hint }} {{ loop.index }}</summary><p>{{ h }}</p></details>{% endfor %}
  {% endif %}
</section>
{% else %}
<h2>{{ s.title }}</h2>
{% if s.explain %}<p class="story">{{ s.explain }}</p>{% endif %}
{% endif %}
{% endfor %}
</body></html>
"""


def render_worksheet(scenario: Scenario, variant: str, lang: str) -> str:
    """The worksheet HTML for one variant. Captured values are not known yet: a {{ var }} in
    a hint stays as written, the scenario's own vars are filled in."""
    from jinja2 import Environment

    from labgen.scenario.template import fill_text

    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    values = dict(scenario.vars)

    def text(t):
        return fill_text(t.get(lang), values).strip() if t else ""

    steps = []
    for step in scenario.variants[variant].steps:
        if step.kind == "cleanup":
            continue
        steps.append({"id": step.id, "kind": step.kind, "title": text(step.title),
                      "explain": text(step.explain), "goal": text(step.goal),
                      "hints": [text(h) for h in step.hints]})
    summary = scenario.variants[variant].summary or scenario.summary
    return env.from_string(TEMPLATE).render(
        w=WORDS["zh" if lang == "zh" else "en"], lang=lang, title=text(scenario.title),
        summary=text(summary), steps=steps, student_kinds=STUDENT_KINDS)
