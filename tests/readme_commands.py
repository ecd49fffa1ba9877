"""Which documented `labgen ...` command lines no integration or browser test runs (issue 14 §3).

Two sides, both read statically (nothing runs):

- the docs: every shell code block of README.md and docs/**/*.md; a line (or a part of it
  after `&&`, `;`, `|`) whose command is `labgen` (after `sudo`, `$ `, VAR=value) is a
  documented command line;
- the tests: an ast scan of tests/integration and tests/browser for the argv of every labgen
  run: calls of `labgen(...)` (tests/runcli.py) and of the module's own wrappers around it
  (a function that passes its `*args` on, with its own fixed words: `cli(lab_dir, *args)` →
  `labgen("scenario", *args, ...)`), and list literals that start with `*LABGEN`
  (`subprocess.Popen([*LABGEN, "classroom", "serve", ...])`). A starred tuple assigned in the
  same function (`run = ("scenario", "run", ...)`; `labgen(*run, "--only", ...)`) is inlined.

Both are resolved against labgen's own click tree, so `-y` and `--yes` are one option, an
option's value is never taken for a subcommand, and a documented option that the command does
not have is reported too. A documented line is covered when some test runs the same command
(group and subcommand) and, for each option the line shows, some test runs that command with
that option. Values are not compared: `labgen create mesos-calico` is covered by a test that
creates its own lab file.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import click

VALUE = object()  # a test argument that is not a literal string (a path, a variable...)
REST = object()  # a wrapper's *args, before a call fills them in

COMPLETE_VAR = "_LABGEN_COMPLETE"
COMPLETE = "completion:"  # argv of a completion run: ["completion:bash_source"]
SHELL_BLOCKS = {"", "sh", "bash", "shell", "console", "shell-session"}
RUNNERS = {"labgen", "_labgen", "labgen_sealed"}  # tests/runcli.py, as modules import it


@dataclass(frozen=True)
class Invocation:
    """One labgen command line, resolved: the command path and the options it uses."""

    command: tuple[str, ...]  # ("classroom", "scenario", "run")
    options: frozenset[tuple[tuple[str, ...], str]] = frozenset()  # (owner command, param name)
    unknown: tuple[str, ...] = ()  # options the command does not have
    where: str = ""  # file:line


@dataclass
class Report:
    documented: list[tuple[Invocation, str]] = field(default_factory=list)  # (resolved, line text)
    tested: list[Invocation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# ---- resolving argv against the click tree


def _context(cmd: click.Command, **kwargs) -> click.Context:
    """A context with labgen's own help options: click caches a command's help option the first
    time a context asks for it, so a bare click.Context here would leave `--help` alone in
    every later `--help` of this process (docs/commands.md's test saw it)."""
    from labgen.cli import HELP_OPTIONS

    return click.Context(cmd, help_option_names=HELP_OPTIONS, **kwargs)


def _find_option(cmd: click.Command, token: str) -> click.Option | None:
    for param in cmd.params:
        if isinstance(param, click.Option) and token in (*param.opts, *param.secondary_opts):
            return param
    return None


def resolve(argv: list, root: click.Command, where: str = "") -> Invocation | None:
    """The command and options of `argv` (the words after `labgen`); None when a word that
    must name a subcommand is not a literal (a test passing its command in a variable)."""
    if argv and isinstance(argv[0], str) and argv[0].startswith(COMPLETE):
        return Invocation((argv[0],), where=where)
    cmd, path = root, ()
    options, unknown = set(), []
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        if word is REST:  # words the scan cannot read (a comprehension, a wrapper's *args)
            if isinstance(cmd, click.Group):
                return None
            continue
        if word == "--":
            break
        if isinstance(word, str) and word.startswith("-") and len(word) > 1 and word != "-":
            name, has_value = (word.split("=", 1)[0], True) if "=" in word else (word, False)
            if name in ("-h", "--help"):
                options.add((path, "help"))
                continue
            if name == "--version" and path == ():
                options.add(((), "version"))
                continue
            param = _find_option(cmd, name)
            if param is None:
                # short flags written together (-sv) are not used by labgen's docs or tests
                unknown.append(" ".join((*path, name)))
                continue
            options.add((path, param.name))
            if not (param.is_flag or param.count) and not has_value:
                del rest[: param.nargs]
            continue
        if isinstance(cmd, click.Group):
            probe = "a-value-not-a-command" if word is VALUE else word
            sub = None if word is VALUE else cmd.get_command(_context(cmd), word)
            default = None if sub is not None else _default_subcommand(cmd, probe)
            if word is VALUE and default is None:
                return None
            if default is not None:  # `labgen bundle LAB` is `labgen bundle create LAB`
                rest.insert(0, word)
                word, sub = default, cmd.get_command(_context(cmd), default)
            if sub is None:
                unknown.append(" ".join((*path, word)) + " (no such command)")
                break
            cmd, path = sub, (*path, word)
            continue
        # a positional argument of a command: nothing to resolve
    return Invocation(path, frozenset(options), tuple(unknown), where)


def _default_subcommand(group: click.Group, word: str) -> str | None:
    """The subcommand a group runs for a word that is none of its subcommands (a group whose
    parse_args inserts one, as `labgen bundle` does), or None."""
    ctx = _context(group, resilient_parsing=True)
    try:
        group.parse_args(ctx, [word])
    except click.ClickException:
        return None
    first = (getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", None) or [None])[0]
    return first if first in group.commands and first != word else None


# ---- the docs


def shell_blocks(text: str):
    """(first line number, block text) of every fenced shell code block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+|~~~+)\s*([\w-]*)", lines[i])
        if not m:
            i += 1
            continue
        fence, lang, start = m.group(2), m.group(3).lower(), i + 1
        i += 1
        body = []
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        if lang in SHELL_BLOCKS:
            yield start + 1, body


def labgen_lines(text: str):
    """(line number, argv after `labgen`, the line) of each labgen command in shell blocks."""
    for first, body in shell_blocks(text):
        joined, at = "", None
        for offset, line in enumerate(body):
            if at is None:
                at = first + offset
            if line.rstrip().endswith("\\"):
                joined += line.strip()[:-1].strip() + " "
                continue
            joined += line.strip() if joined else line
            yield from _commands_in(at, joined)
            joined, at = "", None


def _commands_in(number: int, line: str, keep: str | None = None):
    stripped = line.strip()
    if stripped.startswith("$ "):
        stripped = stripped[2:]
    try:
        lexer = shlex.shlex(stripped, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
    except ValueError:
        return
    segment: list[str] = []
    for word in [*words, ";"]:
        if word in ("&&", "||", ";", "|", "&"):
            if len(segment) == 2 and segment[0] == "eval" and re.fullmatch(r"\$\((.*)\)", segment[1]):
                yield from _commands_in(number, segment[1][2:-1], keep=line.strip())
                segment = []
                continue
            env = {}
            while segment and (segment[0] == "sudo" or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", segment[0])):
                name, _, value = segment.pop(0).partition("=")
                env[name] = value
            if segment and (segment[0] == "labgen" or segment[0].endswith("/labgen")):
                # click's completion script: `_LABGEN_COMPLETE=bash_source labgen`
                argv = [COMPLETE + env[COMPLETE_VAR]] if COMPLETE_VAR in env else segment[1:]
                yield number, argv, keep or line.strip()
            segment = []
        else:
            segment.append(word)


def doc_files(repo: Path) -> list[Path]:
    found = [repo / "README.md"] if (repo / "README.md").exists() else []
    return found + sorted((repo / "docs").glob("**/*.md"))


# ---- the tests


def _literal(node: ast.AST, tuples: dict[str, list]) -> list:
    """The argv words one call argument stands for."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Starred):
        inner = node.value
        if isinstance(inner, ast.Name) and inner.id in tuples:
            return list(tuples[inner.id])
        if isinstance(inner, (ast.ListComp, ast.GeneratorExp)) and isinstance(
            inner.generators[-1].iter, (ast.Tuple, ast.List)
        ):
            # each item yields the words of a literal tuple: ("--dir", str(path)) per seat
            return [*_argv(inner.generators[-1].iter.elts, tuples, None), REST]
        return [REST]
    return [VALUE]


def _argv(args: list[ast.expr], tuples: dict[str, list], rest_name: str | None) -> list:
    out: list = []
    for arg in args:
        if isinstance(arg, ast.Starred) and _is_rest(arg.value, rest_name):
            out.append(REST)
        else:
            out.extend(_literal(arg, tuples))
    return out


def _is_rest(node: ast.AST, rest_name: str | None) -> bool:
    """`*args` or `*map(str, args)` of the enclosing function's own varargs."""
    if rest_name is None:
        return False
    if isinstance(node, ast.Name):
        return node.id == rest_name
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "map"
        and any(isinstance(a, ast.Name) and a.id == rest_name for a in node.args)
    )


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _starts_with_labgen(node: ast.AST) -> bool:
    return (
        isinstance(node, (ast.List, ast.Tuple))
        and bool(node.elts)
        and isinstance(node.elts[0], ast.Starred)
        and isinstance(node.elts[0].value, ast.Name)
        and node.elts[0].value.id == "LABGEN"
    )


def _scopes(tree: ast.Module):
    """(scope node, its own varargs name) for the module and every function in it."""
    yield tree, None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node, (node.args.vararg.arg if node.args.vararg else None)


def _own_nodes(scope: ast.AST):
    """The nodes of a scope, not descending into nested functions (they are scopes of their own)."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


def _tuples_of(scope: ast.AST) -> dict[str, list]:
    found: dict[str, list] = {}
    for node in _own_nodes(scope):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, (ast.Tuple, ast.List))
        ):
            found[node.targets[0].id] = _argv(node.value.elts, {}, None)
    return found


def scan_test_module(path: Path) -> list[tuple[list, int]]:
    """(argv, line) of every labgen run in one test module, wrappers expanded."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module_tuples = _tuples_of(tree)
    runners: dict[str, tuple[int, list]] = {name: (0, [REST]) for name in RUNNERS}  # name -> (fixed params, template)
    raw: list[tuple[list, int, ast.AST]] = []  # (argv, line, the scope it is in)
    # A wrapper is found when its body runs labgen with its *args: iterate for wrappers of wrappers.
    for _ in range(3):
        raw.clear()
        for scope, rest_name in _scopes(tree):
            tuples = {**module_tuples, **_tuples_of(scope)}
            for node in _own_nodes(scope):
                if isinstance(node, ast.Call) and _call_name(node) in runners:
                    fixed, template = runners[_call_name(node)]
                    given = _argv(node.args, tuples, rest_name)
                    argv = _fill(template, given[fixed:])
                    shell = _completion(node)
                    if shell:
                        argv = [COMPLETE + shell]
                    raw.append((argv, node.lineno, scope))
                elif _starts_with_labgen(node):
                    raw.append((_argv(node.elts[1:], tuples, rest_name), node.lineno, scope))
        found = False
        for argv, _line, scope in raw:
            if (
                REST in argv
                and isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef))
                and scope.name not in runners
                and scope.args.vararg
            ):
                runners[scope.name] = (len(scope.args.args), argv)
                found = True
        if not found:
            break
    # a wrapper's own body is not a run: its calls are
    return [
        (argv, line)
        for argv, line, scope in raw
        if not (isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) and scope.name in runners)
    ]


def _completion(call: ast.Call) -> str | None:
    """The shell of `labgen(env={"_LABGEN_COMPLETE": "bash_source"})`, or None."""
    for kw in call.keywords:
        if kw.arg == "env" and isinstance(kw.value, ast.Dict):
            for key, value in zip(kw.value.keys, kw.value.values):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == COMPLETE_VAR
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    return value.value
    return None


def _fill(template: list, given: list) -> list:
    out: list = []
    for word in template:
        out.extend(given if word is REST else [word])
    return out


def host_test_modules(repo: Path) -> list[Path]:
    """The integration and browser test modules and the helper modules beside them (a helper
    such as tests/browser/seatweb.py starts labgen for the modules that import it)."""
    return sorted(
        p for d in ("integration", "browser") for p in (repo / "tests" / d).glob("*.py") if p.name != "__init__.py"
    )


# ---- the report


def _imports_runcli(text: str) -> bool:
    """The module itself imports tests.runcli (an import inside a string, such as a module a
    test writes and runs, does not count)."""
    return any(isinstance(node, ast.ImportFrom) and node.module == "tests.runcli" for node in ast.walk(ast.parse(text)))


def check(repo: Path, root: click.Command, exempt: dict[str, str], modules: list[Path] | None = None) -> Report:
    """Documented lines not run by any test (`problems`, one line each). `exempt`: the
    documented command (e.g. "box build libvirt" prefix "box build") → why tests cannot run it."""
    report = Report()
    for path in modules if modules is not None else host_test_modules(repo):
        invocations = scan_test_module(path)
        text = path.read_text(encoding="utf-8")
        if not invocations and _imports_runcli(text):
            report.problems.append(
                f"{path.name}: imports tests.runcli but no labgen run was found in it "
                "(a call pattern the guard does not know: teach tests/readme_commands.py)"
            )
        for argv, line in invocations:
            inv = resolve(argv, root, f"{path.name}:{line}")
            if inv is not None:
                report.tested.append(inv)
    ran_commands = {inv.command for inv in report.tested}
    ran_options = {(inv.command, opt) for inv in report.tested for opt in inv.options}
    for doc in doc_files(repo):
        for number, argv, line in labgen_lines(doc.read_text(encoding="utf-8")):
            where = f"{doc.relative_to(repo)}:{number}"
            inv = resolve(argv, root, where)
            if inv is None:
                continue
            report.documented.append((inv, line))
            if inv.unknown:
                report.problems.append(f"{where}: `{line}`: labgen has no {', '.join(inv.unknown)}")
                continue
            name = " ".join(inv.command)
            if any(name == e or name.startswith(e + " ") for e in exempt):
                continue
            if inv.command not in ran_commands:
                what = (
                    f"`{COMPLETE_VAR}={name[len(COMPLETE) :]} labgen`"
                    if name.startswith(COMPLETE)
                    else f"`labgen {name}`"
                )
                report.problems.append(f"{where}: `{line}`: no test runs {what}")
                continue
            for owner, option in sorted(inv.options):
                if option in ("help", "version"):
                    continue
                if not any(
                    (cmd, (owner, option)) in ran_options for cmd in ran_commands if cmd == inv.command or owner == ()
                ):
                    flag = next(o for o in _param(root, owner, option).opts)
                    report.problems.append(f"{where}: `{line}`: no test runs `labgen {name}` with {flag}")
    return report


def _param(root: click.Command, owner: tuple[str, ...], name: str) -> click.Parameter:
    cmd = root
    for word in owner:
        cmd = cmd.get_command(_context(cmd), word)  # type: ignore[attr-defined]
    return next(p for p in cmd.params if p.name == name)
