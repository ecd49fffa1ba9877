"""`labgen scenario import`: an article (Markdown or plain text) -> a draft scenario YAML.

Pure text in, text out: nothing in the article runs. Headings become steps, prose their
explanation, commands `run`, a prompt's host `on` when it names a lab node, heredocs steps
that write the file. Every guess carries a `# TODO` comment for the author. Texts are written
in the article's one language (issue 19: one language is enough; the author may add the
other later). Strings are written as JSON strings (valid YAML, every character escaped), after
the project's character policy (labgen.validate.strip_refused) removed control and bidi
characters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from labgen.scenario.language import guess, majority
from labgen.validate import strip_refused

PROMPT = re.compile(r"^\s*(?:\[(?P<user>[\w.-]+)@(?P<host>[\w.-]+)[^\]]*\]\s*[#$]|[#$])\s+(?P<cmd>\S.*)$")
HEREDOC = re.compile(r"^\s*cat\s+<<-?\s*['\"]?(?P<tag>\w+)['\"]?\s*>>?\s*(?P<file>\S+)\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<title>\S.*?)\s*#*\s*$")
LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*])\s+(?P<rest>\S.*)$")
COMMANDS = frozenset(
    """apt apt-get apt-key calicoctl cat cd chmod cp curl dig docker echo etcdctl export
git ip iptables kubectl ln ls mkdir mv netstat ping rm sed service sh sudo systemctl tar tcpdump
touch vi wget yum zkcli ifconfig brctl route ss""".split()
)
WHICH_NODE = "which-node"
# Words that name lab roles in an article's commands or prose, most specific first: a command
# writing /etc/mesos-master/quorum belongs on the nodes with role mesos-master, `apt-get install
# mesos` on every Mesos node. Only a guess, marked as one; a unit that names none of them (nor
# does its section) keeps `which-node`. (label, roles, words)
ROLE_WORDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("mesos-master", ("mesos-master",), ("mesos-master",)),
    ("mesos-slave", ("mesos-slave",), ("mesos-slave", "mesos-agent")),
    ("marathon", ("marathon",), ("marathon",)),
    ("mesos", ("mesos-master", "mesos-slave"), ("mesos",)),
    ("calico", ("calico",), ("calicoctl", "calico-node", "calico")),
    ("etcd", ("etcd",), ("etcdctl", "etcd")),
    ("zookeeper", ("zookeeper",), ("zookeeper", "zkcli")),
    ("docker", ("docker",), ("docker",)),
)
LANGUAGES = {"en": "English", "zh": "Chinese"}
INTRO = {"en": "Introduction", "zh": "简介"}  # the section before the first heading


@dataclass
class Draft:
    title: str
    prose: list[str] = field(default_factory=list)
    commands: list[tuple[str, str | None]] = field(default_factory=list)  # (command, host)
    files: list[tuple[str, str]] = field(default_factory=list)  # (path, heredoc command)
    # the runnable units in article order: ("run", commands, host) or ("file", path, heredoc)
    order: list[tuple[str, str, str | None]] = field(default_factory=list)

    def add_command(self, command: str, host: str | None) -> None:
        self.commands.append((command, host))
        if self.order and self.order[-1][0] == "run" and self.order[-1][2] == host:
            self.order[-1] = ("run", self.order[-1][1] + "\n" + command, host)
        else:
            self.order.append(("run", command, host))

    def add_file(self, path: str, heredoc: str) -> None:
        self.files.append((path, heredoc))
        self.order.append(("file", path, heredoc))


def _looks_like_command(line: str) -> bool:
    words = line.strip().split()
    return bool(words) and words[0] in COMMANDS


def _is_plain_heading(lines: list[str], i: int) -> bool:
    """Plain text: a short line standing alone between blank lines, not a command."""
    line = lines[i].strip()
    before = i == 0 or not lines[i - 1].strip()
    after = i + 1 >= len(lines) or not lines[i + 1].strip()
    return (
        before
        and after
        and 0 < len(line) <= 30
        and not _looks_like_command(line)
        and not line.endswith((":", "：", "。", ".", ",", "，"))
        and not LIST_ITEM.match(lines[i])
        and not PROMPT.match(lines[i])
    )


def parse(text: str) -> list[Draft]:
    """The article's sections, each with its prose, commands and heredoc files."""
    lines = strip_refused(text.replace("\r\n", "\n")).split("\n")
    drafts = [Draft(INTRO["en"])]
    in_fence = False
    i = 0
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        cur = drafts[-1]
        if FENCE.match(raw):
            in_fence = not in_fence
            i += 1
            continue
        listed = LIST_ITEM.match(raw)
        first = listed.group("rest") if listed else stripped
        heredoc = HEREDOC.match(first)
        if heredoc:
            body, j = [first], i + 1
            indent = len(lines[i + 1]) - len(lines[i + 1].lstrip()) if i + 1 < len(lines) else 0
            while j < len(lines) and lines[j].strip() != heredoc.group("tag"):
                body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j].strip())
                j += 1
            body.append(heredoc.group("tag"))
            cur.add_file(heredoc.group("file"), "\n".join(body))
            i = j + 1
            continue
        heading = HEADING.match(raw) if not in_fence else None
        if heading or (not in_fence and not raw.startswith((" ", "\t")) and _is_plain_heading(lines, i)):
            drafts.append(Draft(heading.group("title") if heading else stripped))
            i += 1
            continue
        prompt = PROMPT.match(raw) if not HEADING.match(raw) or in_fence else None
        item = LIST_ITEM.match(raw)
        if prompt and raw.lstrip().startswith("#") and not _looks_like_command(prompt.group("cmd")):
            prompt = None  # a bare `#` before a word that is no command: a comment
        if prompt:
            cur.add_command(prompt.group("cmd").strip(), prompt.group("host"))
        elif in_fence or raw.startswith(("    ", "\t")) or (item and _looks_like_command(item.group("rest"))):
            command = item.group("rest") if item else stripped
            if command and (
                in_fence or (command.isascii() and _looks_like_command(command) and len(command.split()) > 1)
            ):
                cur.add_command(command, None)
            elif stripped:
                cur.prose.append(stripped)
        elif stripped.isascii() and _looks_like_command(stripped) and len(stripped.split()) > 1:
            cur.add_command(stripped, None)  # plain text: a bare command line
        elif stripped:
            cur.prose.append(stripped)
        i += 1
    return [d for d in drafts if d.prose or d.commands or d.files] or [Draft("TODO", ["TODO: empty article"])]


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def article_language(drafts: list[Draft]) -> str:
    """ "zh" or "en": the language of the article's headings and prose (not its commands)."""
    titles = [d.title for d in drafts if d is not drafts[0] or d.title != INTRO["en"]]
    return majority("\n".join(titles + [p for d in drafts for p in d.prose]))


def _text(text: str, lang: str) -> str:
    """`text` as a text in `lang`: a plain string when the loader reads it as that language
    (language.guess: a Chinese character makes it Chinese), else a one-language mapping, so a
    Chinese step titled `calico` stays Chinese."""
    return _q(text) if guess(text) == lang else f"{{{lang}: {_q(text)}}}"


def _slug(title: str, n: int, used: set[str]) -> str:
    ascii_ = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    base = f"s{n:02d}-{ascii_}" if ascii_ else f"s{n:02d}"
    sid, k = base, 2
    while sid in used:
        sid, k = f"{base}-{k}", k + 1
    used.add(sid)
    return sid


def render(
    drafts: list[Draft],
    lab_name: str,
    nodes: list[str],
    scenario_id: str,
    lang: str = "en",
    roles: dict[str, list[str]] | None = None,
) -> str:
    """The draft scenario as YAML text with a # TODO at every guess; its texts in `lang` only.
    `roles` (node -> its roles in the lab) lets a command that names a role go to that role's
    nodes."""
    todo = {"en": ("TODO: title", "TODO: summary"), "zh": ("TODO: 标题", "TODO: 概要")}[lang]
    out = [
        f"# Draft scenario imported by `labgen scenario import` for lab {lab_name}.",
        "# Every guess is marked TODO: kinds, nodes and expectations.",
        f"# Texts are in {LANGUAGES[lang]}, the article's language; a text may also be given in both",
        '# languages, as {en: "...", zh: "..."}.',
        f"id: {scenario_id}",
        f"title: {_text(todo[0], lang)}  # TODO: title",
        f"summary: {_text(todo[1], lang)}  # TODO: summary",
        f"lab: {lab_name}",
        "steps:",
    ]
    used: set[str] = set()
    for n, d in enumerate(drafts, 1):
        if n == 1 and d.title == INTRO["en"]:
            d = replace(d, title=INTRO[lang])
        prose = "\n".join(d.prose) or d.title
        host = _single_node(d, nodes)
        section_role = role_named(d.title, roles or {}) or role_named(" ".join(d.prose), roles or {})
        units: list[tuple[str, str, str, str | None]] = []  # (kind, title, run, node)
        for what, first, second in d.order:
            if what == "run":  # a prompt's host decides; a host that is no lab node: unknown
                node = second if second in nodes else None if second else host
                units.append(("observe", d.title, first, node))
            else:
                units.append(("setup", f"{d.title}: {first}", second or "", host))
        units = [
            (kind, title, run, node or role_named(run, roles or {}) or section_role) for kind, title, run, node in units
        ]
        if not units:
            units.append(("explain", d.title, "", None))
        for k, (kind, title, run, node) in enumerate(units):
            out.append(f"  - id: {_slug(d.title, n, used)}")
            out.append(f"    kind: {kind}" + ("  # TODO: kind guessed" if kind != "explain" else ""))
            out.append(f"    title: {_text(title, lang)}")
            if k == 0:  # the section's prose explains its first step
                out.append(f"    explain: {_text(prose, lang)}")
            if kind == "explain":
                continue
            if node and node.startswith(ROLE_MARK):
                label = node[len(ROLE_MARK) :]
                wanted = " or ".join(next(r for lab_, r, _ in ROLE_WORDS if lab_ == label))
                on = ", ".join(role_nodes(label, nodes, roles or {}))
                out.append(f'    "on": [{on}]  # TODO: guessed: the nodes with role {wanted}')
            elif node:
                out.append(f'    "on": [{node}]  # TODO: node guessed from the article')
            else:
                out.append(f'    "on": [{WHICH_NODE}]  # TODO: which node?')
            out.append(f"    run: {_q(run)}")
            out.append("    expect: {exit: 0}  # TODO: what should the output show?")
    return "\n".join(out) + "\n"


def _single_node(d: Draft, nodes: list[str]) -> str | None:
    """The one lab node a section's prompts or prose name, else None."""
    hosts = {h for _, h in d.commands if h}
    if hosts:
        named = [h for h in hosts if h in nodes]
        return named[0] if len(named) == 1 and len(hosts) == 1 else None
    mentioned = [n for n in nodes if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", " ".join(d.prose))]
    return mentioned[0] if len(mentioned) == 1 else None


ROLE_MARK = "role:"  # a unit's node guess that is a ROLE_WORDS label's nodes, not one node


def role_named(text: str, roles: dict[str, list[str]]) -> str | None:
    """ROLE_MARK + the label of the first ROLE_WORDS entry `text` names whose roles some node of
    the lab has, else None. Word edges are ASCII: Chinese prose runs into words (安装mesos)."""
    present = {role for node_roles in roles.values() for role in node_roles}
    lowered = text.lower()
    for label, wanted, words in ROLE_WORDS:
        if present & set(wanted) and any(
            re.search(rf"(?<![a-z0-9_-]){re.escape(w)}(?![a-z0-9_-])", lowered) for w in words
        ):
            return ROLE_MARK + label
    return None


def role_nodes(label: str, nodes: list[str], roles: dict[str, list[str]]) -> list[str]:
    """The lab's nodes (in lab order) with a role of ROLE_WORDS entry `label`."""
    wanted = next(r for lab_, r, _ in ROLE_WORDS if lab_ == label)
    return [n for n in nodes if set(wanted) & set(roles.get(n, []))]
