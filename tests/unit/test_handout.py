"""The handout's pure parts: prose (code, issue links), plain Markdown, per-node commands shown
once, verdict words, and the recorded run as data. The layout itself is measured in the real
browser (tests/browser/test_handout.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labgen.errors import LabgenError
from labgen.model import Expect, Step, Text
from labgen.scenario.handout import (
    command_groups,
    prose_html,
    prose_md,
    prose_parts,
    render_html,
    render_markdown,
    template_values,
)
from labgen.scenario.record import CommandResult, StepRecord, load_record, to_json
from labgen.scenario.transcript import shown_status

RECORD = Path(__file__).resolve().parents[1] / "data" / "records" / "mac-bug.json"


def test_prose_inline_code_and_issue_links():
    parts = prose_parts(
        "see `ip link` and projectcalico/calicoctl#898, libnetwork#2205 (and #2206), "
        "projectcalico/libnetwork-plugin#177/#178, unknownrepo#5, #7 alone; "
        "calicoctl#1817 says so, fixed by #2205"
    )
    links = [(text, url) for kind, text, url in parts if kind == "link"]
    assert ("code", "ip link", "") in parts
    assert links == [
        ("projectcalico/calicoctl#898", "https://github.com/projectcalico/calicoctl/issues/898"),
        ("libnetwork#2205", "https://github.com/docker/libnetwork/issues/2205"),
        ("#2206", "https://github.com/docker/libnetwork/issues/2206"),
        ("projectcalico/libnetwork-plugin#177", "https://github.com/projectcalico/libnetwork-plugin/issues/177"),
        ("#178", "https://github.com/projectcalico/libnetwork-plugin/issues/178"),
        ("calicoctl#1817", "https://github.com/projectcalico/calicoctl/issues/1817"),
    ]  # a repo we cannot place, a bare number after it, a bare number far from a repo: text
    assert "".join(text for _, text, _ in parts).startswith("see ip link and projectcalico")


def test_prose_html_escapes_and_keeps_addresses_whole():
    out = prose_html('<b>x</b> `a<b` at 172.32.3.10 and ee:ee:ee:ee:ee:ee " ok')
    assert "<b>" not in out and "&lt;b&gt;x&lt;/b&gt;" in out
    assert "<code>a&lt;b</code>" in out
    assert '<span class="addr">172.32.3.10</span>' in out
    assert '<span class="addr">ee:ee:ee:ee:ee:ee</span>' in out


def test_prose_markdown_is_plain():
    md = prose_md("a -> b & c &amp; <img src=x> [x](javascript:y) `<code>` calicoctl#898")
    assert "&gt;" not in md and "&lt;" not in md
    assert "a -> b & c \\&amp; \\<img src=x> [x\\](javascript:y) `<code>`" in md
    assert md.endswith("[calicoctl#898](https://github.com/projectcalico/calicoctl/issues/898)")


def test_template_values_reads_each_nodes_values_back():
    template = "ip addr add {{ wl_ip }}/32 dev cali0; echo {{ node }} {{ wl_ip }}"
    assert template_values(template, "ip addr add 172.32.2.10/32 dev cali0; echo ubuntu-2 172.32.2.10") == {
        "wl_ip": "172.32.2.10",
        "node": "ubuntu-2",
    }
    assert template_values("echo {{ msg }}", "echo 'two words'") == {"msg": "two words"}
    assert template_values("echo {{ a }}", "rm -rf /") is None
    assert template_values("hostname", "hostname") == {}


def _step(run, nodes=("ubuntu-2", "ubuntu-3"), kind="setup", expect=Expect()):
    return Step(id="s", kind=kind, title=Text("t", "t"), explain=None, nodes=nodes, run=run, expect=expect)


def test_a_per_node_script_is_shown_once_with_the_values_that_differ():
    step = _step("ns=wl-{{ node }}\nip addr add {{ wl_ip }}/32 dev cali0 # pool {{ pool }}")
    results = [
        CommandResult(n, f"ns=wl-{n}\nip addr add {ip}/32 dev cali0 # pool 172.32.0.0/16", 0, "", "", 0.1)
        for n, ip in (("ubuntu-2", "172.32.2.10"), ("ubuntu-3", "172.32.3.10"))
    ]
    [(command, shown, values)] = command_groups(StepRecord(step, "passed", results))
    assert command == results[0].command and shown == results
    assert values == {
        "node": {"ubuntu-2": "ubuntu-2", "ubuntu-3": "ubuntu-3"},
        "wl_ip": {"ubuntu-2": "172.32.2.10", "ubuntu-3": "172.32.3.10"},
    }  # pool is the same


def test_verdict_words():
    explain = Step(id="e", kind="explain", title=Text("t", "t"), explain=Text("x", "x"), nodes=(), run=None)
    symptom = _step("ping", kind="observe", expect=Expect(exit="nonzero"))
    assert shown_status(StepRecord(explain, "passed")) is None
    assert shown_status(StepRecord(symptom, "passed", [CommandResult("n", "ping", 1, "", "", 1)])) == "expected"
    assert shown_status(StepRecord(symptom, "failed")) == "failed"
    assert shown_status(StepRecord(_step("true"), "passed")) == "passed"


def test_recorded_run_round_trips_and_renders():
    record = load_record(RECORD)
    assert record.scenario.id == "mac-bug" and record.lab.name == "handouts-mc"
    assert [s.step.id for s in record.steps][:2] == ["setup-workloads", "observe-healthy"]
    again = json.loads(to_json(record))
    original = json.loads(RECORD.read_text(encoding="utf-8"))
    assert again["steps"] == original["steps"]
    md, page = render_markdown(record), render_html(record)
    assert "&gt;" not in md and "&amp;" not in md
    assert "same on ubuntu-3" in md and "same on ubuntu-3" in page
    assert page.count('class="l hit"') >= 10
    assert "as expected" in page and "as expected" in md
    zh = render_html(load_record(RECORD, lang="zh"))
    assert "符合预期" in zh and '<html lang="zh-CN">' in zh


def test_a_broken_record_is_one_clean_error(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text('{"format": 1, "scenario_file": "id: [", "steps": []}')
    with pytest.raises(LabgenError):
        load_record(bad)
    bad.write_text("not json")
    with pytest.raises(LabgenError, match="cannot read this run record"):
        load_record(bad)
