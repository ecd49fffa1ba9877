"""Scenario files (YAML) → model.Scenario, with every problem reported at once.

Each problem reads `<file> line <N>: <where>: <problem>; expected <what>`, so an author can
fix a whole file in one pass. Loading is pure: it reads the file and nothing else. Whether
the nodes a scenario names exist is only known with the lab in hand: check_against_lab().
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from labgen import schemacheck, schemas, yamlsrc
from labgen.errors import InputError
from labgen.model import LANGS, STEP_KINDS, STUDENT_KINDS, Check, Expect, Lab, Scenario, Step, Text, Variant
from labgen.scenario import language
from labgen.scenario.template import BUILTINS, NODE_IP, expect_text, is_builtin, variables_in
from labgen.validate import Problems, character_problem, describe, did_you_mean

# The structure (keys, ranges, patterns) comes from the published schema,
# labgen/schemas/scenario.json; the messages and the cross-field rules are here.
ID = re.compile(schemas.pattern("scenario", "$defs/id"))
HOSTNAME = re.compile(schemas.pattern("scenario", "$defs/hostname"))
VAR_NAME = re.compile(schemas.node("scenario", "$defs/vars")["propertyNames"]["pattern"])
CAPTURE_NAME = re.compile(schemas.node("scenario", "$defs/capture")["propertyNames"]["pattern"])

MAX_TIMEOUT = schemas.bounds("scenario", "$defs/timeout")[1]
MAX_RETRY = schemas.bounds("scenario", "$defs/expect/properties/retry")[1]
DEFAULT_TIMEOUT = float(schemas.node("scenario", "$defs/timeout")["default"])

TOP_KEYS = schemas.keys("scenario")
TOP_REQUIRED = schemas.required("scenario")
VARIANT_KEYS = schemas.keys("scenario", "$defs/variant")
REQUIRES_KEYS = schemas.keys("scenario", "$defs/requires")
STEP_KEYS = schemas.keys("scenario", "$defs/command_step")
STEP_REQUIRED = schemas.required("scenario", "$defs/command_step")
# The student's steps: a task is judged by its checks, a question by its answers.
TASK_KEYS = schemas.keys("scenario", "$defs/task")
TASK_REQUIRED = schemas.required("scenario", "$defs/task")
QUESTION_KEYS = schemas.keys("scenario", "$defs/question")
QUESTION_REQUIRED = schemas.required("scenario", "$defs/question")
CHECK_KEYS = schemas.keys("scenario", "$defs/check")
CHECK_REQUIRED = schemas.required("scenario", "$defs/check")
SOLUTION_KEYS = schemas.keys("scenario", "$defs/solution")
SOLUTION_REQUIRED = schemas.required("scenario", "$defs/solution")
USE_KEYS = schemas.keys("scenario", "$defs/use")
EXPECT_KEYS = schemas.keys("scenario", "$defs/expect")
STRING_CHECKS = tuple(k for k in EXPECT_KEYS if k.startswith(("stdout_", "stderr_")))

EXPECTED_TEXT = ("non-empty text: a plain string in one language, or {en: ..., zh: ...} with "
                 "either or both")
EXPECTED_ID = "lowercase letters, digits and '-', starting with a letter or digit, at most 63"
EXPECTED_VAR_SOURCES = (f"a var, a node_var of every node the step runs on, a built-in "
                        f"({', '.join(BUILTINS)}, nodes.<name>.ip) or a capture of an earlier step on that node")


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
    return _Parser(str(source) if source is not None else "<scenario>").scenario(
        data, Path(source) if source is not None else None)


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
    raise InputError([f"unknown scenario {text!r}{did_you_mean(text, builtins)}"],
                     hint=f"built-in scenarios: {known}; or give the path of a scenario file")


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
            problems.add(lines.get("vars", 0), "vars", f"vars use {{{{ {var} }}}}: "
                         f"{unknown(match.group(1))}", expected)
    for variant in scenario.variants.values():
        prefix = "" if variant.name == "default" else f"variant {variant.name}, "
        captured: dict[str, set[str]] = {}     # var -> nodes an earlier step captured it on
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
                        problems.add(step.lines.get(key, at), where, f"{key} uses {{{{ {var} }}}}: "
                                     f"{unknown(match.group(1))}", expected)
                    continue
                if step.nodes != ("all",) or var in BUILTINS or var in scenario.vars:
                    continue
                missing = [n for n in names
                           if not _defined_on(var, n, scenario.node_vars, captured)]
                if missing:
                    problems.add(step.lines.get(key, at), where,
                                 f"run uses {{{{ {var} }}}}, which is not defined for "
                                 f"{', '.join(missing)} (the step runs on all nodes)",
                                 EXPECTED_VAR_SOURCES)
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


def _defined_on(name: str, node: str, node_vars: Mapping[str, Mapping[str, str]],
                captured: dict[str, set[str]]) -> bool:
    """Whether node_vars or an earlier capture gives `name` a value on `node`.

    The runner keeps captures per node, so a value captured on ubuntu-2 exists only there."""
    on = captured.get(name, set())
    return name in node_vars.get(node, {}) or node in on or "all" in on



def _lines_of(raw: dict, line: int) -> dict[str, int]:
    """Where a step (or check, solution) and its keys stand, for check_against_lab."""
    lines = {key: yamlsrc.line_of(raw, key) for key in ("on", "run", "expect") if key in raw}
    return {"step": line or yamlsrc.line_of(raw), **lines}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Parser:
    """Walks one scenario document, collecting problems instead of stopping at the first."""

    def __init__(self, source: str):
        self.source = source
        self.problems = Problems(source)

    # -- reporting

    def add(self, line: int, where: str, problem: str, expected: str | None = None) -> None:
        self.problems.add(line, where, problem, expected)

    def keys(self, mapping: dict, allowed: tuple[str, ...], required: tuple[str, ...],
             where: str, label: str = "") -> None:
        """Report keys not in `allowed` (with a did-you-mean) and `required` keys missing.
        `label` names the sub-mapping (expect, requires) when it is not the object itself."""
        for key in mapping:
            if key not in allowed:
                owner = f"{label} has " if label else ""
                self.add(yamlsrc.line_of(mapping, key), where,
                         f"{owner}unknown key {key!r}{did_you_mean(key, allowed)}",
                         f"one of {', '.join(allowed)}")
        for key in required:
            if key not in mapping:
                self.add(yamlsrc.line_of(mapping), where, f"missing {key!r}",
                         _EXPECTED_FOR.get(key, "it to be given"))

    def mapping(self, container: dict, key: str, where: str, expected: str) -> dict | None:
        """container[key] if it is a mapping; None (after a problem) if it is not, or absent."""
        value = container.get(key)
        if key not in container:
            return None
        if not isinstance(value, dict):
            self.add(yamlsrc.line_of(container, key), where, f"{key} is {describe(value)}", expected)
            return None
        return value

    def printable(self, line: int, where: str, what: str, value: str) -> bool:
        why = character_problem(value)          # the lab files' policy too (labgen.validate)
        if why:
            self.add(line, where, f"{what} {why}",
                     "printable text (newline and tab are allowed; no control or bidi characters)")
            return False
        return True

    # -- value kinds

    def string(self, container: dict, key: str, where: str, expected: str,
               label: str | None = None) -> str | None:
        """container[key] if it is a non-empty string without control characters, else None
        (after reporting why); None without a problem when the key is absent."""
        if key not in container:
            return None
        return self.check_string(container[key], yamlsrc.line_of(container, key), where,
                                 label or key, expected)

    def check_string(self, value: Any, line: int, where: str, label: str,
                     expected: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.add(line, where, f"{label} is {describe(value)}", expected)
            return None
        return value if self.printable(line, where, label, value) else None

    def ident(self, container: dict, key: str, where: str) -> str | None:
        value = self.string(container, key, where, EXPECTED_ID)
        if value is not None and not ID.match(value):
            self.add(yamlsrc.line_of(container, key), where, f"{key} {value!r} is not a valid id",
                     EXPECTED_ID)
            return None
        return value

    def text(self, container: dict, key: str, where: str) -> Text | None:
        """A plain string (one language: Chinese if it holds Han characters, else English) or
        a mapping with en, zh or both."""
        if key not in container:
            return None
        value = container[key]
        line = yamlsrc.line_of(container, key)
        if isinstance(value, str):
            got = self.string(container, key, where, EXPECTED_TEXT)
            return None if got is None else Text(**{language.guess(got): got})
        if not isinstance(value, dict):
            self.add(line, where, f"{key} is {describe(value)}", EXPECTED_TEXT)
            return None
        ok = True
        for lang in value:
            if lang not in LANGS:
                self.add(yamlsrc.line_of(value, lang), where,
                         f"{key} has unknown language {lang!r}{did_you_mean(lang, LANGS)}",
                         "en or zh (either or both)")
                ok = False
        if not value:
            self.add(line, where, f"{key} has no text", EXPECTED_TEXT)
            ok = False
        for lang in LANGS:
            if lang in value and self.string(value, lang, where, EXPECTED_TEXT,
                                             label=f"{key}.{lang}") is None:
                ok = False
        return Text(en=value.get("en", ""), zh=value.get("zh", "")) if ok else None

    def number(self, container: dict, key: str, where: str, low: float, high: float,
               low_open: bool, expected: str, label: str | None = None) -> float | None:
        value = container[key]
        line = yamlsrc.line_of(container, key)
        label = label or key
        if not _is_number(value):
            self.add(line, where, f"{label} is {describe(value)}", expected)
            return None
        if value > high or value < low or (low_open and value == low) or value != value:
            self.add(line, where, f"{label} {value} is out of range", expected)
            return None
        return float(value)

    def strings(self, container: dict, key: str, where: str, label: str) -> tuple[str, ...]:
        """A string or a list of strings, as a tuple."""
        value = container[key]
        expected = "a non-empty string or a list of them"
        if isinstance(value, str):
            got = self.string(container, key, where, expected, label)
            return (got,) if got is not None else ()
        if not isinstance(value, list) or not value:
            self.add(yamlsrc.line_of(container, key), where, f"{label} is {describe(value)}",
                     expected)
            return ()
        result = []
        for i, item in enumerate(value):
            got = self.check_string(item, yamlsrc.line_of(value, i), where, f"{label}[{i}]",
                                    expected)
            if got is not None:
                result.append(got)
        return tuple(result)

    def regex(self, line: int, where: str, label: str, pattern: str) -> re.Pattern | None:
        try:
            return re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            self.add(line, where, f"{label} {pattern!r} is not a valid regular expression ({exc})",
                     "a Python regular expression")
            return None

    # -- document structure

    def scenario(self, data: Any, source: Path | None) -> Scenario:
        if not isinstance(data, dict):
            self.add(yamlsrc.line_of(data) or 1, "scenario", f"the document is {describe(data)}",
                     f"a mapping with {', '.join(TOP_REQUIRED)}")
            raise InputError(self.sorted())
        where = "scenario"
        self.keys(data, TOP_KEYS, TOP_REQUIRED, where)
        sid = self.ident(data, "id", where)
        title = self.text(data, "title", where)
        summary = self.text(data, "summary", where)
        lab = self.lab(data, where)
        roles = self.requires(data, where)
        vars_ = self.vars(data)
        node_vars = self.node_vars(data)
        steps = self.steps(data, "", vars_, node_vars)
        variants = {"default": Variant("default", roles, steps)}
        raw_variants = self.mapping(data, "variants", where,
                                    "a mapping of variant name to {requires, summary, steps}") or {}
        for name, body in raw_variants.items():
            variant = self.variant(raw_variants, name, body, vars_, node_vars,
                                   {st.id: st for st in steps})
            if variant is not None:
                variants[name] = variant
        if not self.problems:
            schemacheck.check(data, "scenario", self.problems)  # the net: a rule the code lacks
        # each of these is None only after a problem was recorded for it
        if self.problems or sid is None or title is None or summary is None or lab is None:
            raise InputError(self.sorted(), hint="fix these in the scenario file and run again")
        lines = {key: yamlsrc.line_of(data, key) for key in ("lab", "vars", "node_vars")}
        for node in node_vars:
            lines[f"node_vars.{node}"] = yamlsrc.line_of(data["node_vars"], node)
        return Scenario(id=sid, title=title, summary=summary, lab=lab, variants=variants,
                        vars=vars_, node_vars=node_vars, source=source, lines=lines)

    def sorted(self) -> list[str]:
        return self.problems.sorted()

    def lab(self, data: dict, where: str) -> str | None:
        expected = "a built-in lab name (like mesos-calico) or a lab file path relative to this file"
        value = self.string(data, "lab", where, expected)
        if value is None:
            return None
        path_like = "/" in value or value.endswith((".yml", ".yaml"))
        if not path_like and not ID.match(value):
            self.add(yamlsrc.line_of(data, "lab"), where,
                     f"lab {value!r} is neither a lab name nor a path", expected)
            return None
        return value

    def requires(self, container: dict, where: str) -> tuple[str, ...]:
        from labgen.provision.roles import ROLE_NAMES

        requires = self.mapping(container, "requires", where, "a mapping like {roles: [base]}")
        if requires is None:
            return ()
        self.keys(requires, REQUIRES_KEYS, (), where, "requires")
        if "roles" not in requires:
            return ()
        roles = requires["roles"]
        expected = f"a list of roles from {', '.join(ROLE_NAMES)}"
        if not isinstance(roles, list):
            self.add(yamlsrc.line_of(requires, "roles"), where,
                     f"requires.roles is {describe(roles)}", expected)
            return ()
        result = []
        for i, role in enumerate(roles):
            if role not in ROLE_NAMES:
                shown = repr(role) if isinstance(role, str) else describe(role)
                self.add(yamlsrc.line_of(roles, i), where,
                         f"unknown role {shown}{did_you_mean(role, ROLE_NAMES)}", expected)
            elif role not in result:
                result.append(role)
        return tuple(result)

    def var_values(self, mapping: dict, where: str, label: str) -> dict[str, str]:
        """A {name: string-or-number} mapping (vars, or one node's node_vars) as strings."""
        result = {}
        for name, value in mapping.items():
            line = yamlsrc.line_of(mapping, name)
            if not isinstance(name, str) or not VAR_NAME.match(name):
                self.add(line, where, f"{label} name {name!r} is not a valid variable name",
                         "letters, digits, '_', '.', '-', starting with a letter or '_'")
                continue
            if is_builtin(name) or name.startswith("nodes."):
                self.add(line, where, f"{label} name {name!r} is reserved for a built-in",
                         f"a name other than {', '.join(BUILTINS)}, nodes.<name>.ip")
                continue
            if isinstance(value, str):
                others = sorted(v for v in variables_in(value) if not is_builtin(v))
                if others:
                    self.add(line, where, f"{label} {name} uses {{{{ {others[0]} }}}}: a variable's "
                             "value may only use built-ins",
                             f"{', '.join(BUILTINS)} or nodes.<name>.ip")
                elif self.printable(line, where, f"{label} {name}", value):
                    result[name] = value
            elif _is_number(value):
                result[name] = str(value)
            else:
                self.add(line, where, f"{label} {name} is {describe(value)}", "a string or a number")
        return result

    def vars(self, data: dict) -> dict[str, str]:
        mapping = self.mapping(data, "vars", "scenario", "a mapping of variable name to value")
        return self.var_values(mapping, "vars", "variable") if mapping else {}

    def node_vars(self, data: dict) -> dict[str, dict[str, str]]:
        mapping = self.mapping(data, "node_vars", "scenario",
                               "a mapping of node name to {variable: value}")
        result = {}
        for node, body in (mapping or {}).items():
            line = yamlsrc.line_of(mapping, node)
            if not isinstance(node, str) or not HOSTNAME.match(node):
                self.add(line, "node_vars", f"node name {node!r} is not a valid hostname",
                         "letters, digits and '-', not starting or ending with '-'")
                continue
            if not isinstance(body, dict):
                self.add(line, "node_vars", f"{node} is {describe(body)}",
                         "a mapping of variable name to value")
                continue
            result[node] = self.var_values(body, f"node_vars {node}", "variable")
        return result

    def variant(self, variants: dict, name: Any, body: Any, vars_: dict,
                node_vars: dict, reusable: dict[str, Step] | None = None) -> Variant | None:
        line = yamlsrc.line_of(variants, name)
        if not isinstance(name, str) or not ID.match(name) or name == "default":
            self.add(line, "variants", f"variant name {name!r} is not allowed",
                     f"{EXPECTED_ID}, and not 'default'")
            return None
        where = f"variant {name}"
        if not isinstance(body, dict):
            self.add(line, where, f"the variant is {describe(body)}",
                     "a mapping with steps (and optionally requires, summary)")
            return None
        self.keys(body, VARIANT_KEYS, ("steps",), where)
        roles = self.requires(body, where)
        summary = self.text(body, "summary", where)
        steps = self.steps(body, f"variant {name}, ", vars_, node_vars, reusable)
        return Variant(name, roles, steps, summary)

    def steps(self, container: dict, prefix: str, vars_: dict,
              node_vars: dict, reusable: dict[str, Step] | None = None) -> tuple[Step, ...]:
        where = prefix.rstrip(", ") or "scenario"
        if "steps" not in container:
            return ()
        seq = container["steps"]
        if not isinstance(seq, list) or not seq:
            self.add(yamlsrc.line_of(container, "steps"), where, f"steps is {describe(seq)}",
                     "a non-empty list of steps")
            return ()
        result: list[Step] = []
        first_line: dict[str, int] = {}
        captured: dict[str, set[str]] = {}     # var -> nodes an earlier step captured it on
        for i, item in enumerate(seq):
            if isinstance(item, dict) and "use" in item:
                step = self.use(seq, i, item, prefix, first_line, reusable)
                if step is not None:
                    for name in step.capture:
                        captured.setdefault(name, set()).update(step.nodes)
            else:
                step = self.step(seq, i, item, prefix, first_line, captured, vars_, node_vars)
            if step is not None:
                result.append(step)
        return tuple(result)

    def use(self, seq: list, index: int, raw: dict, prefix: str, first_line: dict[str, int],
            reusable: dict[str, Step] | None) -> Step | None:
        """`- use: STEP-ID`: a variant tells the same step as the default path, unchanged."""
        line = yamlsrc.line_of(seq, index)
        where = f"{prefix}step #{index + 1}"
        self.keys(raw, USE_KEYS, (), where)
        name = raw["use"]
        known = reusable or {}
        if not prefix:
            self.add(line, where, "'use' is only for variants", "the step written out in full")
            return None
        if not isinstance(name, str) or name not in known:
            shown = repr(name) if isinstance(name, str) else describe(name)
            self.add(yamlsrc.line_of(raw, "use"), where,
                     f"use names {shown}, which is not a step of the default path"
                     f"{did_you_mean(name, known)}", f"one of {', '.join(known) or '(none)'}")
            return None
        if name in first_line:
            self.add(line, where, f"duplicate step id {name!r} (first at line {first_line[name]})",
                     "step ids unique within the variant")
            return None
        first_line[name] = line
        return known[name]

    def step(self, seq: list, index: int, raw: Any, prefix: str, first_line: dict[str, int],
             captured: dict[str, set[str]], vars_: dict, node_vars: dict) -> Step | None:
        line = yamlsrc.line_of(seq, index)
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        label = raw_id if isinstance(raw_id, str) and ID.match(raw_id) else f"#{index + 1}"
        where = f"{prefix}step {label}"
        if not isinstance(raw, dict):
            self.add(line, where, f"the step is {describe(raw)}",
                     f"a mapping with {', '.join(STEP_REQUIRED)} and usually on, run")
            return None
        raw = self.unbool_on(raw, where)
        if raw.get("kind") in STUDENT_KINDS:
            return self.student_step(raw, where, first_line, captured, vars_, node_vars)
        before = len(self.problems)
        self.keys(raw, STEP_KEYS, STEP_REQUIRED, where)
        sid = self.step_id(raw, where, first_line)
        kind = self.kind(raw, where)
        title = self.text(raw, "title", where)
        explain = self.text(raw, "explain", where)
        run = self.string(raw, "run", where, "a shell script (text)")
        if run is None and "run" not in raw and kind not in (None, "explain"):
            self.add(yamlsrc.line_of(raw), where, "missing 'run'",
                     "a shell script (only explain steps may leave it out)")
        nodes = self.on(raw, where)
        if "run" in raw and "on" not in raw:
            self.add(yamlsrc.line_of(raw), where, "missing 'on'", _EXPECTED_FOR["on"])
        if "on" in raw and "run" not in raw:
            self.add(yamlsrc.line_of(raw, "on"), where, "'on' is given but there is no 'run'",
                     "a run script to go with it, or no 'on'")
        sudo = True
        if "sudo" in raw:
            if isinstance(raw["sudo"], bool):
                sudo = raw["sudo"]
            else:
                self.add(yamlsrc.line_of(raw, "sudo"), where, f"sudo is {describe(raw['sudo'])}",
                         "true or false")
        timeout = DEFAULT_TIMEOUT
        if "timeout" in raw:
            timeout = self.number(raw, "timeout", where, 0, MAX_TIMEOUT, True,
                                  f"seconds, more than 0 and at most {MAX_TIMEOUT}") or timeout
        expect = self.expect(raw, where)
        capture = self.capture(raw, where)
        for key in ("expect", "capture"):
            if key in raw and "run" not in raw:
                self.add(yamlsrc.line_of(raw, key), where, f"'{key}' is given but there is no 'run'",
                         f"a run script for {key} to apply to")
        if run is not None:
            self.check_variables(raw, where, run, nodes, captured, vars_, node_vars)
            if expect is not None and variables_in(expect_text(expect)):
                self.check_variables(raw, where, expect_text(expect), nodes, captured, vars_,
                                     node_vars, key="expect")
        for name in capture:
            captured.setdefault(name, set()).update(nodes)
        if len(self.problems) != before or sid is None or kind is None or title is None:
            return None         # (each is None only after a problem was recorded for it)
        return Step(id=sid, kind=kind, title=title, explain=explain, nodes=nodes, run=run,
                    sudo=sudo, expect=expect, capture=capture, timeout=timeout,
                    lines=_lines_of(raw, line))

    def step_id(self, raw: dict, where: str, first_line: dict[str, int]) -> str | None:
        sid = self.ident(raw, "id", where)
        if sid is not None:
            if sid in first_line:
                self.add(yamlsrc.line_of(raw, "id"), where,
                         f"duplicate step id {sid!r} (first at line {first_line[sid]})",
                         "step ids unique within the variant")
            else:
                first_line[sid] = yamlsrc.line_of(raw, "id")
        return sid

    def student_step(self, raw: dict, where: str, first_line: dict[str, int],
                     captured: dict[str, set[str]], vars_: dict, node_vars: dict) -> Step | None:
        """A task (checks, hints, solution) or a question (answers, feedback)."""
        before = len(self.problems)
        kind = raw["kind"]
        task = kind == "task"
        self.keys(raw, TASK_KEYS if task else QUESTION_KEYS,
                  TASK_REQUIRED if task else QUESTION_REQUIRED, where)
        sid = self.step_id(raw, where, first_line)
        title = self.text(raw, "title", where)
        explain = self.text(raw, "explain", where)
        goal = self.text(raw, "goal", where)
        hints = self.texts(raw, "hints", where)
        known = set(BUILTINS) | set(vars_) | set(captured) | {
            v for nv in node_vars.values() for v in nv}
        for label, text in [("goal", goal), *((f"hints[{i}]", h) for i, h in enumerate(hints))]:
            self.text_variables(raw, where, label, text, known)
        fields: dict[str, Any] = {}
        if task:
            checks = []
            seq = raw.get("check")
            if "check" in raw and (not isinstance(seq, list) or not seq):
                self.add(yamlsrc.line_of(raw, "check"), where, f"check is {describe(seq)}",
                         _EXPECTED_FOR["check"])
            for i, item in enumerate(seq if isinstance(seq, list) else []):
                sub = self.command(seq, i, item, f"{where}, check[{i}]", CHECK_KEYS, CHECK_REQUIRED,
                                   "verify", captured, vars_, node_vars, f"{sid}.check-{i + 1}")
                message = self.text(item, "message", f"{where}, check[{i}]") \
                    if isinstance(item, dict) else None
                self.text_variables(item if isinstance(item, dict) else raw, f"{where}, check[{i}]",
                                    "message", message, known)
                if sub is not None and message is not None:
                    checks.append(Check(sub, message))
            solution = None
            if "solution" in raw:
                solution = self.command(raw, "solution", raw["solution"], f"{where}, solution",
                                        SOLUTION_KEYS, SOLUTION_REQUIRED, "fix", captured, vars_,
                                        node_vars, f"{sid}.solution")
            fields.update(checks=tuple(checks), solution=solution)
        else:
            answers = self.strings(raw, "answers", where, "answers") if "answers" in raw else ()
            for answer in answers:
                for name in sorted(variables_in(answer)):
                    if name not in known:
                        self.add(yamlsrc.line_of(raw, "answers"), where,
                                 f"answers use {{{{ {name} }}}}, which is not defined"
                                 f"{did_you_mean(name, known)}", EXPECTED_VAR_SOURCES)
            fields.update(answers=answers, correct=self.text(raw, "correct", where),
                          wrong=self.text(raw, "wrong", where))
        if len(self.problems) != before or sid is None or title is None:
            return None         # (each is None only after a problem was recorded for it)
        return Step(id=sid, kind=kind, title=title, explain=explain, nodes=(), run=None,
                    goal=goal, hints=hints, lines={"step": yamlsrc.line_of(raw)}, **fields)

    def command(self, container: Any, key: Any, raw: Any, where: str, allowed: tuple[str, ...],
                required: tuple[str, ...], kind: str, captured: dict[str, set[str]], vars_: dict,
                node_vars: dict, sub_id: str) -> Step | None:
        """A check or a solution: a command on nodes, as a Step the runner can run."""
        line = yamlsrc.line_of(container, key)
        if not isinstance(raw, dict):
            self.add(line, where, f"it is {describe(raw)}", f"a mapping with {', '.join(required)}")
            return None
        raw = self.unbool_on(raw, where)
        before = len(self.problems)
        self.keys(raw, allowed, required, where)
        run = self.string(raw, "run", where, "a shell script (text)")
        nodes = self.on(raw, where)
        sudo = raw.get("sudo", True)
        if not isinstance(sudo, bool):
            self.add(yamlsrc.line_of(raw, "sudo"), where, f"sudo is {describe(sudo)}", "true or false")
        timeout = DEFAULT_TIMEOUT
        if "timeout" in raw:
            timeout = self.number(raw, "timeout", where, 0, MAX_TIMEOUT, True,
                                  f"seconds, more than 0 and at most {MAX_TIMEOUT}") or timeout
        expect = self.expect(raw, where)
        if run is not None:
            self.check_variables(raw, where, run, nodes, captured, vars_, node_vars)
        if len(self.problems) != before or run is None:
            return None
        title = {"fix": Text("Solution", "参考解法"), "verify": Text("Check", "检查")}[kind]
        return Step(id=sub_id, kind=kind, title=title, explain=None, nodes=nodes, run=run,
                    sudo=sudo, expect=expect, timeout=timeout, lines=_lines_of(raw, line))

    def texts(self, raw: dict, key: str, where: str) -> tuple[Text, ...]:
        """A list of {en, zh} texts (hints)."""
        if key not in raw:
            return ()
        seq = raw[key]
        if not isinstance(seq, list) or not seq:
            self.add(yamlsrc.line_of(raw, key), where, f"{key} is {describe(seq)}",
                     f"a list of texts, each {EXPECTED_TEXT}")
            return ()
        result = []
        for i, item in enumerate(seq):
            holder = yamlsrc.Mapping({f"{key}[{i}]": item})   # so text() can say key[i], line
            holder.line = yamlsrc.line_of(seq, i)
            holder.key_lines = {f"{key}[{i}]": holder.line}
            got = self.text(holder, f"{key}[{i}]", where)
            if got is not None:
                result.append(got)
        return tuple(result)

    def text_variables(self, raw: dict, where: str, label: str, text: Text | None,
                       known: set[str]) -> None:
        """{{ var }} in text a student reads must name something that has a value."""
        if text is None:
            return
        for name in sorted(variables_in(text.en) | variables_in(text.zh)):
            if name not in known and not is_builtin(name):
                self.add(yamlsrc.line_of(raw, label.split("[")[0]), where,
                         f"{label} uses {{{{ {name} }}}}, which is not defined"
                         f"{did_you_mean(name, known)}", EXPECTED_VAR_SOURCES)

    def unbool_on(self, raw: dict, where: str) -> dict:
        """YAML 1.1 reads a bare `on:` key as the boolean true; give the step its `on` back."""
        if True not in raw:
            return raw
        fixed = yamlsrc.Mapping()
        fixed.line = yamlsrc.line_of(raw)
        fixed.key_lines = {}
        for key, value in raw.items():
            name = "on" if key is True else key
            if name in fixed:
                self.add(yamlsrc.line_of(raw, key), where, "'on' is given twice", "it once")
                continue
            fixed[name] = value
            fixed.key_lines[name] = yamlsrc.line_of(raw, key)
        return fixed

    def kind(self, raw: dict, where: str) -> str | None:
        expected = f"one of {', '.join(STEP_KINDS)}"
        if "kind" not in raw:
            return None
        value = raw["kind"]
        if value not in STEP_KINDS:
            shown = repr(value) if isinstance(value, str) else describe(value)
            self.add(yamlsrc.line_of(raw, "kind"), where,
                     f"unknown kind {shown}{did_you_mean(value, STEP_KINDS)}", expected)
            return None
        return value

    def on(self, raw: dict, where: str) -> tuple[str, ...]:
        if "on" not in raw:
            return ()
        value = raw["on"]
        line = yamlsrc.line_of(raw, "on")
        expected = _EXPECTED_FOR["on"]
        if value == "all":
            return ("all",)
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            self.add(line, where, f"on is {describe(value)}", expected)
            return ()
        result: list[str] = []
        for i, name in enumerate(items):
            item_line = yamlsrc.line_of(items, i) or line
            if name == "all":
                self.add(item_line, where, "on lists 'all' among node names",
                         "on: all (alone, as a string) or a list of node names")
            elif not isinstance(name, str) or not HOSTNAME.match(name):
                shown = repr(name) if isinstance(name, str) else describe(name)
                self.add(item_line, where, f"on names {shown}, which is not a valid hostname",
                         "node names: letters, digits and '-', not starting or ending with '-'")
            elif name in result:
                self.add(item_line, where, f"on names {name!r} twice", "each node once")
            else:
                result.append(name)
        return tuple(result)

    def expect(self, raw: dict, where: str) -> Expect:
        body = self.mapping(raw, "expect", where, "a mapping like {exit: 0, stdout_contains: ...}")
        if body is None:
            return Expect()
        self.keys(body, EXPECT_KEYS, (), where, "expect")
        fields: dict[str, Any] = {}
        if "exit" in body:
            value = body["exit"]
            expected = "0, nonzero, any, or an exit status 0..255"
            if value in ("nonzero", "any"):
                fields["exit"] = value
            elif _is_number(value) and isinstance(value, int) and 0 <= value <= 255:
                fields["exit"] = str(value)
            else:
                self.add(yamlsrc.line_of(body, "exit"), where,
                         f"expect.exit is {describe(value)}", expected)
        for key in STRING_CHECKS:
            if key not in body:
                continue
            values = self.strings(body, key, where, f"expect.{key}")
            if key.endswith("_matches"):
                for i, pattern in enumerate(values):
                    line = yamlsrc.line_of(body[key], i) if isinstance(body[key], list) \
                        else yamlsrc.line_of(body, key)
                    self.regex(line, where, f"expect.{key}", pattern)
            fields[key] = values
        if "retry" in body:
            retry = self.number(body, "retry", where, 0, MAX_RETRY, False,
                                f"seconds, 0 to {MAX_RETRY}", "expect.retry")
            if retry is not None:
                fields["retry"] = retry
        return Expect(**fields)

    def capture(self, raw: dict, where: str) -> dict[str, str]:
        body = self.mapping(raw, "capture", where,
                            "a mapping of variable name to a regex with one group")
        result = {}
        for name, pattern in (body or {}).items():
            line = yamlsrc.line_of(body, name)
            if not isinstance(name, str) or not CAPTURE_NAME.match(name):
                self.add(line, where, f"capture name {name!r} is not a valid variable name",
                         "letters, digits and '_', starting with a letter or '_'")
                continue
            if is_builtin(name):
                self.add(line, where, f"capture name {name!r} is reserved for a built-in",
                         f"a name other than {', '.join(BUILTINS)}")
                continue
            if not isinstance(pattern, str) or not pattern:
                self.add(line, where, f"capture {name} is {describe(pattern)}",
                         "a regular expression with exactly one group")
                continue
            compiled = self.regex(line, where, f"capture {name}", pattern)
            if compiled is None:
                continue
            if compiled.groups != 1:
                self.add(line, where, f"capture {name} {pattern!r} has {compiled.groups} groups",
                         "a regular expression with exactly one group, like 'ether ([0-9a-f:]+)'")
                continue
            result[name] = pattern
        return result

    def check_variables(self, raw: dict, where: str, run: str, nodes: tuple[str, ...],
                        captured: dict[str, set[str]], vars_: dict, node_vars: dict,
                        key: str = "run") -> None:
        """Every {{ name }} in `run` must have a value on every node the step runs on.

        For `on: all` only a name no node can have is caught here; check_against_lab checks
        the rest once the lab's nodes are known.
        """
        line = yamlsrc.line_of(raw, key)
        somewhere = set(captured) | {v for nv in node_vars.values() for v in nv}
        for name in sorted(variables_in(run)):
            if is_builtin(name) or name in vars_:
                continue
            if nodes == ("all",):
                missing = [] if name in somewhere else ["all"]
            else:
                missing = [n for n in nodes if not _defined_on(name, n, node_vars, captured)]
            if not missing:
                continue
            if nodes and nodes != ("all",) and name in somewhere:
                problem = f"{key} uses {{{{ {name} }}}}, which is not defined for {', '.join(missing)}"
            else:
                known = set(BUILTINS) | set(vars_) | somewhere
                problem = (f"{key} uses {{{{ {name} }}}}, which is not defined"
                           f"{did_you_mean(name, known)}")
            self.add(line, where, problem, EXPECTED_VAR_SOURCES)


_EXPECTED_FOR = {
    "id": EXPECTED_ID,
    "title": EXPECTED_TEXT,
    "summary": EXPECTED_TEXT,
    "lab": "a built-in lab name (like mesos-calico) or a lab file path relative to this file",
    "steps": "a non-empty list of steps",
    "kind": f"one of {', '.join(STEP_KINDS)}",
    "on": 'the node names to run on (a name, a list of names, or "all")',
    "goal": f"{EXPECTED_TEXT}: what the student must achieve or answer",
    "check": "a list of checks, each {on, run, expect, message}",
    "solution": "a mapping {on, run} that does what the student should (run by `solve`)",
    "answers": "a list of accepted answers (compared ignoring case, spaces and : - . _)",
    "message": f"{EXPECTED_TEXT}: what the student reads when this check fails",
    "run": "a shell script (text)",
}


def scenario_lab(sc: Scenario) -> Lab:
    """The lab model a scenario runs on: a built-in lab's name, or a lab file's path relative
    to the scenario file. Raises InputError naming the scenario's file and line when there is
    no such lab (or the lab file's own problems when it is invalid)."""
    from labgen.labfile import find_lab, load_lab

    at = f"{sc.source} line {sc.lines['lab']}" if sc.source and sc.lines.get("lab") else \
        str(sc.source or f"scenario {sc.id}")
    if sc.source and ("/" in sc.lab or sc.lab.endswith((".yml", ".yaml"))):
        candidate = Path(sc.source).parent / sc.lab
        if candidate.exists():
            return load_lab(candidate)
        if not Path(sc.lab).is_file():
            raise InputError([f"{at}: scenario: lab {sc.lab!r} does not exist (no file "
                              f"{candidate}); expected {_EXPECTED_FOR['lab']}"],
                             hint="`labgen list` shows the built-in labs")
    try:
        path = find_lab(sc.lab)
    except InputError as exc:
        raise InputError([f"{at}: scenario: {p}" for p in exc.problems], hint=exc.hint) from None
    return load_lab(path)
