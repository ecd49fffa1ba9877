"""`labgen scenario verify`: a run's output as reviewable text, normalised, compared with the
approved transcript beside the scenario; what changed on the nodes since approval; JUnit XML.

Pure apart from reading and writing the approved files: the CLI runs the scenario (the same
Runner as `scenario run`) and asks the nodes for their packages (node_packages).

Approved files, beside the scenario file `NAME.yml`:
  NAME.approved/VARIANT.txt   the normalised transcript, one section per step
  NAME.approved/VARIANT.env   what the nodes were: labgen version, box recipe, packages
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

from labgen.boxes import recipe
from labgen.model import Lab, Scenario
from labgen.scenario.record import RunRecord
from labgen.scenario.transcript import clean_output

MAC = re.compile(r"\b[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}\b")
# Volatile in any command's output: timings and clocks. Each (pattern, replacement).
BUILTIN_RULES: tuple[tuple[str, str], ...] = (
    (r"time[=<]\d+(?:\.\d+)? ?ms", "time=<t> ms"),  # ping replies
    (r"rtt min/avg/max/mdev = \S+ ms", "rtt min/avg/max/mdev = <t> ms"),
    (r", time \d+ms", ", time <t>ms"),
    (r"^\d{2}:\d{2}:\d{2}\.\d+ ", "<clock> "),  # tcpdump lines
    (r", id \d+, seq ", ", id <id>, seq "),  # ICMP ids
    (r"@if\d+\b", "@if<n>"),  # veth peer ifindex
    (r"^\d+ packets (?=captured|received by filter|dropped by kernel)", "<n> packets "),
    (r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?\b", "<date>"),
)
SECTION = re.compile(r"^=== (\S+)(?: .*)?$")
PACKAGES_QUERY = "dpkg-query -W -f '${Package} ${Version}\\n'"


def approved_dir(scenario: Scenario) -> Path:
    """NAME.approved/ beside the scenario file."""
    source = Path(scenario.source) if scenario.source else Path(f"{scenario.id}.yml")
    return source.with_name(source.stem + ".approved")


# ---- normalising


def normaliser(scenario: Scenario, lab: Lab):
    """A function text -> text that masks what legitimately differs between two runs: the
    built-in rules, the lab's own addresses and name (so a transcript approved on one subnet
    verifies on another), MACs the scenario does not name, then the scenario's own rules."""
    named = {m.lower() for value in _scenario_values(scenario) for m in MAC.findall(value)}
    ips = sorted(((str(n.ip), n.name) for n in lab.nodes), key=lambda p: -len(p[0]))
    rules = [(re.compile(p, re.MULTILINE), r) for p, r in BUILTIN_RULES + tuple(scenario.normalise)]

    def normalise(text: str) -> str:
        for ip, name in ips:
            text = re.sub(rf"(?<![\d.]){re.escape(ip)}(?![\d])", f"<ip:{name}>", text)
        text = MAC.sub(lambda m: m.group(0) if m.group(0).lower() in named else "<mac>", text)
        if lab.name:
            text = re.sub(rf"\b{re.escape(lab.name)}\b", "<lab>", text)
        for pattern, replacement in rules:
            text = pattern.sub(replacement.replace("\\", "\\\\"), text)
        return text

    return normalise


def _scenario_values(scenario: Scenario):
    yield from scenario.vars.values()
    for values in scenario.node_vars.values():
        yield from values.values()
    for variant in scenario.variants.values():
        for step in variant.steps:
            yield step.run or ""
            if step.solution:
                yield step.solution.run or ""


# ---- the transcript as text


@dataclass
class Section:
    key: str  # the step id, with #2, #3... when a step id repeats (a task's checks)
    title: str
    body: str  # normalised text


def sections(record: RunRecord, normalise) -> list[Section]:
    """One section per step the run recorded: status, then each node's exit code, stdout, stderr."""
    out: list[Section] = []
    seen: dict[str, int] = {}
    for rec in record.steps:
        sid = rec.step.id
        seen[sid] = seen.get(sid, 0) + 1
        key = sid if seen[sid] == 1 else f"{sid}#{seen[sid]}"
        lines = [f"status: {rec.status}"]
        for res in sorted(rec.results, key=lambda r: r.node):
            lines.append(f"--- {res.node}: exit {res.exit_code if res.exit_code is not None else 'none'}")
            for stream in ("stdout", "stderr"):
                text = normalise(clean_output(getattr(res, stream)))
                if text.strip():
                    lines.append(f"[{stream}]")
                    lines += text.split("\n")
        out.append(Section(key, rec.step.title.en, "\n".join(line.rstrip() for line in lines)))
    return out


def render(record: RunRecord, secs: list[Section]) -> str:
    head = [
        f"# labgen scenario verify: {record.scenario.id}, variant {record.variant}",
        "# Approved transcript: review changes like code; `labgen scenario verify "
        f"{record.scenario.id} --variant {record.variant} --approve` records a new one.",
        "",
    ]
    body = []
    for sec in secs:
        body += [f"=== {sec.key} {sec.title}", sec.body, ""]
    return "\n".join(head + body)


def parse(text: str) -> dict[str, Section]:
    """The sections of an approved transcript, by key (in file order)."""
    found: dict[str, Section] = {}
    current: Section | None = None
    lines: list[str] = []
    for line in text.split("\n"):
        m = SECTION.match(line)
        if m:
            if current:
                current.body = "\n".join(lines).rstrip("\n")
            key = m.group(1)
            current = Section(key, line[len(f"=== {key} ") :], "")
            found[key] = current
            lines = []
        elif current is not None:
            lines.append(line)
    if current:
        current.body = "\n".join(lines).rstrip("\n")
    return found


# ---- comparing


@dataclass
class Drift:
    key: str
    title: str
    diff: str


@dataclass
class Verdict:
    drifts: list[Drift] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    env_changes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.drifts


def compare(approved: dict[str, Section], current: list[Section]) -> Verdict:
    verdict = Verdict()
    now = {s.key: s for s in current}
    for key in list(approved) + [s.key for s in current if s.key not in approved]:
        old, new = approved.get(key), now.get(key)
        if old and new and old.body == new.body:
            verdict.matched.append(key)
            continue
        either = new or old
        title = either.title if either else key
        diff = "\n".join(
            difflib.unified_diff(
                (old.body if old else "").split("\n") if old else [],
                (new.body if new else "").split("\n") if new else [],
                "approved",
                "this run",
                lineterm="",
                n=2,
            )
        )
        verdict.drifts.append(Drift(key, title, diff or "(whitespace only)"))
    return verdict


# ---- what the nodes were


def box_recipe_hash(provider: str) -> str:
    """sha256 (first 16) of the box recipe shipped for `provider`, or 'none'."""
    try:
        folder = recipe(provider).parent
    except Exception:  # no recipe for this provider (virtualbox): nothing to compare
        return "none"
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def parse_packages(stdout: str) -> dict[str, str]:
    pkgs = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            pkgs[parts[0]] = parts[1]
    return pkgs


def env_text(labgen_version: str, provider: str, recipe: str, packages: dict[str, dict[str, str]]) -> str:
    lines = [
        "# what the nodes were when this transcript was approved (labgen scenario verify)",
        f"labgen {labgen_version}",
        f"box-recipe {provider} {recipe}",
    ]
    for node in sorted(packages):
        lines += [f"package {node} {name} {version}" for name, version in sorted(packages[node].items())]
    return "\n".join(lines) + "\n"


def parse_env(text: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(facts like {'labgen': '0.1.0', 'box-recipe': 'lxc abc'}, packages by node)."""
    facts: dict[str, str] = {}
    packages: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts or line.startswith("#"):
            continue
        if parts[0] == "package" and len(parts) == 4:
            packages.setdefault(parts[1], {})[parts[2]] = parts[3]
        elif len(parts) >= 2:
            facts[parts[0]] = " ".join(parts[1:])
    return facts, packages


def env_changes(old_text: str, new_text: str) -> list[str]:
    """What changed on the nodes since approval, one line each (nodes present in both only)."""
    old_facts, old_pk = parse_env(old_text)
    new_facts, new_pk = parse_env(new_text)
    changes = [
        f"{k}: {old_facts.get(k, '-')} -> {new_facts.get(k, '-')}"
        for k in sorted(set(old_facts) | set(new_facts))
        if old_facts.get(k) != new_facts.get(k)
    ]
    for node in sorted(set(old_pk) & set(new_pk)):
        old, new = old_pk[node], new_pk[node]
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                changes.append(
                    f"{node}: package {name} {old.get(name, '(not installed)')} -> {new.get(name, '(removed)')}"
                )
    return changes


# ---- JUnit


def junit_xml(scenario_id: str, variant: str, verdict: Verdict, duration: float) -> str:
    suite = ET.Element(
        "testsuite",
        name=f"labgen.verify.{scenario_id}.{variant}",
        tests=str(len(verdict.matched) + len(verdict.drifts)),
        failures=str(len(verdict.drifts)),
        errors="0",
        time=f"{duration:.3f}",
    )
    for key in verdict.matched:
        ET.SubElement(suite, "testcase", classname=f"{scenario_id}.{variant}", name=key)
    for drift in verdict.drifts:
        case = ET.SubElement(suite, "testcase", classname=f"{scenario_id}.{variant}", name=drift.key)
        failure = ET.SubElement(case, "failure", message=f"step {drift.key} ({drift.title}) drifted")
        failure.text = drift.diff + (
            "\n\nchanged since approval:\n" + "\n".join(verdict.env_changes) if verdict.env_changes else ""
        )
    root = ET.Element("testsuites")
    root.append(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
