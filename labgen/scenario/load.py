"""Scenario files (YAML) → model.Scenario, with every problem reported at once.

Each problem reads `<file> line <N>: <where>: <problem>; expected <what>`, so an author can
fix a whole file in one pass. Loading is pure: it reads the file and nothing else. Whether
the nodes a scenario names exist is only known with the lab in hand: check_against_lab().
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from labgen import schemacheck, schemas, yamlsrc
from labgen.errors import InputError
from labgen.model import STUDENT_KINDS, Check, Expect, Lab, Scenario, Step, Text, Variant
from labgen.scenario import language
from labgen.scenario.template import BUILTINS, NODE_IP, expect_text, is_builtin, variables_in
from labgen.validate import Problems, did_you_mean, show

# The structure (keys, types, ranges, patterns, enums) is labgen/schemas/scenario.json,
# enforced by labgen.schemacheck; this module adds the rules between fields and builds the model.
ID = re.compile(schemas.pattern("scenario", "$defs/id"))
DEFAULT_TIMEOUT = float(schemas.node("scenario", "$defs/timeout")["default"])
STRING_CHECKS = tuple(k for k in schemas.keys("scenario", "$defs/expect") if k.startswith(("stdout_", "stderr_")))
EXPECTED_VAR_SOURCES = (
    f"a var, a node_var of every node the step runs on, a built-in "
    f"({', '.join(BUILTINS)}, nodes.<name>.ip) or a capture of an earlier step on that node"
)
_LAB = schemacheck.expected_of({"description": schemas.node("scenario", "properties/lab")["description"]})
PRINTABLE = "printable text (newline and tab are allowed; no control or bidi characters)"


# ---- public API


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file. Raises InputError listing every problem in it."""
    path = Path(path)
    data = yamlsrc.load_file(path)
    return parse_scenario(data, path)


def parse_scenario(data: Any, source: str | Path | None = None) -> Scenario:
    """Validate already-parsed YAML (`yamlsrc` containers carry line numbers) into a Scenario.

    Pure. Raises InputError with one line per problem, all of them, sorted by line.
    """
    problems = Problems(str(source) if source is not None else "<scenario>")
    invalid = schemacheck.check(data, "scenario", problems, where=_where, printable=("\n\t", PRINTABLE))
    if isinstance(data, dict):
        _Rules(data, invalid, problems).check()
    if problems:
        raise InputError(problems.sorted(), hint="fix these in the scenario file and run again")
    return _build(data, Path(source) if source is not None else None)


def builtin_scenarios() -> list[Path]:
    """The scenario files shipped with labgen, sorted by name (empty if none are installed)."""
    folder = _builtin_dir()
    return sorted(folder.glob("*.yml")) if folder else []


def find_scenario(id_or_path: str | Path) -> Path:
    """An existing scenario file path, or the built-in scenario with that id.

    Raises InputError naming the built-ins (with a did-you-mean) when there is neither.
    """
    text = str(id_or_path)
    path = Path(text)
    if path.is_file():
        return path
    builtins = {p.stem: p for p in builtin_scenarios()}
    if ID.match(text) and text in builtins:
        return builtins[text]
    if path.suffix in (".yml", ".yaml") or "/" in text or "\\" in text:
        raise InputError([f"{text}: no such scenario file"])
    known = ", ".join(builtins) or "(none installed)"
    raise InputError(
        [f"unknown scenario {text!r}{did_you_mean(text, builtins)}"],
        hint=f"built-in scenarios: {known}; or give the path of a scenario file",
    )


def check_against_lab(scenario: Scenario, lab: Lab) -> None:
    """Check what only the lab can tell: node names in `on`, node_vars and `nodes.<name>.ip`
    exist in `lab`, and steps `on: all` have their node_vars on every node of the lab.

    Pure. Raises InputError listing every problem, in every variant.
    """
    names = [n.name for n in lab.nodes]
    source = str(scenario.source) if scenario.source else f"scenario {scenario.id}"
    expected = f"a node of lab {lab.name} ({', '.join(names)})"
    problems = Problems(source)
    lines = scenario.lines

    def unknown(name: str) -> str:
        return f"node {name!r} is not in lab {lab.name}{did_you_mean(name, names)}"

    for node in scenario.node_vars:
        if node not in names:
            problems.add(lines.get(f"node_vars.{node}", 0), "node_vars", unknown(node), expected)
    values = list(scenario.vars.values()) + [v for nv in scenario.node_vars.values() for v in nv.values()]
    for var in sorted({v for value in values for v in variables_in(value)}):
        match = NODE_IP.match(var)
        if match and match.group(1) not in names:
            problems.add(lines.get("vars", 0), "vars", f"vars use {{{{ {var} }}}}: {unknown(match.group(1))}", expected)
    for variant in scenario.variants.values():
        prefix = "" if variant.name == "default" else f"variant {variant.name}, "
        captured: dict[str, set[str]] = {}  # var -> nodes an earlier step captured it on
        for step in (s for top in variant.steps for s in runnable(top)):
            where = f"{prefix}step {step.id}"
            at = step.lines.get("step", 0)
            for node in step.nodes:
                if node != "all" and node not in names:
                    problems.add(step.lines.get("on", at), where, f"on: {unknown(node)}", expected)
            in_run = variables_in(step.run or "")
            for var in sorted(in_run | variables_in(expect_text(step.expect))):
                match = NODE_IP.match(var)
                key = "run" if var in in_run else "expect"
                if match:
                    if match.group(1) not in names:
                        problems.add(
                            step.lines.get(key, at),
                            where,
                            f"{key} uses {{{{ {var} }}}}: {unknown(match.group(1))}",
                            expected,
                        )
                    continue
                if step.nodes != ("all",) or var in BUILTINS or var in scenario.vars:
                    continue
                missing = [n for n in names if not _defined_on(var, n, scenario.node_vars, captured)]
                if missing:
                    problems.add(
                        step.lines.get(key, at),
                        where,
                        f"{key} uses {{{{ {var} }}}}, which is not defined for "
                        f"{', '.join(missing)} (the step runs on all nodes)",
                        EXPECTED_VAR_SOURCES,
                    )
            for var in step.capture:
                captured.setdefault(var, set()).update(step.nodes)
    if problems:
        raise InputError(problems.sorted(), hint=f"lab {lab.name} has nodes {', '.join(names)}")


def runnable(step: Step) -> tuple[Step, ...]:
    """The commands a step stands for: itself, or a task's solution then its checks."""
    if step.kind == "task":
        return ((step.solution,) if step.solution else ()) + tuple(c.step for c in step.checks)
    return (step,)


# ---- helpers


def _builtin_dir() -> Path | None:
    from labgen.resources import resource

    try:
        folder = resource("scenarios")
    except FileNotFoundError:
        return None
    return folder if folder.is_dir() else None


def _defined_on(
    name: str, node: str, node_vars: Mapping[str, Mapping[str, str]], captured: dict[str, set[str]]
) -> bool:
    """Whether node_vars or an earlier capture gives `name` a value on `node`.

    The runner keeps captures per node, so a value captured on ubuntu-2 exists only there."""
    on = captured.get(name, set())
    return name in node_vars.get(node, {}) or node in on or "all" in on


def _where(data: Any, path: tuple) -> tuple[str, tuple]:
    """The object a path lies in, as messages name it (`scenario`, `vars`, `step look`,
    `variant docker, step #2`, `step t, check[0]`), and the field inside it."""
    if len(path) < 2:
        return "scenario", path
    head, key, rest = path[0], path[1], path[2:]
    if head == "steps":
        return _step_where(data["steps"], key, "", rest)
    if head == "variants":
        if not (isinstance(key, str) and ID.match(key)) or key == "default":
            return ("variants", ()) if not rest else (f"variant {show(key)}", rest)
        body = data["variants"][key]
        if rest[:1] == ("steps",) and len(rest) > 1:
            return _step_where(body["steps"], rest[1], f"variant {key}, ", rest[2:])
        return f"variant {key}", rest
    if head == "vars":
        return "vars", (f"variable {key}",) + rest
    if head == "node_vars" and rest:
        return f"node_vars {key}", (f"variable {rest[0]}",) + rest[1:]
    if head == "normalise":
        return f"normalise[{key}]", rest
    if head == "node_vars":
        return "node_vars", path[1:]
    return "scenario", path


def _step_where(steps: list, index: int, prefix: str, rest: tuple) -> tuple[str, tuple]:
    raw = steps[index]
    sid = raw.get("id") if isinstance(raw, dict) else None
    where = f"{prefix}step {sid if isinstance(sid, str) and ID.match(sid) else f'#{index + 1}'}"
    if rest[:1] == ("check",) and len(rest) > 1:
        return f"{where}, check[{rest[1]}]", rest[2:]
    if rest[:1] == ("solution",):
        return f"{where}, solution", rest[1:]
    return where, rest


def _lines_of(raw: dict, line: int) -> dict[str, int]:
    """Where a step (or check, solution) and its keys stand, for check_against_lab."""
    lines = {key: yamlsrc.line_of(raw, key) for key in ("on", "run", "expect") if key in raw}
    return {"step": line, **lines}


class _Rules:
    """The rules between fields, the character policy and the regular expressions, read only
    from values the schema found well-formed; each records its problems."""

    def __init__(self, data: dict, invalid: schemacheck.Invalid, problems: Problems):
        self.data, self.ok, self.clean, self.p = data, invalid.ok, invalid.clean, problems

    def add(self, container: Any, key: Any, path: tuple, problem: str, expected: str | None) -> None:
        self.p.add(yamlsrc.line_of(container, key), _where(self.data, path)[0], problem, expected)

    def check(self) -> None:
        data = self.data
        vars_ = self.vars(data.get("vars"), ("vars",))
        node_vars = {node: self.vars(body, ("node_vars", node)) for node, body in self.mappings("node_vars").items()}
        for i, rule in enumerate(self.seq(self.data, (), "normalise")):
            if isinstance(rule, dict) and "match" in rule and self.clean("normalise", i, "match"):
                self.regex(rule, "match", ("normalise", i, "match"), "match")
        default = self.steps(data.get("steps"), ("steps",), vars_, node_vars, None)
        for name, body in self.mappings("variants").items():
            self.steps(body.get("steps"), ("variants", name, "steps"), vars_, node_vars, default)

    def seq(self, raw: dict, path: tuple, key: str) -> list:
        """raw[key] when it is a list that may be walked (hints, check, normalise), else []."""
        value = raw.get(key)
        return value if isinstance(value, list) and self.ok(*path, key) else []

    def mappings(self, key: str) -> dict:
        """The well-formed mappings under data[key] (node_vars, variants), by name."""
        outer = self.data.get(key)
        if not isinstance(outer, dict) or not self.ok(key):
            return {}
        return {name: body for name, body in outer.items() if isinstance(body, dict) and self.ok(key, name)}

    def vars(self, mapping: Any, path: tuple) -> set[str]:
        """The names of well-formed variables (vars, or one node's node_vars)."""
        names = set()
        for name, value in mapping.items() if isinstance(mapping, dict) and self.ok(*path) else ():
            if not self.ok(*path, name):
                continue
            others = sorted(v for v in variables_in(value) if not is_builtin(v)) if isinstance(value, str) else []
            if others:
                self.add(
                    mapping,
                    name,
                    path + (name,),
                    f"variable {name} uses {{{{ {others[0]} }}}}: a variable's value may only use built-ins",
                    f"{', '.join(BUILTINS)} or nodes.<name>.ip",
                )
                continue
            names.add(name)
        return names

    def part(self, raw: dict, path: tuple, key: str, whole: bool = True) -> dict:
        """raw[key] when it is a well-formed mapping (expect; capture, to walk), else {}."""
        value = raw.get(key)
        return value if isinstance(value, dict) and (self.clean if whole else self.ok)(*path, key) else {}

    def regex(self, container: Any, key: Any, path: tuple, label: str, groups: int | None = None) -> None:
        """Python regular expressions (not ECMA-262's, so not a schema `format`) must compile."""
        pattern = container[key]
        try:
            compiled = re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            self.add(
                container,
                key,
                path,
                f"{label} {show(pattern)} is not a valid regular expression ({exc})",
                "a Python regular expression",
            )
            return
        if groups is not None and compiled.groups != groups:
            self.add(
                container,
                key,
                path,
                f"{label} {show(pattern)} has {compiled.groups} groups",
                "a regular expression with exactly one group, like 'ether ([0-9a-f:]+)'",
            )

    def steps(
        self, seq: Any, path: tuple, vars_: set[str], node_vars: dict[str, set[str]], default: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Unique ids, `use` of the default path's steps, and each step's own rules; returns the
        well-formed steps by id (what a variant may `use`)."""
        first_line: dict[str, int] = {}
        captured: dict[str, set[str]] = {}  # var -> nodes an earlier step captured it on
        found: dict[str, Any] = {}  # id -> (the step, its path)
        for index, raw in enumerate(seq if isinstance(seq, list) and self.ok(*path) else []):
            here = path + (index,)
            if not isinstance(raw, dict) or not self.ok(*here):
                continue
            origin = here
            if "use" in raw:
                told = self.use(raw, here, default)
                if told is None:
                    continue
                raw, origin = {**told[0], "use": raw["use"]}, told[1]
            if "id" in raw and self.ok(*here, "id"):
                sid = raw["id"]
                line = yamlsrc.line_of(raw, "id") if "use" not in raw else yamlsrc.line_of(seq, index)
                if sid in first_line:
                    self.add(
                        raw if "use" not in raw else seq,
                        "id" if "use" not in raw else index,
                        here,
                        f"duplicate step id {sid!r} (first at line {first_line[sid]})",
                        "step ids unique within the variant",
                    )
                else:
                    first_line[sid] = line
                    found[sid] = (raw, origin)
            if "use" in raw:
                nodes = _nodes(raw) if self.clean(*origin, "on") else ()
                for name in self.part(raw, origin, "capture"):
                    captured.setdefault(name, set()).update(nodes)
            elif raw.get("kind") in STUDENT_KINDS:
                self.student(raw, here, captured, vars_, node_vars)
            else:
                self.command(raw, here, captured, vars_, node_vars)
        return found

    def use(self, raw: dict, path: tuple, default: dict[str, Any] | None) -> tuple[dict, tuple] | None:
        """`- use: STEP-ID`: a variant tells a step of the default path, unchanged: (that step,
        its path)."""
        name = raw["use"]
        if default is None:
            self.add(raw, "use", path, "'use' is only for variants", "the step written out in full")
            return None
        if not self.ok(*path, "use") or name not in default:
            if self.ok(*path, "use"):
                self.add(
                    raw,
                    "use",
                    path,
                    f"use names {show(name)}, which is not a step of the default path{did_you_mean(name, default)}",
                    f"one of {', '.join(default) or '(none)'}",
                )
            return None
        return default[name]

    def command(
        self, raw: dict, path: tuple, captured: dict[str, set[str]], vars_: set[str], node_vars: dict[str, set[str]]
    ) -> None:
        """A command step, check or solution: its regexes, captures and {{ vars }}."""
        expect, capture = self.part(raw, path, "expect"), self.part(raw, path, "capture", whole=False)
        for key in (k for k in STRING_CHECKS if k.endswith("_matches") and k in expect):
            patterns = expect[key]
            for holder, at in (
                [(patterns, i) for i in range(len(patterns))] if isinstance(patterns, list) else [(expect, key)]
            ):
                self.regex(holder, at, path + ("expect", key), f"expect.{key}")
        for name in (name for name in capture if self.ok(*path, "capture", name)):
            self.regex(capture, name, path, f"capture {name}", groups=1)
        nodes = _nodes(raw) if self.clean(*path, "on") else ()
        if "run" in raw and self.ok(*path, "run") and self.clean(*path, "on"):
            self.variables(raw, path, "run", raw["run"], nodes, captured, vars_, node_vars)
            text = expect_text(_expect(expect)) if expect else ""
            if variables_in(text):
                self.variables(raw, path, "expect", text, nodes, captured, vars_, node_vars)
        for name in capture:
            captured.setdefault(name, set()).update(nodes)

    def student(
        self, raw: dict, path: tuple, captured: dict[str, set[str]], vars_: set[str], node_vars: dict[str, set[str]]
    ) -> None:
        """A task (checks, hints, solution) or a question (answers, feedback)."""
        known = set(BUILTINS) | vars_ | set(captured) | {v for nv in node_vars.values() for v in nv}
        # (label, where it stands: container and key, its path, the text)
        texts = [("goal", raw, "goal", path + ("goal",), raw.get("goal"))]
        texts += [
            (f"hints[{i}]", raw, "hints", path + ("hints", i), h) for i, h in enumerate(self.seq(raw, path, "hints"))
        ]
        for i, check in enumerate(self.seq(raw, path, "check")):
            if isinstance(check, dict) and self.ok(*path, "check", i):
                texts.append(("message", check, "message", path + ("check", i, "message"), check.get("message")))
                self.command(check, path + ("check", i), captured, vars_, node_vars)
        if isinstance(raw.get("solution"), dict) and self.ok(*path, "solution"):
            self.command(raw["solution"], path + ("solution",), captured, vars_, node_vars)
        for label, holder, key, at, value in texts:
            text = _text(value) if value is not None and self.clean(*at) else None
            for name in sorted(variables_in(text.en) | variables_in(text.zh)) if text else ():
                if name not in known and not is_builtin(name):
                    self.add(
                        holder,
                        key,
                        path,
                        f"{label} uses {{{{ {name} }}}}, which is not defined{did_you_mean(name, known)}",
                        EXPECTED_VAR_SOURCES,
                    )
        answers = raw.get("answers") if self.clean(*path, "answers") else None
        for answer in _strings(answers) if answers is not None else ():
            for name in sorted(variables_in(answer)):
                if name not in known:
                    self.add(
                        raw,
                        "answers",
                        path,
                        f"answers use {{{{ {name} }}}}, which is not defined{did_you_mean(name, known)}",
                        EXPECTED_VAR_SOURCES,
                    )

    def variables(
        self,
        raw: dict,
        path: tuple,
        key: str,
        text: str,
        nodes: tuple[str, ...],
        captured: dict[str, set[str]],
        vars_: set[str],
        node_vars: dict[str, set[str]],
    ) -> None:
        """Every {{ name }} in `text` must have a value on every node the step runs on.

        For `on: all` only a name no node can have is caught here; check_against_lab checks
        the rest once the lab's nodes are known.
        """
        somewhere = set(captured) | {v for nv in node_vars.values() for v in nv}
        values = {node: {name: "" for name in names} for node, names in node_vars.items()}
        for name in sorted(variables_in(text)):
            if is_builtin(name) or name in vars_:
                continue
            if nodes == ("all",):
                missing = [] if name in somewhere else ["all"]
            else:
                missing = [n for n in nodes if not _defined_on(name, n, values, captured)]
            if not missing:
                continue
            if nodes and nodes != ("all",) and name in somewhere:
                problem = f"{key} uses {{{{ {name} }}}}, which is not defined for {', '.join(missing)}"
            else:
                known = set(BUILTINS) | vars_ | somewhere
                problem = f"{key} uses {{{{ {name} }}}}, which is not defined{did_you_mean(name, known)}"
            self.add(raw, key, path, problem, EXPECTED_VAR_SOURCES)


# ---- the model, from a document that passed the schema and the rules


def _maybe(value: Any) -> Text | None:
    return None if value is None else _text(value)


def _text(value: Any) -> Text:
    """A plain string (one language: Chinese if it holds Han characters, else English) or a
    mapping with en, zh or both."""
    if isinstance(value, str):
        return Text(**{language.guess(value): value})
    return Text(en=value.get("en", ""), zh=value.get("zh", ""))


def _strings(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _nodes(raw: dict) -> tuple[str, ...]:
    on = raw.get("on")
    return () if on is None else (on,) if isinstance(on, str) else tuple(on)


def _values(mapping: dict) -> dict[str, str]:
    return {name: str(value) for name, value in mapping.items()}


def _expect(body: dict) -> Expect:
    fields: dict[str, Any] = {key: _strings(body[key]) for key in STRING_CHECKS if key in body}
    if "exit" in body:
        exit_ = body["exit"]  # 3.0 passes the schema as an integer: the runner compares "3"
        fields["exit"] = exit_ if isinstance(exit_, str) else str(int(exit_))
    if "retry" in body:
        fields["retry"] = float(body["retry"])
    return Expect(**fields)


def _command(raw: dict, line: int, sid: str, kind: str, title: Text | None = None) -> Step:
    return Step(
        id=sid,
        kind=kind,
        title=title or Text(),
        explain=None,
        nodes=_nodes(raw),
        run=raw.get("run"),
        sudo=raw.get("sudo", True),
        expect=_expect(raw.get("expect") or {}),
        capture=dict(raw.get("capture") or {}),
        timeout=float(raw.get("timeout", DEFAULT_TIMEOUT)),
        lines=_lines_of(raw, line),
    )


def _step(seq: list, index: int) -> Step:
    raw, line = seq[index], yamlsrc.line_of(seq, index)
    sid, kind = raw["id"], raw["kind"]
    common: dict[str, Any] = dict(title=_text(raw["title"]), explain=_maybe(raw.get("explain")))
    if kind not in STUDENT_KINDS:
        return replace(_command(raw, line, sid, kind), **common)
    fields: dict[str, Any] = dict(goal=_text(raw["goal"]), hints=tuple(map(_text, raw.get("hints") or ())))
    if kind == "task":
        fields["checks"] = tuple(
            Check(
                _command(c, yamlsrc.line_of(raw["check"], i), f"{sid}.check-{i + 1}", "verify", Text("Check", "检查")),
                _text(c["message"]),
            )
            for i, c in enumerate(raw["check"])
        )
        fields["solution"] = _command(
            raw["solution"], yamlsrc.line_of(raw, "solution"), f"{sid}.solution", "fix", Text("Solution", "参考解法")
        )
    else:
        fields.update(
            answers=_strings(raw["answers"]), correct=_maybe(raw.get("correct")), wrong=_maybe(raw.get("wrong"))
        )
    return Step(id=sid, kind=kind, nodes=(), run=None, lines={"step": line}, **common, **fields)


def _roles(body: dict) -> tuple[str, ...]:
    return tuple(dict.fromkeys((body.get("requires") or {}).get("roles", ())))


def _build(data: dict, source: Path | None) -> Scenario:
    steps = tuple(_step(data["steps"], i) for i in range(len(data["steps"])))
    variants = {"default": Variant("default", _roles(data), steps)}
    by_id = {step.id: step for step in steps}
    for name, body in (data.get("variants") or {}).items():
        seq = body["steps"]
        variants[name] = Variant(
            name,
            _roles(body),
            tuple(by_id[seq[i]["use"]] if "use" in seq[i] else _step(seq, i) for i in range(len(seq))),
            _maybe(body.get("summary")),
        )
    node_vars = {node: _values(body) for node, body in (data.get("node_vars") or {}).items()}
    lines = {key: yamlsrc.line_of(data, key) for key in ("lab", "vars", "node_vars")}
    lines.update({f"node_vars.{node}": yamlsrc.line_of(data["node_vars"], node) for node in node_vars})
    return Scenario(
        id=data["id"],
        title=_text(data["title"]),
        summary=_text(data["summary"]),
        lab=data["lab"],
        variants=variants,
        vars=_values(data.get("vars") or {}),
        node_vars=node_vars,
        source=source,
        lines=lines,
        normalise=tuple((r["match"], r["replace"]) for r in data.get("normalise") or ()),
    )


def scenario_lab(sc: Scenario) -> Lab:
    """The lab model a scenario runs on: a built-in lab's name, or a lab file's path relative
    to the scenario file. Raises InputError naming the scenario's file and line when there is
    no such lab (or the lab file's own problems when it is invalid)."""
    from labgen.labfile import find_lab, load_lab

    at = (
        f"{sc.source} line {sc.lines['lab']}"
        if sc.source and sc.lines.get("lab")
        else str(sc.source or f"scenario {sc.id}")
    )
    if sc.source and ("/" in sc.lab or sc.lab.endswith((".yml", ".yaml"))):
        candidate = Path(sc.source).parent / sc.lab
        if candidate.exists():
            return load_lab(candidate)
        if not Path(sc.lab).is_file():
            raise InputError(
                [f"{at}: scenario: lab {sc.lab!r} does not exist (no file {candidate}); expected {_LAB}"],
                hint="`labgen list` shows the built-in labs",
            )
    try:
        path = find_lab(sc.lab)
    except InputError as exc:
        raise InputError([f"{at}: scenario: {p}" for p in exc.problems], hint=exc.hint) from None
    return load_lab(path)
