"""What the shared CLI steps print: tool output verbatim, each blocked-role reason once, and
`labgen status --format json`. The lifecycle calls below them are replaced (no machine here);
the text printed is the real console's."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from labgen.cli import steps
from labgen.console import make_console
from labgen.labfile import find_lab, load_lab
from labgen.provision import engine

# Lines `vagrant up` printed for an LXC lab here (vagrant 2.3, vagrant-lxc 1.4).
VAGRANT_UP = [
    "Bringing machine 'ubuntu-1' up with 'lxc' provider...",
    "==> ubuntu-1: Importing base box 'labgen/debian-12'...",
    "==> ubuntu-1: Setting up mount entries for shared folders...",
    "    ubuntu-1: /vagrant => /root/labgen-labs/mesos-calico",
    "==> ubuntu-1: Starting container...",
    "    ubuntu-1: SSH address: 10.0.3.2:22",
    "[ubuntu-1] [dim] literal brackets stay [/]",
]


@pytest.fixture
def out(monkeypatch):
    buf = io.StringIO()
    con = make_console(file=buf, width=200, force_terminal=False)
    monkeypatch.setattr(steps, "console", lambda: con)
    return buf


@pytest.fixture(scope="module")
def lab():
    return load_lab(find_lab("mesos-calico"))


def test_boot_prints_vagrant_lines_verbatim(out, lab, monkeypatch, tmp_path):
    from labgen import lifecycle

    def boot(model, lab_dir, provider, on_line=None, on_host=None):
        on_host("started apt proxy")  # host changes come first, before the long wait
        for line in VAGRANT_UP:
            on_line(line)
        return ["started apt proxy"]

    monkeypatch.setattr(lifecycle, "boot", boot)
    steps.boot(lab, tmp_path, "lxc")
    text = out.getvalue()
    for line in VAGRANT_UP:
        assert line in text.splitlines()
    assert text.count("host: started apt proxy") == 1
    assert text.index("host: started apt proxy") < text.index(VAGRANT_UP[0])
    assert text.count("[dim]") == 1 and "[/]" in VAGRANT_UP[-1]  # only the one the tool printed


def test_each_blocked_reason_is_said_once_then_the_roles_it_blocks(out, lab):
    reports = []
    for node in lab.nodes:
        report = engine.NodeReport(node.name)
        report.unavailable = [t for _, t in engine.node_plan(lab, node, "debian-12") if not isinstance(t, list)]
        reports.append(report)
    steps.print_blocked(make_console(file=out, width=2000), reports)  # no wrapping
    text = out.getvalue()
    assert text.count("Calico 2.6 (calicoctl v1.6.3") == 1
    assert text.count("Mesos 1.5.0 is not in the Debian 12 archive") == 1
    lines = text.splitlines()
    calico = next(i for i, ln in enumerate(lines) if ln.startswith("Calico 2.6"))
    assert lines[calico + 1 : calico + 3] == [
        "  ! role calico: not run on ubuntu-1, ubuntu-2, ubuntu-3",
        "  ! role calico-network: not run on ubuntu-1",
    ]
    assert "role docker:" not in text  # docker.io runs on Debian 12
    assert "  ! role mesos-slave: not run on ubuntu-2, ubuntu-3" in lines


def test_status_json(lab, monkeypatch, tmp_path):
    from labgen import lifecycle
    from labgen.cli import cli
    from labgen.labdir import LabDir

    lab_dir = LabDir(tmp_path)
    lifecycle.write_lab_dir(lab, lab_dir, "lxc")
    lab_dir.record_role("ubuntu-1", "base", "f00")
    seen = []

    def states(self, lab):
        seen.append(lab.name)
        return {"ubuntu-1": "running", "ubuntu-2": "stopped", "ubuntu-3": "not_created"}

    from labgen.providers import lxc
    from labgen.remote import Remote

    # LXC answers both from lxc-info, without Vagrant's Ruby start
    monkeypatch.setattr(lxc.LxcProvider, "machine_states", states)
    monkeypatch.setattr(
        lxc.LxcProvider, "ssh_config", lambda self, lab, d: "Host ubuntu-1\n  HostName 127.0.0.1\n  Port 1\n"
    )
    monkeypatch.setattr(lifecycle, "probe", lambda remote: {})
    monkeypatch.setattr(Remote, "__exit__", lambda self, *a: None)
    res = CliRunner().invoke(cli, ["status", "--dir", str(tmp_path), "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["lab"] == "mesos-calico"
    first, second, third = data["nodes"]
    assert first == {
        "name": "ubuntu-1",
        "ip": "192.168.56.101",
        "provider": "lxc",
        "state": "running",
        "ssh": True,
        "roles": list(lab.nodes[0].roles),
        "roles_done": ["base"],
    }
    assert (second["state"], second["ssh"], second["roles_done"]) == ("stopped", None, [])
    assert third["state"] == "not_created"
