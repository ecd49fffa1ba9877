"""VagrantEnv.up when Vagrant itself crashes (a Ruby exception in one machine's parallel boot):
the message is shown rather than the backtrace's last lines, and `vagrant up` runs once more.

A fake `vagrant` on PATH (a shell script) prints what Vagrant 2.3.4 prints for such a crash."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from labgen.errors import ProviderError
from labgen.vagrant import VagrantEnv, _tail, crashed_machines

CRASH = """An error occurred while executing multiple actions in parallel.
Any errors that occurred are shown below.

An unexpected error occurred when executing the action on the
'ubuntu-3' machine. Please report this as a bug:

undefined method `[]' for nil:NilClass

/usr/share/rubygems-integration/all/gems/vagrant-lxc-1.4.3/lib/vagrant-lxc/action/boot.rb:52:in `call'
/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/lib/vagrant/action/warden.rb:48:in `call'
/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/lib/vagrant/batch_action.rb:86:in `block (2 levels) in run'
"""


def fake_vagrant(bin_dir: Path, crashes: int) -> Path:
    """A `vagrant` that crashes as above on its first `crashes` calls of `up`, then succeeds;
    it appends each call's arguments to bin_dir/calls."""
    (bin_dir / "crash.txt").write_text(CRASH)
    script = bin_dir / "vagrant"
    script.write_text(f"""#!/bin/sh
echo "$@" >> {bin_dir}/calls
n=$(wc -l < {bin_dir}/calls)
if [ "$n" -le {crashes} ]; then
  echo "Bringing machine 'ubuntu-3' up with 'lxc' provider..."; cat {bin_dir}/crash.txt >&2; exit 1
fi
echo "==> ubuntu-3: Machine booted and ready!"
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def env_with(tmp_path, monkeypatch):
    def make(crashes: int) -> tuple[VagrantEnv, Path]:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        fake_vagrant(bin_dir, crashes)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        lab = tmp_path / "lab"
        lab.mkdir()
        return VagrantEnv(lab, "lxc"), bin_dir

    return make


def test_the_message_not_the_backtrace():
    assert crashed_machines(CRASH) == ["ubuntu-3"]
    shown = _tail(CRASH)
    assert "undefined method `[]' for nil:NilClass" in shown
    assert ".rb:" not in shown


def test_a_vagrant_error_is_not_a_crash():
    assert (
        crashed_machines(
            "An error occurred while executing the action on the 'ubuntu-1'\n"
            "machine. Please handle this error then try again:\n\nNo space left"
        )
        == []
    )


@pytest.mark.parametrize("watched", [False, True])
def test_one_crash_is_retried_once(env_with, watched):
    env, bin_dir = env_with(crashes=1)
    lines: list[str] = []
    env.up(["ubuntu-3"], on_line=lines.append, boot_failure=(lambda started: None) if watched else None)
    assert len((bin_dir / "calls").read_text().splitlines()) == 2
    said = "\n".join(lines)
    assert "Vagrant crashed while booting ubuntu-3" in said and "nil:NilClass" in said
    assert "Machine booted and ready!" in said


def test_a_crash_that_repeats_is_reported_with_its_message(env_with):
    env, bin_dir = env_with(crashes=2)
    with pytest.raises(ProviderError) as caught:
        env.up(["ubuntu-3"], on_line=lambda line: None)
    assert len((bin_dir / "calls").read_text().splitlines()) == 2
    assert "undefined method `[]' for nil:NilClass" in str(caught.value)
    assert ".rb:" not in str(caught.value)
