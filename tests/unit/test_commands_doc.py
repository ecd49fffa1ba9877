"""docs/commands.md is click's own help: it fails here when a help text changed and the page
was not regenerated (`make docs`), so the reference and `--help` cannot drift apart."""

from __future__ import annotations

from pathlib import Path

from labgen.cli import EXIT_CODES
from labgen.cli.reference import commands_markdown
from tests.runcli import labgen

DOC = Path(__file__).resolve().parents[2] / "docs" / "commands.md"


def test_the_command_reference_is_the_current_help():
    assert DOC.read_text(encoding="utf-8") == commands_markdown(), (
        "docs/commands.md differs from the commands' --help: run `make docs` and commit it"
    )


def test_the_reference_holds_every_command_and_the_real_help_text():
    text = DOC.read_text(encoding="utf-8")
    for path in ("labgen ls", "labgen classroom sheets", "labgen scenario start", "labgen bundle load"):
        assert f"\n## {path}\n" in text
    # the same words a user gets from the real CLI process
    res = labgen("scenario", "start", "--help", check=True)
    first = res.stdout.splitlines()[2].strip()
    assert first and first in text


def test_every_exit_code_is_documented_in_help_and_reference():
    res = labgen("--help", check=True)
    text = DOC.read_text(encoding="utf-8")
    for code, meaning in EXIT_CODES:
        assert f"| {code} | {meaning} |" in text
        assert f"\n  {code} " in res.stdout


def test_the_readme_names_every_exit_code_and_the_provider_default_as_the_help_does():
    readme = " ".join((DOC.parents[1] / "README.md").read_text(encoding="utf-8").split())
    sentence = readme[readme.index("exit codes:") :].split("Every command and option")[0]
    for code, _ in EXIT_CODES[1:]:  # 0 needs no words
        assert f" {code} " in sentence, code
    helped = " ".join(labgen("--help", check=True).stdout.split())
    for words in ("VirtualBox if installed", "else libvirt when KVM really works", "else LXC when running as root"):
        assert words in readme and words in helped
