"""The guard of issue 14 §3: every `labgen ...` line in the shell blocks of README.md and
docs/**/*.md is run by some integration or browser test (its command and each option it
shows). How both sides are read: tests/readme_commands.py. The guard is itself tested on a
fixture README and fixture test modules, so it cannot pass by finding nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path

from labgen.cli import cli
from tests.readme_commands import check, labgen_lines, resolve, scan_test_module

REPO = Path(__file__).resolve().parents[2]

# Documented commands no test here can run, each with the reason (keep it short and visible).
# Matched against the command words: "box build" covers `labgen box build libvirt`.
EXEMPT: dict[str, str] = {}


def test_every_documented_labgen_line_is_run_by_an_integration_or_browser_test():
    report = check(REPO, cli, EXEMPT)
    assert report.problems == [], "\n".join(report.problems)
    # not vacuous: the README's tour, workshop and student commands were all read
    commands = {" ".join(inv.command) for inv, _ in report.documented}
    assert {
        "create",
        "status",
        "classroom up",
        "classroom scenario run",
        "classroom serve",
        "scenario check",
        "bundle load",
    } <= commands, commands
    assert len(report.documented) >= 40 and len(report.tested) >= 100


def test_each_exemption_names_a_documented_command_and_a_reason():
    documented = {" ".join(inv.command) for inv, _ in check(REPO, cli, EXEMPT).documented}
    for command, why in EXEMPT.items():
        assert len(why) > 20, f"{command}: say why no test can run it"
        assert any(d == command or d.startswith(command + " ") for d in documented), (
            f"{command}: no documented line needs this exemption any more"
        )


def fixture_repo(tmp_path: Path, readme: str, tests: dict[str, str]) -> Path:
    (tmp_path / "README.md").write_text(textwrap.dedent(readme))
    for name, text in tests.items():
        path = tmp_path / "tests" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


README = """\
    # A product

    ```sh
    labgen status --format json            # a comment, not an option: --dir
    sudo labgen classroom up mesos-calico --seats 2 \\
        --name rh
    cd class && labgen classroom down -y
    labgen scenario serve --dir a --dir b
    labgen nosuch thing
    labgen status --nope
    eval "$(_LABGEN_COMPLETE=bash_source labgen)"
    ```

    ```yaml
    labgen: not a command line
    ```
    """

TESTS = {
    "integration/test_a.py": """\
        import subprocess
        from tests.runcli import LABGEN, labgen

        def cli(path, *args):
            return labgen("classroom", *args, "--dir", str(path))

        def test_x(tmp_path):
            labgen("status", "--dir", str(tmp_path))
            cli(tmp_path, "up", "mesos-calico", "--seats", "2")
            cli(tmp_path, "down", "--yes")
            subprocess.Popen([*LABGEN, "scenario", "serve", *[a for d in (1, 2) for a in ("--dir", str(d))]])
        """,
    "browser/test_b.py": """\
        from tests.runcli import labgen

        def test_y():
            run = ("status", "--format")
            labgen(*run, "json")
        """,
    "integration/test_c.py": """\
        from tests.runcli import labgen as run_it

        def test_z():
            go = run_it
            go("list")
        """,
}


def test_the_guard_names_each_uncovered_command_option_and_unknown_word(tmp_path):
    repo = fixture_repo(tmp_path, README, TESTS)
    modules = sorted((repo / "tests").rglob("test_*.py"))
    report = check(repo, cli, {}, modules)
    assert report.problems == [
        "test_c.py: imports tests.runcli but no labgen run was found in it (a call pattern the guard "
        "does not know: teach tests/readme_commands.py)",
        "README.md:5: `sudo labgen classroom up mesos-calico --seats 2 --name rh`: no test runs "
        "`labgen classroom up` with --name",
        "README.md:9: `labgen nosuch thing`: labgen has no nosuch (no such command)",
        "README.md:10: `labgen status --nope`: labgen has no status --nope",
        'README.md:11: `eval "$(_LABGEN_COMPLETE=bash_source labgen)"`: no test runs '
        "`_LABGEN_COMPLETE=bash_source labgen`",
    ]
    # covered: --format through a starred tuple, down -y as --yes through a wrapper, serve's
    # --dir through a comprehension; the yaml block and the comment's --dir were not read
    assert len(report.documented) == 7


def test_the_guard_fails_when_the_only_test_of_an_option_goes(tmp_path):
    tests = dict(TESTS, **{"browser/test_b.py": "from tests.runcli import labgen\nlabgen('status')\n"})
    repo = fixture_repo(tmp_path, README, tests)
    report = check(repo, cli, {}, sorted((repo / "tests").rglob("test_*.py")))
    assert (
        "README.md:4: `labgen status --format json            # a comment, not an option: --dir`: "
        "no test runs `labgen status` with --format" in report.problems
    )


def test_an_exempt_command_is_not_reported(tmp_path):
    repo = fixture_repo(tmp_path, README, TESTS)
    report = check(repo, cli, {"classroom up": "for this test"}, sorted((repo / "tests").rglob("test_*.py")))
    assert not [p for p in report.problems if "classroom up" in p]


def test_resolve_reads_options_values_and_default_subcommands():
    inv = resolve(["--provider", "lxc", "bundle", "mesos-calico", "-o", "x", "--no-boxes"], cli)
    assert inv.command == ("bundle", "create")
    assert inv.options == {((), "provider"), (("bundle", "create"), "output"), (("bundle", "create"), "no_boxes")}
    ssh = resolve(["ssh", "ubuntu-2", "--", "ip", "-a"], cli)
    assert ssh.command == ("ssh",) and ssh.options == frozenset() and ssh.unknown == ()


def test_lines_after_backslashes_and_operators_are_read(tmp_path):
    text = "```bash\n$ labgen a \\\n   --b c | tee x && FOO=1 labgen d\n```\n"
    assert [(n, argv) for n, argv, _ in labgen_lines(text)] == [(2, ["a", "--b", "c"]), (2, ["d"])]


def test_wrappers_of_wrappers_are_expanded(tmp_path):
    path = tmp_path / "test_w.py"
    path.write_text(
        textwrap.dedent("""\
        from tests.runcli import labgen as _labgen

        def labgen(*args, **kw):
            return _labgen(*args, env={}, **kw)

        def scen(lab, *args):
            return labgen("scenario", *args, "--dir", lab)

        def student(lab, *args):
            return scen(lab, *args, "--lang", "en")

        def test_it():
            student("d", "hint")
        """)
    )
    assert [argv for argv, _ in scan_test_module(path)] == [
        ["scenario", "hint", "--lang", "en", "--dir", scan_test_module.__globals__["VALUE"]]
    ]
