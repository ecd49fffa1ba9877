"""The handout: a scenario run written down for students, as plain Markdown and as one
self-contained HTML page that prints well (A4 or Letter) and reads on a phone.

Everything in it comes from strangers (scenario text, lab file, command output), so every
value in the HTML goes through html.escape and the Markdown neutralises raw HTML without
HTML entities. The page has no scripts and no external assets; the lab's topology is an
inline SVG drawn by Graphviz (labgen/graph.py).

Layout rules the browser tests hold it to (tests/browser): an output block may split between
lines but never inside one (each line is its own block); labels and headings stay with what
follows; addresses (IPv4, CIDR, MAC) never wrap; the lines an expectation matched are marked.
"""

from __future__ import annotations

import html
import os
import re
import shlex
import tempfile
from pathlib import Path

from markupsafe import Markup

from labgen import pages
from labgen.errors import LabgenError
from labgen.graph import lab_svg
from labgen.scenario.language import fallback_note
from labgen.scenario.record import CommandResult, RunRecord, StepRecord, to_json
from labgen.scenario.template import VAR
from labgen.scenario.transcript import (
    HANDOUT_FOLD,
    KIND_COLOURS,
    STATUS_MARKS,
    clean_output,
    describe_expectations,
    exit_label,
    fold,
    kind_name,
    nodes_label,
    numbered_fold,
    run_verdict,
    seconds,
    shown_status,
    status_word,
    words,
)

# ---- files


def handout_stem(record: RunRecord) -> str:
    """`<scenario-id>[-<variant>]-<YYYYmmdd-HHMMSS>`: ids are validated, so this is a safe name."""
    variant = "" if record.variant == "default" else f"-{record.variant}"
    return f"{record.scenario.id}{variant}-{record.started:%Y%m%d-%H%M%S}"


def write_handout(record: RunRecord, out_dir: Path) -> tuple[Path, Path]:
    """Write the run as `<stem>.md`, a self-contained `<stem>.html` (in record.lang), the
    record itself as `<stem>.json` and, when Graphviz is installed, the lab's topology as
    `<stem>.svg` (the Markdown links to it) in `out_dir`. Creates `out_dir` if needed; each
    file is written to a temporary file and renamed, so a reader never sees half a handout.
    Returns (markdown path, html path). Raises OSError when the folder cannot be written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = handout_stem(record)
    md_path, html_path = out_dir / f"{stem}.md", out_dir / f"{stem}.html"
    svg = topology_svg(record)
    _write_atomically(out_dir / f"{stem}.json", to_json(record))
    if svg:
        _write_atomically(out_dir / f"{stem}.svg", svg)
    _write_atomically(md_path, render_markdown(record, svg_file=f"{stem}.svg" if svg else None))
    _write_atomically(html_path, render_html(record, svg=svg))
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


def topology_svg(record: RunRecord) -> str | None:
    """The lab's topology as inline SVG, or None without a lab or without Graphviz (the
    handout then says how to get the picture)."""
    if record.lab is None:
        return None

    try:
        return lab_svg(record.lab, record.lang)
    except LabgenError:
        return None


# ---- prose: `code`, issue references as links

_CODE = re.compile(r"(`+)(.+?)\1", re.S)
# owner/repo#N, repo#N (a repo whose owner we know), and a bare #N continuing the last one.
_ISSUE = re.compile(
    r"(?<![\w/.#-])(?:(?P<owner>[A-Za-z0-9][\w.-]*)/)?(?P<repo>[A-Za-z][\w.-]*)#(?P<num>\d+)\b"
    r"|(?<=[\s/(,])#(?P<bare>\d+)\b"
)
REPO_OWNERS = {  # bare repository names as the walkthrough and the upstream threads write them
    "calico": "projectcalico",
    "calicoctl": "projectcalico",
    "libnetwork-plugin": "projectcalico",
    "felix": "projectcalico",
    "cni-plugin": "projectcalico",
    "libnetwork": "docker",
    "for-linux": "docker",
    "moby": "moby",
}


def prose_parts(text: str) -> list[tuple[str, str, str]]:
    """Split prose into ("text", s, ""), ("code", s, "") and ("link", s, url) parts: `x` is
    inline code, an issue reference links to GitHub. Pure."""
    parts: list[tuple[str, str, str]] = []
    last_repo = None
    pos = 0
    for code in _CODE.finditer(text):
        last_repo = _link_issues(text[pos : code.start()], parts, last_repo)
        parts.append(("code", code.group(2).strip() if code.group(2).strip() else code.group(2), ""))
        pos = code.end()
    _link_issues(text[pos:], parts, last_repo)
    return [p for p in parts if p[1]]


# What may stand between a reference and a bare #N that continues it: "#177/#178",
# "#2205 (and #2206", "#1, #2", "#3 和 #4". Anything longer and the bare number stays text.
_CONTINUES = re.compile(r"[\s/,(&、]*(?:and|or|和|及|与)?[\s/,(&、]*")


def _link_issues(text: str, parts: list, last_repo: str | None) -> str | None:
    pos, last_end = 0, None
    repo_path: str | None
    for m in _ISSUE.finditer(text):
        if m.group("bare"):
            if last_repo is None or last_end is None or not _CONTINUES.fullmatch(text[last_end : m.start()]):
                continue
            repo_path, label, num = last_repo, m.group(0), m.group("bare")
        else:
            owner = m.group("owner") or REPO_OWNERS.get(m.group("repo").lower())
            repo_path = f"{owner}/{m.group('repo')}" if owner else None
            label, num = m.group(0), m.group("num")
            last_repo = repo_path
        if repo_path is None:
            continue
        parts.append(("text", text[pos : m.start()], ""))
        parts.append(("link", label, f"https://github.com/{repo_path}/issues/{num}"))
        pos = last_end = m.end()
    parts.append(("text", text[pos:], ""))
    return last_repo


# Addresses never wrap: a line may break around them, not inside them.
_ADDRESS = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}"
    r"|\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?)(?![\w:])"
)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _h(text: str) -> str:
    """Escaped text with each address wrapped so it never breaks."""
    out, pos = [], 0
    for m in _ADDRESS.finditer(text):
        out.append(_e(text[pos : m.start()]))
        out.append(f'<span class="addr">{_e(m.group(0))}</span>')
        pos = m.end()
    out.append(_e(text[pos:]))
    return "".join(out)


def prose_html(text: str) -> str:
    out = []
    for kind, value, url in prose_parts(text):
        if kind == "code":
            out.append(f"<code>{_h(value)}</code>")
        elif kind == "link":
            out.append(f'<a href="{_e(url)}">{_h(value)}</a>')
        else:
            out.append(_h(value))
    return "".join(out)


def _md_text(text: str) -> str:
    """Plain text for Markdown: what a viewer would take for raw HTML, an entity or a link
    gets a backslash (CommonMark's escape), nothing becomes an HTML entity."""
    text = re.sub(r"<(?=[A-Za-z/!?])", r"\\<", text)
    text = re.sub(r"&(?=#?\w+;)", r"\\&", text)
    return text.replace("](", "\\](").replace("]:", "\\]:")


def _md_code(value: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def prose_md(text: str) -> str:
    out = []
    for kind, value, url in prose_parts(text):
        if kind == "code":
            out.append(_md_code(value))
        elif kind == "link":
            out.append(f"[{_md_text(value)}]({url})")
        else:
            out.append(_md_text(value))
    return "".join(out)


def _md_cell(text: str) -> str:
    return prose_md(text).replace("|", "\\|").replace("\n", " ")


def _fence(text: str, lang: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


# ---- commands: one per step, with each node's values


def template_values(template: str, command: str) -> dict[str, str] | None:
    """The value each `{{ var }}` of `template` had in `command` (the template as run, values
    shell-quoted), or None when `command` is not an instance of `template`. Pure."""
    pieces = VAR.split(template)
    if len(pieces) == 1:
        return {} if template == command else None
    names: dict[str, str] = {}
    pattern = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            pattern.append(re.escape(piece))
        elif piece in names:
            pattern.append(f"(?P={names[piece]})")
        else:
            names[piece] = f"v{len(names)}"
            pattern.append(f"(?P<{names[piece]}>.*?)")
    try:
        m = re.fullmatch("".join(pattern), command, re.S)
    except re.error:
        return None
    if m is None:
        return None
    values = {}
    for name, group in names.items():
        raw = m.group(group)
        try:
            words_ = shlex.split(raw)
        except ValueError:
            words_ = []
        values[name] = words_[0] if len(words_) == 1 else raw
    return values


def command_groups(record: StepRecord) -> list[tuple[str, list[CommandResult], dict[str, dict[str, str]]]]:
    """How to show a step's commands: [(command, results, values)]. When every node ran the
    step's script with its own values, one group: the first node's command, and `values`
    (var -> node -> value) for the variables whose values differ between nodes. Otherwise one
    group per distinct command, with no values."""
    results = record.results
    commands = {r.command for r in results}
    if len(commands) <= 1:
        return [(results[0].command, results, {})] if results else []
    maybe = {r.node: template_values(record.step.run or "", r.command) for r in results}
    found = {n: v for n, v in maybe.items() if v is not None}
    if len(found) == len(maybe):
        first = results[0].node
        differing = {}
        for var in found[first]:
            per_node = {n: found[n].get(var, "") for n in found}
            if len(set(per_node.values())) > 1:
                differing[var] = per_node
        return [(results[0].command, results, differing)]
    groups: dict[str, list[CommandResult]] = {}
    for result in results:
        groups.setdefault(result.command, []).append(result)
    return [(command, rs, {}) for command, rs in groups.items()]


def _command_nodes_label(results: list[CommandResult], values: dict, lang: str) -> tuple[str, str]:
    """(where it ran, "same on ..." or "") for a command label."""
    w = words(lang)
    if values and len(results) > 1:
        return results[0].node, w["same_on"].format(nodes=", ".join(r.node for r in results[1:]))
    return ", ".join(r.node for r in results), ""


def punct(lang: str) -> dict[str, str]:
    """Brackets and separators of labels: full-width in Chinese, as a native reader expects."""
    if lang == "zh":
        return {"(": "（", ")": "）", ",": "，", ";": "；", ":": "：", ": ": "："}
    return {"(": " (", ")": ")", ",": ", ", ";": "; ", ":": ":", ": ": ": "}


# ---- Markdown


def render_markdown(record: RunRecord, svg_file: str | None = None) -> str:
    """The handout as plain Markdown (pure): no HTML, no entities. `svg_file` (a name next to
    it) is shown as the topology picture."""
    lang, w = record.lang, words(record.lang)
    scenario = record.scenario
    passed, headline, reasons = run_verdict(record, lang)
    out = [f"# {prose_md(scenario.title.get(lang))}", "", prose_md(scenario.summary.get(lang)), ""]
    variant = scenario.variants.get(record.variant)
    if variant is not None and variant.summary is not None:
        out += [prose_md(variant.summary.get(lang)), ""]
    note = fallback_note(scenario, lang)
    if note:
        out += [f"_{prose_md(note)}_", ""]
    p = punct(lang)
    out.append(f"- **{w['lab']}{p[':']}** {_md_text(record.lab_name)}{p['(']}{_md_text(record.provider)}{p[')']}")
    if record.variant != "default":
        out.append(f"- **{w['variant']}{p[':']}** {_md_text(record.variant)}")
    out.append(f"- **{w['date']}{p[':']}** {record.started:%Y-%m-%d %H:%M}")
    out.append(f"- **{w['result']}{p[':']}** {'✓' if passed else '✗'} {_md_text(headline)}")
    out.append("")
    if svg_file:
        out += [f"![{w['topology']}]({svg_file})", ""]
    for number, step_record in enumerate(record.steps, 1):
        out += _markdown_step(number, step_record, lang)
    out += [
        f"## {w['summary']}",
        "",
        f"| # | {w['step']} | {w['kind']} | {w['result']} | {w['time']} |",
        "|---:|---|---|---|---:|",
    ]
    for number, step_record in enumerate(record.steps, 1):
        step, status = step_record.step, shown_status(step_record)
        result = "" if status is None else f"{STATUS_MARKS.get(status, '?')} {status_word(status, lang)}"
        time = "" if status is None else seconds(step_record.duration)
        out.append(
            f"| {number} | {_md_cell(step.title.get(lang))} | {kind_name(step.kind, lang)} | {result} | {time} |"
        )
    out += ["", f"**{'✓' if passed else '✗'} {_md_text(headline)}**{p['(']}{seconds(record.duration)}{p[')']}"]
    out += [f"- {_md_text(clean_output(reason))}" for reason in reasons]
    return "\n".join(out).rstrip("\n") + "\n"


def _folded_text(text: str, lang: str) -> str:
    head, folded, tail = fold(clean_output(text), *HANDOUT_FOLD)
    if not folded:
        return "\n".join(head)
    return "\n".join(head + [words(lang)["folded"].format(n=folded)] + tail)


def _markdown_step(number: int, record: StepRecord, lang: str) -> list[str]:
    w, step, p = words(lang), record.step, punct(lang)
    out = [f"## {w['step']} {number} · {kind_name(step.kind, lang)} · {prose_md(step.title.get(lang))}", ""]
    if step.explain is not None:
        out += [prose_md(step.explain.get(lang).strip()), ""]
    groups = command_groups(record)
    if not groups and step.run:
        groups = [(step.run, [], {})]
    for command, results, values in groups:
        where, same = _command_nodes_label(results, values, lang)
        where = ", ".join(f"`{n}`" for n in where.split(", ")) if results else _md_text(nodes_label(step, lang))
        same = f"{p[';']}{_md_text(same)}" if same else ""
        out += [
            f"**{w['command']}**{p['(']}{w['on']} {where}{same}{p[')']}{p[':']}",
            "",
            _fence(command.rstrip("\n"), "sh"),
            "",
        ]
        if values:
            nodes = [r.node for r in results]
            out += ["| | " + " | ".join(f"`{n}`" for n in nodes) + " |", "|---|" + "---|" * len(nodes)]
            out += [
                f"| `{var}` | " + " | ".join(_md_code(per_node[n]) for n in nodes) + " |"
                for var, per_node in values.items()
            ]
            out.append("")
        for result in results:
            label = f"**{w['output']}**{p['(']}`{result.node}`{p[',']}{exit_label(result, lang)}"
            if result.attempts > 1:
                label += f"{p[',']}{w['attempts'].format(n=result.attempts)}"
            out += [label + p[")"] + p[":"], ""]
            stdout, stderr = _folded_text(result.stdout, lang), _folded_text(result.stderr, lang)
            if not stdout and not stderr:
                out += [f"*{w['no_output']}*", ""]
            if stdout:
                out += [_fence(stdout, "text"), ""]
            if stderr:
                out += [f"{w['stderr']}{p[':']}", "", _fence(stderr, "text"), ""]
    for key, value in record.captured.items():
        node, _, var = key.partition(":")
        out.append(f"- {w['captured']} `{var}` = {_md_code(clean_output(value))}{p['(']}{node}{p[')']}")
    if record.captured:
        out.append("")
    status = shown_status(record)
    if status is not None:
        out.append(
            f"**{w['result']}{p[':']}** {STATUS_MARKS.get(status, '?')} {status_word(status, lang)}"
            f"{p['(']}{seconds(record.duration)}{p[')']}"
        )
        if record.status == "passed":
            out += [f"- ✓ {_md_text(p)}" for p in describe_expectations(step.expect, lang)]
        else:
            out += [f"- ✗ {_md_text(clean_output(reason))}" for reason in record.failures]
        out.append("")
    return out


# ---- HTML

# The page: labgen/templates/handout.html.j2 with handout.css (labgen/pages.py).

SHORT_BLOCK = 14  # a label and a block of at most this many lines never split across pages


def _status_class(status: str | None) -> str:
    return {"passed": "ok", "skipped": "skip", "expected": "expected"}.get(status or "", "bad")


def output_lines(text: str, lang: str, evidence=()) -> dict:
    """An output as the template's block: {"lines": [(class, escaped line)], "count": n}, each
    line its own block, evidence lines with class hit, long output folded."""
    hits, lines = set(evidence), []
    for number, line in numbered_fold(clean_output(text), *HANDOUT_FOLD):
        if number is None:
            lines.append(("l folded", words(lang)["folded"].format(n=line)))
        else:
            lines.append(("l hit" if number in hits else "l", Markup(_h(line))))
    return {"lines": lines, "count": len(lines)}


def render_html(record: RunRecord, svg: str | None = None) -> str:
    """The handout as one self-contained HTML page: inline CSS and SVG, no scripts, no
    external assets; every piece of scenario text and output escaped (pure). `svg` is the
    lab's topology (topology_svg), embedded as is: Graphviz wrote it from escaped labels."""
    lang, w = record.lang, words(record.lang)
    scenario = record.scenario
    passed, headline, reasons = run_verdict(record, lang)
    title = scenario.title.get(lang)
    summaries = [scenario.summary.get(lang)]
    variant = scenario.variants.get(record.variant)
    if variant is not None and variant.summary is not None:
        summaries.append(variant.summary.get(lang))
    p = punct(lang)
    facts = [(w["lab"], f"{record.lab_name}{p['(']}{record.provider}{p[')']}")]
    if record.variant != "default":
        facts.append((w["variant"], record.variant))
    facts.append((w["date"], f"{record.started:%Y-%m-%d %H:%M}"))
    rows = []
    for number, step_record in enumerate(record.steps, 1):
        step, status = step_record.step, shown_status(step_record)
        rows.append(
            {
                "number": number,
                "title": Markup(prose_html(step.title.get(lang))),
                "kind": step.kind,
                "status_class": _status_class(status),
                "result": "" if status is None else f"{STATUS_MARKS.get(status, '?')} {status_word(status, lang)}",
                "time": "" if status is None else seconds(step_record.duration),
            }
        )
    return pages.render(
        "handout.html.j2",
        css=pages.css("handout.css"),
        lang=lang,
        w=w,
        p=p,
        title=title,
        title_html=Markup(prose_html(title)),
        summaries=[Markup(prose_html(s)) for s in summaries],
        note=fallback_note(scenario, lang),
        facts=facts,
        passed=passed,
        headline=headline,
        verdict_class="ok" if passed else "bad",
        svg=Markup(svg) if svg else None,
        lab_name=record.lab_name,
        steps=[_step(number, sr, lang) for number, sr in enumerate(record.steps, 1)],
        reasons=[Markup(_h(clean_output(r))) for r in reasons],
        duration=seconds(record.duration),
        rows=rows,
        colours=_Colours(),
        kind_names=_KindNames(lang),
        short=SHORT_BLOCK,
    )


class _Colours(dict):
    """KIND_COLOURS with a grey badge for a kind it does not know."""

    def __missing__(self, kind):
        return KIND_COLOURS.get(kind, ("#555", "#fff"))


class _KindNames(dict):
    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def __missing__(self, kind):
        return kind_name(kind, self.lang)


def _step(number: int, record: StepRecord, lang: str) -> dict:
    """One step of the handout as the template shows it."""
    w, step, p = words(lang), record.step, punct(lang)
    paragraphs = []
    if step.explain is not None:
        paragraphs = [
            Markup(prose_html(paragraph)) for paragraph in re.split(r"\n\s*\n", step.explain.get(lang).strip())
        ]
    groups = command_groups(record)
    if not groups and step.run:
        groups = [(step.run, [], {})]
    commands = []
    for command, results, values in groups:
        where, same = _command_nodes_label(results, values, lang)
        shown = []
        for result in results:
            text = f"{w['output']}{p['(']}{result.node}{p[',']}{exit_label(result, lang)}"
            if result.attempts > 1:
                text += f"{p[',']}{w['attempts'].format(n=result.attempts)}"
            stdout, stderr = clean_output(result.stdout), clean_output(result.stderr)
            shown.append(
                {
                    "label": text + p[")"],
                    "empty": not stdout and not stderr,
                    "stdout": output_lines(result.stdout, lang, result.evidence.get("stdout", ())) if stdout else None,
                    "stderr": output_lines(result.stderr, lang, result.evidence.get("stderr", ())) if stderr else None,
                    "stderr_label": f"{w['stderr']}{p['(']}{result.node}{p[')']}",
                }
            )
        nodes = [r.node for r in results]
        commands.append(
            {
                "where": where or nodes_label(step, lang),
                "same": f"{p[';']}{same}" if same else "",
                "block": output_lines(command.rstrip("\n"), lang),
                "results": shown,
                "nodes": nodes,
                "value_rows": [
                    (var, [Markup(_h(per_node.get(n, ""))) for n in nodes]) for var, per_node in values.items()
                ],
            }
        )
    captured = []
    for key, value in record.captured.items():
        node, _, var = key.partition(":")
        captured.append((var, Markup(_h(clean_output(value))), node))
    status = shown_status(record)
    out = {
        "kind": step.kind,
        "number": number,
        "title": Markup(prose_html(step.title.get(lang))),
        "paragraphs": paragraphs,
        "commands": commands,
        "captured": captured,
        "status": status,
    }
    if status is not None:
        cls = _status_class(status)
        if record.status == "passed":
            checks = [(cls, "✓", Markup(_h(x))) for x in describe_expectations(step.expect, lang)]
        else:
            checks = [("bad", "✗", Markup(_h(clean_output(r)))) for r in record.failures]
        out.update(
            status_class=cls,
            mark=STATUS_MARKS.get(status, "?"),
            status_word=status_word(status, lang),
            duration=seconds(record.duration),
            checks=checks,
        )
    return out
